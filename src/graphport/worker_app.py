"""``graphport worker``: the run engine without the API, and a health port.

The process runs what ``build_context`` builds under the ``worker`` role (run slots, the
cron scheduler, the sweepers) and answers two paths only:

- ``GET /ok``: ``{"ok": true}`` (``?check_db=1`` also checks the database: 503 when it
  cannot be reached), for health checks;
- ``GET /metrics``: the API's metrics (Prometheus text, ``?format=json``: JSON), with this
  process's run slots under ``workers``.

Every other path is a 404. Served by ``serving.DrainingServer`` as the API is, so SIGTERM
drains the runs the same way (no new claims, the grace period, then requeue).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from graphport.api import system
from graphport.api.parsing import StrictRoute
from graphport.api.request_id import RequestIdMiddleware
from graphport.app import build_context
from graphport.config import load_config
from graphport.errors import install_error_handlers
from graphport.execution.shutdown import DRAIN_STATE_KEY
from graphport.heap import settle_heap
from graphport.services.metrics import Timings
from graphport.settings import Settings
from graphport.tracing import Tracing, app_options

logger = logging.getLogger(__name__)


def create_worker_app(settings: Settings | None = None) -> FastAPI:
    """An app that builds the run engine when it starts (``settings.role`` should be
    ``worker``; the CLI sets it)."""
    resolved = settings or Settings()
    config = load_config(resolved.config_path)
    timings = Timings()
    tracing = Tracing.from_env()  # its runs' spans join the requests that created them

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            stack.callback(tracing.shutdown)  # last: flushes the spans of everything else
            context = await build_context(resolved, config, stack, timings, tracing)
            app.state.context = context
            settle_heap(stack)  # startup's objects leave the garbage collector's walks
            logger.info("graphport worker ready: graphs %s", ", ".join(context.registry.ids()))
            # in the lifespan state, the server's SIGTERM handler starts the drain at once
            yield {DRAIN_STATE_KEY: context.drain}

    app = FastAPI(
        **app_options(),
        title="graphport worker",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    routes = APIRouter(route_class=StrictRoute)
    routes.add_api_route("/ok", system.ok, methods=["GET"])
    routes.add_api_route("/metrics", system.metrics, methods=["GET"])
    app.include_router(routes)
    app.add_middleware(RequestIdMiddleware)
    return app
