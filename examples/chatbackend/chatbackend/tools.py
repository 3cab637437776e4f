"""The agent's tools: a calculator and an echo, with a simulated tool latency."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

CALCULATOR = "calculator"
ECHO = "echo"

EXPRESSION = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/])\s*(-?\d+(?:\.\d+)?)")


class ToolError(Exception):
    """A tool could not produce a result."""


def calculate(expression: str) -> str:
    match = EXPRESSION.search(expression)
    if match is None:
        raise ToolError(f"not an arithmetic expression: {expression!r}")
    left, operator, right = float(match.group(1)), match.group(2), float(match.group(3))
    if operator == "/" and right == 0:
        raise ToolError("division by zero")
    value = {"+": left + right, "-": left - right, "*": left * right, "/": left / right if right else 0.0}[operator]
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def echo(text: str) -> str:
    return text


TOOLS: dict[str, Callable[[str], str]] = {CALCULATOR: calculate, ECHO: echo}


def choose_tool(text: str) -> tuple[str, str]:
    """The tool for a chat text and its input."""
    match = EXPRESSION.search(text)
    if match is not None:
        return CALCULATOR, match.group(0)
    return ECHO, text


async def run_tool(name: str, argument: str, delay_ms: float) -> str:
    """Run tool ``name`` on ``argument``; ``delay_ms`` simulates the latency of a real tool call."""
    if name not in TOOLS:
        raise ToolError(f"unknown tool {name!r}")
    result = TOOLS[name](argument)
    await asyncio.sleep(delay_ms / 1000)
    return result
