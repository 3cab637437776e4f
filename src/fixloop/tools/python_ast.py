"""``ast.parse`` that survives CPython 3.11's shared AST recursion counter (python/cpython#106905).

CPython 3.11 keeps the AST constructor's recursion-depth counter in per-interpreter state. Any other
``ast.parse`` that runs while one is converting its tree — in another thread (the stdlib's own
``traceback`` calls ``ast.parse`` to place its carets), or in a finalizer the garbage collector runs
mid-conversion — leaves the counter off and the first parse fails with
``SystemError: AST constructor recursion depth mismatch``. CI hit it in a parallel SSOT audit even with
all of fixloop's parses behind one lock, because those other parsers do not take our lock.

So: our own parses are serialized (a re-entrant lock: a finalizer may parse too), and the spurious
``SystemError`` is retried — the counter is reset at the start of every parse, and the source is
the same, so a retry gives the tree the first try would have given.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.RLock()
_DEPTH_RACE_MESSAGE = "recursion depth mismatch"
PARSE_ATTEMPTS = 5


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, retried on the 3.11 counter race; ``SyntaxError``/``ValueError`` as usual."""
    with _PARSE_LOCK:
        for attempt in range(1, PARSE_ATTEMPTS + 1):
            try:
                return ast.parse(source, filename=filename)
            except SystemError as error:
                if _DEPTH_RACE_MESSAGE not in str(error) or attempt == PARSE_ATTEMPTS:
                    raise
    raise AssertionError("unreachable: the loop returns or raises")
