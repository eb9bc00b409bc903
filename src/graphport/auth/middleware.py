"""Authenticate every request (except the public ones) before routing; fail closed."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from starlette.authentication import AuthCredentials
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphport.auth.actor import Actor
from graphport.auth.authenticate import header
from graphport.auth.loader import AuthSetup
from graphport.auth.users import studio_user, user_json
from graphport.errors import GraphportError

logger = logging.getLogger(__name__)

ACTOR_KEY = "graphport.actor"
PUBLIC_PATHS = frozenset(
    {"/", "/ok", "/info", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/metrics"}
)
PUBLIC_PREFIXES = ("/docs/static/",)  # the docs pages' scripts, styles and icon
_STUDIO_SCHEME = b"langsmith"


def is_public(scope: Scope) -> bool:
    """The requests anyone may make: health, server info, metrics and the API docs."""
    path: str = scope["path"]
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthenticationMiddleware:
    """Puts an ``Actor`` in the scope (and its user as ``request.user``, its permissions as
    ``request.auth``, for custom routes); answers 401/403/500 itself when authentication
    fails. ``public``: whether a request needs no credentials (default ``is_public``)."""

    def __init__(self, app: ASGIApp, public: Callable[[Scope], bool] = is_public) -> None:
        self.app = app
        self._public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        # built in the lifespan, after this middleware: read it per request
        setup: AuthSetup | None = scope["app"].state.context.auth
        if setup is None or self._public(scope):
            await self.app(scope, receive, send)
            return
        try:
            actor, receive = await _actor(setup, scope, receive)
        except GraphportError as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
            await response(scope, receive, send)
            return
        scope[ACTOR_KEY] = actor
        scope["user"], scope["auth"] = actor.user, AuthCredentials(actor.permissions)
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The thread event WebSocket authenticates its handshake as a GET (headers, no
        body); a refusal closes it before it opens (HTTP 403). A custom app's WebSockets
        that need credentials are refused (their handshake is not ours to read)."""
        setup: AuthSetup | None = scope["app"].state.context.auth
        if setup is None or self._public(scope):
            await self.app(scope, receive, send)
            return
        if not _THREAD_SOCKET.fullmatch(scope["path"]):
            logger.warning("refused a WebSocket to %s: it needs authentication", scope["path"])
            await send({"type": "websocket.close", "code": 1008})
            return
        try:
            actor = await _socket_actor(setup, scope)
        except GraphportError as exc:
            logger.info("refused a WebSocket to %s: %s", scope["path"], exc.detail)
            await send({"type": "websocket.close", "code": 4000 + exc.status_code})
            return
        scope[ACTOR_KEY] = actor
        scope["user"], scope["auth"] = actor.user, AuthCredentials(actor.permissions)
        await self.app(scope, receive, send)


_THREAD_SOCKET = re.compile(r"/threads/[^/]+/stream/events")


async def _actor(setup: AuthSetup, scope: Scope, receive: Receive) -> tuple[Actor, Receive]:
    authenticate = setup.authenticator
    body = None
    if authenticate is not None and authenticate.wants_body and not _studio(setup, scope):
        body, receive = await _buffer_body(receive)
    return await _signed_in(setup, scope, body), receive


async def _socket_actor(setup: AuthSetup, scope: Scope) -> Actor:
    """The caller of a WebSocket handshake, authenticated as a GET without a body."""
    return await _signed_in(setup, {**scope, "type": "http", "method": "GET"}, None)


async def _signed_in(setup: AuthSetup, scope: Scope, body: bytes | None) -> Actor:
    authenticate = setup.authenticator
    if _studio(setup, scope):
        data = user_json(studio_user())
    elif authenticate is None:
        # handlers without an authenticate function: everyone is the same anonymous user
        data = user_json({"identity": "anonymous", "is_authenticated": False})
    else:
        data = await authenticate(scope, body)
    return Actor.signed_in(data, setup.authorizer)


def _studio(setup: AuthSetup, scope: Scope) -> bool:
    return setup.studio and header(scope, b"x-auth-scheme") == _STUDIO_SCHEME


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the body for the authenticator, then hand it on; later messages (disconnects)
    still come from the client."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
