"""One test phase as the loop runs it: select (optional), run, check realness, judge tiers.

``run_test_phase`` does it in one call; ``fixloop test`` calls ``start_pytest`` first and
``finish_test_phase`` after, so this module and the models it reads load while pytest starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from fixloop.config import Settings
from fixloop.errors import FixloopError
from fixloop.records import Finding, Selection, TestPhaseReport
from fixloop.tools.probe_http import probe_http
from fixloop.tools.pytest_process import StartedTests, start_pytest
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import collect_run
from fixloop.tools.tiers import evaluate_tiers

RESULTS_FILE = "results.json"


def target_ports(env: dict[str, str]) -> list[int]:
    """Ports of every URL among the env values (the ports a real e2e test must reach)."""
    ports: set[int] = set()
    for value in env.values():
        if "://" not in value:
            continue
        try:
            parts = urlsplit(value)
            port = parts.port or {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)
        except ValueError:
            continue
        if port:
            ports.add(port)
    return sorted(ports)


def reported_revision(env: dict[str, str], health_path: str) -> str | None:
    """The revision the target's health endpoint reports, from the first HTTP URL in ``env`` that answers."""
    for value in env.values():
        if value.startswith(("http://", "https://")):
            try:
                report = probe_http(value, health_path=health_path, timeout=5.0)
            except FixloopError:
                continue
            if report.revision:
                return report.revision
    return None


def missing_env(selection: Selection | None, env: dict[str, str], settings: Settings) -> list[Finding]:
    """The env vars the test index requires that the tests will not see."""
    if selection is None:
        return []
    seen = {**os.environ, **settings.target.env, **env}
    missing = [name for name in selection.required_env if not seen.get(name)]
    if not missing:
        return []
    return [
        Finding(
            kind="missing-env",
            message=f"the test index requires {', '.join(missing)}, which the tests will not see",
            evidence=f"required by {selection.index_path}: {', '.join(selection.required_env)}",
        )
    ]


def run_test_phase(
    repo: Path,
    targets: list[str],
    settings: Settings,
    *,
    selection: Selection | None = None,
    env: dict[str, str] | None = None,
    out_dir: Path,
    timeout: float | None = None,
    workers: int = 0,
) -> TestPhaseReport:
    """Run ``targets``, add realness findings and tier verdicts, and write ``out_dir/results.json``."""
    env = dict(env or {})
    started = start_pytest(repo, targets, settings, env=env, out_dir=out_dir, timeout=timeout, workers=workers)
    return finish_test_phase(started, settings, selection=selection, env=env)


def finish_test_phase(
    started: StartedTests, settings: Settings, *, selection: Selection | None = None, env: dict[str, str]
) -> TestPhaseReport:
    """Wait for a started run, then judge it: realness findings, tier verdicts, ``results.json`` in its folder."""
    run = collect_run(started)
    run.revision = reported_revision(env, settings.target.health_path)
    ports = target_ports(env)
    report = TestPhaseReport(
        selection=selection,
        run=run,
        findings=missing_env(selection, env, settings) + check_realness(run, settings, target_ports=ports or None),
        tiers=evaluate_tiers(selection, run) if selection else [],
    )
    (started.out / RESULTS_FILE).write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return report


def phase_ok(report: TestPhaseReport) -> bool:
    """Green only when nothing failed, every tier holds and no realness finding is an error."""
    run = report.run
    return not (
        run.failures()
        or run.collection_errors
        or run.timed_out
        or any(not t.holds for t in report.tiers)
        or any(f.severity == "error" for f in report.findings)
    )


def load_report(path: Path) -> TestPhaseReport:
    return TestPhaseReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
