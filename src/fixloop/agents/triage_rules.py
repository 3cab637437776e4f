"""The rules that put one failure into a category kind of the fixed taxonomy.

Order matters: the first rule that matches wins. Status codes and close codes decide first,
then exception types, then keywords of the decisive lines (never of the whole output, which
may mention anything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from fixloop.records import CategoryKind
from fixloop.tools.signatures import Decisive


class Codes(Protocol):
    """What the rules read of a signature (``records.Signature`` or ``signatures.Parts``)."""

    @property
    def exception_type(self) -> str: ...
    @property
    def http_status(self) -> int | None: ...
    @property
    def close_code(self) -> int | None: ...


TIMEOUT_TYPES = frozenset({"TimeoutError", "Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutExpired"})
ENVIRONMENT_TYPES = frozenset(
    {"ConnectionRefusedError", "ConnectError", "ConnectionError", "gaierror", "ModuleNotFoundError", "ImportError"}
)
TEST_DEFECT_TYPES = frozenset(
    {
        "NameError",
        "AttributeError",
        "TypeError",
        "SyntaxError",
        "IndentationError",
        "UnboundLocalError",
        "FixtureLookupError",
    }
)
PROTOCOL_TYPES = frozenset(
    {
        "InvalidURI",
        "InvalidUpgrade",
        "InvalidHeader",
        "InvalidHeaderValue",
        "InvalidMessage",
        "NegotiationError",
        "InvalidParameterValue",
        "DuplicateParameter",
        "ProtocolError",
        "PayloadTooBig",
        "JSONDecodeError",
        "ValidationError",
        "ConnectionClosedOK",
    }
)
AUTH_CLOSE_CODES = frozenset({1008, 3000, 3003, 4001, 4003, 4401, 4403})
PROTOCOL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1009, 1010})

_TIMEOUT_WORDS = re.compile(r"\b(?:timed? ?out|timeout >|deadline exceeded|hang(?:s|ing)?)\b")
_ENV_WORDS = re.compile(
    r"connection refused|errno 111|name or service not known|nodename nor servname|temporary failure in name"
    r"|service unavailable|docker (?:is )?(?:not |un)available|is not set|missing (?:env|environment)"
    r"|environment variable|no such host|cannot connect|could not connect|network is unreachable"
    r"|async def functions are not natively supported|fixture '\w+' not found",
)
# Whole words only: "decodeerror" is jwt's DecodeError, never the tail of UnicodeDecodeError.
_AUTH_WORDS = re.compile(
    r"\b(?:unauthori[sz]ed|forbidden|invalid (?:jwt|token|signature|credentials)|token (?:expired|rejected|invalid)"
    r"|expired ?signature|authentication failed|not authenticated|jwt|decodeerror)\b"
    # the auth domain's own exceptions, named in "DID NOT RAISE <class ...InvalidIssuerError>" or a traceback:
    # PyJWT's Invalid*Error / ExpiredSignatureError, itsdangerous' BadSignature / SignatureExpired, ...
    r"|\b\w*(?:signature|issuer|audience|token|credential)\w*(?:error|expired|exception)\b"
    r"|\bbad\w*signature\b|\bsignatureexpired\b",
)
# Parts of a package path or function name that say the code is the auth domain's
# (jwt/api_jwt.py:_validate_claims, auth/tokens.py:verify_token, signer.py:unsign_token ...).
_AUTH_NAME_PARTS = frozenset(
    {
        "jwt",
        "jws",
        "jwe",
        "jwk",
        "jwks",
        "auth",
        "oauth",
        "oauth2",
        "authn",
        "authz",
        "authentication",
        "authorization",
        "token",
        "tokens",
        "signature",
        "signatures",
        "credential",
        "credentials",
        "password",
        "passwords",
        "login",
    }
)
_NAME_SPLIT = re.compile(r"[^a-z0-9]+")
# "with pytest.raises(BadTimeSignature)", "pytest.raises(jwt.InvalidTokenError, match=...)", "assertRaises(X"
_EXPECTS = re.compile(r"(?:pytest\.raises|assertRaises(?:Regex)?)\(\s*\(?\s*([\w.]+)")
_PROTOCOL_WORDS = re.compile(
    r"\bevent|subprotocol|schema|out of order|unexpected message|missing (?:field|key)|\bexpected\b.*\bgot\b"
    r"|payload|message type|\btype\b",
)
_ENV_NAME = re.compile(r"['\"]?[A-Z][A-Z0-9]*_[A-Z0-9_]+['\"]?")  # KeyError: 'STAGING_WEBSOCKET_URL'
_INFRA_SKIP = re.compile(
    r"docker|unavailable|not (?:set|configured|available|reachable|running)|requires?|missing|staging|service"
    r"|connect|environment|env var|credential|infrastructure",
)


def expected_exception(longrepr: str) -> str:
    """The exception the failing test expected (``pytest.raises(X)`` above its failing line), or "".

    Read from the test's own source lines in the report: those before the first ``>`` line.
    """
    head = longrepr.split("\n>", 1)[0] if "\n>" in longrepr else longrepr.split(">", 1)[0]
    found = _EXPECTS.findall(head)
    return found[-1] if found else ""


def names_auth_code(names: Iterable[str]) -> bool:
    """Some package path or function name among ``names`` is the auth domain's (``jwt/api_jwt.py``)."""
    return any(part in _AUTH_NAME_PARTS for name in names for part in _NAME_SPLIT.split(name.lower()))


