"""Claims checked against their citations: a five-whys step may only state what the items it cites show.

A step's key facts — exception names (``KeyError``), HTTP statuses and close codes (``HTTP 500``,
``close code 1011``), quoted values (``'user_id'``, ``"CHAT_HTTP_URL"``, `` `ws.py` ``) and file names
(``chatbackend/server.py``) — must each appear in the text of the evidence items the step cites. A
resolving citation that does not support its claim is as bad as one that does not resolve: the model is
asked again, then the rule chain is used (``investigator.py``), and ``fixloop verify`` checks it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from fixloop.records import EvidenceItem, FiveWhys, WhyStep

_EXCEPTION = re.compile(
    r"\b([A-Z][A-Za-z0-9]*(?:Error|Exception|Exit|Interrupt|Warning|Refused|Timeout|Closed|Invalid\w*))\b"
)
_STATUS = re.compile(r"\b(?:HTTP|status(?: code)?)\s+([1-5]\d\d)\b", re.IGNORECASE)
_CLOSE_CODE = re.compile(r"\bclose code\s+(\d{4})\b", re.IGNORECASE)
_QUOTED = (
    re.compile(r"(?<!\w)'([^'\n]{1,80})'(?!\w)"),
    re.compile(r'"([^"\n]{1,80})"'),
    re.compile(r"`([^`\n]{1,120})`"),
)
_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|pyi|js|ts|go|java|rb|toml|ya?ml|json|ini|cfg))\b")
_MASKED = re.compile(r"<(?:\*|[A-Z]+)>")  # a normalized value (<NUM>, <ID>, <*>): no literal to look for


def key_facts(text: str) -> list[str]:
    """The checkable facts of one answer, in order, each once."""
    facts: list[str] = [m.group(1) for m in _EXCEPTION.finditer(text)]
    facts += [f"HTTP {m.group(1)}" for m in _STATUS.finditer(text)]
    facts += [f"close code {m.group(1)}" for m in _CLOSE_CODE.finditer(text)]
    for pattern in _QUOTED:
        facts += [f"'{m.group(1).strip()}'" for m in pattern.finditer(text) if m.group(1).strip()]
    facts += [f"file {m.group(1)}" for m in _FILE.finditer(text)]
    return [fact for fact in dict.fromkeys(facts) if not _MASKED.search(fact)]


def supported(fact: str, cited_text: str) -> bool:
    """Whether ``cited_text`` (the cited items, joined) shows ``fact``."""
    if fact.startswith("HTTP "):
        code = fact.removeprefix("HTTP ")
        return bool(re.search(rf"(?<!\d){code}(?!\d)", cited_text)) or f"status {code[0]}xx" in cited_text
    if fact.startswith("close code "):
        return fact.removeprefix("close code ") in cited_text
    if fact.startswith("file "):
        path = fact.removeprefix("file ")
        return path in cited_text or path.rsplit("/", 1)[-1] in cited_text
    if fact.startswith("'"):
        return _squash(fact[1:-1]) in _squash(cited_text)
    return fact in cited_text


def step_problems(step: WhyStep, texts: Mapping[str, str]) -> list[str]:
    """The facts of ``step``'s answer that none of its cited (and resolving) items shows (``texts``: id -> text)."""
    cited = [texts[eid] for eid in step.evidence if eid in texts]
    if not cited:
        return []  # an unresolved or missing citation is reported by citations.py
    text = "\n".join(cited)
    return [fact for fact in key_facts(step.answer) if not supported(fact, text)]


def claim_problems(chain: FiveWhys, items: Iterable[EvidenceItem]) -> list[str]:
    """One line per step whose answer states something its citations do not show (empty when all hold)."""
    texts = item_texts(items)
    problems = []
    for number, step in enumerate(chain.steps, start=1):
        missing = step_problems(step, texts)
        if missing:
            cites = ", ".join(step.evidence)
            problems.append(f"step {number} claims {', '.join(missing)}, which its citations ({cites}) do not show")
    return problems


def with_support(answer: str, cited: list[str], texts: Mapping[str, str], *, limit: int = 3) -> list[str]:
    """``cited`` plus, for each key fact of ``answer`` they do not show, the first item of ``texts`` (id -> text,
    in the bundle's order) that does, up to ``limit`` ids. A fact no item shows stays unsupported."""
    chosen = list(cited)
    for fact in key_facts(answer):
        if len(chosen) >= limit or supported(fact, "\n".join(texts.get(e, "") for e in chosen)):
            continue
        extra = next((eid for eid, text in texts.items() if eid not in chosen and supported(fact, text)), None)
        if extra is not None:
            chosen.append(extra)
    return chosen


def item_texts(items: Iterable[EvidenceItem]) -> dict[str, str]:
    """What a claim is checked against, per item id."""
    return {item.id: _item_text(item) for item in items}


def _item_text(item: EvidenceItem) -> str:
    return f"{item.title}\n{item.source}\n{item.text}"


def _squash(text: str) -> str:
    return " ".join(text.lower().split())
