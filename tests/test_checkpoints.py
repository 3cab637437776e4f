"""The checkpoint store and its run index: SQLite by default, PostgreSQL by URL, found by thread id alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.checkpoints import (
    RunEntry,
    checkpoint_types,
    default_sqlite_path,
    find_run,
    open_store,
    record_run,
)
from fixloop.errors import ConfigError, RunNotFoundError


def _entry(thread_id: str, checkpointer: str | None = None) -> RunEntry:
    return RunEntry(
        thread_id=thread_id,
        focus="websockets",
        status="running",
        repo="/r",
        out_dir="/o",
        checkpointer=checkpointer,
        request={"llm": "none"},
    )


def test_default_store_is_sqlite_in_fixloop_home(isolated_fixloop_home: Path) -> None:
    with open_store() as store:
        record_run(_entry("t-1"), store)
    assert default_sqlite_path() == isolated_fixloop_home / "checkpoints.sqlite"
    assert default_sqlite_path().is_file()
    found = find_run("t-1")
    assert (found.focus, found.status, found.request) == ("websockets", "running", {"llm": "none"})


def test_updating_an_entry_keeps_one_row(isolated_fixloop_home: Path) -> None:
    with open_store() as store:
        entry = _entry("t-2")
        record_run(entry, store)
        entry.status = "diagnosed"
        record_run(entry, store)
        rows = store.index.all()
    assert [(e.thread_id, e.status) for e in rows] == [("t-2", "diagnosed")]


def test_a_run_in_another_sqlite_file_is_found_by_thread_id_alone(tmp_path: Path) -> None:
    other = str(tmp_path / "elsewhere.sqlite")
    with open_store(other) as store:
        record_run(_entry("t-3", other), store)
    assert find_run("t-3").checkpointer == other  # through the home index
    assert find_run("t-3", other).thread_id == "t-3"


def test_unknown_thread_is_a_clear_error() -> None:
    with pytest.raises(RunNotFoundError, match="no run with thread id 'nope'"):
        find_run("nope")


def test_every_record_class_is_allowed_in_checkpoints() -> None:
    names = {name for _, name in checkpoint_types()}
    assert {"TestRun", "Category", "FiveWhys", "ApprovalRecord", "RunInfo", "Investigation", "Event"} <= names


@pytest.mark.postgres
def test_postgres_store_indexes_the_run_there_and_in_the_home_index(pg_schema_url: str) -> None:
    with open_store(pg_schema_url) as store:
        record_run(_entry("t-pg", pg_schema_url), store)
        assert store.index.get("t-pg") is not None
    assert find_run("t-pg").checkpointer == pg_schema_url
    assert find_run("t-pg", pg_schema_url).focus == "websockets"


def test_unreachable_postgres_is_a_config_error() -> None:
    with (
        pytest.raises(ConfigError, match="cannot connect to the PostgreSQL checkpointer"),
        open_store("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2"),
    ):
        pass
