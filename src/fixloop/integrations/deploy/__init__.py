"""fixloop.integrations.deploy."""
