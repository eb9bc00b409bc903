"""Small ASGI middleware for browser clients."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

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
