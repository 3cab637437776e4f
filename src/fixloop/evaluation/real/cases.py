"""What the real suite's triage and fix stages share: a row's case fields, the build step, the job loop."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from fixloop.evaluation.parallel import Job, run_jobs
from fixloop.evaluation.real.build import BuiltCase, build_case
from fixloop.evaluation.real.recipes import RealCase, RealProject

Cases = list[tuple[RealProject, RealCase]]
R = TypeVar("R")


class BuildRow(Protocol):
    reproduced: bool
    reproduction: str
    build_seconds: float


def case_fields(project: RealProject, case: RealCase) -> dict[str, Any]:
    """The fields every real-suite row starts from."""
    return {
        "case": case.name, "project": f"{project.package} {project.version}", "fault": case.fault,
        "historical": case.history is not None, "expected_file": case.file, "expected_function": case.function,
    }  # fmt: skip


def build_into(row: BuildRow, project: RealProject, case: RealCase, repo: Path, cache: Path) -> BuiltCase:
    """Build the case at ``repo``; its build time and whether it reproduced go into ``row``."""
    started = time.monotonic()
    built = build_case(project, case, repo, cache)
    row.build_seconds = round(time.monotonic() - started, 1)
    row.reproduced, row.reproduction = built.reproduced, built.note
    return built


def worker_failed(error: object) -> str:
    return f"worker failed: {type(error).__name__}: {error}"[:300]


def run_case_jobs(
    cases: Cases,
    job: Callable[[RealProject, RealCase, Path], Job],
    *,
    row_type: type[R],
    failed_row: Callable[[RealProject, RealCase, object], R],
    summary: Callable[[R], str],
    prefix: str,
    workers: int,
    work_root: Path | None,
    progress: Callable[[str], None] | None,
) -> list[R]:
    """One job a case under ``work_root`` (a temporary folder, removed after, when None); rows in case order."""
    root = work_root or Path(tempfile.mkdtemp(prefix=prefix))
    jobs = [job(project, case, root) for project, case in cases]
    by_name = {case.name: (project, case) for project, case in cases}
    found: dict[str, R] = {}
    try:
        for done, (key, result) in enumerate(run_jobs(jobs, workers=workers), start=1):
            found[key] = result if isinstance(result, row_type) else failed_row(*by_name[key], result)
            if progress:
                progress(f"[{done}/{len(jobs)}] {key}: {summary(found[key])}")
    finally:
        if work_root is None:
            shutil.rmtree(root, ignore_errors=True)
    return [found[case.name] for _, case in cases]


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def fault_label(fault: str, historical: bool) -> str:
    return f"{fault} (historical)" if historical and fault != "historical" else fault
