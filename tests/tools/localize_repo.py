"""A small target repository in git: a chat backend with a seeded fault, for localization tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

WS = """\
import logging

from chat.sessions import SessionStore

log = logging.getLogger(__name__)
EVENTS = ("agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed")


class Handler:
    def __init__(self, store: SessionStore) -> None:
        self.store = store

    async def accept_connection(self, request):
        try:
            session = self.store.open(request.user)
        except KeyError as exc:
            log.error("websocket handshake failed: KeyError %r", str(exc))
            return 500
        return session
"""

SESSIONS = """\
class SessionStore:
    def __init__(self) -> None:
        self.backends = {"memory": dict()}

    def open(self, user):
        return self.backends["memory"][user]
"""

AGENT = """\
from chat import events, tools


async def run_agent(emit):
    await emit(events.AGENT_STARTED)
    await emit(events.TOOL_EXECUTING)
    result = await tools.run_tool("calc")
    await emit(events.AGENT_COMPLETED)
    return result
"""

EVENTS_MODULE = """\
AGENT_STARTED = "agent_started"
TOOL_EXECUTING = "tool_executing"
AGENT_COMPLETED = "agent_completed"
ORDER = (AGENT_STARTED, TOOL_EXECUTING, AGENT_COMPLETED)
"""

TOOLS = """\
_last = ""


async def run_tool(name):
    global _last
    _last = name
    return _last


def verify(token):
    raise ValueError("token not yet valid (issued in the future)")
"""

TEST = """\
async def test_websocket_event_flow_real(ws_url):
    async with connect(ws_url) as ws:
        assert await ws.recv()
"""


FIXED_DATES = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}


def git(repo: Path, *args: str) -> None:
    """Run git with fixed commit dates, so the same repo built twice has the same shas."""
    env = {**os.environ, **FIXED_DATES}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def make_repo(root: Path) -> Path:
    """Baseline commit, then a 'fault' commit renaming the session backend key."""
    (root / "chat").mkdir(parents=True)
    (root / "tests" / "e2e").mkdir(parents=True)
    (root / "chat" / "__init__.py").write_text("")
    (root / "chat" / "ws.py").write_text(WS)
    (root / "chat" / "sessions.py").write_text(SESSIONS)
    (root / "chat" / "agent.py").write_text(AGENT)
    (root / "chat" / "events.py").write_text(EVENTS_MODULE)
    (root / "chat" / "tools.py").write_text(TOOLS)
    (root / "tests" / "e2e" / "test_ws_events.py").write_text(TEST)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baseline")
    (root / "chat" / "sessions.py").write_text(SESSIONS.replace('{"memory": dict()}', '{"mem": dict()}'))
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "Rename session backend")
    return root
