"""Which categories end in a report, from their evidence: flaky ones, and infrastructure failures of the target."""

from __future__ import annotations

from fixloop.agents.report_only import report_reason
from fixloop.records import Category, EvidenceBundle, EvidenceItem, EvidenceKind, Signature
from fixloop.target import TargetInfo

BIND_ERROR = (
    "the target exited with code 1 on start:     raise OSError(err.errno, 'error while attempting ' | "
    "OSError: [Errno 99] error while attempting to bind on address ('192.0.2.10', 41059): "
    "cannot assign requested address"
)
APP_START_ERROR = (
    "the target exited with code 2 on start: startup failed: required environment variable(s) not set: CHAT_X"
)


def _target(*, running: bool, error: str = "") -> TargetInfo:
    return TargetInfo(
        pid=1,
        port=41059,
        http_url="http://127.0.0.1:41059",
        ws_url="ws://127.0.0.1:41059/ws",
        log_file="",
        revision="abc",
        started_at="",
        running=running,
        error=error,
    )


def _env(message: str = "CHAT_HTTP_URL is not set", *, exc: str = "Failed", status: int | None = None) -> Category:
    signature = Signature(exception_type=exc, message=message, http_status=status)
    return Category(id="environment-1", kind="environment", title="Environment unavailable", signature=signature)


def _bundle(*kinds_and_texts: tuple[EvidenceKind, str]) -> EvidenceBundle:
    items = [
        EvidenceItem(id=f"E{n}", kind=kind, title=text[:40], text=text)
        for n, (kind, text) in enumerate(kinds_and_texts, start=1)
    ]
    return EvidenceBundle(category_id="environment-1", items=items)


def test_a_target_that_cannot_bind_its_address_is_infrastructure() -> None:
    reason = report_reason(_env(), _bundle(), target=_target(running=False, error=BIND_ERROR))
    assert reason.startswith("infrastructure: the configured target (http://127.0.0.1:41059) could not start")
    assert "[Errno 99]" in reason and "cannot assign requested address" in reason and " | " not in reason


def test_a_target_that_fails_its_own_startup_is_a_fault_to_fix() -> None:
    logged = _bundle(("log-line", "CRITICAL startup failed\nTraceback ... chatbackend/config.py"))
    assert report_reason(_env(), logged, target=_target(running=False, error=APP_START_ERROR)) == ""
    assert report_reason(_env(), _bundle(), target=_target(running=False, error=APP_START_ERROR)) == ""


def test_a_dead_target_without_any_error_is_infrastructure_unless_the_app_logged_one() -> None:
    assert "is not running" in report_reason(_env(), _bundle(), target=_target(running=False))
    template: tuple[EvidenceKind, str] = (
        "log-template",
        "template: worker crashed <*>\ncount: 1, severity: CRITICAL, seen ..",
    )
    assert report_reason(_env(), _bundle(template), target=_target(running=False)) == ""
    info: tuple[EvidenceKind, str] = ("log-template", "template: request served <*>\ncount: 9, severity: INFO, seen ..")
    assert report_reason(_env(), _bundle(info), target=_target(running=False)) != ""


def test_refused_unavailable_and_infrastructure_skips_of_a_running_target_are_reported() -> None:
    running = _target(running=True)
    refused = _env("[Errno 111] Connection refused", exc="ConnectionRefusedError")
    assert "unreachable" in report_reason(refused, _bundle(), target=running)
    assert "unreachable" in report_reason(
        _env("server said no", exc="InvalidStatus", status=503), _bundle(), target=None
    )
    skipped = _env("staging service not reachable", exc="Skipped")
    assert "skipped for infrastructure" in report_reason(skipped, _bundle(), target=running)


def test_other_environment_failures_and_other_kinds_may_be_fixed() -> None:
    assert report_reason(_env("KeyError: 'CHAT_MODEL'", exc="KeyError"), _bundle(), target=_target(running=True)) == ""
    server = Category(id="server-error-1", kind="server-error", title="HTTP 500")
    assert report_reason(server, _bundle(), target=_target(running=False, error=BIND_ERROR)) == ""


def test_flaky_is_reported_unless_fix_flaky_is_set() -> None:
    flaky = Category(id="flaky-1", kind="flaky", title="Flaky: failed, then passed on the same commit (4 runs)")
    assert report_reason(flaky, _bundle(), target=None).startswith("flaky: Flaky: failed, then passed")
    assert report_reason(flaky, _bundle(), target=None, fix_flaky=True) == ""


def test_a_configured_target_that_does_not_answer_is_infrastructure_for_every_environment_category() -> None:
    """Issue 15, reproduction 1: a run that cannot reach its (external) target says so instead of patching code."""
    seen = "http://127.0.0.1:9/health unreachable: ConnectError: [Errno 111] Connection refused"
    missing_secret = _env("CHAT_JWT_SECRET is not set: start the target")
    reason = report_reason(missing_secret, _bundle(), target=None, unreachable=seen)
    assert reason == f"infrastructure: the configured target does not answer: {seen}"
    logged = _bundle(("log-line", "ERROR unhandled error\nKeyError: 'x'"))
    assert report_reason(missing_secret, logged, target=None, unreachable=seen) == ""  # the app logged its own fault


def test_a_test_setting_fixloop_did_not_give_is_a_configuration_gap_not_a_code_fault() -> None:
    """Issue 15, reproduction 2: `fixloop run` blamed the last commit's server.py for CHAT_WS_URL is not set."""
    gap = _env("CHAT_WS_URL is not set: start the target (fixloop target up) and export its URLs and secret")
    names = ["CHAT_HTTP_URL", "CHAT_WS_URL", "CHAT_JWT_SECRET"]
    reason = report_reason(gap, _bundle(), target=_target(running=True), test_env_names=names)
    assert reason.startswith(
        "configuration: the tests' env var CHAT_WS_URL is not set; declare it in [target.test_env]"
    )
    assert report_reason(gap, _bundle(), target=_target(running=True), test_env_names=["OTHER"]) == ""
