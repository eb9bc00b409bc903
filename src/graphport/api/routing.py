"""The routes and CORS rules langgraph.json's ``http`` section asks for.

Route groups are the official server's: ``disable_assistants`` (``/assistants``),
``disable_threads`` (``/threads`` and a thread's state, history, copy, storage and
stream), ``disable_runs`` (``/runs``, ``/threads/{id}/runs``, crons included), and
``disable_store`` (``/store``); ``disable_meta`` leaves out ``/``, ``/info``,
``/metrics``, ``/docs``, ``/redoc`` and ``/openapi.json``, and keeps ``/ok`` without its
checks; ``disable_a2a`` leaves out ``/a2a`` and the agent cards, ``disable_mcp`` ``/mcp``.
A group left out answers 404 and is absent from ``/openapi.json``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from graphport.api import assistants, crons, runs, store, streams, system, threads
from graphport.http_config import CorsConfig, HttpConfig
from graphport.protocols.a2a import routes as a2a_routes
from graphport.protocols.mcp import routes as mcp_routes
from graphport.protocols.thread_events import routes as thread_event_routes

EXPOSED_HEADERS = [
    "Location",
    "Content-Location",
    "X-Pagination-Total",
    "X-Pagination-Next",
    "X-Request-ID",
]


def _routers(http: HttpConfig) -> list[tuple[APIRouter, bool]]:
    """Every router, in the order they match, with whether ``http`` leaves it out.

    The busiest first (after ``/ok``, one exact path that load balancers poll): a request
    is matched against each route in turn, twice (FastAPI finds the router, then the route
    in it), and a run created behind twenty routers spent longer being routed than being
    inserted. No two routes share a path and a method, so the order changes no answer
    (tests/unit/test_routing.py)."""
    return [
        (system.bare_health if http.disable_meta else system.health, False),
        (runs.router, http.disable_runs),
        (streams.router, http.disable_runs),
        (runs.stateless, http.disable_runs),
        (streams.stateless, http.disable_runs),
        (threads.router, http.disable_threads),
        (streams.threads, http.disable_threads),
        (assistants.router, http.disable_assistants),
        (store.router, http.disable_store),
        (system.router, http.disable_meta),
        (crons.router, http.disable_runs),
        (thread_event_routes.router, http.disable_runs),
        (a2a_routes.router, http.disable_a2a),
        (mcp_routes.router, http.disable_mcp),
    ]


def include_routes(app: FastAPI, http: HttpConfig) -> None:
    """The API routes ``http`` keeps (docs and OpenAPI are installed apart)."""
    for router, disabled in _routers(http):
        if not disabled:
            app.include_router(router)


def add_cors(app: FastAPI, cors: CorsConfig | None, *, private_network: bool) -> None:
    """CORS, outside everything but the custom app's middleware. Without ``http.cors``
    (or for each key it leaves out): any origin, method and header, the ``Location``,
    ``Content-Location`` and pagination headers exposed. An ``allow_origin_regex`` given
    alone allows only the origins it matches. ``private_network``: answer browsers' Private
    Network Access preflights (a public page such as Studio calling a server on the user's
    machine), as the official server does only when ``ALLOW_PRIVATE_NETWORK`` is set or
    under ``langgraph dev``: otherwise any public page could drive an intranet server."""
    cors = cors or CorsConfig()
    origins = cors.allow_origins
    if origins is None:
        origins = [] if cors.allow_origin_regex else ["*"]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_origin_regex=cors.allow_origin_regex,
        allow_methods=cors.allow_methods if cors.allow_methods is not None else ["*"],
        allow_headers=cors.allow_headers if cors.allow_headers is not None else ["*"],
        allow_credentials=cors.allow_credentials,
        expose_headers=cors.expose_headers if cors.expose_headers is not None else EXPOSED_HEADERS,
        max_age=cors.max_age,
        allow_private_network=private_network,
    )
