"""categorize: the taxonomy, grouping into categories, findings, skips and flaky re-runs."""

from __future__ import annotations

import pytest

from fixloop.agents.triage import categorize, detect_flaky, hung_tests, mark_flaky
from fixloop.config import Settings
from fixloop.records import ChildExit, Finding, Outcome, Phase, TestRun
from fixloop.tools.realness import check_realness
from tests.agents import failure_samples as s


def test_seed_two_http_500_tests_are_one_server_error_category() -> None:
    categories = categorize(s.seed_run(), [])
    assert [c.id for c in categories] == ["server-error-1"]
    only = categories[0]
    assert only.kind == "server-error"
    assert only.signature.http_status == 500
    assert only.signature.exception_type == "InvalidStatus"
    assert sorted(only.tests) == [
        "tests/e2e/test_ws_events.py::test_concurrent_websocket_real",
        "tests/e2e/test_ws_events.py::test_websocket_event_flow_real",
    ]
    assert "2 tests" in only.title


@pytest.mark.parametrize(
    ("longrepr", "phase", "kind"),
    [
        (s.HANDSHAKE_500, "call", "server-error"),
        (s.CLOSE_1011, "call", "server-error"),
        (s.AUTH_403, "call", "auth"),
        (s.CLOSE_1008, "call", "auth"),
        (s.OUT_OF_ORDER, "call", "protocol"),
        (s.WRONG_PATH_404, "call", "protocol"),
        (s.SCHEMA_KEYERROR, "call", "protocol"),
        (s.HANG_TIMEOUT, "call", "timeout"),
        (s.PYTEST_TIMEOUT_SETUP, "setup", "timeout"),
        (s.REFUSED, "call", "environment"),
        (s.MISSING_ENV, "setup", "environment"),
        (s.TEST_BUG, "call", "test-defect"),
    ],
)
def test_each_failure_gets_its_kind(longrepr: str, phase: Phase, kind: str) -> None:
    outcome: Outcome = "error" if phase == "setup" else "failed"
    run = s.make_run([s.result("tests/e2e/test_x.py::test_one", outcome, longrepr, phase=phase)])
    categories = categorize(run, [])
    assert [c.kind for c in categories] == [kind]


def test_mixed_run_numbers_categories_per_kind_in_run_order() -> None:
    f = "tests/e2e/test_ws.py"
    run = s.make_run(
        [
            s.result(f"{f}::a", longrepr=s.HANDSHAKE_500),
            s.result(f"{f}::b", longrepr=s.AUTH_403),
            s.result(f"{f}::c", longrepr=s.CLOSE_1011),
            s.result(f"{f}::d", longrepr=s.CONCURRENT_500),
            s.result(f"{f}::e", "passed"),
        ]
    )
    categories = categorize(run, [])
    assert [(c.id, c.tests) for c in categories] == [
        ("server-error-1", [f"{f}::a", f"{f}::d"]),
        ("auth-1", [f"{f}::b"]),
        ("server-error-2", [f"{f}::c"]),
    ]


def test_a_status_code_wrapped_in_an_assertion_joins_its_category() -> None:
    wrapped = "tests/e2e/test_ws.py:80: in test_concurrent\n    assert not errors, errors[0]\n" + (
        "E   AssertionError: client 1: server rejected WebSocket connection: HTTP 500\n"
    )
    run = s.make_run([s.result("t.py::a", longrepr=s.HANDSHAKE_500), s.result("t.py::b", longrepr=wrapped)])
    categories = categorize(run, [])
    assert [(c.id, c.tests) for c in categories] == [("server-error-1", ["t.py::a", "t.py::b"])]


def test_realness_findings_become_categories_even_when_nothing_failed() -> None:
    f = "tests/e2e/test_ws.py"
    run = s.make_run([s.result(f"{f}::fast", "passed", duration=0.0001), s.result(f"{f}::other", "passed")])
    findings = [
        Finding(kind="fake-pass", test=f"{f}::fast", message="passed in 0.0001 s, faster than a round trip"),
        Finding(kind="no-network", test=f"{f}::other", message="made no connection to the target"),
    ]
    categories = categorize(run, findings)
    assert [c.kind for c in categories] == ["test-defect", "test-defect"]
    assert [c.id for c in categories] == ["test-defect-1", "test-defect-2"]
    assert categories[0].tests == [f"{f}::fast"]
    assert categories[0].findings[0].kind == "fake-pass"


def test_two_findings_about_one_test_are_one_category() -> None:
    nodeid = "tests/e2e/test_ws.py::test_fast"
    run = s.make_run([s.result(nodeid, "passed", duration=0.0001)])
    findings = [
        Finding(kind="fake-pass", test=nodeid, message="passed in 0.0001 s"),
        Finding(kind="no-network", test=nodeid, message="made no connection to the target"),
    ]
    categories = categorize(run, findings)
    assert [(c.id, c.tests) for c in categories] == [("test-defect-1", [nodeid])]
    assert [f.kind for f in categories[0].findings] == ["fake-pass", "no-network"]


