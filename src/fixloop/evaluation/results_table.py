"""The eval report for people: a Markdown header (command, date, machine, model) and one table per stage."""

from __future__ import annotations

from fixloop.evaluation.fix_metrics import FixRow
from fixloop.evaluation.runner import EvalReport, FixEvalResult
from fixloop.evaluation.triage_eval import render_markdown as render_triage


def render_report(report: EvalReport) -> str:
    lines = [
        f"- command: `{report.command}`" if report.command else "",
        f"- date: {report.date}; machine: {report.machine}; workers: {report.workers}; "
        f"wall time: {report.wall_seconds:.0f} s",
    ]
    text = "\n".join(line for line in lines if line) + "\n"
    if report.triage is not None:
        text += "\n### Triage (rule-based, no model)\n\n" + render_triage(report.triage)
    if report.fix is not None:
        text += "\n" + render_fix(report.fix)
    return text


def render_fix(result: FixEvalResult) -> str:
    model = result.model or "none (rule-based five whys, no patch)"
    lines = [f"### Fix, end to end (--llm {result.llm}; model: {model})", ""]
    if result.measures:
        lines += [f"**This measures the plumbing, not a model:** {result.measures}.", ""]
    lines += [
        "| scenario | kinds expected | found (categories) | rank | citations | patch applied | failing fixed | "
        "no regression | SSOT audit | files vs gold | PRs | approvals | tokens in/out | est. $ | s | status | "
        "expected |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_fix_line(r) for r in result.rows]
    t = result.totals
    lines += [
        "",
        f"category accuracy {t.get('category_accuracy', 0):.3f}, top-1 {t.get('top1', 0):.3f}, "
        f"top-3 {t.get('top3', 0):.3f}, valid citations {t.get('citations_ok', 0):.3f}; "
        f"patch applied {t.get('patch_applied', 0):.3f}, failing fixed {t.get('failing_fixed', 0):.3f}, "
        f"no regression {t.get('no_regression', 0):.3f}, SSOT audit {t.get('audit_passed', 0):.3f}, "
        f"files match gold {t.get('files_match', 0):.3f} (each over the scenarios where it applies); "
        f"green {t.get('green', 0):.0f}/{t.get('scenarios', 0):.0f} "
        f"({t.get('expected_green', 0):.0f} expected to reach green); "
        f"ended as expected {t.get('as_expected', 0):.0f}/{t.get('scenarios', 0):.0f}; "
        f"machinery errors {t.get('errors', 0):.0f}; "
        + (
            f"tokens in/out {t['tokens_in']:.0f}/{t['tokens_out']:.0f}"
            if "tokens_in" in t
            else "tokens: not recorded by the run"
        ),
        "",
        _cost_footer(result),
    ]
    notes = [f"- {r.scenario}: {r.error}" for r in result.rows if r.error]
    notes += [f"- {r.scenario}: {r.status} — {r.outcome}" for r in result.rows if not r.as_expected and not r.error]
    if notes:
        lines += ["", "Not as expected:", *notes]
    return "\n".join(lines) + "\n"


def _fix_line(r: FixRow) -> str:
    files = ", ".join(r.files_touched) or "-"
    if r.files_match is not None:
        files += " (= gold)" if r.files_match else f" (gold: {', '.join(r.gold_files) or '-'})"
    tokens = f"{r.tokens_in}/{r.tokens_out}" if r.tokens_in is not None else "n/a"
    usd = f"{r.estimated_usd:.4f}" if r.estimated_usd is not None else "n/a"
    status = r.status if r.as_expected else f"**{r.status}**"
    expected = r.expected_end if r.llm != "none" else "diagnosed"
    return (
        f"| {r.scenario} | {', '.join(r.expected_kinds)} | {', '.join(r.found_kinds) or '-'} ({r.categories})"
        f"{'' if r.category_ok else ' MISS'} | {r.rank or '-'} | {_mark(r.citations_ok)} | "
        f"{_mark(r.patch_applied)} | {_mark(r.failing_fixed)} | {_mark(r.no_regression)} | "
        f"{_mark(r.audit_passed)} | {files} | {r.prs} | {', '.join(r.approvals) or '-'} | {tokens} | {usd} | "
        f"{r.seconds:.0f} | {status} | {expected} |"
    )


def _cost_footer(result: FixEvalResult) -> str:
    """How the cost per green run is computed, with its figures and where the price comes from."""
    t = result.totals
    price = f" Price: {result.price}." if result.price else ""
    if "estimated_usd" not in t:
        return f"Cost per green run: n/a (a run recorded no usage, or its model has no price in llm.prices).{price}"
    if "usd_per_green" not in t:
        return f"Estimated cost ${t['estimated_usd']:.4f}; cost per green run: n/a (no scenario ended green).{price}"
    return (
        f"**Cost per green run ${t['usd_per_green']:.4f}** = the estimated cost of all {t['scenarios']:.0f} scenarios "
        f"(green or not: ${t['estimated_usd']:.4f}, each run's run.json `cost`, tokens x llm.prices) / the "
        f"{t['green']:.0f} that ended green.{price}"
    )


def _mark(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "no")
