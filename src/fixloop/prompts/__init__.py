"""fixloop.prompts."""
