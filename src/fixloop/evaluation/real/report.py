"""Run the real-project triage eval over cases in worker processes; totals and the table for people."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from fixloop.evaluation.parallel import DEFAULT_WORKERS, Job
from fixloop.evaluation.real.cases import Cases, case_fields, fault_label, run_case_jobs, worker_failed, yes
from fixloop.evaluation.real.recipes import RealCase, RealProject
from fixloop.evaluation.real.triage import GOALS, RealRow, evaluate_real_case
from fixloop.records import utc_now


class RealEvalResult(BaseModel):
    suite: str = "real"
    stage: str = "triage"
    llm: str = "none"
    command: str = ""
    date: str = ""
    workers: int = DEFAULT_WORKERS
    wall_seconds: float = 0.0
    rows: list[RealRow] = Field(default_factory=list)
    totals: dict[str, float] = Field(default_factory=dict)
    goals: dict[str, float] = Field(default_factory=lambda: dict(GOALS))
    met: bool = False


def run_real_eval(
    cases: Cases,
    *,
    cache: Path,
    workers: int = DEFAULT_WORKERS,
    work_root: Path | None = None,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> RealEvalResult:
    """Triage every case (each job with its own ``FIXLOOP_HOME``; the download/venv cache is shared)."""
    started = time.monotonic()
    rows = run_case_jobs(
        cases,
        lambda project, case, root: Job(
            case.name, evaluate_real_case, root / case.name / "home", (project, case, root / case.name, cache)
        ),
        row_type=RealRow,
        failed_row=_failed_row,
        summary=_summary,
        prefix="fixloop-real-eval-",
        workers=workers,
        work_root=work_root,
        progress=progress,
    )
    totals = real_totals(rows)
    met = bool(rows) and all(totals.get(k, 0.0) >= v for k, v in GOALS.items())
    return RealEvalResult(
        command=command, date=utc_now().strftime("%Y-%m-%d %H:%M UTC"), workers=workers,
        wall_seconds=round(time.monotonic() - started, 1), rows=rows, totals=totals, met=met,
    )  # fmt: skip


def _failed_row(project: RealProject, case: RealCase, error: object) -> RealRow:
    return RealRow(**case_fields(project, case), expected_kind=case.kind, error=worker_failed(error))


def _summary(row: RealRow) -> str:
    if row.error:
        return f"error: {row.error}"
    if not row.reproduced:
        return f"NOT reproduced: {row.reproduction}"
    mark = "ok" if row.kind_ok else "MISS"
    ranks = f"file rank {row.file_rank}, function rank {row.function_rank}"
    return f"{mark} kind {row.main_kind}, {ranks} ({row.triage_seconds:.0f} s)"


def real_totals(rows: list[RealRow]) -> dict[str, float]:
    """Reproduction over every case; the other ratios over the reproduced (scored) cases only."""
    scored = [r for r in rows if r.reproduced and not r.error]
    n = len(scored) or 1

    def ratio(flags: list[bool]) -> float:
        return round(sum(flags) / n, 3)

    return {
        "cases": float(len(rows)),
        "projects": float(len({r.project for r in rows})),
        "historical": float(sum(r.historical for r in rows)),
        "reproduced": round(sum(r.reproduced for r in rows) / (len(rows) or 1), 3),
        "scored": float(len(scored)),
        "kind_accuracy": ratio([r.kind_ok for r in scored]),
        "file_top1": ratio([r.file_rank == 1 for r in scored]),
        "file_top3": ratio([r.file_rank is not None and r.file_rank <= 3 for r in scored]),
        "file_top1_no_history": ratio([r.file_rank_no_history == 1 for r in scored]),
        "function_top3": ratio([r.function_rank is not None and r.function_rank <= 3 for r in scored]),
        **{
            f"{metric}_{variant}": ratio([_hit(r, metric, variant) for r in scored])
            for variant in ("no_history", "no_coverage", "plain")
            for metric in ("file_top1", "file_top3", "function_top3")
            if f"{metric}_{variant}" != "file_top1_no_history"
        },
        "within_bound": ratio([r.within_bound for r in scored]),
    }


def _hit(row: RealRow, metric: str, variant: str) -> bool:
    """``metric`` (file_top1, file_top3, function_top3) of ``row`` in a ranking variant (no_history, ...)."""
    what, _, top = metric.rpartition("_top")
    rank = getattr(row, f"{what}_rank_{variant}")
    return rank is not None and rank <= int(top)


def render_localization_markdown(result: RealEvalResult) -> str:
    """Root-cause file top-1/top-3 and function top-3 with and without coverage spectra and git history."""
    t = result.totals
    lines = [
        "| ranking | file top-1 | file top-3 | function top-3 |",
        "|---|---|---|---|",
    ]
    for label, suffix in (
        ("coverage + git history (the triage's)", ""),
        ("coverage, no git history", "_no_history"),
        ("git history, no coverage", "_no_coverage"),
        ("neither", "_plain"),
    ):
        cells = [f"{t.get(f'{m}{suffix}', 0):.3f}" for m in ("file_top1", "file_top3", "function_top3")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += ["", "| case | coverage re-run s | its tests' own s | note |", "|---|---|---|---|"]
    for r in result.rows:
        if r.reproduced:
            lines.append(
                f"| {r.case} | {r.coverage_seconds:.1f} | {r.coverage_tests_seconds:.2f} | {r.coverage_note or '-'} |"
            )
    return "\n".join(lines) + "\n"


def render_real_markdown(result: RealEvalResult) -> str:
    lines = [
        "| case | project | fault | reproduced | expected kind | found kinds | kind | file rank | function rank | "
        "file rank w/o git | fault tests run | fixloop s | plain pytest s | bound s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result.rows:
        stopped = r.reproduced and r.plain_seconds is None and r.plain_cap > 0
        plain = f"> {r.plain_cap:.0f} (stopped)" if stopped else _num(r.plain_seconds)
        fault = fault_label(r.fault, r.historical)
        lines.append(
            f"| {r.case} | {r.project} | {fault} | {yes(r.reproduced)} | {r.expected_kind} | "
            f"{', '.join(r.found_kinds) or '-'} | {'ok' if r.kind_ok else 'MISS'} | {r.file_rank or '-'} | "
            f"{r.function_rank or '-'} | {r.file_rank_no_history or '-'} | {r.fault_tests_run}/{r.fault_tests} | "
            f"{r.triage_seconds:.1f} | "
            f"{plain} | {_num(r.bound_seconds)}{'' if r.within_bound else ' (over)'} |"
            + (f" error: {r.error}" if r.error else "")
        )
    t = result.totals
    lines += [
        "",
        f"{t.get('cases', 0):.0f} cases over {t.get('projects', 0):.0f} projects ({t.get('historical', 0):.0f} "
        f"historical); reproduced {t.get('reproduced', 0):.3f} (goal 1.0); over the {t.get('scored', 0):.0f} scored: "
        f"kind accuracy {t.get('kind_accuracy', 0):.3f} (goal >= {GOALS['kind_accuracy']}), file top-1 "
        f"{t.get('file_top1', 0):.3f}, top-3 {t.get('file_top3', 0):.3f}, top-1 without git history "
        f"{t.get('file_top1_no_history', 0):.3f}, function top-3 {t.get('function_top3', 0):.3f}; within the time "
        f"bound {t.get('within_bound', 0):.3f} (goal 1.0); goals {'met' if result.met else 'NOT met'}",
    ]
    return "\n".join(lines) + "\n\n" + render_localization_markdown(result)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
