"""The real-project eval suite: recipes in ``evals/real/``, built at run time under ``$FIXLOOP_HOME/real/``."""
