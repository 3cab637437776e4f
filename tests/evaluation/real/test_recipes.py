"""The real-project recipes in evals/real/: complete, unique, and applied strictly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixloop.errors import ConfigError, FixloopError, UsageError
from fixloop.evaluation.real.build import apply_edits
from fixloop.evaluation.real.fix import touched_functions
from fixloop.evaluation.real.recipes import Edit, load_project, load_projects, select_cases
from tests.conftest import CliRunner

REQUIRED_FAULTS = {
    "wrong-constant",
    "inverted-condition",
    "off-by-one",
    "swallowed-exception",
    "renamed-key",
    "missing-default",
    "infinite-retry",
    "timing-flake",
    "import-error",
}


def test_the_corpus_has_the_cases_the_issue_asks_for() -> None:
    projects = load_projects()
    cases = [c for p in projects for c in p.cases]
    assert len(projects) >= 6 and len(cases) >= 24
    assert {c.fault for c in cases} >= REQUIRED_FAULTS
    historical = [c for c in cases if c.history is not None]
    assert len(historical) >= 6
    assert all(c.history.fixed_in and c.history.changelog for c in historical if c.history)
    assert all(c.focus and c.file and c.function for c in cases)


def test_a_case_or_a_whole_project_is_selected_by_name() -> None:
    projects = load_projects()
    assert [c.name for _, c in select_cases(projects, "h11-chunk-footer")] == ["h11-chunk-footer"]
    assert {p.package for p, _ in select_cases(projects, "wsproto")} == {"wsproto"}
    with pytest.raises(UsageError, match="no real case or project named 'nope'"):
        select_cases(projects, "nope")


def test_an_edit_must_match_exactly_once(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\ny = 1\n", encoding="utf-8")
    apply_edits(tmp_path, [Edit(file="m.py", old="x = 1", new="x = 2")])
    assert (tmp_path / "m.py").read_text(encoding="utf-8") == "x = 2\ny = 1\n"
    with pytest.raises(FixloopError, match="occurs 2 times"):
        apply_edits(tmp_path, [Edit(file="m.py", old=" = ", new="=")])
    with pytest.raises(FixloopError, match="occurs 0 times"):
        apply_edits(tmp_path, [Edit(file="m.py", old="z = 3", new="z = 4")])
    with pytest.raises(FixloopError, match=r"missing\.py does not exist"):
        apply_edits(tmp_path, [Edit(file="missing.py", old="a", new="b")])


def test_a_broken_recipe_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('package = "x"\nversion = "1"\ntest_paths = ["tests"]\n[[cases]]\nname = "c"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: cases\.0\.fault: Field required"):
        load_project(path)


def test_cli_rejects_an_unknown_case_in_every_stage(run_cli: CliRunner) -> None:
    for stage in ("triage", "fix"):
        proc = run_cli("eval", "--suite", "real", "--stage", stage, "--case", "no-such-case")
        assert proc.returncode == 2 and "no real case or project named 'no-such-case'" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_patch_s_hunks_map_to_the_functions_and_class_bodies_they_change(tmp_path: Path) -> None:
    source = "X = 1\n\n\nclass Table:\n    SIZE = 4096\n\n    def get(self, i):\n        return i - 1\n"
    (tmp_path / "t.py").write_text(source, encoding="utf-8")
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True)
    patch = (
        "--- a/t.py\n+++ b/t.py\n@@ -4,5 +4,5 @@\n class Table:\n-    SIZE = 4096\n+    SIZE = 4095\n"
        " \n     def get(self, i):\n-        return i - 1\n+        return i\n"
    )
    assert touched_functions(tmp_path, patch) == {"t.py": {"Table", "Table.get"}}
