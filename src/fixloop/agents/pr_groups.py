"""One PR per fault: fixed categories of one kind whose patches are equal, or one contains the other, share a PR.

One fault often splits into 2-3 categories of the same kind (e.g. the HTTP check and the WebSocket
handshake of one broken endpoint); each investigation then proposes the same patch. The group's PR
carries the largest patch (its lead's branch), and its body lists every category it covers.
"""

from __future__ import annotations

from fixloop.state import Investigation
from fixloop.tools.worktree import PatchError, parse_patch, strip_diff_prefix

ChangedLines = frozenset[tuple[str, str]]


def changed_lines(patch: str) -> ChangedLines:
    """The (file, "+line" / "-line") pairs a unified diff changes; empty when it does not parse."""
    try:
        parsed = parse_patch(patch)
    except PatchError:
        return frozenset()
    changes: set[tuple[str, str]] = set()
    for patched in parsed:
        path = strip_diff_prefix(patched.source_file if patched.is_removed_file else patched.target_file)
        for hunk in patched:
            for line in hunk:
                if line.is_added or line.is_removed:
                    changes.add((path, f"{line.line_type}{line.value.rstrip()}"))
    return frozenset(changes)


def pr_groups(investigations: list[Investigation]) -> list[list[Investigation]]:
    """Investigations with a fix, grouped for one PR each; a group's first member carries the largest patch.

    Two fixes share a group when their categories are of one kind and the changes of one patch
    contain the other's (equal patches included). Order follows ``investigations`` (deterministic,
    so a resumed run groups, and finds its PR branches, the same way).
    """
    groups: list[tuple[ChangedLines, list[Investigation]]] = []
    for inv in investigations:
        lines = changed_lines(inv.fix.patch) if inv.fix is not None else frozenset()
        related = [g for g in groups if _related(g, inv, lines)]
        if not related:
            groups.append((lines, [inv]))
            continue
        if all(lines >= g[0] for g in related) and any(lines > g[0] for g in related):
            members = [inv, *(m for g in related for m in g[1])]
            groups = [g for g in groups if g not in related]
            groups.append((lines, members))
        else:
            holder = next(g for g in related if lines <= g[0])  # contained in (or equal to) a group's patch
            holder[1].append(inv)
    position = {id(inv): n for n, inv in enumerate(investigations)}
    ordered = sorted(groups, key=lambda g: min(position[id(m)] for m in g[1]))
    return [members for _, members in ordered]


def _related(group: tuple[ChangedLines, list[Investigation]], inv: Investigation, lines: ChangedLines) -> bool:
    theirs, members = group
    if not lines or not theirs or members[0].category.kind != inv.category.kind:
        return False
    return lines <= theirs or theirs <= lines
