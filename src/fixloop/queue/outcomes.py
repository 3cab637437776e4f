"""What came of each job: one row per job id, written by the worker before the job is acknowledged.

procrastinate keeps a job's status, not its result; the enqueuer of a decision needs the result
(the run's document, or the refusal in one line) to answer in chat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fixloop.postgres import connect_postgres
from fixloop.queue.app import OUTCOMES_TABLE


@dataclass(frozen=True)
class Outcome:
    job_id: int
    thread_id: str
    kind: str
    ok: bool
    error_type: str
    message: str
    doc: dict[str, Any]


def record_outcome(
    url: str,
    job_id: int,
    thread_id: str,
    kind: str,
    *,
    ok: bool,
    error_type: str = "",
    message: str = "",
    doc: dict[str, Any] | None = None,
) -> None:
    conn = connect_postgres(url, what="queue")
    try:
        conn.execute(
            f"INSERT INTO {OUTCOMES_TABLE} (job_id, thread_id, kind, ok, error_type, message, doc)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)"
            " ON CONFLICT (job_id) DO UPDATE SET ok = EXCLUDED.ok, error_type = EXCLUDED.error_type,"
            " message = EXCLUDED.message, doc = EXCLUDED.doc, at = now()",
            (job_id, thread_id, kind, ok, error_type, message, json.dumps(doc or {}, default=str)),
        )
    finally:
        conn.close()


def read_outcome(conn: Any, job_id: int) -> Outcome | None:
    row = conn.execute(
        f"SELECT job_id, thread_id, kind, ok, error_type, message, doc FROM {OUTCOMES_TABLE} WHERE job_id = %s",
        (job_id,),
    ).fetchone()
    if row is None:
        return None
    doc = row[6] if isinstance(row[6], dict) else json.loads(row[6] or "{}")
    return Outcome(int(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]), str(row[5]), doc)
