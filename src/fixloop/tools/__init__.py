"""fixloop.tools."""
