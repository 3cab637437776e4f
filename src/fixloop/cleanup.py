"""Nothing left behind: what this process started, stopped when it is interrupted or killed.

pytest and the targets run in sessions of their own (so that a limit can kill a whole process group),
which also means a signal to fixloop never reaches them. Every command therefore registers what it
starts here; SIGTERM and SIGHUP are turned into the same ``KeyboardInterrupt`` path as Ctrl-C
(``install_stop_handlers``), and that path calls ``stop_everything``. For a SIGKILL of fixloop, which
no handler sees, the pytest child asks the kernel for SIGKILL when its parent dies (``die_with_parent``).
Targets are not tied to their parent that way: a target outlives its command on purpose (a demo
waiting for approval, ``fixloop target up``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1

_lock = threading.RLock()  # re-entrant: the signal handler may run while the main thread holds it
Stopper = Callable[[subprocess.Popen[bytes]], None]
_groups: dict[int, tuple[subprocess.Popen[bytes], Stopper]] = {}  # pytest processes, each with how to stop it
_targets: set[Path] = set()  # repos whose target this process started
_stop_signal: int | None = None


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) received: unwinds like Ctrl-C, after the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_signal() -> int | None:
    """The stop signal this process received (None: none, or Ctrl-C)."""
    return _stop_signal


def install_stop_handlers(report: Callable[[str], None] | None = None) -> None:
    """SIGINT, SIGTERM and SIGHUP stop every pytest group and target this process started, at once (a
    graph branch in another thread may be waiting on one of them), then raise ``Stopped`` in the main
    thread. Call it from the main thread."""

    def handler(signum: int, frame: FrameType | None) -> None:
        global _stop_signal
        if _stop_signal is not None:  # the first one unwinds; a second one during the cleanup is ignored
            return
        _stop_signal = signum
        stopped = signal_everything()
        if report is not None:
            name = signal.Signals(signum).name
            report(f"{name}: stopped {', '.join(stopped)}" if stopped else f"{name}: nothing was left running")
        raise Stopped(signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)


# ---------------------------------------------------------------- registry


def track_group(process: subprocess.Popen[bytes], stop: Stopper) -> None:
    """``process`` leads a process group of its own; ``stop(process)`` ends that group."""
    with _lock:
        _groups[process.pid] = (process, stop)


def forget_group(process: subprocess.Popen[bytes]) -> None:
    with _lock:
        _groups.pop(process.pid, None)


def track_target(repo: Path) -> None:
    with _lock:
        _targets.add(repo.resolve())


def forget_target(repo: Path) -> None:
    with _lock:
        _targets.discard(repo.resolve())


def started_targets() -> list[Path]:
    with _lock:
        return sorted(_targets)


def _stop_targets(targets: list[Path]) -> list[str]:
    from fixloop.target import stop_target  # the target module reads settings: loaded only when needed

    stopped = []
    for repo in targets:
        with contextlib.suppress(Exception):  # the cleanup goes on for the others
            if stop_target(repo):
                stopped.append(f"target of {repo}")
    return stopped


def signal_everything() -> list[str]:
    """From a signal handler: SIGTERM to every pytest group (no wait: the main thread may be inside that
    process's ``wait``, whose lock a second wait would block on), and stop every target."""
    with _lock:
        groups, targets = list(_groups.values()), sorted(_targets)
        _targets.clear()
    stopped = []
    for process, _ in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
            stopped.append(f"pytest (pid {process.pid})")
    return stopped + _stop_targets(targets)


def stop_everything() -> list[str]:
    """Stop every pytest group and every target this process started; what was stopped, one line each."""
    with _lock:
        groups, targets = list(_groups.values()), sorted(_targets)
        _groups.clear()
        _targets.clear()
    stopped = []
    for process, stop in groups:
        if process.poll() is None:
            stop(process)
            stopped.append(f"pytest (pid {process.pid})")
    return stopped + _stop_targets(targets)


# ---------------------------------------------------------------- SIGKILL of the parent


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:  # the symbols already loaded into this interpreter (libc among them): no library search
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()  # resolved once, before any fork: the child only calls it


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when the thread that started it ends (Linux);
    None elsewhere. Only for children started and waited for in the same thread (pytest)."""
    if _PRCTL is None:
        return None
    prctl = _PRCTL
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl: nobody would send the signal
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec
