"""Benchmark: prompt tokens per investigation on the scenarios (goal: <= 6k per investigation).

    /work/venv/bin/python benchmarks/bench_prompt_tokens.py [--scenario NAME ...]

For each scenario, a real ``fixloop demo --llm openai`` subprocess runs against the scripted server of
this script (replaying the scenario's five whys, gold patch and audit), which records every prompt.
Tokens are estimated as characters / 4 (no tokenizer is installed; for English and code this is within
~15 % of OpenAI's o200k tokenizer). An investigation's prompt tokens are the sum over its calls (five
whys, fix, audit, and any retry); with several categories the total is divided by their number.

"gold lines shown" checks that the fix prompts still hold the source a patch must change now that they
show excerpts within ``llm.fix_context_tokens``, not whole files: of the lines the scenario's gold patch
removes or changes, how many appear verbatim in a fix prompt of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FIXLOOP_PROJECT_ROOT", str(ROOT))

from fixloop.integrations.llm.scripted_server import ScriptedServer  # noqa: E402
from fixloop.integrations.llm.scripts import script_for_scenario  # noqa: E402
from fixloop.scenarios import list_scenarios, load_scenario  # noqa: E402
from fixloop.target import stop_target  # noqa: E402

GOAL = 6000


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class Row(TypedDict):
    """One scenario's measurements (printed as a JSON line, then as a table row)."""

    scenario: str
    exit: int
    status: str
    investigations: int
    calls: dict[str, int]
    tokens_by_purpose: dict[str, int]
    largest_prompt: int
    per_investigation: int
    gold_lines_shown: str


def measure(name: str, tmp: Path) -> Row:
    out = tmp / name
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FIXLOOP_HOME": str(tmp / "home"),
           "FIXLOOP_LLM__BASE_URL": "", "OPENAI_API_KEY": "sk-bench-not-a-key"}  # fmt: skip
    with ScriptedServer(script_for_scenario(load_scenario(name)), model=f"scripted:{name}") as server:
        env["FIXLOOP_LLM__BASE_URL"] = server.url
        proc = subprocess.run(
            [sys.executable, "-m", "fixloop", "demo", "--scenario", name, "--llm", "openai", "--out", str(out)],
            capture_output=True, text=True, env=env, timeout=1800,
        )  # fmt: skip
        requests = list(server.requests)
    if (out / "workspace").exists():
        stop_target(out / "workspace")
    run = json.loads((out / "run.json").read_text(encoding="utf-8")) if (out / "run.json").exists() else {}
    investigations = sum(len(it.get("categories", [])) for it in run.get("iterations", [])) or 1
    by_purpose: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for request in requests:
        by_purpose[request.purpose] += tokens(request.text())
        calls[request.purpose] += 1
    total = sum(by_purpose.values())
    return {
        "scenario": name,
        "exit": proc.returncode,
        "status": run.get("status", "?"),
        "investigations": investigations,
        "calls": dict(calls),
        "tokens_by_purpose": dict(by_purpose),
        "largest_prompt": max((tokens(r.text()) for r in requests), default=0),
        "per_investigation": total // investigations,
        "gold_lines_shown": gold_lines_shown(name, [r.text() for r in requests if r.purpose == "fix"]),
    }


def gold_lines_shown(name: str, fix_prompts: list[str]) -> str:
    """``shown/total`` of the gold patch's removed lines found in the fix prompts ("-" without a fix call)."""
    try:
        patch = load_scenario(name).gold_patch.read_text(encoding="utf-8")
    except OSError:
        return "-"
    removed = [line[1:].strip() for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")]
    removed = [line for line in removed if line]
    if not fix_prompts or not removed:
        return "-"
    shown = sum(any(line in prompt for prompt in fix_prompts) for line in removed)
    return f"{shown}/{len(removed)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", action="append", help="scenario name (repeatable; default: all)")
    args = parser.parse_args()
    names = args.scenario or [s.name for s in list_scenarios()]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as tmp:
        for name in names:
            row = measure(name, Path(tmp))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| scenario | status | investigations | calls | prompt tokens / investigation | largest prompt | "
          "gold lines shown |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(row["calls"].items()))
        print(f"| {row['scenario']} | {row['status']} | {row['investigations']} | {calls} | "
              f"{row['per_investigation']} | {row['largest_prompt']} | {row['gold_lines_shown']} |")  # fmt: skip
    with_model = [int(r["per_investigation"]) for r in rows if r["calls"]]
    if with_model:
        worst, mean = max(with_model), sum(with_model) / len(with_model)
        verdict = "met" if worst <= GOAL else "NOT met"
        print(f"\nprompt tokens per investigation: mean {mean:.0f}, max {worst}; goal <= {GOAL}: {verdict}")


if __name__ == "__main__":
    main()
