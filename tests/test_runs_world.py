"""Resume and approve re-establish the world before they test (issue 15, reproduction 1).

``fixloop demo --llm scripted``, Ctrl-C during the test run (the demo stops its target), ``fixloop resume``:
the target used to stay down, all tests failed with ``CHAT_HTTP_URL is not set`` and a code PR was opened for
that environment failure. Now the resume checks the target (health, revision), starts the local one again,
and the run goes on against it.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fixloop.exit_codes import AWAITING_APPROVAL
from fixloop.runs import RunRequest, run_status, start_run
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import stop_target, target_status
from fixloop.verify import verify_run_dir
from tests.conftest import CliRunner
from tests.reliability.killing import branch_writes, fixloop_process, thread_of


def _interrupt_in_the_test_run(db: Path, out: Path, log: Path) -> None:
    proc = fixloop_process("demo", "--llm", "scripted", "--out", str(out), "--checkpointer", str(db), log=log)
    deadline = time.monotonic() + 600
    try:
        while branch_writes(db, "run_tests") < 1 or not (out / "iteration-1").exists():
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the demo never reached its test run"
            time.sleep(0.05)
        time.sleep(1.0)  # pytest is running now
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_resume_after_ctrl_c_in_the_test_run_starts_the_target_again(run_cli: CliRunner, tmp_path: Path) -> None:
    out, db, log = tmp_path / "out", tmp_path / "checkpoints.sqlite", tmp_path / "demo.log"
    workspace = out / "workspace"
    try:
        _interrupt_in_the_test_run(db, out, log)
        assert target_status(workspace) is None, "the interrupted demo should have stopped its target"
        thread = thread_of(db)

        resumed = run_cli("resume", thread, timeout=900)
        assert resumed.returncode == AWAITING_APPROVAL, resumed.stderr[-2000:]
        said = resumed.stdout + resumed.stderr
        assert "target: the target was down: started again at revision" in said, said[-2000:]
        info = target_status(workspace)
        assert info is not None and info.running

        doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
        first = doc["iterations"][0]
        repr_text = " ".join(r.get("longrepr", "") for r in first["results"])
        assert "is not set" not in repr_text
        kinds = {c["kind"] for c in first["categories"]}
        assert "environment" not in kinds and kinds, first["categories"]
        assert doc["status"] == "awaiting_approval", doc["outcome"]
        verified = run_cli("verify", str(out))
        assert verified.returncode == 0, verified.stdout[-2000:]

        stop_target(workspace)  # the approval comes hours later: the target is gone again
        approved = run_cli("approve", thread, "--by", "alice", timeout=900)
        said = approved.stdout + approved.stderr
        assert "target: the target was down: started again at revision" in said, said[-2000:]
        assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "green", said[-2000:]
    finally:
        stop_target(workspace)


def _go_away(server: Any) -> None:
    server.shutdown()
    server.server_close()  # the port is closed: connection refused, as from a service that is down


class _HealthOnce(BaseHTTPRequestHandler):
    """A service that answers its first /health (the run's preflight) and then goes away."""

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        threading.Thread(target=_go_away, args=(self.server,), daemon=True).start()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_run_whose_target_goes_away_ends_with_an_environment_report(tmp_path: Path) -> None:
    """The configured service answers the preflight, then is gone when the tests run: connection refused, and
    the evidence-time /health probe gets no answer, so every environment category is infrastructure: a report
    and no code PR even with a model that would patch. The scripted five whys' gold claims (HTTP 500, KeyError)
    are not in this evidence, so they are rejected and the rule chain speaks; `verify` fails a doctored
    run.json with a code PR for such a category."""
    service = ThreadingHTTPServer(("127.0.0.1", 0), _HealthOnce)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    port = service.server_address[1]
    workspace = prepare_workspace(tmp_path / "ws", load_scenario("handshake-500"))
    config = workspace / "fixloop.toml"
    config.write_text(
        config.read_text().replace(
            "[target]\n", f'[target]\nhttp_url = "http://127.0.0.1:{port}"\nws_url = "ws://127.0.0.1:{port}/ws"\n', 1
        )
    )
    out = tmp_path / "out"
    request = RunRequest(
        repo=workspace, focus="websockets", llm="scripted", scenario="handshake-500", out_dir=out, stop_at="merge"
    )
    try:
        thread = start_run(request)
    finally:
        service.server_close()  # (closed already when the preflight's request came)
    doc = run_status(thread)
    seen = [(c["kind"], c["title"], c["report"]) for c in doc["iterations"][0]["categories"]]
    assert doc["status"] == "diagnosed" and not doc["prs"], (doc["outcome"], seen)
    assert "reported, no code fix" in doc["outcome"] and "infrastructure" in doc["outcome"], doc["outcome"]
    categories = doc["iterations"][0]["categories"]
    assert {c["kind"] for c in categories} == {"environment"}
    for category in categories:
        assert category["report"].startswith("infrastructure: the configured target does not answer"), category
        assert f"127.0.0.1:{port}/health unreachable" in category["report"]
        assert category["five_whys"]["method"] == "rules"
        degraded = [f["message"] for f in category["investigation_findings"] if f["kind"] == "model-degraded"]
        assert degraded and "do not show" in degraded[0], category["investigation_findings"]
    assert verify_run_dir(out).ok, verify_run_dir(out).problems

    run_json = out / "run.json"
    doctored = json.loads(run_json.read_text(encoding="utf-8"))
    doctored["iterations"][0]["categories"][0]["pr"] = {"number": 7, "state": "open"}
    run_json.write_text(json.dumps(doctored), encoding="utf-8")
    problems = verify_run_dir(out).problems
    assert any("code PR #7 opened although its evidence says infrastructure" in p for p in problems), problems


def _dead_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed on exit: nothing listens there


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_an_approval_runs_the_starts_preflight_and_logs_it(run_cli: CliRunner, demo_out: Path) -> None:
    """An approval (like a resume) goes on to merge, deploy and test: it checks the services a start checks
    first. A log source that went away refuses it before anything is recorded; once back, the approval goes on
    and the worklog says the preflight passed and what the target check found."""
    demo = ["demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol"]
    started = run_cli(*demo, "--out", str(demo_out), timeout=900)
    doc = json.loads((demo_out / "run.json").read_text(encoding="utf-8"))
    assert doc["status"] == "awaiting_approval", started.stderr[-2000:]
    thread = doc["thread_id"]
    workspace = demo_out / "workspace"
    config = workspace / "fixloop.toml"
    good = config.read_text()
    try:
        dead = f'[logs]\nbackend = "cloud-logging"\nproject = "p"\nendpoint = "http://127.0.0.1:{_dead_port()}"\n'
        assert '[logs]\nbackend = "file"\n' in good
        config.write_text(good.replace('[logs]\nbackend = "file"\n', dead, 1))
        refused = run_cli("approve", thread, "--by", "alice", timeout=600)
        assert refused.returncode != 0 and "log source" in refused.stderr, refused.stderr[-2000:]
        run = json.loads(run_cli("status", thread, "--json").stdout)
        assert run["status"] == "awaiting_approval" and not run["approvals"] and not run["deploys"]

        config.write_text(good)
        approved = run_cli("approve", thread, "--by", "alice", timeout=600)
        assert approved.returncode == 0, approved.stderr[-2000:]
        worklog = (demo_out / "worklog.md").read_text(encoding="utf-8")
        assert "approve by alice: preflight passed (" in worklog and "; target: " in worklog, worklog[-3000:]
    finally:
        stop_target(workspace)
