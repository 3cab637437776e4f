"""fixloop: a multi-agent remediation loop for end-to-end test suites."""

__version__ = "0.1.0"
