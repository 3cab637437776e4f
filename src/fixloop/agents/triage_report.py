"""Triage a test run end to end without a model: categories, evidence bundles, rule-based five whys.

Used by ``fixloop triage`` and the triage eval; the graph calls the same pieces node by node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from fixloop.agents.citations import citation_problems
from fixloop.agents.five_whys_rules import rule_chain
from fixloop.agents.triage import categorize, detect_flaky
from fixloop.config import Settings
from fixloop.errors import UsageError
from fixloop.interfaces import LogSource
from fixloop.records import Category, EvidenceBundle, Finding, FiveWhys, TestRun
from fixloop.redaction import Redactor
from fixloop.tools.evidence import gather_evidence
from fixloop.tools.spectrum import Spectrum, spectra_for


class CategoryReport(BaseModel):
    category: Category
    evidence: EvidenceBundle
    five_whys: FiveWhys
    citation_problems: list[str] = Field(default_factory=list)


class TriageReport(BaseModel):
    counts: dict[str, int] = Field(default_factory=dict)
    categories: list[CategoryReport] = Field(default_factory=list)
    reruns: int = 0
    spectra: dict[str, Spectrum] = Field(default_factory=dict)  # category id -> its coverage spectrum


def load_results(path: Path) -> tuple[TestRun, list[Finding]]:
    """A ``fixloop test --json`` report (``run`` + ``findings``) or a bare TestRun JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"results file {path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"results file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise UsageError(f"results file {path} holds no JSON object", hint="write one with `fixloop test --json`")
    raw_run = data.get("run", data)
    raw_findings = data.get("findings", []) if "run" in data else []
    try:
        run = TestRun.model_validate(raw_run)
        findings = [Finding.model_validate(f) for f in raw_findings or []]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"results file {path} is not a test report: {where}: {first['msg'].lower()}",
            hint="write one with `fixloop test --json`",
        ) from None
    return run, findings


def triage_run(
    run: TestRun,
    findings: list[Finding],
    *,
    repo: Path,
    settings: Settings,
    logs: LogSource | None,
    focus: str = "",
    redactor: Redactor | None = None,
    rerun: Callable[[list[str]], TestRun] | None = None,
    reruns: int = 0,
    budget_tokens: int = 4000,
    test_env: dict[str, str] | None = None,
) -> TriageReport:
    """Categorize ``run``, re-run failing tests ``reruns`` times for flakiness, then evidence and five whys."""
    redactor = redactor or redactor_for(settings)
    categories = categorize(run, findings, repo=repo, redactor=redactor)
    done_reruns: list[TestRun] = []
    if rerun is not None and reruns > 0:
        categories, done_reruns = detect_flaky(categories, run, rerun, times=reruns)
    spectra = spectra_for(categories, run, repo=repo, settings=settings, env=test_env)
    reports = []
    for category in categories:
        bundle = gather_evidence(
            category,
            run,
            repo=repo,
            logs=logs,
            settings=settings,
            focus=focus,
            redactor=redactor,
            budget_tokens=budget_tokens,
            spectrum=spectra.get(category.id),
        )
        chain = rule_chain(category, bundle, redactor=redactor)
        reports.append(
            CategoryReport(
                category=category, evidence=bundle, five_whys=chain, citation_problems=citation_problems(chain, bundle)
            )
        )
    return TriageReport(counts=run.counts(), categories=reports, reruns=len(done_reruns), spectra=spectra)


def redactor_for(settings: Settings) -> Redactor:
    """A redactor over the process env, with the settings' configured secret names."""
    names = [*settings.redaction.secret_env_names, settings.target.token_secret_env]
    if settings.target.token_env:
        names.append(settings.target.token_env)
    return Redactor(secret_env_names=names)


def render_text(report: TriageReport) -> str:
    """The triage report for people (Markdown)."""
    counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts.items())) or "no results"
    lines = [f"# Triage: {len(report.categories)} categories ({counts})", ""]
    if not report.categories:
        lines.append("Nothing to triage: no failure, no infrastructure skip, no realness finding.")
    for item in report.categories:
        category, bundle, chain = item.category, item.evidence, item.five_whys
        lines += [f"## {category.id} [{category.kind}] {category.title}", ""]
        lines += [f"- {t}" for t in category.tests[:10]]
        if len(category.tests) > 10:
            lines.append(f"- ... and {len(category.tests) - 10} more")
        lines += ["", f"### Evidence (~{bundle.token_estimate} tokens)"]
        lines += [f"- {e.id} {e.kind}: {e.title} ({e.source})" for e in bundle.items]
        lines += [f"- note: {n}" for n in bundle.notes]
        if bundle.locations:
            lines += ["", "### Ranked locations"]
            for loc in bundle.locations:
                spot = f"{loc.file}:{loc.line}" if loc.line else loc.file
                lines.append(f"- {spot} {loc.function} (score {loc.score}): {'; '.join(loc.reasons)}")
        lines += ["", "### Five whys (rules)"]
        for number, step in enumerate(chain.steps, start=1):
            lines.append(f"{number}. {step.question} {step.answer} [{', '.join(step.evidence)}]")
        lines += [
            "",
            f"Root cause: {chain.root_cause}",
            f"Fix location: {chain.fix_location}  (confidence {chain.confidence})",
            "",
        ]
        lines += [f"citation problem: {p}" for p in item.citation_problems]
    return "\n".join(lines).rstrip() + "\n"
