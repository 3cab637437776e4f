"""Intake: a run's JSON input becomes the state's records, completed from the context, or one clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixloop.config import load_settings
from fixloop.context import RunContext
from fixloop.errors import RunInputError
from fixloop.intake import investigation_input, run_info
from fixloop.records import Category, Selection, TestResult, TestRun, utc_now
from fixloop.state import RunInfo


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    repo = tmp_path / "repo"
    repo.mkdir()
    return RunContext(thread_id="t-1", repo=repo, out_dir=tmp_path / "out", settings=load_settings(repo))


def test_json_with_only_a_focus_is_completed_from_the_context_and_settings(ctx: RunContext) -> None:
    info = run_info({"focus": "chat", "requested_by": "carol", "source": "api"}, ctx)
    assert (info.thread_id, info.repo, info.out_dir) == ("t-1", str(ctx.repo), str(ctx.out_dir))
    assert (info.focus, info.requested_by, info.source, info.llm_mode, info.model_name) == (
        "chat", "carol", "api", "none", ""
    )  # fmt: skip
    assert info.max_iterations == ctx.settings.limits.max_iterations
    assert info.stop_at == ctx.settings.autonomy.default  # no stop_at in the context: the settings' level


def test_a_record_passes_unchanged(ctx: RunContext) -> None:
    record = RunInfo(thread_id="t-1", repo="/r", focus="chat", out_dir="/o", max_iterations=7)
    assert run_info(record, ctx) is record


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "needs a focus"),
        ({"requested_by": "carol"}, "needs a focus"),
        ({"focus": "chat", "max_iterations": "many"}, "max_iterations"),
        ({"focus": "chat", "colour": "blue"}, "colour"),
        ({"focus": "chat", "repo": "/elsewhere"}, "repo"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(ctx: RunContext, raw: Any, words: str) -> None:
    with pytest.raises(RunInputError) as caught:
        run_info(raw, ctx)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def _investigation_records() -> dict[str, Any]:
    now = utc_now()
    run = TestRun(command=["pytest"], interpreter="python", cwd="/r", started_at=now, finished_at=now, exit_code=1)
    run.results.append(TestResult(nodeid="tests/test_chat.py::test_send", outcome="failed"))
    return {
        "run": RunInfo(thread_id="t-1", repo="/r", focus="chat", out_dir="/o"),
        "iteration": 1,
        "category": Category(id="c1", kind="server-error", title="500", tests=["tests/test_chat.py::test_send"]),
        "test_run": run,
        "selection": Selection(focus="chat", repo="/r"),
        "feedback": "",
    }


def test_investigation_input_records_pass_and_json_becomes_the_same_records() -> None:
    records = _investigation_records()
    assert investigation_input(records) == {}
    as_json = {k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in records.items()}
    assert investigation_input(as_json) == records


def test_investigation_input_missing_a_key_names_it() -> None:
    records = _investigation_records()
    del records["test_run"]
    with pytest.raises(RunInputError, match="test_run"):
        investigation_input(records)
