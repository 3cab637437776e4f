"""Five whys with a model: structured output, citations checked, asked again on a bad chain."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fixloop.agents.citations import citation_problems
from fixloop.agents.model_messages import Redact, message, redactor_or_default
from fixloop.errors import ModelError
from fixloop.interfaces import ChatModel
from fixloop.prompts import render
from fixloop.records import Category, EvidenceBundle, FiveWhys, WhyStep

PURPOSE = "five_whys"


class FiveWhysReply(BaseModel):
    """What the model must answer."""

    steps: list[WhyStep] = Field(min_length=5)
    root_cause: str = Field(min_length=1)
    fix_location: str = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str = ""


def investigate(
    model: ChatModel,
    category: Category,
    bundle: EvidenceBundle,
    *,
    redact: Redact | None = None,
    feedback: str = "",
    focus: str = "",
    max_attempts: int = 3,
) -> FiveWhys:
    """A checked chain; raises ModelError when the model cannot give a valid one (caller degrades).

    ``redact`` masks secrets in everything sent to the model, the last line of defence after the
    bundle's own redaction (default: a ``Redactor`` over the environment; the graph passes the run's).
    A chain with fewer than five steps, an uncited step or a citation of an id not in
    ``bundle`` is sent back with the problems, up to ``max_attempts`` times.
    """
    prompt = render(
        "five_whys.md.j2",
        category=category,
        focus=focus,
        signature=_signature_text(category),
        evidence=bundle.items,
        locations=bundle.locations,
        feedback=feedback,
    )
    redact = redactor_or_default(redact)
    messages = [message("user", prompt, redact)]
    problems: list[str] = []
    for _ in range(max_attempts):
        reply = model.complete_json(messages, FiveWhysReply, purpose=PURPOSE)
        if not isinstance(reply, FiveWhysReply):
            raise ModelError(f"model {model.name} returned {type(reply).__name__}, not FiveWhysReply")
        chain = FiveWhys(
            steps=reply.steps,
            root_cause=reply.root_cause,
            fix_location=reply.fix_location,
            confidence=reply.confidence,
            method="llm",
        )
        problems = citation_problems(chain, bundle)
        if not problems:
            return chain
        messages += [
            message("assistant", reply.model_dump_json(), redact),
            message("user", "The chain was rejected:\n- " + "\n- ".join(problems) + "\nAnswer again.", redact),
        ]
    raise ModelError(
        f"model {model.name} gave no valid five-whys chain for {category.id} in {max_attempts} tries: "
        + "; ".join(problems)
    )


def _signature_text(category: Category) -> str:
    sig = category.signature
    parts = [
        sig.exception_type,
        sig.message,
        f"HTTP {sig.http_status}" if sig.http_status else "",
        f"close code {sig.close_code}" if sig.close_code else "",
        ", ".join(f"{f.file}:{f.line} {f.function}".strip() for f in sig.frames[:3]),
    ]
    return " | ".join(p for p in parts if p)
