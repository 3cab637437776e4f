"""Where runs are kept: the LangGraph checkpointer and a small run index beside it.

SQLite by default (``fixloop_home()/checkpoints.sqlite``); PostgreSQL with a
``postgresql://`` URL. The run index (thread id -> repo, out dir, focus, who
asked, status, the request) lives in the same store, and every run is also
indexed in the home SQLite file with the checkpointer it uses, so that
``approve``, ``reject``, ``resume`` and ``status`` find a run by its thread id
alone, from any folder.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from fixloop.errors import ConfigError, RunNotFoundError
from fixloop.paths import fixloop_home
from fixloop.postgres import connect_postgres, is_postgres, missing_extra, polled_advisory_lock
from fixloop.run_lock import RunBusyError as RunBusyError  # where callers have always found it

DEFAULT_FILE = "checkpoints.sqlite"
INDEX_TABLE = "fixloop_runs"


def checkpoint_types() -> list[tuple[str, str]]:
    """The record classes a checkpoint may hold (an explicit msgpack allowlist: nothing else revives)."""
    from pydantic import BaseModel

    from fixloop import records, state

    return [
        (cls.__module__, cls.__name__)
        for module in (records, state)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == module.__name__
    ]


def _serde() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=checkpoint_types())


def default_sqlite_path() -> Path:
    return fixloop_home() / DEFAULT_FILE


@dataclass
class RunEntry:
    """One run in the index."""

    thread_id: str
    focus: str
    status: str
    repo: str
    out_dir: str
    requested_by: str = "cli"
    checkpointer: str | None = None  # None = the default SQLite store
    request: dict[str, Any] = field(default_factory=dict)  # the RunRequest, JSON-ready
    created: str = ""
    updated: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "focus": self.focus,
            "status": self.status,
            "repo": self.repo,
            "out_dir": self.out_dir,
            "requested_by": self.requested_by,
            "updated": self.updated,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunIndex:
    """The run index table over a DB-API connection (sqlite3 or psycopg)."""

    def __init__(self, conn: Any, *, placeholder: str) -> None:
        self.conn = conn
        self.p = placeholder
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (thread_id TEXT PRIMARY KEY, status TEXT NOT NULL,"
            " updated TEXT NOT NULL, data TEXT NOT NULL)"
        )
        self._commit()

    def _commit(self) -> None:
        if isinstance(self.conn, sqlite3.Connection):
            self.conn.commit()

    def put(self, entry: RunEntry) -> None:
        entry.updated = _now()
        entry.created = entry.created or entry.updated
        p = self.p
        self.conn.execute(
            f"INSERT INTO {INDEX_TABLE} (thread_id, status, updated, data) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (thread_id) DO UPDATE SET status = excluded.status, updated = excluded.updated,"
            " data = excluded.data",
            (entry.thread_id, entry.status, entry.updated, json.dumps(asdict(entry), default=str)),
        )
        self._commit()

    def get(self, thread_id: str) -> RunEntry | None:
        row = self.conn.execute(f"SELECT data FROM {INDEX_TABLE} WHERE thread_id = {self.p}", (thread_id,)).fetchone()
        return RunEntry(**json.loads(_first(row))) if row else None

    def all(self) -> list[RunEntry]:
        rows = self.conn.execute(f"SELECT data FROM {INDEX_TABLE} ORDER BY updated DESC").fetchall()
        return [RunEntry(**json.loads(_first(row))) for row in rows]


def _first(row: Any) -> Any:
    return row["data"] if isinstance(row, dict) else row[0]


@dataclass
class Store:
    """An open checkpointer and its run index."""

    saver: BaseCheckpointSaver[Any]
    index: RunIndex
    spec: str | None  # None for the default SQLite file


def _sqlite_conn(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise ConfigError(f"checkpoint store {path} cannot be opened: {exc}") from None
    return conn


@contextmanager
def open_store(spec: str | None = None) -> Iterator[Store]:
    """Open the store named by ``spec`` (None: default SQLite; a path; a postgresql:// URL)."""
    if is_postgres(spec):
        assert spec is not None
        with _open_postgres(spec) as store:
            yield store
        return
    path = Path(spec).expanduser() if spec else default_sqlite_path()
    conn = _sqlite_conn(path)
    try:
        saver = SqliteSaver(conn, serde=_serde())
        saver.setup()
        yield Store(saver=saver, index=RunIndex(conn, placeholder="?"), spec=str(path) if spec else None)
    finally:
        conn.close()


_SETUP_LOCK = "hashtextextended(current_schema() || ':fixloop-store-setup', 0)"


@contextmanager
def _open_postgres(url: str) -> Iterator[Store]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError:
        raise missing_extra() from None
    conn = connect_postgres(url, prepare_threshold=0, row_factory=dict_row)
    try:
        # two first opens at once (two workers starting) race on the migrations table: one at a time
        with polled_advisory_lock(conn, _SETUP_LOCK):
            saver = PostgresSaver(conn, serde=_serde())
            saver.setup()
            index = RunIndex(conn, placeholder="%s")
        yield Store(saver=saver, index=index, spec=url)
    finally:
        conn.close()


@contextmanager
def home_index() -> Iterator[RunIndex]:
    """The run index in the default SQLite store (it knows every run and its checkpointer)."""
    conn = _sqlite_conn(default_sqlite_path())
    try:
        yield RunIndex(conn, placeholder="?")
    finally:
        conn.close()


def record_run(entry: RunEntry, store: Store) -> None:
    """Write ``entry`` to its store's index and, for another store, to the home index too."""
    store.index.put(entry)
    if store.spec is not None:
        with home_index() as index:
            index.put(entry)


def find_run(thread_id: str, checkpointer: str | None = None) -> RunEntry:
    """The indexed run ``thread_id``: in the given store, else in the home index; RunNotFoundError if none."""
    entry: RunEntry | None
    if checkpointer is not None:
        with open_store(checkpointer) as store:
            entry = store.index.get(thread_id)
    else:
        with home_index() as index:
            entry = index.get(thread_id)
    if entry is None:
        where = f"in {checkpointer}" if checkpointer else f"in {default_sqlite_path()}"
        raise RunNotFoundError(f"no run with thread id {thread_id!r} {where}", hint="list runs with `fixloop status`")
    return entry
