"""fixloop.integrations.codehost."""
