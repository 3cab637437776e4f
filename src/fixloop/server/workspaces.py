"""Where a run started from chat works.

An allowed repo (``--allow-repo NAME=PATH``) is used in place. The bundled example
(``demo``) is never touched: each run gets a fresh copy under ``FIXLOOP_HOME``, broken
with the chosen scenario's fault, and the example target started from it (as
``fixloop demo`` does); the target is stopped once the run is over.
"""

from __future__ import annotations

from pathlib import Path

from fixloop.paths import fixloop_home

DEMO_REPO = "demo"
DEFAULT_DEMO_SCENARIO = "handshake-500"


def run_dir(thread_id: str) -> Path:
    """The folder for a server-started run's run.json, worklog and (demo) workspace."""
    return fixloop_home() / "server-runs" / thread_id


def prepare_demo(thread_id: str, scenario: str | None) -> Path:
    """Copy the bundled example with ``scenario``'s fault into the run's folder and start its target."""
    from fixloop.scenarios import load_scenario, prepare_workspace
    from fixloop.target import start_target

    workspace = prepare_workspace(run_dir(thread_id) / "workspace", load_scenario(scenario or DEFAULT_DEMO_SCENARIO))
    start_target(workspace)
    return workspace


def stop_demo(workspace: Path) -> None:
    from fixloop.target import stop_target

    stop_target(workspace)
