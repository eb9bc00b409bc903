"""The request boundary: one strict JSON reader for every body, and text parameters Postgres
can hold (README, "Values"). Every router uses ``StrictRoute`` as its ``route_class``.

Bodies are parsed with orjson, as by the official server: NaN, Infinity, numbers beyond the
float range and lone surrogate escapes are refused (422); integers beyond 64 bits become
floats; ``\\u0000`` becomes U+FFFD (JSONB and text columns refuse NUL); nesting deeper than
``MAX_BODY_DEPTH`` is refused. Path and query parameters get the same NUL replacement
(``%00``); their other odd bytes are already U+FFFD when decoded. The body fields no API
version defines, which the request models drop, are reported to the metrics here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import Scope

from graphport.context import AppContext
from graphport.schemas.unknown import UnknownField, collect_unknown_fields
from graphport.serialization import replace_nul_escapes

# Deep enough for any real document (JSON schemas, tool calls), shallow enough that what the
# server wraps around a value (runs, checkpoints, responses) stays under orjson's 254 levels.
MAX_BODY_DEPTH = 100

_BOM = b"\xef\xbb\xbf"
_NUL_ESCAPE = b"\\u0000"
_NUL_QUERY = b"%00"
_REPLACEMENT_QUERY = b"%EF%BF%BD"


class BodyRejected(json.JSONDecodeError):
    """A body that is not strict JSON; FastAPI answers it as a 422 ``json_invalid``."""


def parse_body(body: bytes) -> Any:
    """The JSON value of a request body, normalised. Raises ``BodyRejected``."""
    if body.startswith(_BOM):  # the standard library reader took it; keep taking it
        body = body[len(_BOM) :]
    if _NUL_ESCAPE in body:
        body = replace_nul_escapes(body)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyRejected(_reason(exc), "", exc.pos) from None
    # only a body with that many brackets can be that deep: most never measure it
    if body.count(b"[") + body.count(b"{") > MAX_BODY_DEPTH and deeper_than(value, MAX_BODY_DEPTH):
        raise BodyRejected(f"JSON nested deeper than {MAX_BODY_DEPTH} levels", "", 0)
    return value


def deeper_than(value: Any, limit: int, depth: int = 1) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays/objects (``value`` itself counts
    when it is one, at ``depth``). Recursion stops at ``limit``; a leaf or an empty array or
    object costs one type check, not a call."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return False
    if depth > limit:
        return True
    for child in value.values() if kind is dict else value:
        kind = type(child)
        if kind is dict or kind is list:
            if depth == limit:
                return True
            if child and deeper_than(child, limit, depth + 1):
                return True
    return False


def _reason(exc: orjson.JSONDecodeError) -> str:
    rest = exc.doc[exc.pos :] if isinstance(exc.doc, str) else ""
    signed = exc.doc[exc.pos - 1 :] if isinstance(exc.doc, str) and exc.pos else ""
    if rest.startswith(("NaN", "Infinity")) or signed.startswith("-Infinity"):
        return "Invalid JSON: NaN and Infinity are not JSON numbers"
    if "infinity when parsed" in exc.msg:
        return "Invalid JSON: a number beyond the range of a double (such as 1e400)"
    if "not valid UTF-8" in exc.msg:  # raw bytes, not an escape (orjson says "surrogates")
        return "Invalid JSON: the body is not valid UTF-8 text"
    if "surrogate" in exc.msg:
        return f"Invalid JSON: a lone surrogate escape is not Unicode text ({exc.msg})"
    return f"Invalid JSON: {exc.msg}"


def clean_text_params(scope: Scope) -> None:
    """Replace NUL in the query string and path parameters by U+FFFD, in place (cheap: two
    substring checks when there is none)."""
    query: bytes = scope.get("query_string", b"")
    if _NUL_QUERY in query:
        scope["query_string"] = query.replace(_NUL_QUERY, _REPLACEMENT_QUERY)
    params: dict[str, Any] = scope.get("path_params", {})
    if any(isinstance(v, str) and "\x00" in v for v in params.values()):
        scope["path_params"] = {
            k: v.replace("\x00", "\ufffd") if isinstance(v, str) else v for k, v in params.items()
        }


def read_as_json(scope: Scope) -> None:
    """Every body is JSON, whatever its declared type, as on the official server: ``curl
    -d '{}'`` sends a form content type, some clients send none."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    declared = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    kind = declared.split(b";")[0].strip().lower()
    if kind == b"application/json" or kind.endswith(b"+json"):
        return
    scope["headers"] = [*headers, (b"content-type", b"application/json")]


class StrictJsonRequest(Request):
    """A request whose ``json()`` is ``parse_body``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_body(await self.body())
        return self._json


class StrictRoute(APIRoute):
    """A route that reads its body with ``parse_body`` and cleans its text parameters."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            clean_text_params(request.scope)
            read_as_json(request.scope)
            with collect_unknown_fields() as unknown:
                try:
                    return await handler(StrictJsonRequest(request.scope, request.receive))
                except RequestValidationError as exc:
                    rejected = exc.__cause__
                    if not isinstance(rejected, BodyRejected):
                        raise
                    # FastAPI's own message is "JSON decode error": say what was wrong
                    error = {"type": "json_invalid", "loc": ("body", rejected.pos), "input": {}}
                    raise RequestValidationError([{**error, "msg": rejected.msg}]) from None
                finally:
                    if unknown:
                        report_unknown_fields(request, self.path, unknown)

        return strict_handler


def report_unknown_fields(request: Request, route: str, unknown: list[UnknownField]) -> None:
    """Hand the fields ``RequestModel`` dropped from this request's body to the counter
    (a log line the first time, ``/metrics``)."""
    context: AppContext = request.app.state.context
    context.metrics.unknown_fields.record(request.method, route, unknown)
