"""The fix eval on one real case: build it, run the loop (``fixloop run --focus <word> --llm <mode>``) up to
the approval point, and score what it proposed.

Nothing is approved, merged or deployed: a real project has no deploy, and the question is what the loop
would put in front of a reviewer. Per case: a patch proposed?, the fault's failing tests pass in the
loop's own validation run (the category's tests)?, every test of the run's selection passes with the patch
(the eval applies it to a worktree and runs them; tests failing on the clean tree too are left out)?, the
patch touches the root-cause file and function?, the SSOT audit's verdict, wall time.

``--llm none`` is the rule-based path: it diagnoses and proposes no patch (its honest figures are zeros).
``--llm scripted`` replays, as the "model", the undo of the case's own fault (``git diff`` of the fault
commit, reversed): it measures the plumbing on real code (validation, audit, the approval point), not a
model. ``--llm openai`` is the configured model.
"""

from __future__ import annotations

import ast
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fixloop.config import load_settings
from fixloop.errors import FixloopError
from fixloop.evaluation.real.cases import build_into, case_fields
from fixloop.evaluation.real.recipes import RealCase, RealProject
from fixloop.evaluation.real.triage import function_matches
from fixloop.runs import RunRequest, run_status, start_run
from fixloop.tools.run_tests import run_tests
from fixloop.vocabulary import LLMMode

PASSING = ("passed", "xfailed", "skipped")
SCRIPTED_NOTE = (
    "--llm scripted on the real suite replays the undo of each case's own fault as the model's patch: "
    "these figures measure the plumbing on real code (validation, SSOT audit, the approval point), not a model"
)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
_DIFF_FILE = re.compile(r"^--- (?:a/)?(?P<path>[^\t\n]+)", re.M)


class RealFixRow(BaseModel):
    """One real case of the fix eval; ``None`` means "does not apply" (no patch proposed, nothing validated)."""

    case: str
    project: str
    fault: str
    historical: bool = False
    llm: str = "none"
    reproduced: bool = False
    reproduction: str = ""
    expected_file: str
    expected_function: str
    status: str = ""  # the run's status at the end: awaiting_approval, diagnosed, gave_up, failed ...
    outcome: str = ""
    found_kinds: list[str] = Field(default_factory=list)
    patch_proposed: bool = False
    fault_tests: int = 0  # tests the fault makes fail (reproduction run)
    fault_tests_validated: int = 0  # of those, in the patch's validation run
    fault_tests_pass: bool | None = None  # all of those pass with the patch
    validated: int = 0  # tests in the loop's validation run of the patch
    selected: int = 0  # tests of the run's selection, run by the eval with the patch applied
    selected_pass: bool | None = None  # all of those pass (tests failing on the clean tree too left out)
    selected_failing: list[str] = Field(default_factory=list)
    selected_outcomes: dict[str, str] = Field(default_factory=dict, exclude=True)
    files_touched: list[str] = Field(default_factory=list)
    functions_touched: list[str] = Field(default_factory=list)  # "file:function" the patch's hunks change
    touches_file: bool | None = None
    touches_function: bool | None = None
    audit: str = ""  # "pass" / "fail" ("" when no audit ran)
    iterations: int = 0
    seconds: float = 0.0
    build_seconds: float = 0.0
    error: str = ""
    out_dir: str = ""