def test_infrastructure_skips_are_one_environment_category_with_the_all_skipped_finding() -> None:
    reason = "Docker unavailable (fast check) - use staging environment for WebSocket validation."
    run = s.make_run([s.result(f"tests/mc/test_suite.py::t{i}", "skipped", skip_reason=reason) for i in range(39)])
    findings = [Finding(kind="all-skipped", message="all 39 tests were skipped")]
    categories = categorize(run, findings)
    assert len(categories) == 1
    assert categories[0].kind == "environment"
    assert len(categories[0].tests) == 39
    assert categories[0].findings[0].kind == "all-skipped"


def test_ordinary_skips_are_not_categories() -> None:
    run = s.make_run([s.result("tests/test_x.py::t", "skipped", skip_reason="not implemented on windows: flaky hw")])
    # A plain skip is not a failure and says nothing about the environment.
    assert categorize(run, []) == []


def test_setup_timeout_finding_joins_the_timeout_category_of_its_test() -> None:
    nodeid = "tests/e2e/test_ws.py::test_mc"
    run = s.make_run([s.result(nodeid, "error", s.PYTEST_TIMEOUT_SETUP, phase="setup")])
    findings = [Finding(kind="setup-timeout", test=nodeid, message="fixture setup blocked for 60 s")]
    categories = categorize(run, findings)
    assert [c.kind for c in categories] == ["timeout"]
    assert categories[0].findings[0].kind == "setup-timeout"


def test_timeout_in_a_refused_connection_s_source_line_makes_no_second_category() -> None:
    nodeid = "tests/e2e/test_health.py::test_health_check"
    run = s.make_run([s.result(nodeid, longrepr=s.REFUSED)])
    assert "timeout=5" in s.REFUSED
    findings = check_realness(run, Settings())
    assert [f.kind for f in findings if "timeout" in f.kind] == []
    assert [c.kind for c in categorize(run, findings)] == ["environment"]


def _rerun_of(run: TestRun, passing: set[str]) -> TestRun:
    results = [s.result(r.nodeid, "passed") if r.nodeid in passing else r for r in run.results if r.outcome != "passed"]
    return s.make_run(results)


def test_mark_flaky_moves_tests_that_pass_on_rerun() -> None:
    run = s.seed_run()
    categories = categorize(run, [])
    flaky_id = "tests/e2e/test_ws_events.py::test_concurrent_websocket_real"
    reruns = [_rerun_of(run, set()), _rerun_of(run, {flaky_id})]
    marked = mark_flaky(categories, run, reruns)
    assert [(c.id, c.tests) for c in marked] == [
        ("server-error-1", ["tests/e2e/test_ws_events.py::test_websocket_event_flow_real"]),
        ("flaky-1", [flaky_id]),
    ]
    assert "1 test)" in marked[0].title
    assert "3 runs" in marked[1].title


def test_detect_flaky_reruns_all_failing_tests_then_one_per_category_and_stops_when_decided() -> None:
    run = s.seed_run()
    categories = categorize(run, [])
    asked: list[list[str]] = []

    def rerun(ids: list[str]) -> TestRun:
        asked.append(ids)
        return _rerun_of(run, set(ids) if len(asked) == 2 else set())

    marked, reruns = detect_flaky(categories, run, rerun, times=5)
    flow, concurrent = categories[0].tests
    assert asked == [[flow, concurrent], [flow]]  # then the category is decided: no third re-run
    assert len(reruns) == 2
    assert [(c.kind, c.tests) for c in marked] == [("server-error", [concurrent]), ("flaky", [flow])]


def test_consistent_failures_are_rerun_the_configured_number_of_times() -> None:
    run = s.seed_run()
    categories = categorize(run, [])
    asked: list[list[str]] = []

    def rerun(ids: list[str]) -> TestRun:
        asked.append(ids)
        return _rerun_of(run, set())

    marked, reruns = detect_flaky(categories, run, rerun, times=4, full_reruns=2)
    assert [len(ids) for ids in asked] == [2, 2, 1, 1]
    assert marked == categories and len(reruns) == 4


def test_consistent_failures_are_not_flaky() -> None:
    run = s.seed_run()
    categories = categorize(run, [])
    marked, _ = detect_flaky(categories, run, lambda ids: _rerun_of(run, set()), times=2)
    assert marked == categories


UNICODE_DECODE = (
    "    def test_read_body():\n>       body.decode()\n"
    "E   UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte\n\n"
    "tests/test_body.py:12: UnicodeDecodeError"
)
JWT_DECODE = "    def test_token():\n>       jwt.decode(t)\nE   jwt.exceptions.DecodeError: Not enough segments\n"


