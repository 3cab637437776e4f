"""Regenerate fault.patch / gold.patch of each scenario from text edits of examples/chatbackend.

Run after changing the example: python evals/scenarios/make_patches.py, then tests/test_scenarios.py.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the fixloop checkout
sys.path.insert(0, str(ROOT / "src"))
os.environ["FIXLOOP_PROJECT_ROOT"] = str(ROOT)
from fixloop.scenarios import prepare_workspace

EDITS = {
  "handshake-500": [("chatbackend/server.py",
      'return Session(user=str(claims["sub"]), connection_id=uuid.uuid4().hex[:12], test_id=test_id)',
      'return Session(user=str(claims["user_id"]), connection_id=uuid.uuid4().hex[:12], test_id=test_id)')],
  "jwt-skew": [("chatbackend/auth.py", "            leeway=LEEWAY_SECONDS,\n", "            leeway=0,\n")],
  "renamed-event": [("chatbackend/agent.py",
      'Emit = Callable[[str, str, dict[str, Any]], Awaitable[None]]\n',
      'Emit = Callable[[str, str, dict[str, Any]], Awaitable[None]]\n\nTOOL_COMPLETED = "tool_complete"  # emitted when a tool call returns\n'),
     ("chatbackend/agent.py",
      'await emit(events.TOOL_COMPLETED, run_id',
      'await emit(TOOL_COMPLETED, run_id')],
  "events-out-of-order": [("chatbackend/agent.py",
      '''    await emit(events.AGENT_THINKING, run_id, {"thought": f"I will use the {tool} tool on {argument!r}"})
    await emit(events.TOOL_EXECUTING, run_id, {"tool": tool, "input": argument})
''','''    await emit(events.TOOL_EXECUTING, run_id, {"tool": tool, "input": argument})
    await emit(events.AGENT_THINKING, run_id, {"thought": f"I will use the {tool} tool on {argument!r}"})
''')],
  "slow-tool": [("chatbackend/tools.py", "    await asyncio.sleep(delay_ms / 1000)\n", "    await asyncio.sleep(delay_ms)\n")],
  "missing-env": [("chatbackend/config.py", "REQUIRED_ENV = (JWT_SECRET_ENV,)\n", "REQUIRED_ENV = (JWT_SECRET_ENV, AGENT_MODEL_ENV)\n"),
                  ("chatbackend/config.py", "        agent_model=env.get(AGENT_MODEL_ENV) or DEFAULT_AGENT_MODEL,\n", "        agent_model=env[AGENT_MODEL_ENV],\n")],
  "fake-test": [("tests/e2e/staging/test_1_websocket_events_staging.py",
      '''    messages = chat(ws_url, auth_headers, "what is 6 * 7?", "flow-1")
''','''    # The event contract is fixed by chatbackend.events: build the expected run locally
    # instead of waiting on the network (keeps this test fast and stable).
    messages = [{"type": name, "run_id": "run-local", "request_id": "flow-1", "data": {}} for name in EVENT_ORDER]
    messages[-1]["data"]["answer"] = "42"
''')],
  "flaky-race": [("chatbackend/tools.py",
      '''async def run_tool(name: str, argument: str, delay_ms: float) -> str:
    """Run tool ``name`` on ``argument``; ``delay_ms`` simulates the latency of a real tool call."""
    if name not in TOOLS:
        raise ToolError(f"unknown tool {name!r}")
    result = TOOLS[name](argument)
    await asyncio.sleep(delay_ms / 1000)
    return result
''','''_last_result = ""  # the most recent tool output, kept for the tool-call log


async def run_tool(name: str, argument: str, delay_ms: float) -> str:
    """Run tool ``name`` on ``argument``; ``delay_ms`` simulates the latency of a real tool call."""
    global _last_result
    if name not in TOOLS:
        raise ToolError(f"unknown tool {name!r}")
    _last_result = TOOLS[name](argument)
    await asyncio.sleep(delay_ms / 1000)
    return _last_result
''')],
}

# Harder scenarios (issue #8): two faults at once, a far cause, a lookalike, an SSOT trap, infra down.
EDITS["two-faults"] = [("chatbackend/tools.py",
      '''    match = EXPRESSION.search(text)
    if match is not None:
        return CALCULATOR, match.group(0)
    return ECHO, text
''','''    match = EXPRESSION.search(text)
    tool = CALCULATOR if match is not None else ECHO
    return tool, match.group(0)
'''),
     ("chatbackend/server.py",
      "        if token is None:\n            token = next(iter(parse_qs(query)",
      '        if token is None and request.headers.get("Origin"):  # query tokens are for browsers only\n'
      "            token = next(iter(parse_qs(query)")]

EDITS["config-far-cause"] = [("chatbackend/config.py",
      'DEFAULT_AGENT_MODEL = "calculator-v1"\n',
      'DEFAULT_AGENT_MODEL = "calculator-v1"\nJWT_KEY_BYTES = 32  # HS256 signs with a 256-bit key\n'),
     ("chatbackend/config.py",
      "        jwt_secret=env[JWT_SECRET_ENV],\n",
      "        jwt_secret=env[JWT_SECRET_ENV][:JWT_KEY_BYTES],\n")]

EDITS["lookalike-logs"] = [("chatbackend/auth.py",
      'DEFAULT_TTL_SECONDS = 300\n',
      'DEFAULT_TTL_SECONDS = 300\nREQUIRED_SCOPE = "chat"  # tokens must grant the chat scope\n'),
     ("chatbackend/auth.py",
      "        return jwt.decode(\n",
      "        claims = jwt.decode(\n"),
     ("chatbackend/auth.py",
      '''            options={"require": ["exp", "iat", "sub"]},
        )
''','''            options={"require": ["exp", "iat", "sub"]},
        )
        if REQUIRED_SCOPE not in str(claims["scope"]).split():
            raise AuthError(f"token lacks the {REQUIRED_SCOPE!r} scope")
        return claims
''')]

EDITS["ssot-trap"] = [("chatbackend/config.py",
      "DEFAULT_TOOL_DELAY_MS = 50.0\n",
      "DEFAULT_TOOL_DELAY_MS = 5000.0  # as slow as the production tool API (p50 ~5 s), so e2e runs see real timing\n")]

EDITS["infra-down"] = [("fixloop.toml",
      'health_path = "/health"\n',
      'health_path = "/health"\nenv = { CHAT_HOST = "192.0.2.10" }   # bind address of the staging VM (its private interface)\n')]

# The tempting wrong fix of a scenario, applied on top of its fault (written to trap.patch): it makes
# the e2e suite pass but duplicates a definition that exists once (see ssot_trap in scenario.toml).
TRAPS = {}

TRAPS["ssot-trap"] = [("chatbackend/tools.py",
      'EXPRESSION = re.compile(',
      'DEFAULT_TOOL_DELAY_MS = 50.0  # chats must finish within the clients\' few seconds\n\nEXPRESSION = re.compile('),
     ("chatbackend/tools.py",
      "    await asyncio.sleep(delay_ms / 1000)\n",
      "    await asyncio.sleep(min(delay_ms, DEFAULT_TOOL_DELAY_MS) / 1000)\n")]


def edit(ws: Path, edits: list[tuple[str, str, str]], name: str) -> None:
    for rel, old, new in edits:
        p = ws / rel
        text = p.read_text()
        assert text.count(old) == 1, (name, rel, old)
        p.write_text(text.replace(old, new))


def run(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout

for name, edits in EDITS.items():
    ws = Path(tempfile.mkdtemp()) / name
    shutil.rmtree(ws, ignore_errors=True)
    prepare_workspace(ws, None)
    edit(ws, edits, name)
    fault = run(ws, "diff")
    run(ws, "commit", "-qam", "fault")
    if name in TRAPS:
        edit(ws, TRAPS[name], name)
        trap = run(ws, "diff")
        run(ws, "checkout", "--", ".")
    for rel, old, new in reversed(edits):
        p = ws / rel
        p.write_text(p.read_text().replace(new, old, 1))
    gold = run(ws, "diff")
    out = ROOT / "evals" / "scenarios" / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "fault.patch").write_text(fault)
    (out / "gold.patch").write_text(gold)
    if name in TRAPS:
        (out / "trap.patch").write_text(trap)
    print(name, len(fault), len(gold))
