"""Calling the user's ``@auth.authenticate`` function with the arguments it names."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from langgraph_sdk.auth.exceptions import HTTPException as AuthHTTPException
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import Message, Receive, Scope

from graphport.auth.handlers import HandlerFailed, rejection
from graphport.auth.users import InvalidUser, user_json
from graphport.errors import Unauthorized

logger = logging.getLogger(__name__)

Row = dict[str, Any]

KNOWN_PARAMETERS = frozenset(
    {
        "request",
        "scope",
        "body",
        "path",
        "method",
        "path_params",
        "query_params",
        "headers",
        "authorization",
    }
)


class Authenticator:
    """Wraps the function once: which arguments it wants is read from its signature."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"authenticate function {fn.__name__} must be async")
        self._fn = fn
        params = inspect.signature(fn).parameters
        unknown = sorted(set(params) - KNOWN_PARAMETERS)
        if unknown:
            raise TypeError(
                f"authenticate function {fn.__name__} asks for {', '.join(unknown)}; "
                f"it may ask for {', '.join(sorted(KNOWN_PARAMETERS))}"
            )
        self.wanted = frozenset(params)

    @property
    def wants_body(self) -> bool:
        return "body" in self.wanted or "request" in self.wanted

    async def __call__(self, scope: Scope, body: bytes | None) -> Row:
        """The user as JSON. Raises the function's HTTPException as ``AuthRejected``,
        ``Unauthorized`` when it returns nothing, ``HandlerFailed`` when it breaks."""
        arguments = {name: _argument(name, scope, body) for name in self.wanted}
        try:
            user = await self._fn(**arguments)
        except AuthHTTPException as exc:
            raise rejection(exc) from None
        except Exception:
            logger.exception("authenticate raised on %s %s", scope["method"], scope["path"])
            raise HandlerFailed() from None
        if user is None:
            raise Unauthorized("Unauthorized")
        try:
            return user_json(user)
        except InvalidUser as exc:
            logger.error("authenticate: %s", exc)
            raise HandlerFailed() from None


def _argument(name: str, scope: Scope, body: bytes | None) -> Any:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if name == "request":
        # its own copy of the body: reading it here must not consume the app's
        return Request(scope, _replay(body or b""))
    if name == "scope":
        return scope
    if name == "body":
        return _parsed_body(body)
    if name == "path":
        return scope["path"]
    if name == "method":
        return scope["method"]
    if name == "query_params":
        return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if name == "headers":
        return dict(headers)
    if name == "authorization":
        value = header(scope, b"authorization")
        return None if value is None else value.decode("latin-1")
    return _path_params(scope)


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a (lower-case) request header."""
    return next((v for k, v in scope["headers"] if k == name), None)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _parsed_body(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _path_params(scope: Scope) -> dict[str, str]:
    """Routing has not happened yet: match the app's routes to name the path's parts."""
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", []):
        match, child = route.matches(scope)
        if match is Match.FULL:
            return {k: str(v) for k, v in child.get("path_params", {}).items()}
    return {}