def test_a_unicode_decode_error_is_a_parse_error_not_auth_and_jwt_decode_errors_stay_auth() -> None:
    run = s.make_run([s.result("tests/test_body.py::test_read_body", longrepr=UNICODE_DECODE)])
    (category,) = categorize(run, [])
    assert category.kind != "auth"
    assert "parse error" in category.title
    run = s.make_run([s.result("tests/test_jwt.py::test_token", longrepr=JWT_DECODE)])
    assert [c.kind for c in categorize(run, [])] == ["auth"]


@pytest.mark.parametrize(
    "failure",
    [
        "E   Failed: DID NOT RAISE <class 'jwt.exceptions.InvalidIssuerError'>",
        "E   Failed: DID NOT RAISE <class 'itsdangerous.exc.SignatureExpired'>",
        "E   itsdangerous.exc.BadTimeSignature: timestamp missing",
        "E   jwt.exceptions.ExpiredSignatureError: Signature has expired",
    ],
)
def test_the_auth_domains_own_exceptions_make_an_auth_category(failure: str) -> None:
    longrepr = f"    def test_check():\n>       verify(token)\n{failure}\n"
    run = s.make_run([s.result("tests/test_check.py::test_check", longrepr=longrepr)])
    assert [c.kind for c in categorize(run, [])] == ["auth"]


def test_an_error_naming_no_auth_concept_is_not_auth() -> None:
    longrepr = "    def test_parse():\n>       parse(b)\nE   h11._util.LocalProtocolError: bad header\n"
    run = s.make_run([s.result("tests/test_parse.py::test_parse", longrepr=longrepr)])
    assert "auth" not in [c.kind for c in categorize(run, [])]


def _raised_in_package(test: str, exception: str) -> str:
    return (
        f"    def {test}():\n>       book.latest('pay')\n\ntests/test_book.py:19: \n_ _ _ _\n\n"
        f"    def latest(self, name):\n>       return rows[len(rows)]\nE       {exception}\n\n"
        f"pkg/book.py:26: {exception.split(':')[0]}"
    )


def test_failures_raised_at_one_package_line_are_one_category_that_says_what_and_where() -> None:
    run = s.make_run(
        [
            s.result(
                "tests/test_book.py::test_latest",
                longrepr=_raised_in_package("test_latest", "IndexError: list index out of range"),
            ),
            s.result(
                "tests/test_book.py::test_last",
                longrepr=_raised_in_package("test_last", "TypeError: 'NoneType' object is not subscriptable"),
            ),
        ],
        cwd="/nonexistent",
    )
    (category,) = categorize(run, [])
    assert category.tests == ["tests/test_book.py::test_latest", "tests/test_book.py::test_last"]
    assert category.kind == "protocol"  # a TypeError raised in the package is not the test's defect
    assert "index out of range raised in pkg/book.py" in category.title


# A real failure (itsdangerous 2.1.0's timestamp overflow, fixed in 2.1.1): the test expects the auth domain's
# BadTimeSignature, the package lets a ValueError out of a date conversion that names no auth concept.
TIMESTAMP_OVERFLOW = (
    "    def test_malformed_future_timestamp(self, signer):\n"
    '        signed = b"value.TgPVoaGhoQ.AGBfQ6G6cr07byTRt0zAdPljHOY"\n    \n'
    "        with pytest.raises(BadTimeSignature) as exc_info:\n>           signer.unsign(signed)\n\n"
    "tests/test_itsdangerous/test_timed.py:73: \n_ _ _ _ _ _ _ _\n"
    "src/itsdangerous/timed.py:121: in unsign\n    ts_dt = self.timestamp_to_datetime(ts_int)\n"
    "src/itsdangerous/timed.py:43: in timestamp_to_datetime\n"
    "    return datetime.fromtimestamp(ts, tz=timezone.utc)\n"
    "E   ValueError: year 695863352 is out of range\n\n"
    "src/itsdangerous/timed.py:43: ValueError"
)
# A real shape (PyJWT with its verify_exp default lost): a KeyError raised in the package's claim validation.
VERIFY_EXP_KEYERROR = (
    "    def test_decode_with_expiration_with_leeway(self, jwt, payload):\n"
    ">       decoded = jwt.decode(jwt_message, secret, leeway=leeway, algorithms=['HS256'])\n\n"
    "tests/test_api_jwt.py:372: \n_ _ _ _ _ _ _ _\njwt/api_jwt.py:221: in decode\n"
    "    decoded = self.decode_complete(\njwt/api_jwt.py:166: in decode_complete\n    self._validate_claims(\n"
    "_ _ _ _ _ _ _ _\n\n    def _validate_claims(self, payload, options):\n"
    '>       if "exp" in payload and options["verify_exp"]:\n'
    "E       KeyError: 'verify_exp'\n\njwt/api_jwt.py:260: KeyError"
)


