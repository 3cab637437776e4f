"""The typed message schema spoken over ``/ws``: client chat messages in, agent events and errors out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

CHAT = "chat"
ERROR = "error"
MAX_TEXT_LENGTH = 4000


class SchemaError(ValueError):
    """A client message that does not follow the schema."""


@dataclass(frozen=True)
class ChatMessage:
    """``{"type": "chat", "text": "...", "id": "..."}``"""

    text: str
    id: str


def parse_client_message(raw: str | bytes) -> ChatMessage:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SchemaError("message is not valid JSON") from None
    if not isinstance(data, dict):
        raise SchemaError("message must be a JSON object")
    if data.get("type") != CHAT:
        raise SchemaError(f"unknown message type {data.get('type')!r}, expected {CHAT!r}")
    text, message_id = data.get("text"), data.get("id", "")
    if not isinstance(text, str) or not text.strip():
        raise SchemaError("'text' must be a non-empty string")
    if len(text) > MAX_TEXT_LENGTH:
        raise SchemaError(f"'text' is longer than {MAX_TEXT_LENGTH} characters")
    if not isinstance(message_id, str):
        raise SchemaError("'id' must be a string")
    return ChatMessage(text=text, id=message_id)


def server_event(event: str, run_id: str, request_id: str, data: dict[str, Any]) -> str:
    """``{"type": <event>, "run_id": ..., "request_id": ..., "timestamp": ..., "data": {...}}``"""
    return json.dumps(
        {"type": event, "run_id": run_id, "request_id": request_id, "timestamp": time.time(), "data": data}
    )


def error_message(code: str, message: str, request_id: str = "") -> str:
    """``{"type": "error", "request_id": ..., "error": {"code": ..., "message": ...}}``"""
    return json.dumps({"type": ERROR, "request_id": request_id, "error": {"code": code, "message": message}})
