"""The server's own small store: seen webhook deliveries and which chat thread belongs to which run.

SQLite under ``fixloop_home()`` by default; PostgreSQL when the checkpointer is a
``postgresql://`` URL, so that several ``serve`` processes share deliveries and threads.

A delivery key is in one of two states: ``pending`` (claimed by a process, which holds it for a lease
of a few seconds: the time to verify and enqueue) and ``seen`` (its job was enqueued, or it needed none).
A ``pending`` claim whose lease ran out, or whose process is gone, is taken over: a server killed
between the claim and the enqueue does not make the sender's redelivery a duplicate.
"""

from __future__ import annotations

import enum
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixloop.paths import fixloop_home
from fixloop.postgres import connect_postgres, is_postgres

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS fixloop_deliveries (delivery_id TEXT PRIMARY KEY, source TEXT, received REAL)",
    "CREATE TABLE IF NOT EXISTS fixloop_conversations ("
    " conv_key TEXT PRIMARY KEY, thread_id TEXT NOT NULL, repo TEXT, focus TEXT,"
    " requested_by TEXT, active INTEGER NOT NULL DEFAULT 1, created REAL, meta TEXT)",
    "CREATE INDEX IF NOT EXISTS fixloop_conv_thread ON fixloop_conversations (thread_id)",
)
# added in session 5 (issue #16) to a table that may already exist; rows from before are ``seen`` (NULL)
_CLAIM_COLUMNS = (("state", "TEXT"), ("owner", "TEXT"), ("lease_until", "DOUBLE PRECISION"))
CLAIM_LEASE = 30.0  # seconds a claim is held before another process may take it over


class Claim(enum.Enum):
    """What claiming a delivery key found."""

    NEW = "new"  # first time: process it
    TAKEN_OVER = "taken-over"  # a pending claim whose lease ran out or whose process is gone: process it
    SEEN = "seen"  # processed already: a duplicate
    PENDING = "pending"  # another live request is processing it now: a duplicate

    def __bool__(self) -> bool:
        return self in (Claim.NEW, Claim.TAKEN_OVER)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # pragma: no cover - not Linux
        return ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:  # pragma: no cover - not Linux
        return ""


def _process_scope() -> str:
    """Where a pid means one process: this host name, kernel boot and pid namespace."""
    return f"{socket.gethostname()}|{_boot_id()}|{_pid_namespace()}"


def owner_gone(owner: str) -> bool:
    """True when ``owner`` (``host|boot id|pid namespace|pid``) is a process of this machine, boot and pid
    namespace that is no longer running. Any other (another machine, container or boot, which could share
    a host name) cannot be checked from here: its lease decides."""
    scope, _, pid = owner.rpartition("|")
    if scope != _process_scope() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass(frozen=True)
class Conversation:
    """A chat thread (Slack ``channel:ts`` or GitHub ``owner/name#n``) bound to a run."""

    key: str
    thread_id: str
    repo: str
    focus: str
    requested_by: str
    active: bool
    meta: str = ""


