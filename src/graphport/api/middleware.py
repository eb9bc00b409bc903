"""graphport's middleware around every request: browser clients, body size, timings,
unexpected errors."""

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


class BodyTooLarge(HTTPException):
    """Raised while reading a chunked body past the limit; renders as 413 {"detail": ...}."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {max_bytes} bytes")


class RequestGuard:
    """graphport's one middleware around every HTTP request (inside CORS, outside
    authentication), one layer instead of four stacked:

    - **Studio's bodies:** Studio posts JSON as ``text/plain``; it is read as JSON.
    - **Body size:** a body over ``max_bytes`` gets 413 {"detail": ...}: at once when the
      declared Content-Length is over the limit (the body is not read), else as soon as the
      bytes of a chunked body pass it (before authentication, which may read the body).
    - **Timing:** ``observe(method, route template, status, seconds to the response
      start)`` for every response, 413s and 500s included.
    - **Unexpected errors:** ``500 {"detail": "Internal Server Error"}`` (the traceback
      goes to the log), and the connection stays usable for the client's next request. A
      database pool that stayed exhausted past its timeout is overload, not a fault: 503
      with ``Retry-After`` and a warning. After the response started, the error can only
      end that response: uvicorn then closes its connection, nothing else is affected.
      Inside CORS: the 500 carries the CORS headers."""

    def __init__(
        self, app: ASGIApp, *, observe: Callable[[str, str, int, float], None], max_bytes: int
    ) -> None:
        self.app = app
        self._observe = observe
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = _json_for_text(scope)
        began = time.perf_counter()
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                route = getattr(scope.get("route"), "path", "unmatched")
                self._observe(
                    scope["method"], route, message["status"], time.perf_counter() - began
                )
            await send(message)

        declared, chunked = _framing(scope)
        if declared is not None and declared > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, guarded_send)
            return
        if chunked:  # else no body, or one the HTTP parser frames by its Content-Length
            receive = self._counted(receive)
        try:
            await self.app(scope, receive, guarded_send)
        except BodyTooLarge:
            if started:
                logger.warning("request body too large on %s %s", scope["method"], scope["path"])
                return
            await _too_large(self.max_bytes)(scope, receive, guarded_send)
        except Exception as exc:
            response = _unexpected(exc, scope, started)
            if not started:
                await response(scope, receive, guarded_send)

    def _counted(self, receive: Receive) -> Receive:
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return counted_receive


def _json_for_text(scope: Scope) -> Scope:
    """Studio posts JSON bodies as ``text/plain``: the scope, its content type JSON."""
    if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
        return scope
    headers = scope["headers"]
    for i, (name, value) in enumerate(headers):
        if name == b"content-type" and value.startswith(b"text/plain"):
            return {**scope, "headers": [*headers[:i], (name, _JSON), *headers[i + 1 :]]}
    return scope


def _unexpected(exc: Exception, scope: Scope, started: bool) -> JSONResponse:
    """The answer to an error no handler took, logged (a warning for overload)."""
    where = "while streaming the response to" if started else "on"
    if pool_exhausted(exc):  # overload, not a fault: 503, the client retries
        logger.warning("database pool exhausted %s %s %s", where, scope["method"], scope["path"])
        return JSONResponse(
            {"detail": _POOL_EXHAUSTED}, status_code=503, headers={"Retry-After": "1"}
        )
    logger.exception("unhandled error %s %s %s", where, scope["method"], scope["path"])
    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


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
