"""Downloads and venvs of the real projects, cached under ``$FIXLOOP_HOME/real/`` (a second run needs no network).

``<cache>/sdists/``  the sdists as downloaded by ``pip download --no-binary :all: --no-deps``;
``<cache>/src/<package>-<version>/``  each unpacked once;
``<cache>/venvs/<package>-<version>/``  a venv with the project's deps (not the project itself: its
tests import the case's tree through ``PYTHONPATH``), marked ready only when every install succeeded.
A lock file per project keeps parallel workers from building the same one twice.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fixloop.errors import FixloopError
from fixloop.evaluation.real.recipes import RealProject
from fixloop.paths import fixloop_home

READY = ".fixloop-ready"
PIP_TIMEOUT = 900


def cache_root() -> Path:
    root = fixloop_home() / "real"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def project_lock(cache: Path, project: RealProject) -> Iterator[None]:
    locks = cache / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{project.key}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def source_tree(cache: Path, project: RealProject) -> Path:
    """The unpacked sdist of ``project`` (downloaded on first use)."""
    tree = cache / "src" / project.key
    if (tree / READY).exists():
        return tree
    archive = _sdist(cache, project)
    staging = cache / "src" / f".{project.key}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    tops = [p for p in staging.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise FixloopError(f"{archive.name}: expected one top-level folder, found {len(tops)}")
    shutil.rmtree(tree, ignore_errors=True)
    tops[0].rename(tree)
    shutil.rmtree(staging, ignore_errors=True)
    (tree / READY).write_text(archive.name, encoding="utf-8")
    return tree


def _sdist(cache: Path, project: RealProject) -> Path:
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    found = _find_sdist(folder, project)
    if found:
        return found
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", str(folder)]
    _run([*command, f"{project.package}=={project.version}"], f"download of {project.package} {project.version}")
    found = _find_sdist(folder, project)
    if not found:
        raise FixloopError(f"pip downloaded no sdist of {project.package} {project.version} into {folder}")
    return found


def _find_sdist(folder: Path, project: RealProject) -> Path | None:
    wanted = {
        f"{project.package}-{project.version}".lower(),
        f"{project.package}-{project.version}".lower().replace("-", "_", 1),
    }
    for path in folder.glob("*.tar.gz"):
        if path.name.removesuffix(".tar.gz").lower() in wanted:
            return path
    return None


# What fixloop itself runs in the project's venv: coverage.py for the localizer's coverage spectra.
MEASUREMENT_DEPS = ["coverage"]


def project_python(cache: Path, project: RealProject) -> Path:
    """The python of the project's own venv, with its deps installed (made on first use)."""
    venv = cache / "venvs" / project.key
    python = venv / "bin" / "python"
    ready = venv / READY
    wanted = [*project.deps, *MEASUREMENT_DEPS]
    if ready.exists() and json.loads(ready.read_text(encoding="utf-8")) == wanted and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], f"venv for {project.key}")
    _run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wanted],
        f"deps of {project.key}",
    )
    ready.write_text(json.dumps(wanted), encoding="utf-8")
    return python


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FixloopError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise FixloopError(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")
