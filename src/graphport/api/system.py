"""Health and server information."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST

from graphport.api.deps import Context
from graphport.api.parsing import StrictRoute
from graphport.api.responses import errors, json_response
from graphport.schemas.system import Info, Metrics, Ok
from graphport.services.system import check_database, server_info

# ``health``: /ok; ``router``: the meta routes (/, /info, /metrics) ``http.disable_meta``
# leaves out, and with them the checks of /ok (``bare_health``), as officially.
health = APIRouter(tags=["System"], route_class=StrictRoute)
bare_health = APIRouter(tags=["System"], route_class=StrictRoute)
router = APIRouter(tags=["System"], route_class=StrictRoute)


@router.get("/", include_in_schema=False)  # load balancers probe the root, as officially
@health.get(
    "/ok",
    response_model=Ok,
    responses=errors(422, 503, reasons={503: "check_db: the database cannot be reached."}),
)
async def ok(context: Context, check_db: Annotated[int, Query()] = 0) -> Response:
    if check_db:
        await check_database(context.db)
    return json_response({"ok": True})


@bare_health.get("/ok", response_model=Ok)
async def ok_unchecked() -> Response:
    """Always ``{"ok": true}``: the server is up (``check_db`` is not offered)."""
    return json_response({"ok": True})


@router.get("/info", response_model=Info)
async def info(context: Context) -> Response:
    return json_response(server_info(context.config))


@router.get(
    "/metrics",
    response_model=Metrics,
    responses={
        200: {
            "description": "Prometheus text (``?format=json``: JSON).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(422),
    },
)
async def metrics(
    context: Context,
    format: Annotated[
        str, Query(description="``json``: JSON; anything else: Prometheus text (as the official).")
    ] = "prometheus",
) -> Response:
    if format == "json":
        return json_response(await context.metrics.snapshot())
    return Response(await context.metrics.prometheus(), media_type=CONTENT_TYPE_LATEST)
