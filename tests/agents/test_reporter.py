"""The worklog and run.json rendered from a graph state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fixloop.agents.reporter import llm_label, pr_body, run_json, write_report
from fixloop.agents.worklog_sections import render_worklog
from fixloop.records import (
    ApprovalRecord,
    Category,
    ChildExit,
    EvidenceBundle,
    EvidenceItem,
    Finding,
    FiveWhys,
    SelectedFile,
    Selection,
    TestResult,
    TestRun,
    Tier,
    TierVerdict,
    WhyStep,
)
from fixloop.redaction import Redactor
from fixloop.state import Event, FixAttempt, Investigation, IterationRecord, LLMModeValue, RunInfo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _state(llm: LLMModeValue = "none") -> dict[str, Any]:
    selection = Selection(
        focus="websockets",
        repo="/r",
        index_path="tests/e2e/INDEX.md",
        tiers=[
            Tier(
                priority=1,
                name="core",
                impact="$500K MRR",
                files=[SelectedFile(path="tests/e2e/test_ws.py", reason="index P1", score=0.9)],
            )
        ],
    )
    run = TestRun(
        command=["python", "-m", "pytest", "tests/e2e/test_ws.py"],
        interpreter="python",
        cwd="/r",
        started_at=NOW,
        finished_at=NOW,
        exit_code=1,
        results=[
            TestResult(nodeid="tests/e2e/test_ws.py::test_handshake", outcome="failed", longrepr="InvalidStatus 500"),
            TestResult(nodeid="tests/e2e/test_ws.py::test_health", outcome="passed"),
        ],
        stdout_tail="1 failed, 1 passed",
    )
    category = Category(id="server-error-1", kind="server-error", title="handshake 500", tests=[run.results[0].nodeid])
    bundle = EvidenceBundle(
        category_id=category.id,
        items=[
            EvidenceItem(id="E1", kind="test-output", title="failure", text="InvalidStatus: HTTP 500", source="t"),
            EvidenceItem(id="E2", kind="log-line", title="log", text="KeyError: 'user'", source="server.py:42"),
        ],
    )
    steps = [WhyStep(question=f"Why {n}?", answer=f"because {n}", evidence=["E1" if n < 3 else "E2"]) for n in range(5)]
    chain = FiveWhys(steps=steps, root_cause="handler reads a missing claim", fix_location="app/auth.py:claims")
    return {
        "run": RunInfo(thread_id="t-9", repo="/r", focus="websockets", out_dir="/o", llm_mode=llm, model_name=""),
        "status": "diagnosed",
        "outcome": "diagnosed without a model",
        "iteration": 1,
        "iterations": [
            IterationRecord(
                iteration=1,
                selection=selection,
                test_run=run,
                findings=[Finding(kind="no-network", message="test_x made no connection", test="t")],
                verdicts=[
                    TierVerdict(priority=1, name="core", tolerance=0, executed=2, failed=1, skipped=0, holds=False)
                ],
                categories=[category],
            )
        ],
        "investigations": [
            Investigation(iteration=1, category=category, evidence=bundle, five_whys=chain, finished_at=NOW)
        ],
        "approvals": [ApprovalRecord(by="mallory", decision="refused", reason="not an approver", prs=[1])],
        "events": [
            Event(node="run_tests", text="ran pytest", iteration=1, detail="1 failed, 1 passed", command=run.command)
        ],
    }


def test_run_json_has_the_contract_fields() -> None:
    doc = run_json(_state())
    assert {"thread_id", "focus", "status", "llm", "iterations", "approvals", "deploys"} <= doc.keys()
    assert (doc["thread_id"], doc["status"], doc["llm"]) == ("t-9", "diagnosed", {"mode": "none", "model": ""})
    iteration = doc["iterations"][0]
    assert {"selected_tests", "results", "realness_findings", "categories"} <= iteration.keys()
    assert iteration["selected_tests"] == ["tests/e2e/test_ws.py"]
    category = iteration["categories"][0]
    assert {"id", "kind", "tests", "signature", "five_whys", "fix", "audit", "pr"} <= category.keys()
    assert [s["evidence"] for s in category["five_whys"]["steps"]] == [["E1"], ["E1"], ["E1"], ["E2"], ["E2"]]
    assert doc["approvals"][0]["decision"] == "refused"


def test_an_error_overrides_the_status() -> None:
    doc = run_json(_state(), error="TestRunError: pytest missing")
    assert (doc["status"], doc["outcome"]) == ("error", "TestRunError: pytest missing")


def test_the_scripted_model_is_labelled_everywhere() -> None:
    state = _state(llm="scripted")
    assert llm_label(state["run"])["model"].startswith("scripted")
    assert "scripted test double" in render_worklog(state)
    assert "scripted test double" in pr_body(state["run"], state["investigations"][0])


def test_worklog_has_the_seed_sections_and_cites_evidence() -> None:
    text = render_worklog(_state())
    for section in (
        "## Executive summary",
        "## Impact",
        "## Test focus selection",
        "## Execution log",
        "## Realness validation",
        "## Categorization",
        "## Five whys per category",
        "## Fixes and audits",
        "## Pull requests",
        "## Approvals",
        "## Deploys",
        "## Success criteria per tier",
        "## Recommendations",
    ):
        assert section in text
    assert "$500K MRR" in text
    assert "KeyError: 'user'" in text  # the cited evidence is quoted under the chain
    assert "[E2]" in text
    assert "**refused** by mallory" in text
    assert "**Working** (1 passed)" in text
    assert "$ python -m pytest tests/e2e/test_ws.py" in text and "1 failed, 1 passed" in text
    assert "- iteration 1: 1 failed, 1 passed" in text


def test_a_state_with_only_the_intake_still_renders() -> None:
    state = {"run": _state()["run"], "events": [Event(node="intake", text="started")]}
    text = render_worklog(state)
    assert "(not selected yet)" in text
    assert run_json(state)["iterations"] == []


def test_written_files_are_redacted(tmp_path: Any) -> None:
    secret = "hs256-very-secret-value-0123456789"
    state = _state()
    state["events"].append(Event(node="run_tests", text="ran", detail=f"CHAT_JWT_SECRET={secret}"))
    redactor = Redactor(env={"CHAT_JWT_SECRET": secret}, secret_env_names=["CHAT_JWT_SECRET"])
    doc = write_report(state, tmp_path, redactor)
    worklog = (tmp_path / "worklog.md").read_text(encoding="utf-8")
    run = (tmp_path / "run.json").read_text(encoding="utf-8")
    assert "ran" in worklog and doc["thread_id"] == "t-9"
    assert secret not in worklog and secret not in run
    assert json.loads(run)["status"] == "diagnosed"


def test_a_crashed_pytest_and_the_tests_that_never_ran_are_in_run_json_and_the_worklog() -> None:
    state = _state()
    run = state["iterations"][0].test_run
    run.never_ran = ["tests/e2e/test_ws.py::test_close", "tests/e2e/test_ws.py::test_ping"]
    run.rounds = 2
    run.child_exits = [
        ChildExit(round=1, reason="crash", exit_code=-9, signal="SIGKILL", last_test="tests/e2e/test_ws.py::test_big")
    ]
    iteration = run_json(state)["iterations"][0]
    assert iteration["never_ran"] == run.never_ran and iteration["pytest_rounds"] == 2
    assert iteration["child_exits"][0]["signal"] == "SIGKILL"
    worklog = render_worklog(state)
    assert (
        "**never ran: 2 tests**:\n- `tests/e2e/test_ws.py::test_close`\n- `tests/e2e/test_ws.py::test_ping`" in worklog
    )
    assert (
        "**pytest ended early** (round 1): crash, killed by SIGKILL, last test started `tests/e2e/test_ws.py::test_big`"
        in worklog
    )


def test_the_worklog_reads_like_an_engineers() -> None:
    """Issue 15: a short context, "Next action" after each phase, the tests validation ran, where the logs came
    from, a reproduce command on a non-green run, no command line twice, tracebacks trimmed at line boundaries."""
    state = _state(llm="scripted")
    state["run"].config_file = "/etc/staging.toml"
    inv = state["investigations"][0]
    inv.evidence.log_source = "file .fixloop/target.log service chatbackend, window 2026-01-02 03:04:00 .. 03:04:09 UTC"
    validated = {"tests/e2e/test_ws.py::test_handshake": "passed", "tests/e2e/test_ws.py::test_health": "passed"}
    inv.attempts = [FixAttempt(attempt=1, validated=True, outcome="validated", validated_tests=validated)]
    run = state["iterations"][0].test_run
    traceback = "\n".join(f'  File "chatbackend/server.py", line {n}, in route_{n}' for n in range(400))
    state["events"] += [
        Event(node="realness", text="realness: 1 finding", iteration=1),
        Event(node="run_tests", text="re-ran pytest", iteration=1, command=run.command, detail=traceback),
    ]
    text = render_worklog(state)

    assert "## Context" in text and "asked fixloop to make the **websockets** tests of `/r` pass" in text
    assert text.count("**Next action:**") == len(state["events"])
    assert "**Next action:** check that the run proves something (realness)" in text
    assert "**Next action:** none — the run ended diagnosed" in text
    assert "validation ran 2 tests: `tests/e2e/test_ws.py::test_handshake` passed" in text
    assert "Logs read: file .fixloop/target.log service chatbackend, window 2026-01-02 03:04:00" in text
    assert "## Reproduce this failure" in text
    assert "$ fixloop test --repo /r --config /etc/staging.toml tests/e2e/test_ws.py::test_handshake" in text
    assert text.count("$ python -m pytest tests/e2e/test_ws.py") == 1
    assert "(the same command as at" in text
    kept = text.split("earlier lines trimmed]...\n", 1)[1].split("```", 1)[0]
    assert kept.splitlines()[0].startswith('  File "chatbackend/server.py", line ')  # a whole line, not a cut one
    assert "route_399" in kept


def test_a_green_run_has_no_reproduce_section() -> None:
    state = _state()
    state["status"] = "green"
    assert "## Reproduce this failure" not in render_worklog(state)


def test_realness_never_says_the_target_was_touched_without_a_recorded_connection() -> None:
    """Issue 15, reproduction 2: "the run touched the target" though no target existed."""
    state = _state()
    state["iterations"][0].findings = []
    text = render_worklog(state)
    assert "- iteration 1: no finding; no test recorded a connection to a target" in text
    assert "touched the target" not in text
