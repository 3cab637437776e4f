"""The procrastinate app on the checkpoints' PostgreSQL, and the tables it needs.

The queue lives in the same database (and schema: the URL's ``search_path``) as the checkpoints,
so there is no second service to run or back up. Its tables are created on first use, once, under
an advisory lock (two workers starting together must not both apply the schema).
"""

from __future__ import annotations

from typing import Any

from fixloop.errors import ConfigError
from fixloop.postgres import connect_postgres, is_postgres, polled_advisory_lock

QUEUE = "fixloop-runs"
OUTCOMES_TABLE = "fixloop_job_outcomes"
_SCHEMA_LOCK = "hashtextextended(current_schema() || ':fixloop-queue-schema', 0)"
_OUTCOMES_DDL = f"""
CREATE TABLE IF NOT EXISTS {OUTCOMES_TABLE} (
    job_id bigint PRIMARY KEY,
    thread_id text NOT NULL,
    kind text NOT NULL,
    ok boolean NOT NULL,
    error_type text NOT NULL DEFAULT '',
    message text NOT NULL DEFAULT '',
    doc jsonb,
    at timestamptz NOT NULL DEFAULT now()
)
"""


def uses_queue(checkpointer: str | None) -> bool:
    """Runs go through the queue exactly when the checkpointer is PostgreSQL (the SQLite default: in process)."""
    return is_postgres(checkpointer)


def build_app(url: str) -> Any:
    """A procrastinate ``App`` on ``url`` with fixloop's job kinds registered (not opened)."""
    if not is_postgres(url):
        raise ConfigError("the run queue needs a postgresql:// checkpointer", hint="pass --checkpointer postgresql://…")
    try:
        import procrastinate
    except ImportError:
        raise ConfigError("the run queue needs procrastinate", hint="pip install 'fixloop[postgres]'") from None
    from fixloop.queue.tasks import blueprint

    # a CLI enqueue needs one connection, a worker a few per job slot
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=10))
    app.add_tasks_from(blueprint, namespace="fixloop")
    return app


def ensure_schema(url: str) -> None:
    """Create procrastinate's tables and the outcomes table in the URL's schema, unless they exist."""
    import procrastinate

    conn = connect_postgres(url, what="queue")
    try:
        with polled_advisory_lock(conn, _SCHEMA_LOCK):
            row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            if not row[0]:
                conn.execute(procrastinate.schema.SchemaManager.get_schema())
            conn.execute(_OUTCOMES_DDL)
    finally:
        conn.close()
