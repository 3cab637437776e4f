"""A test environment that lacks a package or a pytest plugin: what to install, never a code fix.

Real suites run in their own environment (their venv, their plugins: pytest-asyncio, anyio, trio...).
When that environment lacks a module, the tests fail at collection (``ModuleNotFoundError``), an
``async def`` test is not run ("async def functions are not natively supported"), or a plugin's fixture
is not found. The fix is an install in the environment, not a change to the code. A module that the
repository itself provides (``pkg/``, ``pkg.py``, ``src/pkg/``) is the code's own fault, and stays fixable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from fixloop.records import Category, EvidenceBundle

_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
# "cannot import name 'x' from 'pkg.mod'" and its circular form "... from partially initialized module 'pkg.mod'"
_CANNOT_IMPORT = re.compile(r"cannot import name '\w+' from (?:partially initialized module )?'([\w.]+)'")
_ASYNC_UNSUPPORTED = re.compile(r"async def functions are not natively supported")
_FIXTURE_NOT_FOUND = re.compile(r"fixture '(\w+)' not found")
# import name -> the distribution that provides it, where they differ
DISTRIBUTIONS = {
    "yaml": "PyYAML",
    "jwt": "PyJWT",
    "dateutil": "python-dateutil",
    "PIL": "Pillow",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "dotenv": "python-dotenv",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_mock": "pytest-mock",
    "pytest_httpx": "pytest-httpx",
    "pytest_aiohttp": "pytest-aiohttp",
    "pytest_timeout": "pytest-timeout",
    "xdist": "pytest-xdist",
    "trio": "trio",
    "anyio": "anyio",
}
# fixtures that a pytest plugin provides -> the plugin
PLUGIN_FIXTURES = {
    "mocker": "pytest-mock",
    "httpx_mock": "pytest-httpx",
    "aiohttp_client": "pytest-aiohttp",
    "aiohttp_server": "pytest-aiohttp",
    "benchmark": "pytest-benchmark",
    "event_loop": "pytest-asyncio",
    "anyio_backend": "anyio",
    "nursery": "pytest-trio",
    "freezer": "pytest-freezer",
    "httpserver": "pytest-httpserver",
    "respx_mock": "respx",
}


def missing_dependency_reason(
    category: Category, bundle: EvidenceBundle | None = None, *, repo: Path | None, interpreter: str = ""
) -> str:
    """Why ``category`` is a missing install in the test environment ("" when it is not).

    Read from its signature, its findings and the test output in its evidence.
    """
    texts = [category.signature.message, *(f"{f.message}\n{f.evidence}" for f in category.findings)]
    texts += [item.text for item in (bundle.items if bundle else []) if item.kind in ("test-output", "finding")]
    where = f" into the tests' interpreter ({interpreter})" if interpreter else " into the tests' environment"
    modules = [m for m in _missing_modules(texts) if not _provided_by_repo(m, repo)]
    if modules:
        installs = ", ".join(DISTRIBUTIONS.get(m.split(".")[0], m.split(".")[0]) for m in modules)
        names = ", ".join(f"'{m}'" for m in modules)
        return (
            f"environment: the tests cannot import {names}; install {installs}{where} (a missing install, no code fix)"
        )
    fixtures = [f for f in _unknown_fixtures(texts) if f in PLUGIN_FIXTURES]
    if fixtures:
        plugins = ", ".join(dict.fromkeys(PLUGIN_FIXTURES[f] for f in fixtures))
        return f"environment: fixture {', '.join(fixtures)} comes from a pytest plugin; install {plugins}{where}"
    if any(_ASYNC_UNSUPPORTED.search(t) for t in texts):
        return (
            "environment: async tests were not run: no async pytest plugin is installed; install the one the "
            f"project uses (pytest-asyncio, anyio or pytest-trio: see its test requirements){where}"
        )
    return ""


def _missing_modules(texts: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        for match in _NO_MODULE.finditer(text):
            found.setdefault(match.group(1), None)
    return list(found)


def _unknown_fixtures(texts: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        for match in _FIXTURE_NOT_FOUND.finditer(text):
            found.setdefault(match.group(1), None)
    return list(found)


def _provided_by_repo(module: str, repo: Path | None) -> bool:
    """The module's top-level package is the repository's own (a renamed module is a code fault)."""
    if repo is None:
        return False
    top = module.split(".")[0]
    return any((base / top).is_dir() or (base / f"{top}.py").is_file() for base in (repo, repo / "src", repo / "tests"))


def imports_own_module(text: str, repo: Path | None) -> bool:
    """An import error about the repository's own code: a code fault, not a missing install.

    "cannot import name 'x' from 'pkg.mod'" (a renamed name, a circular import: "partially initialized
    module") and "No module named 'pkg.sub'" (a renamed submodule) where ``pkg`` is the repository's.
    A missing third-party module, or the repository's top package itself not importable (a path
    problem), stays an environment issue.
    """
    if any(_provided_by_repo(m, repo) for m in _CANNOT_IMPORT.findall(text)):
        return True
    return any("." in m and _provided_by_repo(m, repo) for m in _NO_MODULE.findall(text))
