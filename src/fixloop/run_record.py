"""The verifiable part of a run record: one ``PhaseRecord`` per test phase, and hashed artifacts.

At the end of each test phase ``record_phase`` copies the JUnit XML pytest wrote
into ``OUT/artifacts/`` and hashes it (and pytest's console output) at once, so
later edits show. ``record_section`` adds to run.json the phases, the evidence
bundles (one artifact per category, the five whys cite their ids) and the list
``artifacts: [{path, sha256, kind}]`` that ``fixloop verify`` re-checks.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from fixloop.agents.fixability import fixability, fixability_markdown
from fixloop.atomic import write_bytes_atomic
from fixloop.autonomy import effective_level
from fixloop.costs import usage_table
from fixloop.records import Artifact, EvidenceBundle, PhaseRecord, TestRun

ARTIFACTS = "artifacts"
EXECUTED_OUTCOMES = ("passed", "failed", "error", "xfailed", "xpassed")
HEALTH_TIMEOUT = 3.0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_health(url: str) -> dict[str, Any]:
    """The target's /health answer (JSON when it is JSON), or the reason there is none."""
    try:
        response = httpx.get(url, timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as exc:
        return {"url": url, "error": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:300]
    return {"url": url, "status": response.status_code, "body": body}


def record_phase(
    test_run: TestRun,
    *,
    out_dir: Path,
    name: str,
    iteration: int,
    commit: str,
    health_url: str | None,
    kind: str = "iteration",
) -> PhaseRecord:
    """Copy and hash the phase's artifacts into ``OUT/artifacts`` and describe the phase."""
    artifacts_dir = out_dir / ARTIFACTS
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    artifacts: list[Artifact] = []
    if test_run.junit_xml and Path(test_run.junit_xml).is_file():
        artifacts.append(_copy(Path(test_run.junit_xml), artifacts_dir / f"{name}-junit.xml", out_dir, "junit-xml"))
    output = Path(test_run.junit_xml or "").with_name("pytest-output.txt") if test_run.junit_xml else None
    if output is not None and output.is_file():
        artifacts.append(_copy(output, artifacts_dir / f"{name}-pytest-output.txt", out_dir, "pytest-output"))
    outcomes: dict[str, str] = {r.nodeid: r.outcome for r in test_run.results}
    return PhaseRecord(
        name=name,
        iteration=iteration,
        kind=kind,
        selected=list(test_run.selected),
        collected=list(outcomes),
        executed=[nodeid for nodeid, outcome in outcomes.items() if outcome in EXECUTED_OUTCOMES],
        outcomes=outcomes,
        command=list(test_run.command),
        interpreter=test_run.interpreter,
        cwd=test_run.cwd,
        exit_code=test_run.exit_code,
        started_at=test_run.started_at,
        finished_at=test_run.finished_at,
        commit=commit,
        health=fetch_health(health_url) if health_url else {"error": "no target URL known"},
        artifacts=artifacts,
        never_ran=list(test_run.never_ran),
    )


def _copy(source: Path, dest: Path, out_dir: Path, kind: str) -> Artifact:
    shutil.copyfile(source, dest)
    return Artifact(path=dest.relative_to(out_dir).as_posix(), sha256=sha256_file(dest), kind=kind)


def evidence_artifact_name(iteration: int, category_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in category_id)
    return f"{ARTIFACTS}/iter-{iteration}-evidence-{safe}.json"


def write_evidence(bundle: EvidenceBundle, out_dir: Path, iteration: int, redact: Any) -> Artifact:
    """Write one category's evidence bundle (redacted) as an artifact; return it hashed."""
    rel = evidence_artifact_name(iteration, bundle.category_id)
    path = out_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = redact(json.dumps(bundle.model_dump(mode="json"), indent=2, sort_keys=True)) + "\n"
    data = text.encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        write_bytes_atomic(path, data)
    return Artifact(path=rel, sha256=hashlib.sha256(data).hexdigest(), kind="evidence")


def record_section(state: Mapping[str, Any], out_dir: Path, redact: Any) -> dict[str, Any]:
    """run.json's ``phases`` and ``artifacts`` (evidence bundles written on the way)."""
    phases: list[PhaseRecord] = []
    for rec in state.get("iterations", []):
        phase = getattr(rec, "phase", None)
        if phase is not None:
            phases.append(phase)
    artifacts = [a for phase in phases for a in phase.artifacts]
    run = state["run"]
    scores = []
    for inv in state.get("investigations", []):
        for attempt in inv.attempts:
            stress_phase = getattr(attempt.stress, "phase", None)
            if stress_phase is not None:
                phases.append(stress_phase)
                artifacts.extend(stress_phase.artifacts)
        if inv.evidence is not None:
            artifacts.append(write_evidence(inv.evidence, out_dir, inv.iteration, redact))
        fx = fixability(inv, run.gates)
        scores.append({"iteration": inv.iteration, "category": inv.category.id, **fx.model_dump(mode="json")})
    return {
        "fixability": scores,
        "autonomy": {"started_at_level": run.stop_at, "level": effective_level(run)},
        "phases": [p.model_dump(mode="json") for p in phases],
        "artifacts": [a.model_dump(mode="json") for a in artifacts],
    }


def capture_phase(
    ctx: Any, test_run: TestRun, *, iteration: int, name: str | None = None, kind: str = "iteration"
) -> PhaseRecord:
    """``record_phase`` for a run context: the repo's HEAD and the running target's /health."""
    from fixloop.at_rest import redact_outputs
    from fixloop.errors import FixloopError
    from fixloop.target import git_revision, target_status

    if test_run.junit_xml:  # a stress run's files too: redacted before they are copied and hashed
        redact_outputs(Path(test_run.junit_xml).parent, ctx.redactor)
    repo = Path(test_run.cwd)
    base = ctx.settings.target.http_url
    try:
        info = target_status(repo)
    except FixloopError:
        info = None
    if info is not None and info.running:
        base = info.http_url
    health_url = base.rstrip("/") + ctx.settings.target.health_path
    return record_phase(
        test_run,
        out_dir=ctx.out_dir,
        name=name or f"iter-{iteration}",
        iteration=iteration,
        commit=git_revision(repo),
        health_url=health_url,
        kind=kind,
    )


def trust_markdown(run: Any, inv: Any) -> list[str]:
    """One category's trust lines: fixability and the stress re-runs (PR body, worklog)."""
    lines = fixability_markdown(inv, run.gates)
    for attempt in inv.attempts:
        stress = getattr(attempt, "stress", None)
        if stress is not None:
            lines.append(f"- stress re-runs (attempt {attempt.attempt}): {stress.describe()}")
    return lines


def trust_worklog(state: Mapping[str, Any], cost: Mapping[str, Any] | None = None) -> str:
    """The worklog's trust section: autonomy level, cost, per-category fixability, test phases with hashes."""
    run = state["run"]
    lines = ["## Trust controls", f"Autonomy level: started at **{run.stop_at}**, now **{effective_level(run)}**.", ""]
    if cost is not None:
        price = cost.get("estimated_usd")
        lines.append(
            f"Model cost so far: {cost.get('calls', 0)} calls, {cost.get('prompt_tokens', 0)} prompt + "
            f"{cost.get('completion_tokens', 0)} completion tokens, estimated "
            + (f"${price:.4f}" if price is not None else "(no price for this model in llm.prices)")
            + "."
        )
        lines.append("")
        if cost.get("categories"):
            lines += ["Model usage per category:", "", *usage_table(cost), ""]
    for inv in state.get("investigations", []):
        lines.append(f"### Iteration {inv.iteration}: `{inv.category.id}`")
        lines.extend(trust_markdown(run, inv))
        lines.append("")
    for rec in state.get("iterations", []):
        phase = getattr(rec, "phase", None)
        if phase is None:
            continue
        lines.append(
            f"- test phase {phase.name}: {len(phase.selected)} selected, {len(phase.collected)} collected, "
            f"{len(phase.executed)} executed; commit {phase.commit[:12]}; /health {_health_text(phase.health)}"
        )
        lines.extend(f"  - `{a.path}` sha256 `{a.sha256}`" for a in phase.artifacts)
    lines.append("")
    lines.append("Re-check this run directory with `fixloop verify OUT`.")
    return "\n".join(lines) + "\n"


def _health_text(health: Mapping[str, Any]) -> str:
    if "error" in health:
        return f"unreachable ({health['error']})"
    body = health.get("body")
    revision = body.get("revision", "") if isinstance(body, dict) else ""
    return f"{health.get('status')} revision {str(revision)[:12] or '(not reported)'}"
