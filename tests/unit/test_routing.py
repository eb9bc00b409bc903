"""Routers are matched busiest first (api/routing.py). The order may change only speed:
every route must still be the one a request to its own path and method reaches, whatever
its routers' order."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from graphport.app import create_app
from graphport.settings import Settings

EXAMPLE_CONFIG = Path(__file__).parents[2] / "langgraph.json"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def _reached(app: FastAPI, method: str, path: str) -> BaseRoute | None:
    """The route Starlette's router hands a request to: the first that matches in full."""
    scope: dict[str, Any] = {
        "type": "http",
        "path": path,
        "root_path": "",
        "method": method,
        "headers": [],
        "query_string": b"",
        "app": app,
    }
    for top in app.router.routes:
        match, _ = top.matches(scope)
        if match != Match.FULL:
            continue
        inner = getattr(top, "original_router", None)
        if inner is None:
            return top
        for route in inner.routes:
            if route.matches(scope)[0] == Match.FULL:
                return route
    return None


def _api_routes(app: FastAPI) -> list[APIRoute]:
    found: list[APIRoute] = []
    for top in app.router.routes:
        inner = getattr(top, "original_router", None)
        for route in inner.routes if inner is not None else [top]:
            if isinstance(route, APIRoute):
                found.append(route)
    return found


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(GRAPHPORT_CONFIG=EXAMPLE_CONFIG))


def test_every_route_is_reached_by_its_own_path(app: FastAPI) -> None:
    routes = _api_routes(app)
    assert len(routes) > 60
    for route in routes:
        for method in sorted(route.methods):
            reached = _reached(app, method, _concrete(route.path))
            assert reached is route, (method, route.path, getattr(reached, "path", None))


def test_runs_are_routed_first(app: FastAPI) -> None:
    thread = uuid.uuid4()
    routes = _api_routes(app)
    for method, path in (
        ("POST", f"/threads/{thread}/runs/wait"),
        ("POST", f"/threads/{thread}/runs/stream"),
        ("POST", "/runs/wait"),
    ):
        reached = _reached(app, method, path)
        assert reached is not None
        assert routes.index(reached) < 25, path  # type: ignore[arg-type]
