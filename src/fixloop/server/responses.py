"""Small shared answers of the routes."""

from __future__ import annotations

from starlette.responses import JSONResponse


def disabled(route: str, missing: list[str]) -> JSONResponse:
    """The answer of a fail-closed route whose secrets are not configured."""
    return JSONResponse({"error": f"{route} is disabled: {', '.join(missing)} not set on the server"}, status_code=403)


def unauthorized(why: str) -> JSONResponse:
    return JSONResponse({"error": why}, status_code=401)
