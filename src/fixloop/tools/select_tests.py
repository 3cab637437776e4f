"""Select and rank the tests of a repository for a focus area, in priority tiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from fixloop.config import Settings
from fixloop.records import SelectedFile, Selection, Tier
from fixloop.tools.durations import file_seconds, load_durations
from fixloop.tools.focus import TermGroup, group_hits, parse_focus, quick_mentions, tokens
from fixloop.tools.param_variants import Variants, focus_variants
from fixloop.tools.static_scan import FileScan, find_test_files, read_source, scan_source
from fixloop.tools.test_index import IndexEntry, TestIndex, find_index, load_index

TIER_NAMES = {1: "core e2e", 2: "integration", 3: "pipeline / critical path", 4: "related unit tests"}
E2E_WORDS = frozenset({"e2e", "staging", "mission_critical", "acceptance", "end_to_end", "live", "real"})
E2E_MARKERS = frozenset({"e2e", "staging", "mission_critical", "real_services", "live", "network", "acceptance"})
INTEGRATION_WORDS = frozenset({"integration", "integrations"})
PIPELINE_WORDS = frozenset({"pipeline", "critical", "path", "golden", "journey", "journeys", "orchestration", "smoke"})
FIRST_PHASE_WORDS = frozenset({"staging", "e2e", "critical", "mission_critical", "smoke", "golden"})
UNIT_TIER = 4
MIN_SCORE = 2.0  # below this a file only brushes the focus (one stray literal)


@dataclass
class FileMatch:
    scan: FileScan
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    name_hit: bool = False
    groups_hit: set[str] = field(default_factory=set)
    matching_tests: list[str] = field(default_factory=list)
    kind: str = "unit"  # e2e | integration | unit
    pipeline: bool = False
    entry: IndexEntry | None = None
    variants: list[str] = field(default_factory=list)  # parametrized node ids the focus names (fixture params)


def select_tests(repo: Path, focus: str, settings: Settings) -> Selection:
    """Tiers of files/test ids for ``focus``, from the test index and a static (AST) scan."""
    groups = parse_focus(focus)
    files = find_test_files(repo, settings.tests.paths)
    index_file = find_index(repo, settings.tests.index_path, settings.tests.paths)
    index = load_index(index_file, repo) if index_file else None
    selection = Selection(
        focus=focus,
        repo=str(repo),
        index_path=index.path if index else None,
        required_env=list(index.required_env) if index else [],
        markers=list(index.markers) if index else [],
    )
    if not groups:
        selection.message = f"focus {focus!r} names nothing to look for"
        return selection
    matches = [m for rel in files if (m := _match_file(repo, rel, groups, index)) is not None]
    _add_variants(matches, focus_variants(repo, files, settings.tests.paths, groups, settings), repo, index)
    tiers: dict[int, list[SelectedFile]] = {}
    placed = budget_tiers(matches, settings, load_durations(repo))
    for match in sorted(matches, key=lambda m: (placed[id(m)][0], _first_phase_rank(m), m.scan.path)):
        tier, note = placed[id(match)]
        chosen = _selected(match)
        if note:
            chosen.reason += f" ({note})"
        tiers.setdefault(tier, []).append(chosen)
    for priority in sorted(tiers):
        selection.tiers.append(
            Tier(
                priority=priority,
                name=(index.names.get(priority) if index else None) or TIER_NAMES.get(priority, f"priority {priority}"),
                tolerance=index.tolerances.get(priority, 0.0) if index else 0.0,
                impact=index.impacts.get(priority, "") if index else "",
                files=tiers[priority],
            )
        )
    looked_for = ", ".join(sorted(t for g in groups for t in g.terms))
    where = f"{len(files)} test files" + (f" and the index {index.path}" if index else "")
    if not matches:
        selection.message = f"no test matches focus {focus!r} (looked for: {looked_for}) in {where}"
    else:
        selection.message = f"{len(matches)} files in {len(tiers)} tiers for focus {focus!r} from {where}"
    return selection


def _match_file(repo: Path, rel: str, groups: list[TermGroup], index: TestIndex | None) -> FileMatch | None:
    source = read_source(repo, rel)
    entry = index.lookup(rel) if index else None
    entry_text = f"{entry.section} {entry.description}" if entry else ""
    if not quick_mentions(groups, f"{rel}\n{entry_text}\n{source}".lower()):
        return None
    match = FileMatch(scan=scan_source(rel, source), entry=entry)
    _score(match, groups)
    if match.score < MIN_SCORE:
        return None
    _classify(match)
    return match


def _add_variants(matches: list[FileMatch], found: dict[str, Variants], repo: Path, index: TestIndex | None) -> None:
    """Parametrized variants the focus names through fixture params join their file's match (or make one)."""
    by_path = {m.scan.path: m for m in matches}
    for rel, variants in sorted(found.items()):
        match = by_path.get(rel)
        if match is None:
            match = FileMatch(scan=scan_source(rel, read_source(repo, rel)), entry=index.lookup(rel) if index else None)
            _classify(match)
            matches.append(match)
        match.variants = variants.nodeids
        match.groups_hit |= variants.groups
        match.score += 3.0 + min(3.0, 0.5 * len(variants.nodeids))
        ids = sorted({v.rsplit("[", 1)[-1].rstrip("]") for v in variants.nodeids})
        match.reasons.append(
            f"{len(variants.nodeids)} parametrized variants [{', '.join(ids[:3])}] "
            f"(fixture params: {', '.join(variants.fixtures)})"
        )


