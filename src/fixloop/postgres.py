"""PostgreSQL access shared by the checkpoint store, the run lock, the server's store and the run queue.

Imports psycopg only when called and nothing of LangGraph, so a server that only enqueues stays light.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fixloop.errors import ConfigError

POLL_SECONDS = 0.05


def is_postgres(spec: str | None) -> bool:
    """Whether a checkpointer spec is a PostgreSQL URL (else: a SQLite path, or the default)."""
    return bool(spec) and str(spec).startswith(("postgresql://", "postgres://"))


def missing_extra(what: str = "checkpointer") -> ConfigError:
    return ConfigError(f"a postgresql:// {what} needs the postgres extra", hint="pip install 'fixloop[postgres]'")


def connect_postgres(url: str, *, what: str = "checkpointer", **options: Any) -> Any:
    """An autocommit psycopg connection to ``url``; a ``ConfigError`` in one line, naming ``what`` it is for,
    when the extra is missing or the server refuses."""
    try:
        import psycopg
    except ImportError:
        raise missing_extra(what) from None
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot connect to the PostgreSQL {what}: {first}") from None


@contextmanager
def polled_advisory_lock(conn: Any, key_sql: str) -> Iterator[None]:
    """Hold the session advisory lock ``key_sql`` (an SQL expression) on ``conn`` for the block.

    Polled with ``pg_try_advisory_lock``, not a blocking ``pg_advisory_lock``: a concurrent
    ``CREATE INDEX CONCURRENTLY`` (the checkpoint saver's migrations) waits for every open transaction, a
    blocked lock call included, which would deadlock."""
    from psycopg.rows import tuple_row

    with conn.cursor(row_factory=tuple_row) as cursor:
        while not cursor.execute(f"SELECT pg_try_advisory_lock({key_sql})").fetchone()[0]:
            time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        conn.execute(f"SELECT pg_advisory_unlock({key_sql})")
