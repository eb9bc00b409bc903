"""Small ASGI middleware: browser clients, timings, unexpected errors, body size."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphport.db.engine import pool_exhausted

logger = logging.getLogger(__name__)

_POOL_EXHAUSTED = "The server is busy: no database connection came free in time; try again"

_JSON = b"application/json"


class PlainTextJsonMiddleware:
    """Studio posts JSON bodies as ``text/plain``; treat them as JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            headers = scope["headers"]
            for i, (name, value) in enumerate(headers):
                if name == b"content-type" and value.startswith(b"text/plain"):
                    scope = dict(scope)
                    scope["headers"] = [*headers[:i], (name, _JSON), *headers[i + 1 :]]
                    break
        await self.app(scope, receive, send)


class RequestTimingMiddleware:
    """Records each request's latency (to the response start) by route template."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, str, int, float], None]) -> None:
        self.app = app
        self._observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorded = False

        async def timed_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                route = getattr(scope.get("route"), "path", "unmatched")
                self._observe(
                    scope["method"], route, message["status"], time.perf_counter() - started
                )
            await send(message)

        await self.app(scope, receive, timed_send)


class ServerErrorGuard:
    """Answers an unexpected error with ``500 {"detail": "Internal Server Error"}`` (the
    traceback goes to the log) and returns normally, so the connection stays usable for the
    client's next request. A database pool that stayed exhausted past its timeout is
    overload, not a fault: ``503`` with ``Retry-After`` and a warning. Sits inside CORS
    and the timing middleware: the 500 carries the CORS headers and is counted. After the
    response started, the error can only end that response: uvicorn then closes its
    connection, nothing else is affected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            where = "while streaming the response to" if started else "on"
            if pool_exhausted(exc):  # overload, not a fault: 503, the client retries
                logger.warning(
                    "database pool exhausted %s %s %s", where, scope["method"], scope["path"]
                )
                response = JSONResponse(
                    {"detail": _POOL_EXHAUSTED},
                    status_code=503,
                    headers={"Retry-After": "1"},
                )
            else:
                logger.exception("unhandled error %s %s %s", where, scope["method"], scope["path"])
                response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
            if not started:
                await response(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised while reading a chunked body past the limit; renders as 413 {"detail": ...}."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 {"detail": ...}: at once when the
    declared Content-Length is over the limit (the body is not read), else as soon as the
    bytes of a chunked body pass it. Sits outside authentication, which may read the body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if declared is not None and declared > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        if not chunked:
            # no body, or one the HTTP parser frames by its Content-Length: nothing to count
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(max_bytes: int) -> JSONResponse:
    return JSONResponse({"detail": BodyTooLarge(max_bytes).detail}, status_code=413)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length, whether the body is chunked)."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            # uvicorn refuses a malformed one before the app runs
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked
