"""fixloop.graphs."""
