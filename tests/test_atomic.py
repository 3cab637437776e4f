"""Atomic writes with many writers at once: each writer its own temporary file, readers never see half a file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from fixloop.atomic import write_text_atomic


def test_forty_threads_rewriting_one_file_never_collide_or_leave_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    errors: list[BaseException] = []
    seen: list[int] = []
    start = threading.Barrier(41)
    stop = threading.Event()

    def writer(n: int) -> None:
        start.wait()
        try:
            for round_ in range(25):
                write_text_atomic(target, json.dumps({"writer": n, "round": round_, "pad": "x" * 20_000}))
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        start.wait()
        while not stop.is_set():
            if target.exists():
                seen.append(json.loads(target.read_text(encoding="utf-8"))["writer"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(40)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert errors == []
    assert json.loads(target.read_text(encoding="utf-8"))["round"] == 24
    assert seen, "the reader saw the file"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary file left behind
    assert target.stat().st_mode & 0o777 == 0o644  # readable as a plain write's file, not mkstemp's 0600
