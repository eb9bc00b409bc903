"""``@auth.on`` dispatch: the most specific handler for (resource, action) decides."""

from __future__ import annotations

import logging
from typing import Any

from langgraph_sdk import Auth
from langgraph_sdk.auth.exceptions import HTTPException as AuthHTTPException
from langgraph_sdk.auth.types import AuthContext

from graphport.auth.filters import AuthFilter, InvalidFilter, parse_filter
from graphport.errors import AuthRejected, Forbidden, GraphportError

logger = logging.getLogger(__name__)

Handler = Any


class HandlerFailed(GraphportError):
    """A handler raised or returned nonsense: the request fails closed, details go to the log."""

    status_code = 500

    def __init__(self) -> None:
        super().__init__("Internal Server Error")


def rejection(exc: AuthHTTPException) -> AuthRejected:
    headers = {str(k): str(v) for k, v in (exc.headers or {}).items()} or None
    return AuthRejected(exc.status_code, str(exc.detail), headers)


class Authorizer:
    """Looks handlers up once per (resource, action) and turns their answer into a filter."""

    def __init__(self, auth: Auth) -> None:
        self._auth = auth
        self._cache: dict[tuple[str, str], Handler | None] = {}

    def handler(self, resource: str, action: str) -> Handler | None:
        key = (resource, action)
        if key not in self._cache:
            registered = self._auth._handlers
            found = None
            for candidate in (key, (resource, "*"), ("*", action), ("*", "*")):
                if candidate in registered:
                    found = registered[candidate][-1]
                    break
            if found is None and self._auth._global_handlers:
                found = self._auth._global_handlers[-1]
            self._cache[key] = found
        return self._cache[key]

    async def authorize(self, ctx: AuthContext, value: dict[str, Any]) -> AuthFilter | None:
        """None: allowed without a filter. Raises Forbidden (False), the handler's own
        HTTPException, or HandlerFailed."""
        handler = self.handler(ctx.resource, ctx.action)
        if handler is None:
            return None
        try:
            result = await handler(ctx=ctx, value=value)
        except AuthHTTPException as exc:
            raise rejection(exc) from None
        except Exception:
            logger.exception("auth handler for %s.%s raised", ctx.resource, ctx.action)
            raise HandlerFailed() from None
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        if isinstance(result, dict):
            try:
                return parse_filter(result) or None
            except InvalidFilter as exc:
                logger.error("auth handler for %s.%s: %s", ctx.resource, ctx.action, exc)
                raise HandlerFailed() from None
        logger.error(
            "auth handler for %s.%s returned %s; expected None, a bool or a filter dict",
            ctx.resource,
            ctx.action,
            type(result).__name__,
        )
        raise HandlerFailed()