def _score(match: FileMatch, groups: list[TermGroup]) -> None:
    scan = match.scan
    path = PurePosixPath(scan.path)
    stem_tokens = tokens(path.stem)
    dir_text = " ".join(path.parent.parts)
    all_markers = scan.markers + [m for t in scan.tests for m in t.markers]
    for group in groups:
        hit = 0.0
        reasons: list[str] = []
        if group_hits(group, path.stem, stem_tokens):
            hit += 6
            match.name_hit = True
            reasons.append(f"file name mentions {group.name!r}")
        if dir_text and group_hits(group, dir_text):
            hit += 2
            reasons.append(f"folder {path.parent.as_posix()!r}")
        entry_text = (
            f"{match.entry.section} {match.entry.description} {' '.join(match.entry.markers)}" if match.entry else ""
        )
        if match.entry and group_hits(group, entry_text):
            hit += 3
            reasons.append("index text mentions it")
        marked = sorted({m for m in all_markers if group_hits(group, m)})
        if marked:
            hit += 3
            reasons.append("markers " + ", ".join(marked))
        if scan.doc and group_hits(group, scan.doc):
            hit += 1.5
            reasons.append("module docstring")
        named = [t for t in scan.tests if group_hits(group, t.name)]
        documented = [t for t in scan.tests if t not in named and t.doc and group_hits(group, t.doc)]
        literal_tests = [t for t in scan.tests if any(group_hits(group, s) for s in t.strings)]
        if named:
            hit += min(6.0, 1.5 * len(named))
            reasons.append(f"{len(named)} test names ({', '.join(t.name for t in named[:3])})")
        if documented:
            hit += min(2.0, 0.5 * len(documented))
            reasons.append(f"{len(documented)} test docstrings")
        imports = [i for i in scan.imports if group_hits(group, i)]
        if imports:
            hit += min(3.0, 1.0 * len(imports))
            reasons.append("imports " + ", ".join(imports[:3]))
        literals = [s for s in scan.strings + [s for t in scan.tests for s in t.strings] if group_hits(group, s)]
        urls = [s for s in literals if "://" in s]
        if urls:
            hit += min(4.0, 2.0 * len(urls))
            reasons.append(f"URL literal {urls[0][:60]!r}")
        if literals:
            hit += min(3.0, 0.5 * len(literals))
            reasons.append(f"{len(literals)} literals like {literals[0][:60]!r}")
        if hit:
            match.groups_hit.add(group.name)
            match.reasons.extend(reasons)
            match.score += hit
            for t in [*named, *documented, *literal_tests]:
                if t.nodeid not in match.matching_tests:
                    match.matching_tests.append(t.nodeid)
    if len(groups) > 1 and len(match.groups_hit) == len(groups):
        match.score *= 1.5
        match.reasons.append("covers every focus word")
    if match.entry:
        level = f" P{match.entry.priority}" if match.entry.priority is not None else ""
        where = match.entry.description or match.entry.section.split(" / ")[-1]
        match.reasons.append(f"index{level}: {where}".strip())
        if match.entry.priority is not None:
            match.score += max(0.0, 3.0 - match.entry.priority * 0.5)


def _classify(match: FileMatch) -> None:
    path = PurePosixPath(match.scan.path)
    words = {p.lower() for p in path.parent.parts} | {w.lower() for w in path.stem.split("_")}
    markers = {m.lower() for m in match.scan.markers + [m for t in match.scan.tests for m in t.markers]}
    section = f"{match.entry.section} {match.entry.description}".lower() if match.entry else ""
    section_words = set(section.replace("/", " ").replace("(", " ").replace("`", " ").split())
    if words & INTEGRATION_WORDS or "integration" in markers or "integration" in section_words:
        match.kind = "integration"
    elif words & E2E_WORDS or markers & E2E_MARKERS or section_words & (E2E_WORDS | {"core", "critical"}):
        match.kind = "e2e"
    match.pipeline = bool((words | section_words) & PIPELINE_WORDS)