def classify_failure(
    signature: Codes,
    decisive: Decisive,
    *,
    phase: str,
    raised_in_package: bool = False,
    expected: str = "",
    package_names: Iterable[str] = (),
    own_import: bool = False,
) -> tuple[CategoryKind, str]:
    """The category kind of one failed or errored test, and the rule that decided it.

    ``raised_in_package``: the innermost own frame is the package's code, not a test's (a ``TypeError``
    raised there is the package's behaviour, not a defect of the test). ``expected``: the exception the
    test expected instead (``pytest.raises(X)``): the test checks that domain. ``package_names``: the
    files and functions of the package's frames the exception went through. ``own_import``: an import
    error about the repository's own module (a circular import, a renamed name): a code fault.
    """
    status, code, exc = signature.http_status, signature.close_code, signature.exception_type
    text = decisive.text.lower()  # the keyword patterns below are lower-case, without IGNORECASE
    if exc in TIMEOUT_TYPES or (exc == "Failed" and _TIMEOUT_WORDS.search(decisive.message.lower())):
        return "timeout", f"{exc} raised" + (" in fixture setup" if phase == "setup" else "")
    if status in (401, 403) or code in AUTH_CLOSE_CODES:
        what = f"HTTP {status}" if status in (401, 403) else f"close code {code}"
        return "auth", f"{what}: authentication or authorization rejected"
    if code == 1011 or (status is not None and status >= 500 and status not in (502, 503, 504)):
        what = f"close code {code}" if code == 1011 else f"HTTP {status}"
        return "server-error", f"{what}: the server failed"
    if exc == "ConnectionClosedError" and code is None and "no close frame" in text:
        return "server-error", "the server dropped the connection without a close frame"
    if status in (502, 503, 504) or code in (1001, 1012, 1013, 1014):
        what = f"HTTP {status}" if status in (502, 503, 504) else f"close code {code}"
        return "environment", f"{what}: the service is unavailable"
    if status in (400, 404, 405, 426) or code in PROTOCOL_CLOSE_CODES:
        what = f"HTTP {status}" if status is not None else f"close code {code}"
        return "protocol", f"{what}: request or message rejected as malformed"
    if own_import:
        return "protocol", f"{exc or 'ImportError'} of the package's own module: its code no longer imports"
    if exc in ENVIRONMENT_TYPES or _ENV_WORDS.search(text):
        return "environment", f"{exc or 'error'}: the service or its environment is not there"
    if exc == "KeyError" and ("environ" in text or _ENV_NAME.fullmatch(decisive.message)):
        return "environment", "KeyError reading an environment variable"
    if _AUTH_WORDS.search(text):
        return "auth", f"{exc or 'failure'} mentions authentication"
    if expected and _AUTH_WORDS.search(expected.lower()):
        return "auth", f"{exc or 'failure'} where the test expected {expected}"
    if raised_in_package and exc not in PROTOCOL_TYPES and names_auth_code(package_names):
        return "auth", f"{exc or 'failure'} raised in the package's authentication code"
    if exc in PROTOCOL_TYPES:
        return "protocol", f"{exc}: the conversation broke the protocol"
    if _TIMEOUT_WORDS.search(text):
        return "timeout", "the test waited and gave up"
    if exc in TEST_DEFECT_TYPES and not raised_in_package:
        return "test-defect", f"{exc} in the test's own code"
    if exc in ("AssertionError", "KeyError", "IndexError", "ConnectionClosedError") or _PROTOCOL_WORDS.search(text):
        return "protocol", f"{exc or 'assertion'}: the messages differ from what the test expects"
    if phase == "setup":
        return "environment", f"{exc or 'error'} while setting the test up"
    return "protocol", f"{exc or 'failure'}: behaviour differs from the test's expectation"


