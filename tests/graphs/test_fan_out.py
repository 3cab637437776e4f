"""One investigation sub-agent per category, all at once: a workspace with two seeded faults gives several
categories; with a scripted model that takes a second per reply, their investigations overlap in time."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from fixloop.checkpoints import open_store
from fixloop.config import load_settings
from fixloop.context import RunContext
from fixloop.graphs.remediation import build_graph
from fixloop.integrations.llm.scripted import scripted_model
from fixloop.integrations.logs import build_log_source
from fixloop.redaction import Redactor
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.state import RunInfo
from fixloop.target import start_target, stop_target

LATENCY = 1.0  # seconds per scripted reply


@pytest.fixture
def two_faults(tmp_path: Path) -> Iterator[Path]:
    """The example broken by jwt-skew (auth) and events-out-of-order (protocol), its target running."""
    repo = prepare_workspace(tmp_path / "ws", load_scenario("jwt-skew"))
    subprocess.run(["git", "apply", str(load_scenario("events-out-of-order").fault_patch)], cwd=repo, check=True)
    git = ["git", "-c", "user.name=fixloop-test", "-c", "user.email=test@fixloop.invalid"]
    subprocess.run([*git, "commit", "-q", "-am", "second fault"], cwd=repo, check=True)
    start_target(repo)
    yield repo
    stop_target(repo)


@pytest.mark.slow
def test_every_category_is_investigated_in_parallel(two_faults: Path, tmp_path: Path) -> None:
    settings = load_settings(two_faults)
    model = scripted_model(settings, load_scenario("jwt-skew"), latency=LATENCY)
    out = tmp_path / "out"
    ctx = RunContext(
        settings=settings,
        repo=two_faults,
        out_dir=out,
        thread_id="fan-out",
        redactor=Redactor(),
        model=model,
        logs=build_log_source(settings, two_faults),
    )
    info = RunInfo(
        thread_id="fan-out",
        repo=str(two_faults),
        focus="websockets",
        out_dir=str(out),
        llm_mode="scripted",
        model_name=model.name,
        stop_at="diagnose",
    )
    try:
        with open_store() as store:
            graph = build_graph(checkpointer=store.saver)
            state = graph.invoke({"run": info}, {"configurable": {"thread_id": "fan-out"}}, context=ctx)
    finally:
        model.close()

    assert state["status"] == "diagnosed"
    categories = state["iterations"][0].categories
    kinds = {c.kind for c in categories}
    assert len(categories) >= 2 and {"auth", "protocol"} <= kinds
    investigations = state["investigations"]
    assert sorted(i.category.id for i in investigations) == sorted(c.id for c in categories)
    assert all(i.five_whys is not None and len(i.five_whys.steps) >= 5 for i in investigations)
    assert model.server.served("five_whys") >= len(categories)  # every sub-agent asked the model

    starts: list[datetime] = [i.started_at for i in investigations]
    ends: list[datetime] = [i.finished_at for i in investigations if i.finished_at is not None]
    assert len(ends) == len(starts)
    # all sub-agents were running at the same moment: the last one started before the first one finished
    assert max(starts) < min(ends), [(i.category.id, i.started_at, i.finished_at) for i in investigations]