def _first_phase_rank(match: FileMatch) -> tuple[float, ...]:
    """Best first: the index's own priority, then folder words (staging, e2e, critical), markers, match strength."""
    indexed = match.entry is not None and match.entry.priority is not None
    path = PurePosixPath(match.scan.path)
    words = {p.lower() for p in path.parent.parts} | {w.lower() for w in path.stem.split("_")}
    markers = {m.lower() for m in match.scan.markers + [m for t in match.scan.tests for m in t.markers]}
    return (
        -float(indexed),
        -float(len(words & FIRST_PHASE_WORDS)),
        -float(len(markers & (E2E_MARKERS | FIRST_PHASE_WORDS))),
        -float(match.name_hit),
        -match.score,
    )


def budget_tiers(
    matches: list[FileMatch], settings: Settings, durations: dict[str, float]
) -> dict[int, tuple[int, str]]:
    """Per match (by ``id``): its tier after the budgets, and why it moved (empty when it did not).

    P1 keeps at most ``tests.p1_max_files`` files, or the files whose recorded durations fill
    ``tests.p1_budget_seconds``; P1 to P3 together at most ``tests.tiers_max_files``. A file over a
    budget moves to the next tier, best first by ``_first_phase_rank``; past P3 it joins the unit tier.
    """
    limits = settings.tests
    placed: dict[int, tuple[int, str]] = {}
    by_tier: dict[int, list[FileMatch]] = {}
    for match in matches:
        by_tier.setdefault(_tier_of(match), []).append(match)
    carried: list[FileMatch] = []
    kept = 0  # files in P1..P3 so far
    spent = 0.0
    for tier in sorted(set(by_tier) | {1, 2, 3}):
        moved_in = {id(m) for m in carried}
        candidates = sorted(by_tier.get(tier, []) + carried, key=_first_phase_rank)
        carried = []
        for match in candidates:
            if tier > 3:
                placed[id(match)] = (tier, "moved down: over the P1-P3 budget" if id(match) in moved_in else "")
                continue
            seconds = file_seconds(durations, match.scan.path) if limits.p1_budget_seconds else None
            over_p1 = tier == 1 and (
                kept >= limits.p1_max_files
                if seconds is None or limits.p1_budget_seconds is None
                else spent + seconds > limits.p1_budget_seconds and kept > 0
            )
            if over_p1 or kept >= limits.tiers_max_files:
                carried.append(match)
                continue
            kept += 1
            spent += seconds or 0.0
            origin = _tier_of(match)
            note = f"moved from P{origin}: over its budget" if origin != tier else ""
            placed[id(match)] = (tier, note)
    for match in carried:  # nothing below P3 took them
        placed[id(match)] = (UNIT_TIER, f"moved from P{_tier_of(match)}: over the P1-P3 budget")
    return placed


def _tier_of(match: FileMatch) -> int:
    """The index's priority for a file it ranks; otherwise core e2e, integration, pipeline, unit."""
    if match.entry is not None and match.entry.priority is not None:
        return match.entry.priority
    if match.kind == "unit":
        return 4
    if match.name_hit and match.kind == "e2e":
        return 1
    if match.pipeline and not match.name_hit:
        return 3
    return 2


def _selected(match: FileMatch) -> SelectedFile:
    scan = match.scan
    all_ids = [t.nodeid for t in scan.tests]
    whole_file = match.name_hit or match.entry is not None or len(match.matching_tests) * 2 >= len(all_ids)
    if match.variants and not (match.name_hit or match.entry is not None):
        # the focus names some variants of these tests, not all of them: the others stay out
        chosen = set(match.matching_tests)
        tests = [*match.matching_tests, *(v for v in match.variants if v.split("[", 1)[0] not in chosen)]
    elif scan.opaque_bases or scan.syntax_error:
        tests = []
    elif whole_file:
        tests = all_ids
    else:
        tests = match.matching_tests
    kind = {"e2e": "e2e test", "integration": "integration test", "unit": "unit test"}[match.kind]
    reason = f"{kind}: " + "; ".join(dict.fromkeys(match.reasons))
    if scan.syntax_error:
        reason += f" (cannot be parsed: {scan.syntax_error})"
    return SelectedFile(path=scan.path, reason=reason, score=round(match.score, 2), tests=tests)
