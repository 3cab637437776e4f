"""fixloop.integrations.llm."""
