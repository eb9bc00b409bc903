"""The request id: taken from ``X-Request-ID`` (or made), logged with everything the request
does, and echoed in the response's ``X-Request-ID``."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphport.logs import log_context

HEADER = b"x-request-id"
# What a client may choose as its id: short, printable, no spaces (it goes into every log).
_ACCEPTED = re.compile(rb"[\x21-\x7e]{1,200}")
# The ids a path names: /threads/{thread_id}/..., /threads/{id}/runs/{run_id}, /runs/{run_id}
_UUID = r"([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})"
_THREAD = re.compile(rf"^/threads/{_UUID}(?:/|$)")
_RUN = re.compile(rf"/runs/{_UUID}(?:/|$)")


class RequestIdMiddleware:
    """Outermost: every log record of the request (access log and errors included) carries
    ``request_id``, and ``thread_id``/``run_id`` when the path names them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        echoed = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        path: str = scope.get("path", "")
        thread, run = _THREAD.match(path), _RUN.search(path)
        with log_context(
            request_id=request_id,
            thread_id=thread.group(1) if thread else None,
            run_id=run.group(1) if run else None,
        ):
            await self.app(scope, receive, send_with_id)


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _ACCEPTED.fullmatch(value) else None
    return None
