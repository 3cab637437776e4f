from __future__ import annotations

from datetime import UTC, datetime

from fixloop.records import Outcome, SelectedFile, Selection, TestResult, TestRun, Tier
from fixloop.tools.tiers import evaluate_tiers
from tests.tools.conftest import MixedRun

P1 = "tests/e2e/test_ws.py"
P2 = "tests/integration/test_chat.py"


def _selection(p2_tolerance: float = 0.25) -> Selection:
    return Selection(
        focus="ws",
        repo=".",
        tiers=[
            Tier(priority=1, name="core e2e", tolerance=0.5, files=[SelectedFile(path=P1, reason="r")]),
            Tier(priority=2, name="integration", tolerance=p2_tolerance, files=[SelectedFile(path=P2, reason="r")]),
        ],
    )


def _run(outcomes: dict[str, Outcome], errors: list[str] | None = None) -> TestRun:
    now = datetime.now(UTC)
    results = [TestResult(nodeid=n, outcome=o) for n, o in outcomes.items()]
    return TestRun(command=[], interpreter="", cwd=".", started_at=now, finished_at=now, exit_code=0,
                   results=results, collection_errors=errors or [])  # fmt: skip


def test_p1_tolerates_no_failure_even_if_the_index_says_otherwise() -> None:
    run = _run({f"{P1}::a": "passed", f"{P1}::b": "failed", f"{P2}::c": "passed"})
    p1, p2 = evaluate_tiers(_selection(), run)
    assert (p1.holds, p1.tolerance, p1.failed, p1.executed) == (False, 0.0, 1, 2)
    assert p2.holds and p2.reason == "0 of 1 failed (0%); tolerance 25%"


def test_lower_tier_holds_within_its_tolerance() -> None:
    outcomes: dict[str, Outcome] = {
        f"{P1}::a": "passed",
        **{f"{P2}::t{i}[x]": "passed" for i in range(3)},
        f"{P2}::bad": "error",
    }
    p1, p2 = evaluate_tiers(_selection(0.25), _run(outcomes))
    assert p1.holds
    assert p2.holds and p2.failed == 1 and p2.executed == 4 and "25%" in p2.reason
    _, strict = evaluate_tiers(_selection(0.1), _run(outcomes))
    assert not strict.holds


def test_skipped_never_counts_and_an_empty_tier_does_not_hold() -> None:
    run = _run({f"{P1}::a": "skipped", f"{P1}::b": "skipped"})
    p1, p2 = evaluate_tiers(_selection(), run)
    assert not p1.holds and p1.skipped == 2 and p1.executed == 0 and "nothing executed" in p1.reason
    assert not p2.holds and p2.reason == "nothing executed"


def test_collection_error_in_a_tier_breaks_it() -> None:
    run = _run({f"{P2}::a": "passed"}, errors=[f"{P2}: ImportError"])
    _, p2 = evaluate_tiers(_selection(), run)
    assert not p2.holds and "could not be collected" in p2.reason


def test_verdicts_on_a_real_run(mixed_run: MixedRun) -> None:
    path = "tests/e2e/test_chat_e2e.py"
    selection = Selection(
        focus="chat",
        repo=str(mixed_run.repo),
        tiers=[
            Tier(
                priority=1,
                name="core e2e",
                files=[SelectedFile(path=path, reason="r", tests=[f"{path}::test_talks_to_target"])],
            ),
            Tier(priority=2, name="integration", tolerance=0.9, files=[SelectedFile(path=path, reason="r")]),
        ],
    )
    p1, p2 = evaluate_tiers(selection, mixed_run.run)
    assert p1.holds and p1.executed == 1
    assert p2.executed == 6 and p2.failed == 3 and p2.skipped == 1 and p2.holds
