"""``ast.parse`` for code that may run in parallel threads (investigations share one process).

CPython 3.11 keeps the AST constructor's recursion-depth counter in per-interpreter state, so two
threads parsing at once can fail with ``SystemError: AST constructor recursion depth mismatch``
(python/cpython#106905, seen here in a parallel SSOT audit). Parsing is serialized by one lock; it is
short and CPU-bound, so the GIL serialized it anyway.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.Lock()


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, one thread at a time; raises ``SyntaxError``/``ValueError`` as it does."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename)
