"""Human-readable (Rich) reports for the select, test and probe stage commands."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from fixloop.records import ProbeReport, Selection, TestPhaseReport

OUTCOME_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow", "xfailed": "yellow"}


def show_selection(selection: Selection, console: Console) -> None:
    console.print(f"[bold]Focus[/bold] {selection.focus!r} in {selection.repo}")
    if selection.index_path:
        console.print(f"Test index: {selection.index_path}")
    for tier in selection.tiers:
        impact = f" — {tier.impact}" if tier.impact else ""
        console.print(f"\n[bold]Priority {tier.priority}: {tier.name}[/bold] (tolerance {tier.tolerance:.0%}){impact}")
        for f in tier.files:
            count = f"{len(f.tests)} tests" if f.tests else "whole file"
            console.print(f"  {f.score:6.1f}  [bold]{f.path}[/bold] ({count})")
            console.print(f"          {f.reason}", markup=False)
    if selection.required_env:
        console.print(f"Required env: {', '.join(selection.required_env)}")
    console.print(selection.message)


def show_test_phase(report: TestPhaseReport, console: Console, results_file: str | None = None) -> None:
    run = report.run
    counts = ", ".join(f"{n} {k}" for k, n in sorted(run.counts().items())) or "nothing ran"
    seconds = (run.finished_at - run.started_at).total_seconds()
    shown = " ".join(run.command)
    console.print(f"[bold]command[/bold] {shown[:300]}{' …' if len(shown) > 300 else ''}", markup=True)
    processes = f", {run.rounds} pytest processes" if run.rounds > 1 else ""
    console.print(
        f"{counts} in {seconds:.2f} s (exit {run.exit_code}{', TIMED OUT' if run.timed_out else ''}{processes})"
    )
    lines = Text()  # one Text for every result line: per-line markup parsing is slow on big runs
    for r in run.results:
        extra = f" ({r.skip_reason})" if r.skip_reason else ""
        lines.append(f"  {r.outcome.upper():8}", style=OUTCOME_STYLE.get(r.outcome, "white"))
        lines.append(f" {r.duration:7.3f}s {r.nodeid}{extra}\n")
    console.print(lines, end="")
    for end in run.child_exits:
        again = ", restarted for the tests after it" if end.restarted else ""
        console.print(
            f"pytest round {end.round} ended early: {end.reason} (exit {end.exit_code}"
            f"{', ' + end.signal if end.signal else ''}), last test {end.last_test or '-'}{again}",
            markup=False, highlight=False,
        )  # fmt: skip
    if run.never_ran:
        console.print(f"never ran: {len(run.never_ran)} tests", style="red")
        console.print("".join(f"  {nodeid}\n" for nodeid in run.never_ran), end="", markup=False, highlight=False)
    for r in run.failures():
        console.rule(f"[red]{r.nodeid}[/red] ({r.phase})")
        console.print(r.longrepr[-3000:], markup=False, highlight=False)
        for name, text in (("stdout", r.stdout), ("stderr", r.stderr), ("log", r.log)):
            if text.strip():
                console.print(f"--- captured {name} ---\n{text[-1500:]}", markup=False, highlight=False)
    for error in run.collection_errors:
        console.rule("[red]collection error[/red]")
        console.print(error[-3000:], markup=False, highlight=False)
    if report.findings:
        console.rule("realness")
        for f in report.findings:
            console.print(f"  [{f.severity}] {f.kind}: {f.message}", markup=False, highlight=False)
            if f.evidence:
                console.print(f"      evidence: {f.evidence[:300]}", markup=False, highlight=False)
    for t in report.tiers:
        mark = "[green]holds[/green]" if t.holds else "[red]does not hold[/red]"
        console.print(f"P{t.priority} {t.name}: {mark} — {t.reason}")
    if run.junit_xml:
        console.print(f"JUnit XML: {run.junit_xml}")
    if results_file:
        console.print(f"Results: {results_file}")


def show_probe(report: ProbeReport, console: Console) -> None:
    console.print(f"[bold]probe {report.kind}[/bold] {report.url}")
    for c in report.checks:
        result = "[yellow]skipped[/yellow]" if c.skipped else "[green]ok     [/green]" if c.ok else "[red]FAIL   [/red]"
        console.print(f"  {result} {c.name:<14} ", end="")
        console.print(c.detail, markup=False)
    if report.revision:
        console.print(f"revision: {report.revision}")
    console.print("[green]all checks passed[/green]" if report.ok else "[red]some checks failed[/red]")