class ServerStore:
    """Deliveries and conversations in SQLite (one file) or PostgreSQL (shared)."""

    def __init__(self, checkpointer: str | None = None, *, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.postgres = is_postgres(checkpointer)
        if self.postgres:
            self._pg = connect_postgres(str(checkpointer), what="store")
            self.where = "postgresql"
        else:
            self.path = path or fixloop_home() / "server.sqlite"
            self._sqlite = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
            self.where = str(self.path)
        for statement in _SCHEMA:
            self._execute(statement)
        self._add_claim_columns()
        self.owner = f"{_process_scope()}|{os.getpid()}"  # this process: who holds its claims

    def _add_claim_columns(self) -> None:
        """Add the claim columns to a table from before them (read first: an ALTER locks the table)."""
        if self.postgres:
            rows = self._fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'fixloop_deliveries'"
                " AND table_schema = current_schema()"
            )
        else:
            rows = [(row[1],) for row in self._fetch("PRAGMA table_info(fixloop_deliveries)")]
        present = {str(row[0]) for row in rows}
        for name, kind in _CLAIM_COLUMNS:
            if name in present:
                continue
            if self.postgres:
                self._execute(f"ALTER TABLE fixloop_deliveries ADD COLUMN IF NOT EXISTS {name} {kind}")
                continue
            try:
                self._execute(f"ALTER TABLE fixloop_deliveries ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another server added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._lock:
            cur = self._pg.cursor() if self.postgres else self._sqlite.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _execute(self, statement: str, params: tuple[Any, ...] = ()) -> int:
        with self._cursor() as cur:
            cur.execute(self._sql(statement), params)
            return int(cur.rowcount)

    def _fetch(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            cur.execute(self._sql(statement), params)
            return list(cur.fetchall())

    def close(self) -> None:
        if self.postgres:
            self._pg.close()
        else:
            self._sqlite.close()

    # ------------------------------------------------------------ deliveries

    def claim(self, delivery_id: str, source: str = "github", *, lease: float = CLAIM_LEASE) -> Claim:
        """Claim ``delivery_id`` as ``pending`` for this process (for ``lease`` seconds); truthy when the
        caller is to process it, and then ``settle`` it. Each step is one statement with the state in its
        condition: insert the claim; or take over a pending one whose lease ran out; or one whose process
        is gone (compare-and-set on the owner read)."""
        now = time.time()
        if self._execute(
            "INSERT INTO fixloop_deliveries (delivery_id, source, received, state, owner, lease_until)"
            " VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
            (delivery_id, source, now, self.owner, now + lease),
        ):
            return Claim.NEW
        take_over = (
            "UPDATE fixloop_deliveries SET owner = ?, lease_until = ? WHERE delivery_id = ? AND state = 'pending'"
        )
        if self._execute(f"{take_over} AND lease_until < ?", (self.owner, now + lease, delivery_id, now)):
            return Claim.TAKEN_OVER
        rows = self._fetch("SELECT state, owner FROM fixloop_deliveries WHERE delivery_id = ?", (delivery_id,))
        if not rows:  # forgotten meanwhile (its request was answered "busy"): the redelivery is new
            if self._execute(
                "INSERT INTO fixloop_deliveries (delivery_id, source, received, state, owner, lease_until)"
                " VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
                (delivery_id, source, now, self.owner, now + lease),
            ):
                return Claim.NEW
            return Claim.PENDING
        state, owner = rows[0]
        if state != "pending":
            return Claim.SEEN  # 'seen', or NULL: recorded before claims had states
        gone = owner != self.owner and owner_gone(str(owner or ""))
        if gone and self._execute(f"{take_over} AND owner = ?", (self.owner, now + lease, delivery_id, owner)):
            return Claim.TAKEN_OVER
        return Claim.PENDING

    def settle(self, delivery_id: str, *, processed: bool) -> None:
        """End this process' claim on ``delivery_id``: ``seen`` once its job is enqueued (or it needed none);
        deleted when it was not processed (answered "busy"), so its redelivery is."""
        if processed:
            statement = "UPDATE fixloop_deliveries SET state = 'seen', lease_until = NULL"
        else:
            statement = "DELETE FROM fixloop_deliveries"
        self._execute(
            f"{statement} WHERE delivery_id = ? AND state = 'pending' AND owner = ?", (delivery_id, self.owner)
        )

    def state(self, delivery_id: str) -> str | None:
        """``pending``, ``seen`` or None (never claimed, or forgotten)."""
        rows = self._fetch("SELECT state FROM fixloop_deliveries WHERE delivery_id = ?", (delivery_id,))
        return (rows[0][0] or "seen") if rows else None

    def first_delivery(self, delivery_id: str, source: str = "github") -> bool:
        """Record ``delivery_id`` as seen at once; True the first time, False for a redelivery."""
        claimed = self.claim(delivery_id, source)
        if claimed:
            self.settle(delivery_id, processed=True)
        return bool(claimed)

    def forget_delivery(self, delivery_id: str) -> None:
        """Un-record ``delivery_id``: it was not processed (answered "busy"), so its redelivery must be."""
        self._execute("DELETE FROM fixloop_deliveries WHERE delivery_id = ?", (delivery_id,))

    def first_seen(self, key: str, source: str, *, forget_after: float | None = None) -> bool:
        """Like ``first_delivery`` for other once-only keys (a Slack signature, a GitHub comment id).

        With ``forget_after`` (seconds), keys of ``source`` older than that are dropped first: for a
        replay window, where the request's own timestamp refuses anything older. (``received`` is a REAL,
        a float4 on PostgreSQL: +-64 s today, well inside the margin of a window twice Slack's.)
        """
        if forget_after is not None:
            self._execute(
                "DELETE FROM fixloop_deliveries WHERE source = ? AND received < ?", (source, time.time() - forget_after)
            )
        return self.first_delivery(f"{source}:{key}", source)

    # ------------------------------------------------------------ conversations

    def bind(self, key: str, thread_id: str, *, repo: str, focus: str, requested_by: str, meta: str = "") -> None:
        self._execute(
            "INSERT INTO fixloop_conversations (conv_key, thread_id, repo, focus, requested_by, active, created, meta)"
            " VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (conv_key) DO UPDATE SET thread_id = excluded.thread_id,"
            " repo = excluded.repo, focus = excluded.focus, requested_by = excluded.requested_by, active = 1,"
            " meta = excluded.meta",
            (key, thread_id, repo, focus, requested_by, time.time(), meta),
        )

    def conversation(self, key: str) -> Conversation | None:
        rows = self._fetch(
            "SELECT conv_key, thread_id, repo, focus, requested_by, active, meta FROM fixloop_conversations"
            " WHERE conv_key = ?",
            (key,),
        )
        return _conversation(rows[0]) if rows else None

    def conversations_of(self, thread_id: str) -> list[Conversation]:
        rows = self._fetch(
            "SELECT conv_key, thread_id, repo, focus, requested_by, active, meta FROM fixloop_conversations"
            " WHERE thread_id = ? ORDER BY created",
            (thread_id,),
        )
        return [_conversation(r) for r in rows]

    def active_run(self, repo: str, focus: str) -> Conversation | None:
        """The newest active conversation for ``repo`` + ``focus`` (a run to join), if any."""
        rows = self._fetch(
            "SELECT conv_key, thread_id, repo, focus, requested_by, active, meta FROM fixloop_conversations"
            " WHERE repo = ? AND focus = ? AND active = 1 ORDER BY created DESC LIMIT 1",
            (repo, focus),
        )
        return _conversation(rows[0]) if rows else None

    def active_runs(self, limit: int = 10) -> list[Conversation]:
        """The newest runs still active (their ``run:<thread>`` home records)."""
        rows = self._fetch(
            "SELECT conv_key, thread_id, repo, focus, requested_by, active, meta FROM fixloop_conversations"
            " WHERE conv_key LIKE ? AND active = 1 ORDER BY created DESC LIMIT ?",
            ("run:%", limit),
        )
        return [_conversation(r) for r in rows]

    def set_active(self, thread_id: str, active: bool) -> bool:
        """Mark the run's conversations; True when something changed (so a release acts once)."""
        changed = self._execute(
            "UPDATE fixloop_conversations SET active = ? WHERE thread_id = ? AND active = ?",
            (int(active), thread_id, int(not active)),
        )
        return changed > 0


def _conversation(row: tuple[Any, ...]) -> Conversation:
    key, thread_id, repo, focus, requested_by, active, meta = row
    return Conversation(key, thread_id, repo or "", focus or "", requested_by or "", bool(active), meta or "")
