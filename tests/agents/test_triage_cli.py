"""`fixloop triage`: reads a results file, prints categories, evidence and five whys; no secret survives."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from fixloop.records import Finding
from tests.agents import failure_samples as s
from tests.conftest import CliRunner
from tests.tools.localize_repo import make_repo

CANARY_ENV = "canary-env-value-271828"
CANARY_CONFIGURED = "canary-configured-161803"
CANARY_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnktdXNlciJ9.Y2FuYXJ5LWp3dC1zaWduYXR1cmU"
CANARY_BEARER = "canaryBearerTok3n99"
CANARY_SK = "sk-canaryKEY0123456789abcdef"
CANARY_URL_PW = "canaryUrlPassw0rd"
CANARIES = (CANARY_ENV, CANARY_CONFIGURED, CANARY_JWT, CANARY_BEARER, CANARY_SK, CANARY_URL_PW)


def setup_repo(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo")
    (repo / "fixloop.toml").write_text(
        '[logs]\nbackend = "file"\npath = "backend.jsonl"\nmargin_seconds = 5\n'
        '[redaction]\nsecret_env_names = ["MY_PLAIN_VAR"]\n'
    )
    stamp = (s.T0 + timedelta(seconds=2.1)).isoformat().replace("+00:00", "Z")
    entry = {
        "timestamp": stamp,
        "severity": "ERROR",
        "jsonPayload": {
            "message": f"handshake failed for token {CANARY_JWT} via postgres://svc:{CANARY_URL_PW}@db/chat",
            "stack_trace": f'Traceback (most recent call last):\n  File "{repo}/chat/sessions.py", line 6, in open\n'
            f"    return self.backends['memory'][user]\nKeyError: 'memory' secret={CANARY_ENV}",
        },
        "sourceLocation": {"file": "chat/ws.py", "line": "17", "function": "Handler.accept_connection"},
    }
    (repo / "backend.jsonl").write_text(json.dumps(entry) + "\n")
    run = s.seed_run()
    run.cwd = str(repo)
    run.results[3].longrepr += f"\nE   sent Authorization: Bearer {CANARY_BEARER} and key {CANARY_SK}\n"
    run.results[3].stdout = f"using {CANARY_CONFIGURED} and {CANARY_ENV}\n"
    nodeid = run.results[0].nodeid
    findings = [Finding(kind="fake-pass", test=nodeid, message=f"passed in 0.0 s with {CANARY_JWT}")]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"run": run.model_dump(mode="json"), "findings": [f.model_dump() for f in findings]}))
    return repo, results


ENV = {"CHAT_JWT_SECRET": CANARY_ENV, "MY_PLAIN_VAR": CANARY_CONFIGURED}


@pytest.mark.parametrize("as_json", [False, True])
def test_triage_report_and_no_canary_survives(tmp_path: Path, run_cli: CliRunner, as_json: bool) -> None:
    repo, results = setup_repo(tmp_path)
    args = ["triage", "--results", str(results), "--repo", str(repo), "--focus", "websockets"]
    proc = run_cli(*args, *(["--json"] if as_json else []), env=ENV)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for canary in CANARIES:
        assert canary not in out, canary
    if as_json:
        report = json.loads(proc.stdout)
        kinds = [c["category"]["kind"] for c in report["categories"]]
        assert kinds == ["server-error", "test-defect"]
        server = report["categories"][0]
        assert server["citation_problems"] == []
        assert server["evidence"]["locations"][0]["file"] == "chat/sessions.py"
        assert len(server["five_whys"]["steps"]) == 6
    else:
        assert "## server-error-1 [server-error]" in proc.stdout
        assert "## test-defect-1 [test-defect]" in proc.stdout
        assert "Fix location: chat/sessions.py:open" in proc.stdout
        assert "[REDACTED:" in proc.stdout


def test_bare_test_run_is_accepted(tmp_path: Path, run_cli: CliRunner) -> None:
    _, results = setup_repo(tmp_path)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(json.loads(results.read_text())["run"]))
    proc = run_cli("triage", "--results", str(bare), "--json", env=ENV)  # repo taken from the run's cwd
    assert proc.returncode == 0, proc.stderr
    assert [c["category"]["id"] for c in json.loads(proc.stdout)["categories"]] == ["server-error-1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("not json", "is not JSON"), ("[1, 2]", "holds no JSON object"), ('{"run": {"cwd": 3}}', "is not a test report")],
)
def test_bad_results_files_are_one_line(tmp_path: Path, run_cli: CliRunner, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = run_cli("triage", "--results", str(bad), "--repo", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
