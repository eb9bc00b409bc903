"""Small ASGI middleware for browser clients."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