def test_a_test_expecting_an_auth_exception_that_got_another_error_is_auth() -> None:
    run = s.make_run([s.result("tests/test_timed.py::test_malformed", longrepr=TIMESTAMP_OVERFLOW)])
    (category,) = categorize(run, [])
    assert category.kind == "auth"
    assert "expected BadTimeSignature" in category.title


def test_a_generic_error_raised_in_the_package_s_auth_code_is_auth() -> None:
    run = s.make_run([s.result("tests/test_api_jwt.py::test_leeway", longrepr=VERIFY_EXP_KEYERROR)])
    (category,) = categorize(run, [])
    assert category.kind == "auth"
    assert "authentication code" in category.title


def test_the_same_errors_outside_the_auth_domain_stay_protocol() -> None:
    not_auth = (
        TIMESTAMP_OVERFLOW.replace("BadTimeSignature", "InvalidDate")
        .replace("src/itsdangerous/timed.py", "src/cal/dates.py")
        .replace("signer.unsign", "cal.parse")
    )
    keyerror = VERIFY_EXP_KEYERROR.replace("jwt/api_jwt.py", "h11/_headers.py").replace(
        "_validate_claims", "_normalize"
    )
    run = s.make_run(
        [
            s.result("tests/test_dates.py::test_parse", longrepr=not_auth),
            s.result("tests/test_headers.py::test_normalize", longrepr=keyerror),
        ]
    )
    assert [c.kind for c in categorize(run, [])] == ["protocol", "protocol"]


WATCHDOG_HANG = (  # the plugin's watchdog record (fixloop_report.WATCHDOG_TEXT and the stacks)
    "Timeout: test still running 13.0 s into its call phase, over its 10 s limit (the timeout did not stop it: "
    "swallowed, or a wait in C code or another thread); fixloop's watchdog dumped every stack and ended the "
    "pytest process\n\n+++ stacks at watchdog +++\n--- MainThread ---\n"
    '  File "src/fetcher/retry.py", line 60, in fetch_forever\n    time.sleep(delay)\n'
)


def test_a_test_that_ended_as_a_hang_is_not_rerun_for_flakiness() -> None:
    hung = "tests/test_fetch.py::test_fetch_retries"
    broken = "tests/test_api_jwt.py::test_decode"
    run = s.make_run(
        [
            s.result(hung, longrepr=WATCHDOG_HANG, duration=13.0),
            s.result(broken, longrepr="    def test_decode():\n>       decode(t)\nE   KeyError: 'verify_exp'\n"),
        ]
    )
    run.child_exits = [ChildExit(round=1, reason="hang", exit_code=86, last_test=hung, restarted=True)]
    categories = categorize(run, [])
    asked: list[list[str]] = []

    def rerun(ids: list[str]) -> TestRun:
        asked.append(ids)
        return _rerun_of(run, set())

    marked, reruns = detect_flaky(categories, run, rerun, times=3)
    assert hung_tests(run) == [hung]
    assert asked == [[broken], [broken], [broken]]  # the hang's timeout is paid once, in the first run
    assert "timeout" in [c.kind for c in marked] and len(reruns) == 3
    run.results = run.results[:1]  # only the hang failed: no re-run at all
    marked, reruns = detect_flaky(categorize(run, []), run, rerun, times=3)
    assert reruns == [] and [c.kind for c in marked] == ["timeout"]


# The in-process timeout's record (fixloop_report.TIMEOUT_TEXT): the test ended at its limit, no hang.
IN_PROCESS_TIMEOUT = (
    "    def fetch_data(self):\n>       time.sleep(delay)\n"
    "E   fixloop_report._TestTimeout: Timeout: test exceeded 10 s (fixloop_report)\n"
    "+++ stacks at timeout +++\n\nsrc/fetcher/retry.py:60: _TestTimeout"
)


def test_a_test_ended_by_the_per_test_timeout_is_not_rerun_either() -> None:
    slow = "tests/test_fetch.py::test_fetch_forever"
    broken = "tests/test_api.py::test_decode"
    run = s.make_run(
        [
            s.result(slow, longrepr=IN_PROCESS_TIMEOUT, duration=10.0),
            s.result(broken, longrepr="    def test_decode():\n>       decode(t)\nE   KeyError: 'exp'\n"),
        ]
    )
    asked: list[list[str]] = []

    def rerun(ids: list[str]) -> TestRun:
        asked.append(ids)
        return _rerun_of(run, set())

    categories = categorize(run, [])
    assert next(c.kind for c in categories if slow in c.tests) == "timeout"
    detect_flaky(categories, run, rerun, times=2)
    assert hung_tests(run) == [slow] and asked == [[broken], [broken]]
