"""The log query of a test run: the failing tests' time window (± a margin) and the service filters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from fixloop.config import Settings
from fixloop.interfaces import LogQuery
from fixloop.records import TestResult, TestRun


def query_for_tests(
    run: TestRun, tests: Iterable[str], settings: Settings, *, trace: str | None = None, limit: int = 5000
) -> LogQuery:
    """The window from the first start to the last finish of ``tests`` in ``run``, widened by the margin.

    Falls back to the whole run's window when the results carry no timestamps.
    """
    wanted = set(tests)
    chosen: list[TestResult] = [r for r in run.results if r.nodeid in wanted and r.started_at is not None]
    starts = [r.started_at for r in chosen if r.started_at is not None]
    ends = [r.finished_at or r.started_at for r in chosen if (r.finished_at or r.started_at) is not None]
    start = min(starts) if starts else run.started_at
    end = max(e for e in ends if e is not None) if ends else run.finished_at
    margin = timedelta(seconds=settings.logs.margin_seconds)
    service = settings.logs.service_name or settings.target.service_name or None
    return LogQuery(
        start=start - margin,
        end=end + margin,
        service_name=service,
        revision_name=settings.logs.revision_name or _cloud_run_revision(run.revision, service),
        min_severity=settings.logs.min_severity,
        trace=trace,
        limit=limit,
    )


def _cloud_run_revision(revision: str | None, service: str | None) -> str | None:
    """The run's reported revision when it is a Cloud Run revision name of the service (``svc-00499-fgv``)."""
    if revision and service and revision.startswith(f"{service}-"):
        return revision
    return None
