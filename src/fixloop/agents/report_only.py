"""Which categories get a report and no code fix, decided from their evidence.

- ``flaky``: the failing tests passed when re-run on the same commit (``triage.detect_flaky``);
  no code fix unless ``[autonomy] fix_flaky`` is set.
- a missing install: an ``environment`` category whose tests cannot import a module the repository does
  not provide, or lack a pytest plugin (``agents/missing_dependency.py``): the report says what to install;
- infrastructure: an ``environment`` category whose evidence says the configured target is down or
  unreachable for a reason outside the code (a network/host error at start, connection refused,
  service unavailable, a skip for infrastructure), and where the application logged no failure of
  its own (a startup error with a traceback in the app's logs is a code or config fault to fix).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from fixloop.agents.missing_dependency import missing_dependency_reason
from fixloop.config import Settings
from fixloop.errors import FixloopError
from fixloop.integrations.deploy.health import check_health
from fixloop.records import Category, EvidenceBundle
from fixloop.target import TargetInfo, target_status

# OS-level network and host errors: the machine, not the code, kept the target from listening or answering.
_HOST_ERRORS = re.compile(
    r"\[errno (?:98|99|101|110|111|113)\]|cannot assign requested address|address already in use"
    r"|network is unreachable|no route to host|name or service not known|temporary failure in name resolution"
    r"|nodename nor servname",
)
_UNREACHABLE = re.compile(
    r"connection refused|errno 111|service unavailable|cannot connect|could not connect|network is unreachable"
    r"|no route to host|name or service not known|temporary failure in name resolution",
)
_APP_ERROR_SEVERITY = re.compile(r"severity: (?:ERROR|CRITICAL|ALERT|EMERGENCY)\b")
UNAVAILABLE_STATUSES = (502, 503, 504)
HEALTH_PROBE_TIMEOUT = 3.0


def report_reason(
    category: Category,
    bundle: EvidenceBundle,
    *,
    target: TargetInfo | None,
    fix_flaky: bool = False,
    unreachable: str = "",
    test_env_names: Collection[str] = (),
    repo: Path | None = None,
    interpreter: str = "",
) -> str:
    """Why ``category`` ends in a report instead of a patch, or "" when a fix may be tried.

    ``unreachable``: what a /health probe of the configured target (one fixloop did not start) saw when it did
    not answer; ``test_env_names``: the env vars fixloop gives the tests (``[target.test_env]``, the secret).
    """
    if category.kind == "flaky":
        return "" if fix_flaky else f"flaky: {category.title}; a flaky category gets no code fix"
    if category.kind == "environment":
        missing = missing_dependency_reason(category, bundle, repo=repo, interpreter=interpreter)
        return (
            missing
            or infrastructure_reason(category, bundle, target=target, unreachable=unreachable)
            or configuration_reason(category, test_env_names)
        )
    return ""


def configuration_reason(category: Category, test_env_names: Collection[str]) -> str:
    """A setting the tests read from fixloop is missing: a gap of the run's configuration, not of the code."""
    text = f"{category.signature.message} {category.title}"
    for name in test_env_names:
        if re.search(rf"\b{re.escape(name)}\b[^.;]*\b(?:is not set|not set|missing|unset)\b", text, re.IGNORECASE):
            return (
                f"configuration: the tests' env var {name} is not set; declare it in [target.test_env] "
                "or export it (a configuration gap, not a code fault)"
            )
    return ""


def infrastructure_reason(
    category: Category, bundle: EvidenceBundle, *, target: TargetInfo | None, unreachable: str = ""
) -> str:
    """The infrastructure evidence of an ``environment`` category ("" when it points at code or config)."""
    if target is not None and not target.running:
        if host := _HOST_ERRORS.search(target.error.lower()):
            where = _around(target.error, host.start())
            return f"infrastructure: the configured target ({target.http_url}) could not start: {where}"
        if target.error or app_errors(bundle):
            return ""  # the application failed to start for a reason of its own: a code or config fault
        return f"infrastructure: the configured target ({target.http_url}) is not running; no error was logged"
    if app_errors(bundle):
        return ""  # the application logged its own failure: a code or config fault, worth a fix
    if target is None and unreachable:
        return f"infrastructure: the configured target does not answer: {unreachable}"
    sig = category.signature
    if sig.exception_type == "Skipped":
        return f"infrastructure: the tests were skipped for infrastructure: {sig.message}"
    if sig.http_status in UNAVAILABLE_STATUSES or _UNREACHABLE.search(sig.message.lower()):
        return f"infrastructure: the target is unreachable: {sig.message}"
    return ""


def configured_target_down(settings: Settings) -> str:
    """What a /health probe of ``[target]``'s URL saw when it did not answer ("" when it answers)."""
    url = settings.target.http_url.rstrip("/") + settings.target.health_path
    healthy, seen = check_health(url, None, timeout=HEALTH_PROBE_TIMEOUT)
    return "" if healthy else seen


def recorded_target(repo: Path) -> TargetInfo | None:
    """The repo's recorded target (None when none was started or the record cannot be read)."""
    try:
        return target_status(repo)
    except FixloopError:
        return None


def app_errors(bundle: EvidenceBundle) -> list[str]:
    """Ids of evidence items where the application logged an error (tracebacks, error-level templates)."""
    return [
        item.id
        for item in bundle.items
        if item.kind == "log-line" or (item.kind == "log-template" and _APP_ERROR_SEVERITY.search(item.text))
    ]


def _around(text: str, at: int, width: int = 240) -> str:
    """The line of ``text`` holding position ``at`` (lines end at newlines or " | "), at most ``width`` chars."""
    start = max(text.rfind("\n", 0, at), text.rfind(" | ", 0, at))
    start = 0 if start == -1 else start + (3 if text.startswith(" | ", start) else 1)
    ends = [i for i in (text.find("\n", at), text.find(" | ", at)) if i != -1]
    line = " ".join(text[start : min(ends, default=len(text))].split())
    return line if len(line) <= width else line[: width - 3] + "..."
