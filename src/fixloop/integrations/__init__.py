"""fixloop.integrations."""
