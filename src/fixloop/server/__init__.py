"""fixloop.server."""