def evaluate_real_fix_case(project: RealProject, case: RealCase, folder: Path, cache: Path, llm: LLMMode) -> RealFixRow:
    """One case through the loop to the approval point; machinery errors go into the row, never raised."""
    row = RealFixRow(**case_fields(project, case), llm=llm, out_dir=str(folder / "out"))
    try:
        built = build_into(row, project, case, folder / "repo", cache)
        row.fault_tests = len(built.fault_failing)
        if built.reproduced:
            began = time.monotonic()
            request = RunRequest(
                repo=built.repo, focus=case.focus, requested_by="eval", source="api", llm=llm,
                out_dir=folder / "out", stop_at="merge",
                scenario=str(write_scenario(case, built.repo, folder / "scenario" / case.name))
                if llm == "scripted" else None,
            )  # fmt: skip
            doc = run_status(start_run(request))
            row.seconds = round(time.monotonic() - began, 1)
            patch = score_fix_run(row, doc, set(built.fault_failing), built.repo)
            if patch:
                iterations = doc.get("iterations", [])
                targets = [str(t) for t in (iterations[0].get("selected_tests") or [])] if iterations else []
                broken = _failing(iterations[0]) - set(built.fault_failing) if iterations else set()
                run_selection_with_patch(row, built.repo, patch, targets, broken, folder / "selected")
                _fault_outcomes(row, doc, set(built.fault_failing))
    except Exception as exc:  # the eval reports a broken case and goes on
        row.error = (exc.one_line() if isinstance(exc, FixloopError) else f"{type(exc).__name__}: {exc}")[:300]
    return row


def write_scenario(case: RealCase, repo: Path, folder: Path) -> Path:
    """A scenario folder for the scripted double: the case's facts and, as ``gold.patch``, the fault undone."""
    files = list(dict.fromkeys(edit.file for edit in case.edits))
    undo = subprocess.run(
        ["git", "diff", "HEAD", "HEAD~1", "--", *files], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gold.patch").write_text(undo, encoding="utf-8")
    lines = [
        f"description = {_toml_str(case.description)}",
        f"focus = {_toml_str(case.focus)}",
        f"expected_kinds = [{_toml_str(case.kind)}]",
        f"expected_file = {_toml_str(case.file)}",
        f"expected_function = {_toml_str(case.function)}",
    ]
    (folder / "scenario.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def run_selection_with_patch(
    row: RealFixRow, repo: Path, patch: str, targets: list[str], broken: set[str], folder: Path
) -> None:
    """Apply ``patch`` to a worktree of ``repo`` and run the selection's ``targets`` there (the full check a
    reviewer would want before approving); ``broken``: tests that fail on the clean tree too (left out)."""
    if not targets:
        return
    worktree = folder / "worktree"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(worktree)], cwd=repo, check=True)
    try:
        subprocess.run(["git", "apply", "-"], cwd=worktree, input=patch, text=True, check=True, capture_output=True)
        run = run_tests(worktree, targets, load_settings(worktree), out_dir=folder / "run")
        outcomes = {r.nodeid: r.outcome for r in run.results}
        row.selected = len(outcomes)
        row.selected_failing = sorted(t for t, o in outcomes.items() if o not in PASSING and t not in broken) + [
            f"(collection error) {e.splitlines()[-1] if e else ''}"[:200] for e in run.collection_errors
        ]
        row.selected_pass = bool(outcomes) and not row.selected_failing and not run.never_ran
        row.selected_outcomes = {t: str(o) for t, o in outcomes.items()}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=repo, check=False)


def _fault_outcomes(row: RealFixRow, doc: dict[str, Any], fault_failing: set[str]) -> None:
    """The fault's tests with the patch: from the loop's validation run, else the eval's selection run."""
    attempts: list[dict[str, Any]] = [
        a for it in doc.get("iterations", []) for c in it.get("categories", []) for a in c.get("attempts", [])
    ]
    proposed = [a for a in attempts if a.get("fix")]
    validated = [a for a in proposed if a.get("validated")]
    chosen: dict[str, Any] = (validated or proposed or [{}])[-1]
    outcomes = {**row.selected_outcomes, **(chosen.get("validated_tests") or {})}
    seen = [t for t in fault_failing if t in outcomes]
    row.fault_tests_validated = len(seen)
    row.fault_tests_pass = all(outcomes[t] in PASSING for t in seen) if seen else None


def _failing(iteration: dict[str, Any]) -> set[str]:
    return {str(r["nodeid"]) for r in iteration.get("results", []) if r["outcome"] in ("failed", "error")}


