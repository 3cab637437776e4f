"""A local OpenAI-compatible HTTP server with scripted replies: the labelled test double of the LLM.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` on loopback so that the real ``openai``
client is exercised end to end. Replies are scripted per *purpose* (the request's JSON schema name,
e.g. ``five_whys``, ``fix``, ``audit``): each purpose has a list of steps consumed in order (the last
one repeats). A step is JSON content, a function of the request, or a fault:

- ``"429"``, ``"500"`` or any other HTTP status: an OpenAI-style error reply with that status;
- ``"timeout"``: hold the request past any client timeout (released when the server stops);
- ``"garbage"``: text that is not JSON; ``"truncated"``: half a JSON object, ``finish_reason="length"``;
- ``"wrong-schema"``: valid JSON that matches no schema of fixloop.

Every request is recorded (tests check that prompts hold no secret). The model it reports is
``scripted:<name>``: whatever it says is scripted, never a real model's answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from fixloop.integrations.loopback import LoopbackHTTPServer

FAULTS = ("timeout", "garbage", "truncated", "wrong-schema")
DEFAULT_PURPOSE = "*"
_STATUS = re.compile(r"^[45]\d\d$")


@dataclass
class RecordedRequest:
    """One chat completion request as the server received it."""

    purpose: str
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages", [])
        return messages if isinstance(messages, list) else []

    @property
    def schema(self) -> dict[str, Any]:
        fmt = self.body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
        return schema if isinstance(schema, dict) else {}

    def text(self) -> str:
        """All message contents, joined: what a model would have read."""
        return "\n".join(str(m.get("content", "")) for m in self.messages if isinstance(m, dict))


Responder = Callable[[RecordedRequest], str]


@dataclass(frozen=True)
class Step:
    """One scripted reply: ``content`` (JSON text), ``respond`` (built from the request) or ``fault``."""

    content: str | None = None
    respond: Responder | None = None
    fault: str | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.content, self.respond, self.fault) if x is not None]
        if len(given) != 1:
            raise ValueError("a scripted step needs exactly one of content, respond, fault")
        if self.fault is not None and self.fault not in FAULTS and not _STATUS.match(self.fault):
            raise ValueError(f"unknown scripted fault {self.fault!r}: use an HTTP status or one of {FAULTS}")


StepLike = Step | str | Mapping[str, Any] | Responder
Script = dict[str, list[Step]]


def as_step(item: StepLike) -> Step:
    """``"429"``/``"timeout"``/... -> a fault; other text -> content; ``{"fault": ..}`` or ``{"content": ..}``
    -> that; any other mapping -> its JSON; a callable -> built from the request."""
    if isinstance(item, Step):
        return item
    if isinstance(item, str):
        return Step(fault=item) if item in FAULTS or _STATUS.match(item) else Step(content=item)
    if isinstance(item, Mapping):
        if set(item) == {"fault"}:
            return Step(fault=str(item["fault"]))
        if set(item) == {"content"}:
            content = item["content"]
            return Step(content=content if isinstance(content, str) else json.dumps(content))
        return Step(content=json.dumps(dict(item)))
    if callable(item):
        return Step(respond=item)
    raise TypeError(f"not a scripted step: {item!r}")


def as_script(script: Mapping[str, Sequence[StepLike]]) -> Script:
    """Normalize ``{purpose: [steps]}``; the purpose ``"*"`` answers any purpose not listed."""
    out: Script = {}
    for purpose, steps in script.items():
        if isinstance(steps, str | Mapping) or not steps:
            raise ValueError(f"scripted purpose {purpose!r} needs a non-empty list of steps")
        out[purpose] = [as_step(s) for s in steps]
    return out


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedServer:
    """``with ScriptedServer({"fix": [..]}) as server: OpenAI(base_url=server.url, ...)``."""

    def __init__(
        self,
        script: Mapping[str, Sequence[StepLike]],
        *,
        model: str = "scripted:test",
        latency: float = 0.0,
        hang_seconds: float = 30.0,
    ) -> None:
        self.script = as_script(script)
        self.model = model
        self.latency = latency  # fixed delay before every reply (fan-out benchmarks)
        self.hang_seconds = hang_seconds  # how long a "timeout" fault holds the request at most
        self.requests: list[RecordedRequest] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._http: LoopbackHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> ScriptedServer:
        server = self

        class Handler(_Handler):
            scripted = server

        self._http = LoopbackHTTPServer(Handler, name="scripted-llm")
        self._http.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def stopped(self) -> bool:
        return self._http is None

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("scripted server is not running")
        return self._http.port

    @property
    def url(self) -> str:
        """The ``base_url`` for the openai client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def served(self, purpose: str) -> int:
        """How many requests for ``purpose`` were answered (faults included)."""
        with self._lock:
            return self._served.get(purpose, 0)

    # ------------------------------------------------------------ replies

    def next_step(self, request: RecordedRequest) -> Step | None:
        with self._lock:
            self.requests.append(request)
            key = request.purpose if request.purpose in self.script else DEFAULT_PURPOSE
            steps = self.script.get(key)
            if steps is None:
                return None
            index = self._served.get(request.purpose, 0)
            self._served[request.purpose] = index + 1
            return steps[min(index, len(steps) - 1)]

    def hang(self) -> None:
        self._stopping.wait(self.hang_seconds)

    def completion(self, request: RecordedRequest, content: str, finish_reason: str = "stop") -> dict[str, Any]:
        prompt_tokens = _estimate_tokens(request.text())
        completion_tokens = _estimate_tokens(content)
        return {
            "id": f"chatcmpl-scripted-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def purpose_of(body: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The JSON schema name of the request, else its ``X-Fixloop-Purpose`` header, else ``"*"``."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        name = (fmt.get("json_schema") or {}).get("name")
        if isinstance(name, str) and name:
            return name
    return headers.get("x-fixloop-purpose") or DEFAULT_PURPOSE


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    scripted: ScriptedServer  # set on the subclass made by ScriptedServer.start

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: requests are recorded, not logged

    def _send_json(self, status: int, payload: Mapping[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, status: int, message: str, kind: str = "scripted_error") -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "code": str(status)}})

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.scripted.model, "object": "model", "created": 0, "owned_by": "fixloop-scripted"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}", "not_found")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, "request body is not JSON", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._error(400, "request body is not a JSON object", "invalid_request_error")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(purpose=purpose_of(body, headers), body=body)
        step = self.scripted.next_step(request)
        if self.scripted.latency:
            time.sleep(self.scripted.latency)
        if step is None:
            self._error(400, f"no scripted reply for purpose {request.purpose!r}", "invalid_request_error")
        elif step.fault is not None:
            self._fault(step.fault, request)
        else:
            content = step.content if step.content is not None else step.respond(request)  # type: ignore[misc]
            self._send_json(200, self.scripted.completion(request, content))

    def _fault(self, fault: str, request: RecordedRequest) -> None:
        if _STATUS.match(fault):
            kind = "rate_limit_exceeded" if fault == "429" else "scripted_fault"
            self._error(int(fault), f"scripted fault: HTTP {fault}", kind)
        elif fault == "timeout":
            self.scripted.hang()
            self.close_connection = True  # the client gave up long ago
        elif fault == "garbage":
            self._send_json(200, self.scripted.completion(request, "Sure! Here is my analysis: it is the server."))
        elif fault == "truncated":
            self._send_json(200, self.scripted.completion(request, '{"summary": "cut off in the mid', "length"))
        else:  # wrong-schema
            self._send_json(200, self.scripted.completion(request, json.dumps({"unexpected": ["shape"]})))
