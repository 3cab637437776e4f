"""Run the real-project fix eval over cases in worker processes; totals and the table for people."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from fixloop.evaluation.parallel import DEFAULT_WORKERS, Job
from fixloop.evaluation.real.cases import Cases, case_fields, fault_label, run_case_jobs, worker_failed, yes
from fixloop.evaluation.real.fix import SCRIPTED_NOTE, RealFixRow, evaluate_real_fix_case
from fixloop.records import utc_now
from fixloop.vocabulary import LLMMode


class RealFixResult(BaseModel):
    suite: str = "real"
    stage: str = "fix"
    llm: str = "none"
    note: str = ""
    command: str = ""
    date: str = ""
    workers: int = DEFAULT_WORKERS
    wall_seconds: float = 0.0
    rows: list[RealFixRow] = Field(default_factory=list)
    totals: dict[str, float] = Field(default_factory=dict)


def run_real_fix_eval(
    cases: Cases,
    *,
    cache: Path,
    llm: LLMMode,
    workers: int = DEFAULT_WORKERS,
    work_root: Path | None = None,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> RealFixResult:
    """Every case through the loop to the approval point (each job with its own ``FIXLOOP_HOME``)."""
    started = time.monotonic()
    rows = run_case_jobs(
        cases,
        lambda project, case, root: Job(
            case.name,
            evaluate_real_fix_case,
            root / case.name / "fix-home",
            (project, case, root / case.name / "fix", cache, llm),
        ),
        row_type=RealFixRow,
        failed_row=lambda project, case, error: RealFixRow(
            **case_fields(project, case), llm=llm, error=worker_failed(error)
        ),
        summary=_summary,
        prefix="fixloop-real-fix-eval-",
        workers=workers,
        work_root=work_root,
        progress=progress,
    )
    return RealFixResult(
        llm=llm, note=SCRIPTED_NOTE if llm == "scripted" else "", command=command,
        date=utc_now().strftime("%Y-%m-%d %H:%M UTC"), workers=workers,
        wall_seconds=round(time.monotonic() - started, 1), rows=rows, totals=real_fix_totals(rows),
    )  # fmt: skip


def _summary(row: RealFixRow) -> str:
    if row.error:
        return f"error: {row.error}"
    if not row.reproduced:
        return f"NOT reproduced: {row.reproduction}"
    if not row.patch_proposed:
        return f"{row.status}: no patch proposed ({row.seconds:.0f} s)"
    return (
        f"{row.status}: patch on {', '.join(row.files_touched)}; fault tests pass {_flag(row.fault_tests_pass)}, "
        f"selected pass {_flag(row.selected_pass)}, audit {row.audit or '-'} ({row.seconds:.0f} s)"
    )


def real_fix_totals(rows: list[RealFixRow]) -> dict[str, float]:
    """Reproduction over every case; the other ratios over the reproduced, error-free (scored) cases."""
    scored = [r for r in rows if r.reproduced and not r.error]
    n = len(scored) or 1

    def ratio(flags: list[bool | None]) -> float:
        return round(sum(bool(f) for f in flags) / n, 3)

    return {
        "cases": float(len(rows)),
        "reproduced": round(sum(r.reproduced for r in rows) / (len(rows) or 1), 3),
        "scored": float(len(scored)),
        "errors": float(sum(bool(r.error) for r in rows)),
        "patch_proposed": ratio([r.patch_proposed for r in scored]),
        "fault_tests_pass": ratio([r.fault_tests_pass for r in scored]),
        "selected_pass": ratio([r.selected_pass for r in scored]),
        "touches_file": ratio([r.touches_file for r in scored]),
        "touches_function": ratio([r.touches_function for r in scored]),
        "audit_pass": ratio([r.audit == "pass" for r in scored]),
        "median_seconds": round(statistics.median([r.seconds for r in scored]), 1) if scored else 0.0,
    }


def render_real_fix_markdown(result: RealFixResult) -> str:
    lines = [f"**{result.note}**", ""] if result.note else []
    lines += [
        "| case | project | fault | reproduced | status | kinds | patch | fault tests pass | selected pass | "
        "root-cause file | root-cause function | audit | iterations | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result.rows:
        tests = f"{_flag(r.fault_tests_pass)} ({r.fault_tests_validated}/{r.fault_tests})" if r.patch_proposed else "-"
        selected = f"{_flag(r.selected_pass)} ({r.selected})" if r.selected_pass is not None else "-"
        fault = fault_label(r.fault, r.historical)
        lines.append(
            f"| {r.case} | {r.project} | {fault} | {yes(r.reproduced)} | {r.status or '-'} | "
            f"{', '.join(r.found_kinds) or '-'} | {yes(r.patch_proposed)} | {tests} | {selected} | "
            f"{_flag(r.touches_file)} | {_flag(r.touches_function)} | {r.audit or '-'} | {r.iterations} | "
            f"{r.seconds:.1f} |" + (f" error: {r.error}" if r.error else "")
        )
    t = result.totals
    lines += [
        "",
        f"{t.get('cases', 0):.0f} cases, --llm {result.llm}; reproduced {t.get('reproduced', 0):.3f}; over the "
        f"{t.get('scored', 0):.0f} scored: patch proposed {t.get('patch_proposed', 0):.3f}, fault tests pass with it "
        f"{t.get('fault_tests_pass', 0):.3f}, selected tests pass {t.get('selected_pass', 0):.3f}, root-cause file "
        f"touched {t.get('touches_file', 0):.3f}, function {t.get('touches_function', 0):.3f}, SSOT audit pass "
        f"{t.get('audit_pass', 0):.3f}; median {t.get('median_seconds', 0):.1f} s a case; "
        f"wall {result.wall_seconds:.0f} s",
    ]
    return "\n".join(lines) + "\n"


def _flag(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