# What went wrong, from the exception type (exact names first, then name parts).
_NATURES: dict[str, str] = {
    "AssertionError": "wrong value",
    "KeyError": "missing key",
    "IndexError": "index out of range",
    "AttributeError": "missing attribute",
    "TypeError": "wrong type",
    "ValueError": "invalid value",
    "ZeroDivisionError": "division by zero",
    "RecursionError": "endless recursion",
    "NotImplementedError": "missing implementation",
    "StopIteration": "exhausted iterator",
    "StopAsyncIteration": "exhausted iterator",
    "UnboundLocalError": "unset variable",
    "NameError": "unknown name",
    "ImportError": "missing module",
    "ModuleNotFoundError": "missing module",
    "Failed": "explicit failure",
}
_NATURE_PARTS: tuple[tuple[str, str], ...] = (
    ("Decode", "parse error"),
    ("Parse", "parse error"),
    ("Syntax", "parse error"),
    ("Encode", "encoding error"),
    ("Timeout", "hang"),
    ("Closed", "connection closed"),
    ("Connect", "connection failed"),
    ("Protocol", "protocol violation"),
    ("Invalid", "invalid value"),
    ("Permission", "permission denied"),
    ("NotFound", "missing resource"),
)


def failure_nature(kind: str, exception_type: str) -> str:
    """What a failure is, in words: "wrong value", "missing key", "parse error", "hang", ..."""
    if kind == "timeout":
        return "hang"
    name = exception_type.rsplit(".", 1)[-1]
    if name in _NATURES:
        return _NATURES[name]
    return next((nature for part, nature in _NATURE_PARTS if part in name), name or "failure")


def is_infrastructure_skip(reason: str) -> bool:
    """A skip that says the environment was missing (Docker, a service, an env var)."""
    return bool(_INFRA_SKIP.search(reason.lower()))


FINDING_KINDS: dict[str, CategoryKind] = {
    "fake-pass": "test-defect",
    "no-network": "test-defect",
    "swallowed-failure": "test-defect",
    "collection-error": "test-defect",
    "all-skipped": "environment",
    "setup-timeout": "timeout",
    "timeout": "timeout",
    "crash": "environment",  # the process died (SIGKILL by the OOM killer, os._exit, a segfault)
}


def finding_kind(kind: str, message: str, *, own_import: bool = False) -> CategoryKind:
    """The category kind of a realness finding.

    ``own_import``: the finding's import error is about the repository's own module (a circular
    import, a renamed name): a code fault, not a missing install.
    """
    if kind == "collection-error" and re.search(r"ModuleNotFoundError|No module named|ImportError", message):
        return "protocol" if own_import else "environment"
    if kind == "never-ran":  # the consequence of a hang, a crash or the run's limit: joins that category
        return "timeout" if "timeout" in message else "environment"
    return FINDING_KINDS.get(kind, "test-defect")
