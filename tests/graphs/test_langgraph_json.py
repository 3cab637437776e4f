"""langgraph.json under LangGraph's own server: ``langgraph dev`` runs the remediation graph end to end.

A real ``langgraph dev`` (in-memory runtime, loopback, a free port) loads ``langgraph.json``; a client
speaking its HTTP API (langgraph-sdk) creates a run on a copy of the example target with a fault
(``handshake-500``) and the scripted model (labelled as such; its OpenAI-protocol server runs in the
server's process), with only JSON: the run's context (ids, paths, modes) and its input (the focus).
The run stops at the approval interrupt with a PR open; a second run answers the interrupt through the
threads API (``Command(resume=...)``) with an approval; the loop merges, deploys, re-tests and ends green.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.schema import Run

from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target
from tests.conftest import PROJECT_ROOT, cli_env

STARTUP_TIMEOUT = 180.0  # seconds: the server imports both graphs (and LangGraph's API) on 2 busy cores
RUN_TIMEOUT = 600.0
SCENARIO = "handshake-500"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _langgraph_cli() -> str:
    found = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or shutil.which("langgraph")
    if found is None:
        pytest.fail("the `langgraph` command is missing: pip install -e '.[dev]' (langgraph-cli[inmem])")
    return found


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev did not answer in {STARTUP_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def langgraph_dev(tmp_path: Path) -> Iterator[str]:
    """The URL of a ``langgraph dev`` serving this checkout's langgraph.json; stopped afterwards."""
    port = _free_port()
    cwd = tmp_path / "server"  # its in-memory store's files land here, not in the checkout
    cwd.mkdir()
    log = tmp_path / "langgraph-dev.log"
    command = [
        _langgraph_cli(), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
        "--config", str(PROJECT_ROOT / "langgraph.json"),
    ]  # fmt: skip
    env = cli_env({"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1"})
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its reloader/worker children (its own group)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """The example target with the scenario's fault, in a fresh git repo, running; stopped afterwards."""
    repo = prepare_workspace(tmp_path / "demo" / "workspace", load_scenario(SCENARIO))
    start_target(repo)
    try:
        yield repo
    finally:
        stop_target(repo)


def _finish(client: SyncLangGraphClient, thread_id: str, run: Run) -> dict[str, Any]:
    """Wait for ``run`` to end; the thread's state after it (``values``, ``interrupts``)."""
    client.runs.join(thread_id, run["run_id"])
    done = client.runs.get(thread_id, run["run_id"])
    state: dict[str, Any] = dict(client.threads.get_state(thread_id))
    assert done["status"] in ("success", "interrupted"), (done["status"], state["values"].get("outcome"))
    return state


def _bad_input_is_one_clear_line(client: SyncLangGraphClient, workspace: Path) -> None:
    """A context with an unknown mode, or input without a focus: the run errors with one line naming it."""
    for context, intake, words in [
        ({"repo": str(workspace), "llm": "gpt-4"}, {"run": {"focus": "chat"}}, "llm"),
        ({"repo": str(workspace)}, {"run": {"requested_by": "carol"}}, "focus"),
    ]:
        thread_id = client.threads.create()["thread_id"]
        run = client.runs.create(thread_id, "remediation", input=intake, context={**context, "thread_id": thread_id})
        result = client.runs.join(thread_id, run["run_id"])
        assert client.runs.get(thread_id, run["run_id"])["status"] == "error"
        error = dict(result).get("__error__", {})
        assert error.get("error") == "RunInputError" and words in error.get("message", ""), result


@pytest.mark.slow
@pytest.mark.timeout(int(STARTUP_TIMEOUT + 2 * RUN_TIMEOUT))
def test_langgraph_dev_runs_the_loop_to_the_approval_and_on_to_green(
    langgraph_dev: str, workspace: Path, tmp_path: Path
) -> None:
    client = get_sync_client(url=langgraph_dev, timeout=(10.0, RUN_TIMEOUT, RUN_TIMEOUT, 10.0))
    assistants = {a["graph_id"]: a["assistant_id"] for a in client.assistants.search(limit=20)}
    assert {"remediation", "investigation"} <= set(assistants)
    schemas = client.assistants.get_schemas(assistants["remediation"])
    context_fields = set((schemas.get("context_schema") or {}).get("properties", {}))
    assert {"thread_id", "repo", "out_dir", "llm", "scenario", "stop_at"} <= context_fields, schemas
    _bad_input_is_one_clear_line(client, workspace)
    thread_id = client.threads.create()["thread_id"]
    context = {  # plain JSON: the server builds the settings, redactor and model client from it
        "thread_id": thread_id,
        "repo": str(workspace),
        "out_dir": str(tmp_path / "out"),
        "llm": "scripted",
        "scenario": SCENARIO,
        "stop_at": "merge",
    }
    focus = load_scenario(SCENARIO).focus
    first = client.runs.create(
        thread_id,
        "remediation",
        input={"run": {"focus": focus, "requested_by": "carol", "source": "api"}},
        context=context,
    )
    waiting = _finish(client, thread_id, first)
    values = waiting["values"]
    assert values["status"] == "awaiting_approval", values.get("outcome")
    interrupts = waiting["interrupts"]
    assert len(interrupts) == 1, waiting
    question = interrupts[0]["value"]
    assert question["requested_by"] == "carol" and question["prs"], question
    assert values["run"]["thread_id"] == thread_id and values["run"]["llm_mode"] == "scripted"
    assert values["run"]["model_name"].startswith("scripted"), values["run"]["model_name"]
    assert [pr["state"] for pr in values["prs"]] == ["open"] * len(values["prs"]) and values["prs"]
    assert not values.get("approvals")

    second = client.runs.create(
        thread_id,
        "remediation",
        command={"resume": {"decision": "approve", "by": "alice", "source": "api"}},
        context=context,
    )
    ended = _finish(client, thread_id, second)
    values = ended["values"]
    assert not ended["interrupts"]
    assert values["status"] == "green", values.get("outcome")
    assert [(a["decision"], a["by"]) for a in values["approvals"]] == [("approve", "alice")]
    assert values["prs"] and all(pr["state"] == "merged" for pr in values["prs"])
    assert [d["outcome"] for d in values["deploys"]] == ["healthy"]
    last = max(values["iterations"], key=lambda rec: rec["iteration"])
    outcomes = [r["outcome"] for r in last["test_run"]["results"]]
    assert last["iteration"] == 2 and "passed" in outcomes and "failed" not in outcomes and "error" not in outcomes


def test_bad_context_is_one_clear_error_not_a_traceback() -> None:
    from fixloop.context import RunContext
    from fixloop.errors import UsageError

    with pytest.raises(UsageError) as caught:
        RunContext(thread_id="t1", repo="relative/repo", llm="gpt-4", colour="blue")
    line = caught.value.one_line()
    assert "llm" in line and "colour" in line and "absolute" in line and "Traceback" not in line
