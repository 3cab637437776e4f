"""fixloop.integrations.slack."""
