"""Model faults in a real run (``fixloop demo`` in a subprocess, ``--llm openai`` pointed at the scripted
server of this test, so every request is counted here). tests/graphs/test_model_faults.py covers a
permanent 500 on the five whys and a wrong patch; this adds every other fault kind: 429, timeouts,
truncated, non-JSON and wrong-schema replies on each purpose (five whys, fix, audit), transient ones
retried until the run carries on as if nothing happened, permanent ones degraded (full sweep)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.integrations.llm.scripted_server import ScriptedServer, StepLike
from fixloop.integrations.llm.scripts import script_for_scenario
from fixloop.scenarios import load_scenario
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run
from tests.reliability.conftest import Tally, full_sweep

SCENARIO = "handshake-500"
CLIENT_TIMEOUT = "4"  # seconds: a "timeout" step holds its request longer than this


def demo(run_cli: CliRunner, out: Path, server: ScriptedServer) -> tuple[int, str]:
    env = {"FIXLOOP_LLM__BASE_URL": server.url, "OPENAI_API_KEY": "sk-reliability-not-a-key",
           "FIXLOOP_LLM__TIMEOUT": CLIENT_TIMEOUT, "FIXLOOP_LLM__MAX_RETRIES": "3"}  # fmt: skip
    proc = run_cli("demo", "--scenario", SCENARIO, "--llm", "openai", "--requested-by", "carol", "--out", str(out),
                   env=env, timeout=900)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.returncode, proc.stderr


FULL_ONLY = pytest.mark.skipif(not full_sweep(), reason="full sweep only: set FIXLOOP_RELIABILITY_FULL=1")


@pytest.mark.slow
@pytest.mark.timeout(900)
@FULL_ONLY
def test_transient_faults_of_every_kind_are_retried_and_the_run_carries_on(
    run_cli: CliRunner, demo_out: Path, tally: Tally
) -> None:
    own = script_for_scenario(load_scenario(SCENARIO))
    faults: dict[str, list[StepLike]] = {
        "five_whys": ["429", "timeout", *own["five_whys"]],  # transport faults: retried
        "fix": ["truncated", "garbage", *own["fix"]],  # unusable replies: asked again with the reason
        "audit": ["wrong-schema", "500", *own["audit"]],
    }
    with ScriptedServer(faults, model="scripted:faulty", hang_seconds=float(CLIENT_TIMEOUT) + 4) as server:
        code, stderr = demo(run_cli, demo_out, server)
        served = {purpose: server.served(purpose) for purpose in faults}
    assert code == 0, stderr[-3000:]
    tally.update({f"faults-{p}": len(steps) - 1 for p, steps in faults.items()})
    run = read_run(demo_out)
    assert run["status"] == "awaiting_approval", run["outcome"]
    assert served == {"five_whys": 3, "fix": 3, "audit": 3}, served  # each fault was followed by a retry
    for category in run["iterations"][0]["categories"]:
        assert category["five_whys"]["method"] == "llm"  # retried, not degraded
        assert "model-degraded" not in {f["kind"] for f in category["investigation_findings"]}
        first = category["attempts"][0]
        assert first["validated"] and first["audit"]["reviewer"] == "deterministic+llm", first
    tally["crashes"] = 0


@pytest.mark.slow
@pytest.mark.timeout(900)
@FULL_ONLY
@pytest.mark.parametrize(
    ("five_whys", "fix", "audit", "status"),
    [
        ("wrong-schema", "garbage", "500", "gave_up"),  # no usable patch ever: gave up, diagnosed by rules
        ("truncated", "scenario", "timeout", "awaiting_approval"),  # no LLM review: the deterministic audit decides
        ("429", "wrong-schema", "garbage", "gave_up"),
    ],
)
def test_permanent_faults_degrade_and_the_run_ends_cleanly(
    run_cli: CliRunner, demo_out: Path, tally: Tally, five_whys: str, fix: str, audit: str, status: str
) -> None:
    own = script_for_scenario(load_scenario(SCENARIO))
    chosen = {"five_whys": five_whys, "fix": fix, "audit": audit}
    script: dict[str, list[StepLike]] = {
        purpose: list(own[purpose]) if step == "scenario" else [step] for purpose, step in chosen.items()
    }
    with ScriptedServer(script, model="scripted:faulty", hang_seconds=float(CLIENT_TIMEOUT) + 4) as server:
        code, stderr = demo(run_cli, demo_out, server)
    assert code == 0, stderr[-3000:]
    run = read_run(demo_out)
    assert run["status"] == status, run["outcome"]
    for category in run["iterations"][0]["categories"]:
        assert category["five_whys"]["method"] == "rules"
        assert "model-degraded" in {f["kind"] for f in category["investigation_findings"]}
        if status == "gave_up":
            assert all(a["outcome"].startswith("no patch") for a in category["attempts"]), category["attempts"]
        else:
            audit_record = category["attempts"][-1]["audit"]
            assert audit_record["reviewer"] == "deterministic" and audit_record["passed"], audit_record
            assert any("LLM review unavailable" in n for n in audit_record["notes"])
    tally["runs"] += 1
    print(json.dumps({"faults": chosen, "status": run["status"], "outcome": run["outcome"]}))
