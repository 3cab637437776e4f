"""The fixer's code context: the source a patch will change, bounded by a token budget.

Not whole files: per file, excerpts of whole lines, in this order while they fit ``llm.fix_context_tokens``:
the function the five whys' fix location names (or the lines around it), the module-level assignments that
function uses (a fix often changes a constant next to it), then the same for the ranked
locations. Each excerpt has a few lines around it and says its line range, for the diff's hunk headers;
lines are verbatim so they can be copied as context lines. A file that is not Python, or a location with
no function, gets the lines around the location (the whole file when no line is known).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixloop.records import EvidenceBundle, FiveWhys
from fixloop.tools.python_ast import parse_python

MAX_FILES = 3
AROUND = 2  # lines shown before and after each span
WINDOW = 8  # lines either side of a location that has no enclosing function
HEADER_TOKENS = 12  # an excerpt's heading and fences in the prompt


@dataclass
class _File:
    path: str
    lines: list[str]
    tree: ast.Module | None
    spans: list[tuple[int, int]] = field(default_factory=list)  # 1-based, inclusive, as chosen


def code_context(repo: Path, chain: FiveWhys, bundle: EvidenceBundle, budget_tokens: int) -> list[dict[str, Any]]:
    """``[{"path", "excerpts": [{"start", "end", "text"}]}]`` for the fix prompt, within ``budget_tokens``."""
    files: dict[str, _File] = {}
    for path, function, line in _anchors(chain, bundle):
        if path not in files:
            if len(files) == MAX_FILES:
                continue
            loaded = _load(repo, path)
            if loaded is None:
                continue
            files[path] = loaded
        for span in _spans(files[path], function, line):
            _add_within(files, path, span, budget_tokens)
    return [
        {"path": f.path, "excerpts": [_excerpt(f, start, end) for start, end in _merged(f)]}
        for f in files.values()
        if f.spans
    ]


def _anchors(chain: FiveWhys, bundle: EvidenceBundle) -> list[tuple[str, str, int | None]]:
    """(file, function, line) to show, most wanted first: the fix location, then the ranked locations."""
    where, _, what = chain.fix_location.partition(":")
    first: list[tuple[str, str, int | None]] = []
    if where.strip():
        what = what.strip()
        first.append((where.strip(), "" if what.isdigit() else what, int(what) if what.isdigit() else None))
    return first + [(loc.file, loc.function, loc.line) for loc in bundle.locations]


def _load(repo: Path, path: str) -> _File | None:
    root = repo.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or ".git" in Path(path).parts or not target.is_file():
        return None
    text = target.read_text(encoding="utf-8", errors="replace")
    tree = None
    if path.endswith(".py"):
        try:
            tree = parse_python(text, path)
        except (SyntaxError, ValueError):
            tree = None
    return _File(path, text.splitlines(), tree)


def _spans(file: _File, function: str, line: int | None) -> list[tuple[int, int]]:
    """The lines to show for one anchor, most wanted first."""
    node = _function(file.tree, function, line) if file.tree is not None else None
    if node is not None:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        assert file.tree is not None
        return [(start, node.end_lineno or node.lineno), *_used_definitions(file.tree, node)]
    if line:
        return [(max(1, line - WINDOW), min(len(file.lines), line + WINDOW))]
    return [(1, len(file.lines))] if file.lines else []


def _function(tree: ast.Module, name: str, line: int | None) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function called ``name`` (``f`` or ``Class.f``), else the innermost one containing ``line``."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{prefix}{child.name}", child))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    if name:
        bare = name.removesuffix("()")
        for qualified, node in found:
            if qualified == bare or qualified.endswith(f".{bare}"):
                return node
    if line:
        around = [n for _, n in found if n.lineno <= line <= (n.end_lineno or n.lineno)]
        return min(around, key=lambda n: (n.end_lineno or n.lineno) - n.lineno, default=None)
    return None


def _used_definitions(tree: ast.Module, node: ast.AST) -> list[tuple[int, int]]:
    """Module-level assignments (constants, settings) of the names ``node`` uses, in file order."""
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    spans = []
    for stmt in tree.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        if {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)} & used:
            spans.append((stmt.lineno, stmt.end_lineno or stmt.lineno))
    return spans


def _add_within(files: dict[str, _File], path: str, span: tuple[int, int], budget: int) -> None:
    """Add ``span`` if the context still fits ``budget``; the very first span is cut to fit instead."""
    file = files[path]
    if any(s[0] <= span[0] and span[1] <= s[1] for s in file.spans):
        return
    file.spans.append(span)
    if _tokens(files) <= budget:
        return
    file.spans.pop()
    if any(f.spans for f in files.values()):
        return
    start, end = span
    while end > start:  # nothing shown yet: the head of the most wanted span rather than nothing
        end = start + (end - start) // 2
        file.spans.append((start, end))
        if _tokens(files) <= budget:
            return
        file.spans.pop()


def _merged(file: _File) -> list[tuple[int, int]]:
    """The chosen spans with ``AROUND`` lines either side, merged where they touch, in file order, without
    blank lines at either end."""
    wide = sorted((max(1, s - AROUND), min(len(file.lines), e + AROUND)) for s, e in file.spans)
    merged: list[tuple[int, int]] = []
    for start, end in wide:
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [_without_blank_ends(file, start, end) for start, end in merged]


def _without_blank_ends(file: _File, start: int, end: int) -> tuple[int, int]:
    while start < end and not file.lines[start - 1].strip():
        start += 1
    while end > start and not file.lines[end - 1].strip():
        end -= 1
    return start, end


def _excerpt(file: _File, start: int, end: int) -> dict[str, Any]:
    return {"start": start, "end": end, "text": _text(file, start, end)}


def _text(file: _File, start: int, end: int) -> str:
    return "\n".join(file.lines[start - 1 : end])


def _tokens(files: dict[str, _File]) -> int:
    """The context's size: characters / 4 (as ``tools.evidence.estimate_tokens``) plus each excerpt's header."""
    return sum(math.ceil(len(_text(f, s, e)) / 4) + HEADER_TOKENS for f in files.values() for s, e in _merged(f))
