"""Crons routes: parse, call the service once, respond."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from graphport.api.deps import Crons, CurrentActor
from graphport.api.parsing import StrictRoute
from graphport.api.responses import (
    BODY,
    CRON_WRITE_ERRORS,
    PAGINATED,
    errors,
    json_response,
    pagination_headers,
)
from graphport.schemas.crons import (
    Cron,
    CronCountRequest,
    CronCreate,
    CronPatch,
    CronSearch,
    CronSelection,
    ThreadCronCreate,
)
from graphport.services.assistants import select_fields
from graphport.services.crons import CRON_FIELDS

router = APIRouter(tags=["Crons"], route_class=StrictRoute)


@router.post("/runs/crons", response_model=Cron, responses=CRON_WRITE_ERRORS)
async def create_cron(body: CronCreate, crons: Crons, actor: CurrentActor) -> Response:
    return json_response(select_fields(await crons.create(None, body, actor=actor), CRON_FIELDS))


@router.post("/threads/{thread_id}/runs/crons", response_model=Cron, responses=CRON_WRITE_ERRORS)
async def create_thread_cron(
    thread_id: UUID, body: ThreadCronCreate, crons: Crons, actor: CurrentActor
) -> Response:
    return json_response(
        select_fields(await crons.create(thread_id, body, actor=actor), CRON_FIELDS)
    )


@router.post(
    "/runs/crons/search",
    response_model=list[CronSelection],
    responses={**PAGINATED, **errors(*BODY)},
)
async def search_crons(
    crons: Crons, actor: CurrentActor, body: CronSearch | None = None
) -> Response:
    page = await crons.search(body or CronSearch(), actor=actor)
    return json_response(page.items, headers=pagination_headers(page.total, page.next_offset))


@router.post("/runs/crons/count", response_model=int, responses=errors(*BODY))
async def count_crons(
    crons: Crons, actor: CurrentActor, body: CronCountRequest | None = None
) -> Response:
    return json_response(await crons.count(body or CronCountRequest(), actor=actor))


@router.get("/runs/crons/{cron_id}", response_model=Cron, responses=errors(404, 422))
async def get_cron(cron_id: UUID, crons: Crons, actor: CurrentActor) -> Response:
    return json_response(select_fields(await crons.get(cron_id, actor=actor), CRON_FIELDS))


@router.patch("/runs/crons/{cron_id}", response_model=Cron, responses=CRON_WRITE_ERRORS)
async def patch_cron(cron_id: UUID, body: CronPatch, crons: Crons, actor: CurrentActor) -> Response:
    return json_response(select_fields(await crons.update(cron_id, body, actor=actor), CRON_FIELDS))


@router.delete("/runs/crons/{cron_id}", status_code=204, responses=errors(404, 422))
async def delete_cron(cron_id: UUID, crons: Crons, actor: CurrentActor) -> Response:
    await crons.delete(cron_id, actor=actor)
    return Response(status_code=204)
