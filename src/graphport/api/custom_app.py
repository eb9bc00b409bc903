"""The user's own Starlette/FastAPI app (langgraph.json ``http.app``), served beside the API.

- Its routes answer every request none of graphport's routes takes: on a path both serve,
  graphport's route wins (the custom app cannot change the API the SDKs speak). A route
  group turned off with ``http.disable_*`` leaves its paths to the custom app.
- Its routes are not authenticated unless ``http.enable_custom_route_auth`` is true; then
  they see the caller as ``request.user`` / ``request.auth``, as on the official server
  (its WebSocket routes are then refused: graphport authenticates HTTP requests only).
- Its middleware runs on every request, graphport's routes included, as on the official
  server: outside authentication and CORS by default (``middleware_order:
  "middleware_first"``), just inside authentication with ``"auth_first"``.
- Its lifespan runs inside graphport's (the API is up before it starts); the state it
  yields is the requests' ``request.state``.
- A FastAPI app's operations join ``/openapi.json`` (graphport's win on a clash).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from graphport.config import LanggraphConfig
from graphport.errors import ConfigError
from graphport.graphs.registry import load_attribute, prepare_imports
from graphport.http_config import HttpConfig

Document = dict[str, Any]
MOUNT_NAME = "custom-app"
_PARAMETER = re.compile(r"\{[^}]*\}")


def _template(path: str) -> str:
    """``/threads/{thread_id}`` and ``/threads/{tid}`` are one route template."""
    return _PARAMETER.sub("{}", path)


def load_custom_app(config: LanggraphConfig) -> Starlette | None:
    """The app ``http.app`` names (after langgraph.json's ``env`` and ``dependencies`` are
    applied), or None; ConfigError when it cannot be imported or is not a Starlette app."""
    spec = config.http.app
    if spec is None:
        return None
    prepare_imports(config)
    app = load_attribute(config.base_dir, "http.app", spec)
    if not isinstance(app, Starlette):
        raise ConfigError(
            f"http.app: {spec} is a {type(app).__name__}, not a Starlette or FastAPI application"
        )
    return app


class CustomApp:
    """The custom app, taken apart to serve beside graphport (see the module docstring)."""

    def __init__(self, app: Starlette, http: HttpConfig) -> None:
        self.app = app
        self._authenticated = http.enable_custom_route_auth
        self._auth_first = http.middleware_order == "auth_first"
        # its middleware wraps graphport's whole app instead, or it would run twice on
        # the custom routes; its own stack keeps its exception handlers
        self._middleware: list[Middleware] = list(app.user_middleware)
        app.user_middleware = []
        self._ours: list[BaseRoute] = []

    def mount(self, host: FastAPI) -> None:
        """After graphport's routes: a catch-all, reached when none of them matches."""
        self._ours = list(host.router.routes)
        host.router.routes.append(Mount("", app=self.app, name=MOUNT_NAME))

    def serves(self, scope: Scope) -> bool:
        """Whether the custom app answers this request: no route of graphport's matches it
        fully (Starlette's router takes the first full match; the mount comes last)."""
        return not any(route.matches(scope)[0] is Match.FULL for route in self._ours)

    def public(self, default: Callable[[Scope], bool]) -> Callable[[Scope], bool]:
        """The authentication middleware's test for a request that needs no credentials:
        the custom app's unless ``enable_custom_route_auth``, else graphport's public ones."""

        def public(scope: Scope) -> bool:
            if self.serves(scope):
                return not self._authenticated
            return default(scope)

        return public

    def add_inner_middleware(self, host: FastAPI) -> None:
        """``auth_first``: its middleware, added just before the authentication middleware
        (so it runs just inside it)."""
        if self._auth_first:
            self._add(host)

    def add_outer_middleware(self, host: FastAPI) -> None:
        """``middleware_first`` (the default): its middleware, outermost."""
        if not self._auth_first:
            self._add(host)

    def _add(self, host: FastAPI) -> None:
        for middleware in reversed(self._middleware):  # its first stays the outermost
            host.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[dict[str, Any]]:
        """The custom app's lifespan (its ``lifespan=``, or startup/shutdown handlers)."""
        async with self.app.router.lifespan_context(self.app) as state:
            yield dict(state or {})

    def add_operations(self, document: Document, auth_errors: Callable[[Document], None]) -> None:
        """A FastAPI app's paths and component schemas, where graphport has none of the
        same name; ``auth_errors`` marks them when its routes are authenticated."""
        if not isinstance(self.app, FastAPI):
            return  # a plain Starlette app declares no operations
        theirs = self.app.openapi()
        ours = document.setdefault("paths", {})
        templates = {_template(path) for path in ours}
        added: Document = {}
        for path, item in theirs.get("paths", {}).items():
            if path in ours:  # the methods graphport does not serve there
                added[path] = {m: op for m, op in item.items() if m not in ours[path]}
            elif _template(path) not in templates:  # else graphport's route takes it
                added[path] = item
        if self._authenticated:
            auth_errors({"paths": added})
        for path, item in added.items():
            ours.setdefault(path, {}).update(item)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in theirs.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
