"""The small exception tree of fixloop.

Every error a user can cause (bad input, bad config, unreachable service) is a
``FixloopError``: the CLI and the server print its message on one line, never a
traceback. Vendor exceptions are translated into these at the adapter.
"""

from __future__ import annotations


class FixloopError(Exception):
    """Base of every error fixloop reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(FixloopError):
    """Bad input from the user: a path that does not exist, an unknown name."""

    exit_code = 2


class RunInputError(UsageError, ValueError):
    """A run's JSON context or input that does not validate. Also a ``ValueError``: LangGraph Server
    shows the message of those to its client (of other exceptions only "An internal error occurred")."""

    def __str__(self) -> str:
        return self.one_line()


class ConfigError(FixloopError):
    """A settings file or variable that does not validate."""

    exit_code = 2


class NotReadyError(FixloopError):
    """A stage whose implementation has not landed yet."""

    exit_code = 2


class TargetError(FixloopError):
    """The system under test could not be started, reached or stopped."""


class TestRunError(FixloopError):
    """pytest could not be run at all (not: tests failed)."""

    __test__ = False  # not a pytest test class


class ModelError(FixloopError):
    """The LLM endpoint failed or answered garbage after all retries."""


class ModelUnavailableError(ModelError):
    """The LLM endpoint is down: no connection, timed out, or 502/503/504 on every try (an outage, not a
    bad reply: the run reports it as such and asks the model nothing more)."""


class LogSourceError(FixloopError):
    """Logs could not be fetched."""


class CodeHostError(FixloopError):
    """A pull request, branch or merge operation failed."""


class DeployError(FixloopError):
    """A deploy failed or never became healthy."""


class ApprovalError(FixloopError):
    """An approval or rejection was refused (four-eyes, not an approver, nothing to approve)."""

    exit_code = 3


class RunNotFoundError(FixloopError):
    """No run with that thread id in the store."""

    exit_code = 2
