"""Parse a markdown test index (e.g. ``STAGING_E2E_TEST_INDEX.md``): tiers, files, impact, tolerance, env, markers.

Indexes are written by people, so the parser is lenient: files are backticked ``*.py`` names in
tables or bullet lists, priorities are ``P1`` / ``Priority 1`` in a table cell or a heading,
impact is a ``$120K+``-style amount (or a "Business Impact" column), tolerances are sentences
such as "All P1 tests must pass (0% failure tolerance)" or "P3-P4 tests: <10% failure rate".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.errors import UsageError

_FILE = re.compile(r"`([^`\s]*?\.py)(?:::[^`]*)?`|\*\*([\w./-]+\.py)\*\*")
_DIR_HINT = re.compile(r"`([\w./-]+/)`")
_PRIORITY = re.compile(r"\b(?:P|Priority\s*)(\d)\b", re.IGNORECASE)
_PRIORITY_RANGE = re.compile(r"\bP(\d)\s*(?:-|–|to)\s*P(\d)\b", re.IGNORECASE)
_MONEY = re.compile(r"\$\s?\d[\d.,]*\s?[KMB]?\+?(?:\s*(?:MRR|ARR))?", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_COUNT = re.compile(r"\((\d+)\s+tests?\)", re.IGNORECASE)
_ENV_EXPORT = re.compile(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]{2,})=")
_ENV_NAME = re.compile(r"`([A-Z][A-Z0-9_]{2,})`")
_MARKER = re.compile(r"@pytest\.mark\.(\w+)|-m\s+[\"']?(\w+)")
_TOLERANCE_WORDS = re.compile(r"fail|toleran|must pass", re.IGNORECASE)
_KEY_VALUE = re.compile(r"^\s*[-*]?\s*\*\*([^*]+?)\*\*\s*(?:\([^)]*\))?\s*:?\s*(.*)$")
_BACKTICKED_WORD = re.compile(r"`([A-Za-z_][\w-]*)`")
_PRIORITY_PREFIX = re.compile(r"^\s*(?:P\d|Priority\s*\d)\s*[:.\-–—]?\s*", re.IGNORECASE)
_PRIORITY_SUFFIX = re.compile(r"\s*\((?:P\d|Priority\s*\d)\)\s*$", re.IGNORECASE)


@dataclass
class IndexEntry:
    file: str  # as written: a basename or a path
    section: str = ""  # the heading chain above it
    description: str = ""
    priority: int | None = None
    impact: str = ""
    test_count: int | None = None
    dir_hint: str = ""  # a folder named in the section heading, e.g. tests/e2e/staging/
    markers: list[str] = field(default_factory=list)  # markers the index gives the entry's section


@dataclass
class TestIndex:
    __test__ = False

    path: str
    entries: list[IndexEntry] = field(default_factory=list)
    tolerances: dict[int, float] = field(default_factory=dict)  # priority -> allowed failure ratio
    impacts: dict[int, str] = field(default_factory=dict)  # priority -> business impact
    names: dict[int, str] = field(default_factory=dict)  # priority -> tier name from its heading
    required_env: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    def lookup(self, rel_path: str) -> IndexEntry | None:
        """The entry naming ``rel_path`` (exact path, path suffix or basename; a folder hint breaks ties)."""
        best: IndexEntry | None = None
        for entry in self.entries:
            name = entry.file.lstrip("./")
            if rel_path == name or rel_path.endswith("/" + name):
                if "/" in name or (entry.dir_hint and entry.dir_hint.strip("/") in rel_path):
                    return entry
                best = best or entry
        return best


def find_index(repo: Path, configured: str | None, roots: list[str]) -> Path | None:
    """The configured index (UsageError when it is missing) or the first ``*TEST_INDEX*.md`` under the test roots."""
    if configured:
        path = repo / configured
        if not path.is_file():
            raise UsageError(f"test index {configured} does not exist in {repo}", hint="fix tests.index_path")
        return path
    for root in [*roots, "."]:
        base = repo / root
        if not base.is_dir():
            continue
        pattern = "*.md" if root == "." else "**/*.md"
        hits = sorted(p for p in base.glob(pattern) if "test_index" in p.name.lower() and ".venv" not in p.parts)
        if hits:
            return hits[0]
    return None


def parse_index(text: str, path: str = "") -> TestIndex:
    index = TestIndex(path=path)
    headings: list[tuple[int, str]] = []
    in_code = False
    header_cells: list[str] = []
    env_section = False
    section_markers: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        for m in _MARKER.finditer(line):
            _add(index.markers, m.group(1) or m.group(2))
        if in_code:
            env = _ENV_EXPORT.match(line)
            if env and env_section:
                _add(index.required_env, env.group(1))
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line.lstrip("#").strip()
            headings = [h for h in headings if h[0] < level] + [(level, title)]
            env_section = "env" in title.lower()
            header_cells = []
            section_markers = []
            _section_priority_facts(index, title)
            continue
        key_value = _KEY_VALUE.match(line)
        if key_value and not _FILE.search(line):
            _key_value_facts(index, key_value.group(1).lower(), key_value.group(2), headings, section_markers)
        if env_section:
            for name in _ENV_NAME.findall(line):
                _add(index.required_env, name)
        _tolerance_facts(index, line, headings)
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            if not header_cells and not _FILE.search(line):
                header_cells = [c.lower() for c in cells]
                continue
            _table_row(index, cells, header_cells, headings)
        elif _FILE.search(line):
            _bullet(index, line, headings, section_markers)
    return index


def load_index(path: Path, repo: Path) -> TestIndex:
    rel = path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)
    return parse_index(path.read_text(encoding="utf-8", errors="replace"), rel)


def _add(items: list[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


def _section_text(headings: list[tuple[int, str]]) -> str:
    return " / ".join(h[1] for h in headings)


def _section_priority(headings: list[tuple[int, str]]) -> int | None:
    for _, title in reversed(headings):
        m = _PRIORITY.search(title)
        if m:
            return int(m.group(1))
    return None


def _dir_hint(headings: list[tuple[int, str]]) -> str:
    for _, title in reversed(headings):
        m = _DIR_HINT.search(title)
        if m:
            return m.group(1)
    return ""


def _section_priority_facts(index: TestIndex, title: str) -> None:
    m = _PRIORITY.search(title)
    if not m:
        return
    money = _MONEY.search(title)
    if money:
        index.impacts.setdefault(int(m.group(1)), money.group(0).strip())
    name = _PRIORITY_SUFFIX.sub("", _PRIORITY_PREFIX.sub("", title)).strip(" :*")
    if name and name != title.strip():
        index.names.setdefault(int(m.group(1)), name)


def _key_value_facts(
    index: TestIndex, key: str, value: str, headings: list[tuple[int, str]], section_markers: list[str]
) -> None:
    """``**Business impact**: ...``, ``**Markers**: `a`, `b```, ``**Required env vars**: `X```."""
    priority = _section_priority(headings)
    if "impact" in key or "mrr" in key or "risk" in key:
        if priority is not None and value:
            index.impacts.setdefault(priority, value.strip())
    elif "marker" in key:
        for name in _BACKTICKED_WORD.findall(value):
            _add(index.markers, name)
            _add(section_markers, name)
    elif "env" in key:
        for name in _ENV_NAME.findall(value):
            _add(index.required_env, name)


def _tolerance_facts(index: TestIndex, line: str, headings: list[tuple[int, str]]) -> None:
    if not _TOLERANCE_WORDS.search(line) or line.lstrip().startswith("|"):
        return
    percent = _PERCENT.search(line)
    ratio = float(percent.group(1)) / 100 if percent else (0.0 if "must pass" in line.lower() else None)
    if ratio is None:
        return
    span = _PRIORITY_RANGE.search(line)
    if span:
        for p in range(int(span.group(1)), int(span.group(2)) + 1):
            index.tolerances.setdefault(p, ratio)
        return
    m = _PRIORITY.search(line)
    priority = int(m.group(1)) if m else _section_priority(headings)
    if priority is not None:
        index.tolerances.setdefault(priority, ratio)


def _table_row(index: TestIndex, cells: list[str], header: list[str], headings: list[tuple[int, str]]) -> None:
    files = [a or b for a, b in (m.groups() for c in cells for m in _FILE.finditer(c))]
    priority = next((int(m.group(1)) for c in cells if (m := _PRIORITY.search(c.replace("*", "")))), None)
    priority = priority if priority is not None else _section_priority(headings)
    impact_parts = [
        cells[i].replace("*", "")
        for i, h in enumerate(header)
        if i < len(cells) and ("impact" in h or "risk" in h or "mrr" in h)
    ]
    impact = " — ".join(p for p in impact_parts if p)
    if not impact:
        money = next((m.group(0) for c in cells if (m := _MONEY.search(c))), "")
        impact = money
    if priority is not None and impact:
        index.impacts.setdefault(priority, impact)
    described = [
        cells[i]
        for i, h in enumerate(header)
        if i < len(cells) and ("desc" in h or "impact" in h or "purpose" in h or "what" in h)
    ]
    count = next((int(c) for i, c in enumerate(cells) if i < len(header) and "test" in header[i] and c.isdigit()), None)
    for name in files:
        index.entries.append(
            IndexEntry(
                file=name,
                section=_section_text(headings),
                description=" ".join(described),
                priority=priority,
                impact=impact,
                test_count=count,
                dir_hint=_dir_hint(headings),
            )
        )


def _bullet(index: TestIndex, line: str, headings: list[tuple[int, str]], section_markers: list[str]) -> None:
    priority = _section_priority(headings)
    m_line = _PRIORITY.search(line)
    if m_line and priority is None:
        priority = int(m_line.group(1))
    count = _COUNT.search(line)
    for m in _FILE.finditer(line):
        name = m.group(1) or m.group(2)
        description = _FILE.sub("", line).strip(" -*–:#0123456789.")
        index.entries.append(
            IndexEntry(
                file=name,
                section=_section_text(headings),
                description=description,
                priority=priority,
                impact=index.impacts.get(priority, "") if priority is not None else "",
                test_count=int(count.group(1)) if count else None,
                dir_hint=_dir_hint(headings),
                markers=list(section_markers),
            )
        )
