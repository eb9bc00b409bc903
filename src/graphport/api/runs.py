"""Runs routes (thread runs and stateless runs): parse, call the service once, respond."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from graphport.api.deps import CurrentActor, RequestHeaders, Runs, departure_of
from graphport.api.parsing import StrictRoute
from graphport.api.responses import (
    BODY,
    CANCELLED,
    RUN_CREATE_ERRORS,
    RUN_CREATED,
    RUN_WAITED,
    STATELESS_RUN_ERRORS,
    errors,
    json_response,
)
from graphport.schemas.common import INT4_MAX
from graphport.schemas.runs import (
    Run,
    RunCreateStateful,
    RunCreateStateless,
    RunOutput,
    RunsCancel,
    RunSelectField,
    RunSelection,
    RunStatus,
)
from graphport.services.runs import run_json

router = APIRouter(tags=["Thread Runs"], route_class=StrictRoute)
stateless = APIRouter(prefix="/runs", tags=["Stateless Runs"], route_class=StrictRoute)

Action = Annotated[Literal["interrupt", "rollback"], Query()]


def _run_headers(thread_id: UUID, run_id: UUID) -> dict[str, str]:
    base = f"/threads/{thread_id}/runs/{run_id}"
    return {"Location": f"{base}/join", "Content-Location": base}


@router.get(
    "/threads/{thread_id}/runs", response_model=list[RunSelection], responses=errors(404, 422)
)
async def list_runs(
    thread_id: UUID,
    service: Runs,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=INT4_MAX)] = 0,
    status: Annotated[RunStatus | None, Query()] = None,
    select: Annotated[list[RunSelectField] | None, Query()] = None,
) -> Response:
    rows = await service.list_runs(
        thread_id, status=status, limit=limit, offset=offset, actor=actor
    )
    return json_response([run_json(r, select) for r in rows])


@router.post(
    "/threads/{thread_id}/runs",
    response_model=Run,
    responses={**RUN_CREATED, **RUN_CREATE_ERRORS},
)
async def create_run(
    thread_id: UUID,
    body: RunCreateStateful,
    service: Runs,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> Response:
    created = await service.create(thread_id, body, actor=actor, headers=headers)
    headers = _run_headers(thread_id, created["run_id"])
    return json_response(
        run_json(created), headers={"Content-Location": headers["Content-Location"]}
    )


@router.post(
    "/threads/{thread_id}/runs/wait",
    response_model=RunOutput,
    responses={**RUN_WAITED, **RUN_CREATE_ERRORS, **errors(503)},
)
async def wait_run(
    thread_id: UUID,
    body: RunCreateStateful,
    service: Runs,
    actor: CurrentActor,
    request: Request,
    headers: RequestHeaders,
) -> Response:
    created, output = await service.wait(
        thread_id, body, actor=actor, departure=departure_of(request), headers=headers
    )
    return json_response(output, headers=_run_headers(thread_id, created["run_id"]))


@router.get("/threads/{thread_id}/runs/{run_id}", response_model=Run, responses=errors(404, 422))
async def get_run(thread_id: UUID, run_id: UUID, service: Runs, actor: CurrentActor) -> Response:
    return json_response(run_json(await service.get(thread_id, run_id, actor=actor)))


@router.delete(
    "/threads/{thread_id}/runs/{run_id}",
    status_code=204,
    responses=errors(404, 409, 422, reasons={409: "The run is pending or running."}),
)
async def delete_run(thread_id: UUID, run_id: UUID, service: Runs, actor: CurrentActor) -> Response:
    await service.delete(thread_id, run_id, actor=actor)
    return Response(status_code=204)


@router.get(
    "/threads/{thread_id}/runs/{run_id}/join",
    response_model=RunOutput,
    responses=errors(422, 503),
    response_description="As wait answers; an unknown run gives an ``__error__`` body.",
)
async def join_run(
    thread_id: UUID,
    run_id: UUID,
    service: Runs,
    actor: CurrentActor,
    request: Request,
    cancel_on_disconnect: Annotated[bool, Query()] = False,
) -> Response:
    output = await service.waits.join(
        thread_id,
        run_id,
        actor=actor,
        departure=departure_of(request),
        cancel_on_disconnect=cancel_on_disconnect,
    )
    return json_response(output, headers=_run_headers(thread_id, run_id))


@router.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    status_code=202,
    responses={
        **CANCELLED,
        **errors(404, 422, 503, reasons={404: "No such run in flight (unknown, or ended)."}),
    },
)
async def cancel_run(
    thread_id: UUID,
    run_id: UUID,
    service: Runs,
    actor: CurrentActor,
    wait: Annotated[bool, Query()] = False,
    action: Action = "interrupt",
) -> Response:
    await service.cancels.cancel(thread_id, run_id, wait=wait, action=action, actor=actor)
    if wait:  # where to read how it ended, as the official server says
        return json_response({}, headers=_run_headers(thread_id, run_id))
    return json_response({}, status_code=202)


@stateless.post(
    "/cancel",
    status_code=204,
    responses={
        204: {"description": "The runs are asked to stop (pending ones end at once)."},
        **errors(404, *BODY, reasons={404: "No run in flight matched."}),
    },
)
async def cancel_runs(
    body: RunsCancel, service: Runs, actor: CurrentActor, action: Action = "interrupt"
) -> Response:
    await service.cancels.cancel_many(body, action=action, actor=actor)
    return Response(status_code=204)


@stateless.post("", response_model=Run, responses={**RUN_CREATED, **STATELESS_RUN_ERRORS})
async def create_stateless_run(
    body: RunCreateStateless, service: Runs, actor: CurrentActor, headers: RequestHeaders
) -> Response:
    created = await service.create(None, body, actor=actor, headers=headers)
    headers = _run_headers(created["thread_id"], created["run_id"])
    return json_response(
        run_json(created), headers={"Content-Location": headers["Content-Location"]}
    )


@stateless.post(
    "/wait",
    response_model=RunOutput,
    responses={**RUN_WAITED, **STATELESS_RUN_ERRORS, **errors(503)},
)
async def wait_stateless_run(
    body: RunCreateStateless,
    service: Runs,
    actor: CurrentActor,
    request: Request,
    headers: RequestHeaders,
) -> Response:
    created, output = await service.wait(
        None, body, actor=actor, departure=departure_of(request), headers=headers
    )
    return json_response(output, headers=_run_headers(created["thread_id"], created["run_id"]))


@stateless.post("/batch", response_model=list[Run], responses=STATELESS_RUN_ERRORS)
async def create_run_batch(
    bodies: list[RunCreateStateless], service: Runs, actor: CurrentActor, headers: RequestHeaders
) -> Response:
    created = await service.create_batch(bodies, actor=actor, headers=headers)
    return json_response([run_json(r) for r in created])
