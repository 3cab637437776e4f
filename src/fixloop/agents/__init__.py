"""fixloop.agents."""