def score_fix_run(row: RealFixRow, doc: dict[str, Any], fault_failing: set[str], repo: Path) -> str:
    """Fill ``row`` from the run.json ``doc`` of a run stopped at the approval point (or ended before it);
    the patch it chose ("" when none)."""
    row.status = str(doc.get("status", ""))
    row.outcome = str(doc.get("outcome", ""))[:300]
    iterations: list[dict[str, Any]] = doc.get("iterations", [])
    row.iterations = len(iterations)
    if not iterations:
        return ""
    first = iterations[0]
    categories: list[dict[str, Any]] = [c for it in iterations for c in it.get("categories", [])]
    row.found_kinds = sorted({str(c["kind"]) for c in first.get("categories", [])})
    attempts = [a for c in categories for a in c.get("attempts", []) if a.get("fix")]
    row.patch_proposed = bool(attempts)
    if not attempts:
        return ""
    accepted = [a for a in attempts if a.get("validated")]
    chosen = accepted[-1] if accepted else attempts[-1]
    fix = chosen["fix"]
    row.files_touched = list(dict.fromkeys(str(f) for f in fix.get("files", [])))
    patch = str(fix.get("patch", ""))
    row.files_touched = row.files_touched or list(dict.fromkeys(_DIFF_FILE.findall(patch)))
    row.touches_file = row.expected_file in row.files_touched
    row.functions_touched = sorted(
        f"{file}:{function}" for file, functions in touched_functions(repo, patch).items() for function in functions
    )
    row.touches_function = any(
        item.partition(":")[0] == row.expected_file and function_matches(item.partition(":")[2], row.expected_function)
        for item in row.functions_touched
    )
    audit = chosen.get("audit")
    if isinstance(audit, dict):
        row.audit = "pass" if audit.get("passed") else "fail"
    validated: dict[str, str] = chosen.get("validated_tests") or {}
    row.validated = len(validated)
    fault_seen = [t for t in fault_failing if t in validated]
    row.fault_tests_validated = len(fault_seen)
    if fault_seen:
        row.fault_tests_pass = all(validated[t] in PASSING for t in fault_seen)
    return patch


def touched_functions(repo: Path, patch: str) -> dict[str, set[str]]:
    """For each Python file of ``patch``, the qualified functions (``Class.method``; ``<module>`` for module
    level) whose lines in the committed tree (HEAD) its hunks change or insert at."""
    out: dict[str, set[str]] = {}
    for path, lines in _old_lines(patch).items():
        if not path.endswith(".py"):
            continue
        try:
            source = subprocess.run(
                ["git", "show", f"HEAD:{path}"], cwd=repo, capture_output=True, text=True, check=True
            ).stdout
            tree = ast.parse(source)
        except (subprocess.CalledProcessError, SyntaxError, ValueError):
            continue
        spans = _function_spans(tree)
        for line in lines:
            inner = [name for start, end, name in spans if start <= line <= end]
            out.setdefault(path, set()).add(inner[-1] if inner else "<module>")
    return out


def _old_lines(patch: str) -> dict[str, list[int]]:
    """Old-file line numbers each file's hunks remove, or insert before."""
    found: dict[str, list[int]] = {}
    path, number = "", 0
    for line in patch.splitlines():
        if line.startswith("--- "):
            header = _DIFF_FILE.match(line)
            path = header.group("path") if header else ""
            continue
        if line.startswith("+++ "):
            continue
        hunk = _HUNK.match(line)
        if hunk:
            number = int(hunk.group(1))
            continue
        if not path or path == "/dev/null":
            continue
        if line.startswith("-"):
            found.setdefault(path, []).append(number)
            number += 1
        elif line.startswith("+"):
            found.setdefault(path, []).append(max(number, 1))
        elif line.startswith(" "):
            number += 1
    return found


def _function_spans(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, outer ones first."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    spans.append((first, child.end_lineno or child.lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans
