"""Scripts for the scripted model, derived from a scenario's ``scenario.toml`` and ``gold.patch``.

- ``five_whys``: built from the request: cites the evidence ids the prompt lists (``### E3 [kind] ..``),
  picking for each step an id of the kind that step is about, plus the items that show the step's key
  facts (``agents/claims.py``) when there are such items; root cause and fix location come from the
  scenario. Evidence that does not show the scenario's facts leaves the claim unsupported, as it is:
  the chain is then rejected like any model's;
- ``fix``: the scenario's gold patch;
- ``audit``: a pass, shaped by the schema the request asks for.

Every reply says it is scripted: a test double, never a model's judgement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fixloop.agents.claims import with_support
from fixloop.errors import UsageError
from fixloop.integrations.llm.scripted_server import RecordedRequest, Script, Step, StepLike, as_step
from fixloop.scenarios import Scenario

EVIDENCE_HEADING = re.compile(r"^### (?P<id>E\d+) \[(?P<kind>[a-z-]+)\]", re.M)
MAX_CITED = 3
_DIFF_PATH = re.compile(r"^\+\+\+ b/(?P<path>[^\t\n]+)", re.M)

# (question, kinds of evidence the answer rests on, most wanted first)
_WHYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Why do the tests fail?", ("test-output", "finding", "probe")),
    ("Why does the server answer that way?", ("probe", "log-line", "test-output")),
    ("Why is there an error in the server's logs?", ("log-template", "log-line", "test-output")),
    ("Why does that code fail?", ("code", "log-line", "log-template")),
    ("Why is that code wrong now?", ("commit", "code", "finding")),
)


def label(scenario: Scenario) -> str:
    return f"scripted reply derived from gold.patch of {scenario.name}"


def script_for_scenario(scenario: Scenario) -> Script:
    """The scripted replies for ``scenario``: five whys, fix and audit."""
    try:
        gold = scenario.gold_patch.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"scenario {scenario.name!r} has no readable gold.patch: {exc}") from None
    if not gold.strip():
        raise UsageError(f"scenario {scenario.name!r}: gold.patch is empty")
    fix = {
        "summary": f"{label(scenario)}: {scenario.description}",
        "patch": gold,
        "files": list(dict.fromkeys(m.group("path") for m in _DIFF_PATH.finditer(gold))),
    }
    return {
        "five_whys": [Step(respond=lambda request: five_whys_reply(scenario, request))],
        "fix": [Step(content=json.dumps(fix))],
        "audit": [Step(respond=lambda request: audit_reply(scenario, request))],
    }


SCENARIO_STEPS = "scenario"  # in an override: the scenario's own steps for that purpose


def with_overrides(script: Script, overrides: Mapping[str, Sequence[StepLike]]) -> Script:
    """``script`` with some purposes' steps replaced; the step ``"scenario"`` splices the scenario's own in.

    ``{"five_whys": ["429", "scenario"]}`` is a transient fault, ``{"five_whys": ["500"]}`` a permanent one.
    """
    out = dict(script)
    for purpose, steps in overrides.items():
        if isinstance(steps, str | Mapping) or not steps:
            raise UsageError(f"scripted override for {purpose!r} needs a non-empty list of steps")
        replaced: list[Step] = []
        for item in steps:
            if item == SCENARIO_STEPS:
                replaced.extend(script.get(purpose, []))
            else:
                try:
                    replaced.append(as_step(item))
                except (ValueError, TypeError) as exc:
                    raise UsageError(f"scripted override for {purpose!r}: {exc}") from None
        out[purpose] = replaced
    return out


def evidence_in(request: RecordedRequest) -> list[tuple[str, str]]:
    """``(id, kind)`` of every evidence item listed in the request's prompt, in order, once each."""
    seen: dict[str, str] = {}
    for message in request.messages:
        if isinstance(message, dict) and message.get("role") in ("user", "system"):
            for match in EVIDENCE_HEADING.finditer(str(message.get("content", ""))):
                seen.setdefault(match.group("id"), match.group("kind"))
    return list(seen.items())


def evidence_texts(request: RecordedRequest) -> dict[str, str]:
    """Each listed evidence item's text in the prompt (its heading up to the next heading), by id."""
    texts: dict[str, str] = {}
    for message in request.messages:
        if not (isinstance(message, dict) and message.get("role") in ("user", "system")):
            continue
        content = str(message.get("content", ""))
        starts = list(EVIDENCE_HEADING.finditer(content))
        for number, match in enumerate(starts):
            after = starts[number + 1] if number + 1 < len(starts) else None
            end = after.start() if after is not None else content.find("\n## ", match.end())
            texts.setdefault(match.group("id"), content[match.start() : end if end != -1 else len(content)])
    return texts


def five_whys_reply(scenario: Scenario, request: RecordedRequest) -> str:
    evidence = evidence_in(request)
    texts = evidence_texts(request)
    where = scenario.expected_file + (f":{scenario.expected_function}" if scenario.expected_function else "")
    symptom = str(scenario.extra.get("symptom", "")) or scenario.description
    logged = str(scenario.extra.get("log_evidence", ""))
    answers = (
        f"The {scenario.focus} tests fail: {symptom}.",
        f"The server answers with an error. Trigger: {scenario.trigger}."
        if scenario.trigger
        else "The server answers with an error.",
        f"The server logs the error behind the failure: {logged}."
        if logged
        else "The server logs the error behind the failure.",
        f"The failing code is {where}.",
        f"A recent change to {scenario.expected_file} introduced the fault: {scenario.description}.",
    )
    steps = []
    used: set[str] = set()
    for (question, kinds), answer in zip(_WHYS, answers, strict=True):
        cited = with_support(answer, _pick(evidence, kinds, used), texts, limit=MAX_CITED)
        used.update(cited)
        steps.append({"question": question, "answer": answer, "evidence": cited})
    reply = {
        "steps": steps,
        "root_cause": f"{scenario.description} (in {where})",
        "fix_location": where,
        "confidence": 0.9,
        "summary": label(scenario),
    }
    return json.dumps(reply)


def _pick(evidence: list[tuple[str, str]], kinds: tuple[str, ...], used: set[str]) -> list[str]:
    """The first unused id of the most wanted kind; else any id of those kinds; else the first id."""
    for kind in kinds:
        for eid, ekind in evidence:
            if ekind == kind and eid not in used:
                return [eid]
    for kind in kinds:
        for eid, ekind in evidence:
            if ekind == kind:
                return [eid]
    return [evidence[0][0]] if evidence else []


def audit_reply(scenario: Scenario, request: RecordedRequest) -> str:
    """A pass in the shape the request's schema asks for: verdict-like booleans true, verdict enums
    "pass", lists empty, text fields the scripted label."""
    return json.dumps(_pass_for(request.schema, label(scenario)))


_PASSING = ("pass", "passed", "approve", "approved", "ok", "accept", "accepted")


def _pass_for(schema: dict[str, Any], summary: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        kind, choices = prop.get("type"), prop.get("enum")
        if isinstance(choices, list) and choices:
            out[name] = next((c for c in choices if c in _PASSING), choices[0])
        elif kind == "boolean":
            out[name] = name in _PASSING
        elif kind == "array":
            out[name] = []
        elif kind in ("number", "integer"):
            out[name] = 1
        elif kind == "string":
            out[name] = summary
    return out or {"passed": True, "findings": [], "summary": summary}
