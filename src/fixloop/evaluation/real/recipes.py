"""Real-project recipes (``evals/real/<project>.toml``): a pinned sdist, its test deps, and fault cases.

A recipe stores no third-party code: a case's fault is a list of exact search/replace edits applied
to the unpacked sdist at build time (each ``old`` text must occur exactly once in its file).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fixloop.errors import ConfigError, UsageError
from fixloop.paths import project_root
from fixloop.records import CategoryKind

FaultKind = Literal[
    "wrong-constant",
    "inverted-condition",
    "off-by-one",
    "swallowed-exception",
    "renamed-key",
    "missing-default",
    "infinite-retry",
    "timing-flake",
    "import-error",
    "historical",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Edit(_Strict):
    """Replace ``old`` (exactly once in ``file``) with ``new``."""

    file: str
    old: str
    new: str


class History(_Strict):
    """A real bug: the release that fixed it and its changelog line; the edits put the old body back."""

    fixed_in: str
    changelog: str
    changelog_file: str = ""
    reference: str = ""  # PR / advisory / commit named by the changelog


class RealCase(_Strict):
    name: str
    fault: FaultKind
    description: str
    focus: str  # the word a user would type: fixloop run --focus <focus>
    kind: CategoryKind  # the category kind the triage should find
    file: str  # root-cause file, relative to the project root
    function: str  # root-cause function (``Class.method`` or ``function``)
    edits: list[Edit] = Field(min_length=1)
    history: History | None = None
    tests: list[str] = Field(default_factory=list)  # optional narrowing of the reproduction run
    flaky: bool = False  # the fault fails only some runs: the reproduction repeats the faulted run


class RealProject(_Strict):
    """One project at a pinned version; ``package`` is its name on the package index."""

    package: str
    version: str
    summary: str = ""
    # runtime + test deps (the project itself is not installed: its tests import the tree)
    deps: list[str] = Field(default_factory=lambda: ["pytest"])
    test_paths: list[str]
    import_path: str = "."  # PYTHONPATH inside the tree: "src" for a src layout
    timeout: float = 10.0  # per test, seconds, for fixloop's runs of this project
    # edits that make the sdist's own tests run (e.g. a fixture folder the sdist leaves out), part of the clean tree
    prepare: list[Edit] = Field(default_factory=list)
    cases: list[RealCase] = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.package.lower()}-{self.version}"


def real_dir() -> Path:
    root = project_root()
    if root is None:
        raise UsageError("the fixloop source checkout (evals/real/) was not found", hint="set FIXLOOP_PROJECT_ROOT")
    return root / "evals" / "real"


def load_project(path: Path) -> RealProject:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return RealProject.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path.name}: {where}: {first['msg']}") from None


def load_projects(folder: Path | None = None) -> list[RealProject]:
    """Every recipe in ``evals/real/``, in file-name order; case names must be unique."""
    projects = [load_project(p) for p in sorted((folder or real_dir()).glob("*.toml"))]
    seen: set[str] = set()
    for project in projects:
        for case in project.cases:
            if case.name in seen:
                raise ConfigError(f"real case name {case.name!r} appears twice")
            seen.add(case.name)
    return projects


def select_cases(projects: list[RealProject], name: str | None) -> list[tuple[RealProject, RealCase]]:
    """All cases, or the one named (a project's package name selects all its cases)."""
    pairs = [(p, c) for p in projects for c in p.cases]
    if name is None:
        return pairs
    chosen = [(p, c) for p, c in pairs if name in (c.name, p.package, p.package.lower())]
    if not chosen:
        names = ", ".join(c.name for _, c in pairs[:8])
        raise UsageError(f"no real case or project named {name!r}", hint=f"known cases include {names}")
    return chosen
