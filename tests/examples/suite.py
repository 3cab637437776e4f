"""Run the example's own e2e suite in a real pytest subprocess and read its JUnit XML report."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

E2E_PATH = "tests/e2e"
P1_FILE = "tests/e2e/staging/test_1_websocket_events_staging.py"


@dataclass
class CaseResult:
    nodeid: str
    outcome: str  # passed | failed | error | skipped
    seconds: float
    message: str


@dataclass
class SuiteResult:
    returncode: int
    cases: list[CaseResult]
    output: str

    def outcome(self, name: str) -> str:
        return next(case.outcome for case in self.cases if case.nodeid.endswith(name))

    @property
    def failed(self) -> list[CaseResult]:
        return [case for case in self.cases if case.outcome in ("failed", "error")]

    @property
    def passed(self) -> list[CaseResult]:
        return [case for case in self.cases if case.outcome == "passed"]


def run_suite(repo: Path, env: dict[str, str], *paths: str, timeout: float = 120) -> SuiteResult:
    """Run ``pytest paths`` (default: the whole e2e suite) in ``repo`` with ``env`` added."""
    report = repo / ".fixloop" / "junit.xml"
    report.parent.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("CHAT_", "PYTEST_"))}
    full_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the e2e suite needs no plugin; saves ~2 s a run
    full_env.update(env)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *(paths or [E2E_PATH]),
        ],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return SuiteResult(done.returncode, _cases(report) if report.is_file() else [], done.stdout + done.stderr)


def _cases(report: Path) -> list[CaseResult]:
    cases = []
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "")
                break
        cases.append(CaseResult(f"{module}.py::{case.get('name')}", outcome, float(case.get("time", 0)), message))
    return cases
