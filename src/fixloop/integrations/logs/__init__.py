"""fixloop.integrations.logs."""
