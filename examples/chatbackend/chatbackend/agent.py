"""The tiny agent: one run per chat message, emitting the five events in order."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from chatbackend import events, tools

Emit = Callable[[str, str, dict[str, Any]], Awaitable[None]]


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


async def run_agent(text: str, emit: Emit, *, model: str, tool_delay_ms: float) -> str:
    """Answer ``text`` with one tool call; every step is emitted as an event. Returns the answer."""
    run_id = new_run_id()
    await emit(events.AGENT_STARTED, run_id, {"model": model, "input": text})
    tool, argument = tools.choose_tool(text)
    await emit(events.AGENT_THINKING, run_id, {"thought": f"I will use the {tool} tool on {argument!r}"})
    await emit(events.TOOL_EXECUTING, run_id, {"tool": tool, "input": argument})
    try:
        result = await tools.run_tool(tool, argument, tool_delay_ms)
        ok = True
    except tools.ToolError as exc:
        result, ok = str(exc), False
    await emit(events.TOOL_COMPLETED, run_id, {"tool": tool, "result": result, "ok": ok})
    answer = result if ok else f"Sorry, the {tool} tool failed: {result}"
    await emit(events.AGENT_COMPLETED, run_id, {"answer": answer})
    return answer
