"""Domain errors raised by services, and the one place that maps them to HTTP."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class GraphportError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status."""

    status_code = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(GraphportError):
    status_code = 400


class Unauthorized(GraphportError):
    status_code = 401


class Forbidden(GraphportError):
    status_code = 403


class NotFound(GraphportError):
    status_code = 404


class Conflict(GraphportError):
    status_code = 409


class InvalidInput(GraphportError):
    status_code = 422


class UnknownInterrupt(InvalidInput):
    """A ``strict_resume`` answer to an interrupt that is not waiting (any more)."""


class Unavailable(GraphportError):
    """A dependency (the database) cannot be reached: the server cannot serve, for now."""

    status_code = 503


class ShuttingDown(GraphportError):
    """The server stopped before the awaited run ended; the run waits for the next one."""

    status_code = 503


class AuthRejected(GraphportError):
    """An auth handler raised ``Auth.exceptions.HTTPException``: its status, detail, headers."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None) -> None:
        super().__init__(detail, headers=headers)
        self.status_code = status_code


class ConfigError(Exception):
    """langgraph.json or a graph it names cannot be loaded; stops startup."""


MAX_LISTED_ISSUES = 5
"""How many validation problems ``detail`` spells out; ``errors`` lists them all."""


MAX_DETAIL_CHARS = 2000
"""Longest ``detail`` (and validation ``msg``) sent: a message quotes the refused value,
and a client sending a megabyte of it must not get the megabyte back in every answer."""


def clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text``, or its first ``limit`` characters and how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": clip(detail)}, status_code=status, headers=headers)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphportError)
    return _error(exc.status_code, exc.detail, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 ``{"detail": "<field>: <why>; ...", "errors": [{loc, msg, type}, ...]}``: a
    message as every other error (the official server's 422s carry only that string; UIs
    and the SDKs show ``detail`` as text), and the problems one by one for programs."""
    assert isinstance(exc, RequestValidationError)
    issues = [
        {
            "loc": [clip(p, 200) if isinstance(p, str) else p for p in e.get("loc", ())],
            "msg": clip(str(e.get("msg", ""))),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    detail = clip(describe_issues(issues))
    # a list of 10,000 bad items is 10,000 issues: the first hundred tell what is wrong
    return JSONResponse({"detail": detail, "errors": issues[:100]}, status_code=422)


def describe_issues(issues: list[dict[str, Any]]) -> str:
    """The problems as one line, each as ``where: why`` (``body.limit: Input should be less
    than or equal to 1000``), joined by ``"; "``; past ``MAX_LISTED_ISSUES``, a count. A
    value that fits none of a field's accepted types gets one entry, its reasons joined
    by ``", or "``."""
    reasons: dict[str, list[str]] = {}
    for issue in issues:
        where, why = _describe(issue)
        listed = reasons.setdefault(where, [])
        if why not in listed:
            listed.append(why)
    described = [
        (f"{where}: " if where else "") + ", or ".join(_lower_after_first(whys))
        for where, whys in reasons.items()
    ]
    if not described:
        return "Invalid request"
    text = "; ".join(described[:MAX_LISTED_ISSUES])
    if (more := len(described) - MAX_LISTED_ISSUES) > 0:
        text += f"; and {more} more problem{'s' if more > 1 else ''}"
    return text


def _describe(issue: dict[str, Any]) -> tuple[str, str]:
    msg = str(issue["msg"]).removeprefix("Value error, ")
    loc = issue["loc"]
    if issue["type"] == "json_invalid":  # its loc holds the character the parser stopped at
        position = next((p for p in loc if isinstance(p, int)), None)
        return "", msg if position is None else f"{msg} (at character {position} of the body)"
    return _where(loc), msg


# How pydantic names the member of a union a value was tried against, in an error's loc:
# "str", "list[str]", "literal['*']", "function-after[...]", a model's class name.
_UNION_MEMBER = re.compile(r"[a-z][a-z-]*\[.*\]|str|int|float|bool|none|[A-Z][A-Za-z0-9]*")


def _where(loc: list[Any]) -> str:
    """``["body", "updates", 0, "as_node"]`` as ``body.updates[0].as_node`` (union
    members left out: the field is the place)."""
    where = ""
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        elif not _UNION_MEMBER.fullmatch(str(part)):
            where += f".{part}" if where else str(part)
    return where


def _lower_after_first(reasons: list[str]) -> list[str]:
    """``["Input should be '*'", "Input should be a valid list"]`` reads as one sentence."""
    return reasons[:1] + [r[:1].lower() + r[1:] if r[1:2].islower() else r for r in reasons[1:]]


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)  # always text
    return _error(exc.status_code, detail, getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    """Domain, validation and HTTP errors; unexpected ones are ``RequestGuard``'s
    (api/middleware.py), not an ``Exception`` handler: Starlette runs that one outermost,
    outside CORS, and re-raises after answering, which makes uvicorn drop the connection."""
    app.add_exception_handler(GraphportError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
