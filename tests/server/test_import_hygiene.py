"""The server does not load the agent stack: a worker imports fixloop.runs when it needs a run."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import SRC

HEAVY = ("langgraph", "openai", "fixloop.graphs", "fixloop.agents", "fixloop.runs", "fixloop.tools")

SCRIPT = """
import json, sys
import fixloop.server.app as app_module
from fixloop.config import Settings
from fixloop.server.options import ServerOptions
from fixloop.server.secrets import ServerSecrets
app = app_module.create_app(Settings(), options=ServerOptions(repos={}), secrets=ServerSecrets.from_env(env={}))
heavy = %r
print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def test_importing_and_building_the_app_loads_no_agent_stack() -> None:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
