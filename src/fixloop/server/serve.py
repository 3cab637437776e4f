"""``fixloop serve``: build the app from flags, settings and env secrets, say what is disabled, run uvicorn."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
from pathlib import Path

from fixloop.config import load_settings
from fixloop.errors import UsageError
from fixloop.server.commands import check_word
from fixloop.server.options import ServerOptions, parse_repo_flags
from fixloop.server.runner import QueueRunner, RunsRunner
from fixloop.server.secrets import ServerSecrets


def serve_forever(
    *,
    host: str,
    port: int,
    checkpointer: str | None,
    config_file: Path | None,
    allow_repo: list[str],
    default_repo: str | None,
    default_focus: str,
    default_llm: str,
    slack_api_url: str | None,
    github_api_url: str | None,
    public_url: str,
    run_workers: int,
    demo: bool = True,
    queue: bool = True,
) -> None:
    import uvicorn

    from fixloop.server.app import create_app

    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is not a TCP port")
    settings = load_settings(config_file=config_file)
    options = ServerOptions(
        repos=parse_repo_flags(allow_repo),
        default_repo=default_repo,
        default_focus=check_word(default_focus, "default focus"),
        default_llm=default_llm,
        checkpointer=checkpointer,
        slack_api_url=slack_api_url,
        github_api_url=github_api_url,
        public_url=public_url,
        run_workers=run_workers,
        demo=demo,
    )
    secrets = ServerSecrets.from_env()
    logging.basicConfig(level=logging.INFO, format="fixloop serve: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "urllib3", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 PID: every thread's stack
    runner = _runner(checkpointer, queue=queue)
    app = create_app(settings, runner=runner, options=options, secrets=secrets)
    repos = ", ".join(f"{name}={path}" for name, path in options.repos.items()) or "none"
    print(f"fixloop serve: allowed repos: {repos}", file=sys.stderr)
    print(f"fixloop serve: store: {app.state.store.where}", file=sys.stderr)
    print(f"fixloop serve: listening on http://{host}:{port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _runner(checkpointer: str | None, *, queue: bool) -> RunsRunner:
    """With PostgreSQL (unless ``--in-process``): runs are jobs for ``fixloop worker`` processes, and the runs
    whose driver is gone are re-enqueued now, in the background. Otherwise runs are driven in this process."""
    import threading

    from fixloop.queue.app import uses_queue

    if not (queue and uses_queue(checkpointer)):
        return RunsRunner(checkpointer)
    assert checkpointer is not None
    runner = QueueRunner(checkpointer)

    def recover() -> None:
        try:
            for thread_id in runner.recover():
                print(f"fixloop serve: run {thread_id} had no driver: resume queued", file=sys.stderr, flush=True)
        except Exception as exc:  # the server still serves; a worker's start re-enqueues them too
            logging.getLogger("fixloop.server").warning("re-enqueueing runs without a driver failed: %s", exc)

    threading.Thread(target=recover, name="fixloop-recover", daemon=True).start()
    print("fixloop serve: runs are queued for `fixloop worker` processes on this database", file=sys.stderr)
    return runner
