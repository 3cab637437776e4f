"""``ChatModel`` over the real ``openai`` client, for any OpenAI-compatible endpoint.

Structured output through ``response_format=json_schema``; a reply that is not JSON or fails its
schema is asked again with the error (bounded); 429, 5xx, timeouts and connection errors are retried
with exponential backoff and jitter; vendor errors become ``ModelError``; calls and tokens are
counted and capped (``BudgetExceededError``). The API key is never logged.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from fixloop.errors import ConfigError, ModelError, ModelUnavailableError
from fixloop.interfaces import ChatMessage, ModelUsage
from fixloop.usage_meter import charge

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is capped, not obeyed
UNAVAILABLE_STATUSES = (502, 503, 504)  # the endpoint (or its gateway) is down, not this request


class BudgetExceededError(ModelError):
    """The run's cap on model calls or tokens is reached: no further call is made."""


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retries (429/5xx/timeout/connection) and re-asks (bad JSON or schema)."""

    max_retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    max_backoff: float = 20.0
    max_reasks: int = 2

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        wait = base + random.uniform(0, base / 2)  # jitter: parallel branches do not retry in lockstep
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return wait


@dataclass(frozen=True)
class Budget:
    max_calls: int = 200
    max_tokens: int = 400_000


class OpenAIChatModel:
    """A ``ChatModel``: ``complete_json(messages, Schema, purpose="fix")`` -> a validated ``Schema``."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        name: str | None = None,
        usage: ModelUsage | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.name = name or f"openai:{model}"
        self.usage = usage or ModelUsage()
        self.retry = retry or RetryPolicy()
        self.budget = budget or Budget()
        self.base_url = base_url
        self._sleep = sleep
        self._lock = threading.Lock()  # parallel investigations share one model and one budget
        self._closers: list[Callable[[], None]] = []
        if not api_key:
            raise ConfigError(f"cannot build the model client for {self.name}: the API key is empty")
        self._client_args: dict[str, Any] = {"base_url": base_url, "api_key": api_key, "timeout": timeout}
        self._built: openai.OpenAI | None = None
        self._build_lock = threading.Lock()

    @property
    def _client(self) -> openai.OpenAI:
        """The ``openai`` client, built on the first call: importing ``openai`` costs ~0.5 s, which a
        resumed run or a ``--llm none`` run should not pay before it needs the model."""
        with self._build_lock:
            if self._built is None:
                import openai

                try:
                    self._built = openai.OpenAI(**self._client_args, max_retries=0)
                except openai.OpenAIError as exc:
                    raise ConfigError(f"cannot build the model client for {self.name}: {exc}") from None
            return self._built

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIChatModel(name={self.name!r}, base_url={self.base_url!r})"

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        """Close the HTTP client and whatever was started for this model (the scripted server)."""
        if self._built is not None:
            self._built.close()
        while self._closers:
            self._closers.pop()()

    # ------------------------------------------------------------ the protocol

    def complete_json(self, messages: Sequence[ChatMessage], schema: type[BaseModel], *, purpose: str) -> BaseModel:
        """A validated ``schema`` instance; ``ModelError`` after retries and re-asks."""
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        problem = ""
        for _ in range(self.retry.max_reasks + 1):
            content, finish_reason = self._create(conversation, schema, purpose)
            try:
                return parse_reply(content, schema, finish_reason)
            except ValueError as exc:
                problem = str(exc)
            log.warning("model %s gave an unusable %s reply: %s", self.name, purpose, problem)
            conversation += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"Your reply could not be used: {problem}\n"
                    "Answer again with only one JSON object that matches the schema.",
                },
            ]
        raise ModelError(
            f"model {self.name} gave no valid {purpose} reply in {self.retry.max_reasks + 1} tries: {problem}"
        )

    # ------------------------------------------------------------ one call, with retries

    def _create(self, conversation: list[dict[str, str]], schema: type[BaseModel], purpose: str) -> tuple[str, str]:
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": schema_name(purpose), "schema": schema.model_json_schema(), "strict": False},
        }
        import openai  # already imported by ``_client``; local so that the module itself stays light

        last = ""
        down = False  # the last failure says the endpoint is down (no connection, timeout, 502/503/504)
        for attempt in range(self.retry.max_retries + 1):
            self._charge_call()
            retry_after: float | None = None
            down = False
            try:
                completion = self._client.chat.completions.create(
                    model=self.model,
                    messages=conversation,  # type: ignore[arg-type]
                    response_format=response_format,
                )
            except (openai.RateLimitError, openai.InternalServerError) as exc:
                last = f"HTTP {exc.status_code}: {_vendor_message(exc)}"
                retry_after = _retry_after(exc.response.headers)
                down = exc.status_code in UNAVAILABLE_STATUSES
            except openai.APIStatusError as exc:
                if exc.status_code not in (408, 409) and exc.status_code < 500:
                    raise ModelError(
                        f"model {self.name} refused the {purpose} request: HTTP {exc.status_code}: "
                        f"{_vendor_message(exc)}"
                    ) from None
                last = f"HTTP {exc.status_code}: {_vendor_message(exc)}"
            except openai.APITimeoutError:
                last, down = "timed out", True
            except openai.APIConnectionError as exc:
                last, down = f"connection failed: {exc.__cause__ or exc}", True
            except openai.OpenAIError as exc:
                raise ModelError(f"model {self.name}: {type(exc).__name__}: {exc}") from None
            else:
                self._charge_tokens(completion.usage)
                choice = completion.choices[0] if completion.choices else None
                if choice is None:
                    return "", "empty"
                return choice.message.content or "", choice.finish_reason or ""
            if attempt < self.retry.max_retries:
                wait = self.retry.delay(attempt, retry_after)
                log.warning(
                    "model %s %s call failed (%s); retry %d in %.2fs", self.name, purpose, last, attempt + 1, wait
                )
                self._sleep(wait)
        tries = self.retry.max_retries + 1
        if down:
            raise ModelUnavailableError(
                f"model endpoint {self.endpoint} unreachable: {last} ({tries} tries of the {purpose} call)"
            )
        raise ModelError(f"model {self.name} failed the {purpose} call {tries} times: {last}")

    @property
    def endpoint(self) -> str:
        """Where the model is served: the URL without credentials or query (never the key)."""
        import os

        url = self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"  # as the client does
        return public_url(url)

    def prepare(self) -> None:
        """Build the client now (importing ``openai`` takes a while on a busy machine): a preflight times the
        endpoint, not the import."""
        self._client  # noqa: B018 - built on first access

    def ping(self, timeout: float = 5.0) -> None:
        """One cheap call (``GET /models``, no retry): ``ModelUnavailableError`` when the endpoint does not
        answer or is down, ``ModelError`` when it refuses the key. Any other answer (even a 404 from a
        gateway without ``/models``) proves it is there."""
        import openai

        try:
            self._client.with_options(timeout=timeout, max_retries=0).models.list()
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            cause = "timed out" if isinstance(exc, openai.APITimeoutError) else f"{exc.__cause__ or exc}"
            raise ModelUnavailableError(f"{self.endpoint} does not answer: {cause}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelError(
                f"{self.endpoint} refused the API key: HTTP {exc.status_code}",
                hint="check the key in the variable named by llm.api_key_env",
            ) from None
        except openai.APIStatusError as exc:
            if exc.status_code in UNAVAILABLE_STATUSES:
                raise ModelUnavailableError(f"{self.endpoint} is down: HTTP {exc.status_code}") from None

    # ------------------------------------------------------------ budget

    def _charge_call(self) -> None:
        with self._lock:
            used = self.usage.prompt_tokens + self.usage.completion_tokens
            if self.usage.calls >= self.budget.max_calls:
                raise BudgetExceededError(
                    f"model budget reached: {self.usage.calls} calls (limit {self.budget.max_calls})",
                    hint="raise limits.max_llm_calls",
                )
            if used >= self.budget.max_tokens:
                raise BudgetExceededError(
                    f"model budget reached: {used} tokens (limit {self.budget.max_tokens})",
                    hint="raise limits.max_tokens",
                )
            self.usage.calls += 1
        charge(calls=1)

    def _charge_tokens(self, usage: Any) -> None:
        if usage is None:
            return
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        with self._lock:
            self.usage.prompt_tokens += prompt
            self.usage.completion_tokens += completion
        charge(prompt_tokens=prompt, completion_tokens=completion)


def public_url(url: str) -> str:
    """``url`` without user:password and query string (a gateway may carry a key in either)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def schema_name(purpose: str) -> str:
    """The purpose as an OpenAI schema name (``^[a-zA-Z0-9_-]{1,64}$``); the scripted server keys on it."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", purpose)[:64] or "reply"


def parse_reply(content: str, schema: type[BaseModel], finish_reason: str = "stop") -> BaseModel:
    """Validate ``content`` against ``schema``; ``ValueError`` with a short reason a model can act on."""
    if finish_reason == "length":
        raise ValueError("the reply was cut off (finish_reason=length); answer shorter")
    text = _strip_fences(content)
    if not text:
        raise ValueError("the reply was empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"the reply does not match the {schema.__name__} schema: {errors}") from None


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _vendor_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:200]
    return str(exc.message)[:200]


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
