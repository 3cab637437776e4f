"""Calibration of the fixability score on the seeded-fault scenarios (scripted model).

For every scenario: a real demo run (``--llm scripted``, stop at ``patch`` so that no PR is
opened), then per category: its fixability score and parts, the level the score allows,
the level reached, and whether the category was *fixed correctly* (patch validated, stress
re-runs green, audit passed, and the patch touches the scenario's root-cause file).
A flaky or report-only (infrastructure) scenario counts as handled correctly when it gets a report and
no code fix (the expectation comes from the scenario; fixloop decides from the evidence).

    FIXLOOP_HOME=$(mktemp -d) PYTHONPATH=src python evals/calibrate.py --json /tmp/calibration.json
    FIXLOOP_HOME=$(mktemp -d) PYTHONPATH=src python evals/calibrate.py --wrong-fix --scenario jwt-skew ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fixloop.demo import run_demo
from fixloop.scenarios import list_scenarios

HEADER = (
    "| scenario | category | kind | score | parts | allowed | reached | validated | stress | expected file "
    "| fixed correctly |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


# A patch that applies anywhere and fixes nothing: the negative side of the calibration.
NOOP_PATCH = """diff --git a/chatbackend/fixloop_noop.py b/chatbackend/fixloop_noop.py
new file mode 100644
--- /dev/null
+++ b/chatbackend/fixloop_noop.py
@@ -0,0 +1 @@
+NOTE = "a scripted patch that changes nothing the tests depend on"
"""


def use_wrong_fix() -> None:
    """Script the fixer to answer the no-op patch (one attempt), so that validation has something to reject."""
    fix = {"summary": "scripted wrong fix (calibration negative)", "patch": NOOP_PATCH, "files": []}
    os.environ["FIXLOOP_SCRIPTED_STEPS"] = json.dumps({"fix": [fix]})
    os.environ["FIXLOOP_LIMITS__MAX_FIX_ATTEMPTS"] = "1"


def calibrate(names: list[str], work: Path, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per category of every scenario's run; ``runs`` gets one entry per run (status, tokens)."""
    rows: list[dict[str, Any]] = []
    for scenario in list_scenarios():
        if names and scenario.name not in names:
            continue
        started = time.monotonic()
        result = run_demo(scenario=scenario.name, llm="scripted", out=work / scenario.name, stop_at="patch")
        doc = json.loads((result.out_dir / "run.json").read_text(encoding="utf-8"))
        cost = doc.get("cost", {})
        runs.append({"scenario": scenario.name, "status": doc["status"], "tokens": cost.get("tokens", 0)})
        scores = {(s["iteration"], s["category"]): s for s in doc.get("fixability", [])}
        for rec in doc["iterations"]:
            for category in rec["categories"]:
                fx = scores.get((rec["iteration"], category["id"]))
                if fx is None:
                    continue
                fix = category.get("fix") or {}
                stress = [a.get("stress") for a in category.get("attempts", []) if a.get("stress")]
                stress_ok = bool(stress) and all(not r["failing"] for r in stress[-1]["results"])
                touches = scenario.expected_file in fix.get("files", [])
                validated = bool(fix.get("validated"))
                audit_ok = bool((category.get("audit") or {}).get("passed"))
                if scenario.flaky or scenario.extra.get("report_only") is True:  # the harness's expectation
                    correct = not fix and not category.get("attempts")  # a report, no code fix
                else:
                    correct = validated and stress_ok and touches and audit_ok
                rows.append(
                    {
                        "scenario": scenario.name,
                        "category": category["id"],
                        "kind": category["kind"],
                        "score": fx["score"],
                        "parts": fx["parts"],
                        "allowed": fx["allowed"],
                        "reached": fx["reached"],
                        "validated": validated,
                        "stress": stress[-1]
                        and f"{sum(not r['failing'] for r in stress[-1]['results'])}/{len(stress[-1]['results'])}"
                        if stress
                        else "-",
                        "touches_expected_file": touches,
                        "fixed_correctly": correct,
                        "seconds": round(time.monotonic() - started, 1),
                    }
                )
        print(f"{scenario.name}: {doc['status']} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [HEADER]
    for r in rows:
        parts = " ".join(f"{k}={v:g}" for k, v in r["parts"].items())
        lines.append(
            f"| {r['scenario']} | {r['category']} | {r['kind']} | {r['score']:.2f} | {parts} | {r['allowed']} "
            f"| {r['reached']} | {r['validated']} | {r['stress']} | {r['touches_expected_file']} "
            f"| {r['fixed_correctly']} |"
        )
    return "\n".join(lines) + "\n"


def cost_summary(runs: list[dict[str, Any]]) -> str:
    """Tokens per run and per green run (the scripted model's reported usage)."""
    tokens = sum(int(r["tokens"]) for r in runs)
    green = sum(1 for r in runs if r["status"] == "green")
    per_green = f"{tokens / green:.0f}" if green else "n/a (no green run)"
    return f"{len(runs)} runs, {green} green, {tokens} model tokens in all: {per_green} tokens per green run\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--wrong-fix", action="store_true", help="script a no-op patch instead of gold.patch")
    args = parser.parse_args()
    if args.wrong_fix:
        use_wrong_fix()
    with tempfile.TemporaryDirectory(prefix="fixloop-calibrate-") as work:
        runs: list[dict[str, Any]] = []
        rows = calibrate(args.scenario, Path(work), runs)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "runs": runs}, indent=2) + "\n", encoding="utf-8")
    print(markdown(rows))
    print(cost_summary(runs))


if __name__ == "__main__":
    main()
