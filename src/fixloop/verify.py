"""``fixloop verify OUT``: re-check a run directory against its own record.

Checks, from run.json alone plus the files it lists:
- every artifact is present, inside the run directory and unmodified (SHA-256);
- every test phase agrees with the JUnit XML pytest wrote: each recorded outcome
  matches the XML, nothing counted executed or passed that the XML shows skipped
  or missing, the iteration's results and counts agree with the phase record;
- every five-whys citation names an item of the category's evidence artifact, and the items a step cites
  show the step's key facts (exception names, statuses, quoted values, file names: ``agents/claims.py``);
- no code PR was opened for an ``environment`` category whose recorded evidence says infrastructure.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixloop.agents.claims import claim_problems
from fixloop.agents.report_only import infrastructure_reason
from fixloop.errors import FixloopError
from fixloop.records import Category, EvidenceBundle, EvidenceItem, FiveWhys
from fixloop.run_record import EXECUTED_OUTCOMES, evidence_artifact_name, sha256_file

# the JUnit outcomes a recorded outcome may come from
COMPATIBLE: dict[str, set[str]] = {
    "passed": {"passed"},
    "failed": {"failure", "error"},
    "error": {"error", "failure"},
    "skipped": {"skipped"},
    "xfailed": {"skipped"},
    "xpassed": {"passed", "failure"},
}


class VerifyError(FixloopError):
    """The run directory does not match its record."""


@dataclass
class VerifyReport:
    out_dir: Path
    checked: list[str] = field(default_factory=list)  # what held
    problems: list[str] = field(default_factory=list)  # what did not

    @property
    def ok(self) -> bool:
        return not self.problems


def junit_key(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest writes in JUnit XML for a node id."""
    parts = nodeid.split("::")
    module = parts[0].removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1]


def read_junit(path: Path) -> dict[tuple[str, str], str]:
    """Each test case of a JUnit XML file and its outcome (passed, failure, error, skipped)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise VerifyError(f"{path.name}: not valid JUnit XML ({exc})") from None
    cases: dict[tuple[str, str], str] = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        outcome = "passed"
        for tag in ("error", "failure", "skipped"):
            if tag in tags:
                outcome = tag
                break
        cases[key] = outcome
    return cases


def verify_run_dir(out_dir: Path) -> VerifyReport:
    """Re-check ``out_dir`` (a run directory); the report lists what held and what did not."""
    out_dir = out_dir.expanduser().resolve()
    run_json = out_dir / "run.json"
    if not run_json.is_file():
        raise VerifyError(f"{out_dir} has no run.json", hint="pass the run directory (fixloop run --out DIR)")
    try:
        doc = json.loads(run_json.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerifyError(f"{run_json}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "artifacts" not in doc or "phases" not in doc:
        raise VerifyError(f"{run_json} has no artifact list or phase record: nothing to verify against")
    report = VerifyReport(out_dir=out_dir)
    hashes = _check_artifacts(doc["artifacts"], out_dir, report)
    for phase in doc["phases"]:
        _check_phase(phase, doc, out_dir, hashes, report)
    _check_citations(doc, out_dir, hashes, report)
    _check_infrastructure_prs(doc, report)
    return report


def _check_artifacts(artifacts: list[dict[str, Any]], out_dir: Path, report: VerifyReport) -> dict[str, str]:
    good: dict[str, str] = {}
    for artifact in artifacts:
        rel = str(artifact.get("path", ""))
        path = (out_dir / rel).resolve()
        if not rel or Path(rel).is_absolute() or not path.is_relative_to(out_dir):
            report.problems.append(f"artifact {rel!r} points outside the run directory")
        elif not path.is_file():
            report.problems.append(f"artifact {rel} is missing")
        elif sha256_file(path) != artifact.get("sha256"):
            report.problems.append(f"artifact {rel} was modified (SHA-256 differs from run.json)")
        else:
            good[rel] = str(artifact["sha256"])
    if len(good) == len(artifacts):  # a shortfall is reported once, by the problems above
        report.checked.append(f"{len(good)}/{len(artifacts)} artifacts present and unmodified")
    return good


def _check_phase(
    phase: dict[str, Any], doc: dict[str, Any], out_dir: Path, hashes: dict[str, str], report: VerifyReport
) -> None:
    name = phase.get("name", "?")
    junit = next((a for a in phase.get("artifacts", []) if a.get("kind") == "junit-xml"), None)
    if junit is None:
        report.problems.append(f"phase {name}: no JUnit XML recorded")
        return
    if hashes.get(junit["path"]) != junit.get("sha256"):
        report.problems.append(f"phase {name}: its JUnit XML {junit['path']} is not an intact listed artifact")
        return
    cases = read_junit(out_dir / junit["path"])
    outcomes: dict[str, str] = phase.get("outcomes", {})
    before = len(report.problems)
    for nodeid, outcome in outcomes.items():
        seen = cases.get(junit_key(nodeid))
        if seen is None:
            report.problems.append(f"phase {name}: {nodeid} recorded {outcome} but is not in the JUnit XML")
        elif seen not in COMPATIBLE.get(outcome, set()):
            report.problems.append(f"phase {name}: {nodeid} recorded {outcome} but the JUnit XML says {seen}")
    recorded_keys = {junit_key(n) for n in outcomes}
    for key in cases:
        if key not in recorded_keys:
            report.problems.append(f"phase {name}: {'::'.join(key)} is in the JUnit XML but not in the record")
    executed = {n for n, o in outcomes.items() if o in EXECUTED_OUTCOMES}
    if set(phase.get("executed", [])) != executed:
        report.problems.append(f"phase {name}: the executed list disagrees with the recorded outcomes")
    if set(phase.get("collected", [])) != set(outcomes):
        report.problems.append(f"phase {name}: the collected list disagrees with the recorded outcomes")
    if str(phase.get("started_at", "")) > str(phase.get("finished_at", "")):
        report.problems.append(f"phase {name}: finished before it started")
    if phase.get("kind", "iteration") == "iteration":
        _check_iteration(phase, doc, report)
    if len(report.problems) == before:
        tally = _tally(outcomes.values())
        report.checked.append(f"phase {name}: {len(cases)} JUnit cases agree with the record ({tally})")


def _check_iteration(phase: dict[str, Any], doc: dict[str, Any], report: VerifyReport) -> None:
    """The iteration's results and counts in run.json must be the phase's outcomes."""
    name = phase.get("name", "?")
    rec = next((i for i in doc.get("iterations", []) if i.get("iteration") == phase.get("iteration")), None)
    if rec is None:
        report.problems.append(f"phase {name}: iteration {phase.get('iteration')} is missing from run.json")
        return
    results = {r.get("nodeid"): r.get("outcome") for r in rec.get("results", [])}
    for nodeid, outcome in results.items():
        recorded = phase["outcomes"].get(nodeid)
        if recorded != outcome:
            report.problems.append(
                f"iteration {rec['iteration']}: result {nodeid} says {outcome} but the phase record says {recorded}"
            )
    if _tally(results.values()) != rec.get("counts", {}):
        report.problems.append(
            f"iteration {rec['iteration']}: counts {rec.get('counts')} do not add up from its results"
        )
    if set(results) != set(phase["outcomes"]):
        report.problems.append(f"iteration {rec['iteration']}: results list other tests than the phase record")


def _tally(outcomes: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for outcome in outcomes:
        out[outcome] = out.get(outcome, 0) + 1
    return out


def _check_citations(doc: dict[str, Any], out_dir: Path, hashes: dict[str, str], report: VerifyReport) -> None:
    steps_checked = 0
    before = len(report.problems)
    for rec in doc.get("iterations", []):
        for category in rec.get("categories", []):
            whys = category.get("five_whys")
            if not whys:
                continue
            where = f"iteration {rec['iteration']} category {category['id']}"
            rel = evidence_artifact_name(rec["iteration"], category["id"])
            if rel not in hashes:
                report.problems.append(f"{where}: its evidence artifact {rel} is not an intact listed artifact")
                continue
            bundle = json.loads((out_dir / rel).read_text(encoding="utf-8"))
            ids = {item["id"] for item in bundle.get("items", [])}
            for number, step in enumerate(whys.get("steps", []), start=1):
                steps_checked += 1
                for cited in step.get("evidence", []):
                    if cited not in ids:
                        report.problems.append(
                            f"{where}: why #{number} cites {cited}, which is not in its evidence ({rel})"
                        )
            items = [EvidenceItem.model_validate(item) for item in bundle.get("items", [])]
            for problem in claim_problems(FiveWhys.model_validate(whys), items):
                report.problems.append(f"{where}: {problem} ({rel})")
    if len(report.problems) == before:
        report.checked.append(
            f"{steps_checked} five-whys steps: every citation resolves to its evidence artifact and shows the claim"
        )


def _check_infrastructure_prs(doc: dict[str, Any], report: VerifyReport) -> None:
    """A code PR for an ``environment`` category whose recorded evidence says infrastructure is a wrong turn."""
    before, prs = len(report.problems), 0
    for rec in doc.get("iterations", []):
        for category in rec.get("categories", []):
            pr = category.get("pr")
            if category.get("kind") != "environment" or not pr:
                continue
            prs += 1
            record = Category.model_validate({k: category[k] for k in ("id", "kind", "title", "tests", "signature")})
            bundle = EvidenceBundle.model_validate(category.get("evidence") or {"category_id": category["id"]})
            reason = str(category.get("report", "")) or infrastructure_reason(record, bundle, target=None)
            if reason.startswith("infrastructure"):
                report.problems.append(
                    f"iteration {rec['iteration']} category {category['id']}: code PR #{pr.get('number')} opened "
                    f"although its evidence says {reason}"
                )
    if len(report.problems) == before:
        report.checked.append(f"{prs} PRs for environment categories: none where the evidence says infrastructure")
