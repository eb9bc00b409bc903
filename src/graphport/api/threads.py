"""Threads routes: parse, call the service once, respond."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from graphport.api.deps import CurrentActor, RequestHeaders, Threads, ThreadState
from graphport.api.parsing import StrictRoute
from graphport.api.responses import (
    BODY,
    PAGINATED,
    STATE_ERRORS,
    errors,
    json_response,
    pagination_headers,
)
from graphport.errors import InvalidInput
from graphport.schemas.threads import (
    CheckpointConfig,
    Thread,
    ThreadCountRequest,
    ThreadCreate,
    ThreadPatch,
    ThreadPruneRequest,
    ThreadPruneResponse,
    ThreadSearchRequest,
    ThreadSelection,
    ThreadStateCheckpointRequest,
    ThreadStateSearch,
    ThreadStateUpdate,
    ThreadStateUpdateResponse,
    ThreadStorage,
)
from graphport.schemas.threads import ThreadState as ThreadStateModel

router = APIRouter(prefix="/threads", tags=["Threads"], route_class=StrictRoute)

Subgraphs = Annotated[bool, Query(description="Include subgraph states in tasks.")]


@router.post(
    "",
    response_model=Thread,
    responses=errors(
        404, 409, *BODY, reasons={404: "supersteps name a graph langgraph.json does not have."}
    ),
)
async def create_thread(
    service: Threads, actor: CurrentActor, headers: RequestHeaders, body: ThreadCreate | None = None
) -> Response:
    created = await service.create(body or ThreadCreate(), actor=actor, headers=headers)
    return json_response(created)


@router.post(
    "/search", response_model=list[ThreadSelection], responses={**PAGINATED, **errors(*BODY)}
)
async def search_threads(
    service: Threads, actor: CurrentActor, body: ThreadSearchRequest | None = None
) -> Response:
    page = await service.search(body or ThreadSearchRequest(), actor=actor)
    return json_response(page.items, headers=pagination_headers(page.total, page.next_offset))


@router.post("/count", response_model=int, responses=errors(*BODY))
async def count_threads(
    service: Threads, actor: CurrentActor, body: ThreadCountRequest | None = None
) -> Response:
    return json_response(await service.count(body or ThreadCountRequest(), actor=actor))


@router.post("/prune", response_model=ThreadPruneResponse, responses=errors(*BODY))
async def prune_threads(
    body: ThreadPruneRequest, service: Threads, actor: CurrentActor
) -> Response:
    """Prune threads by id: ``delete`` removes them, ``keep_latest`` drops old checkpoints
    but keeps the threads and their latest state."""
    return json_response({"pruned_count": await service.prune(body, actor=actor)})


@router.get("/{thread_id}", response_model=Thread, responses=errors(404, 422))
async def get_thread(
    thread_id: UUID,
    service: Threads,
    actor: CurrentActor,
    include: Annotated[str | None, Query()] = None,
) -> Response:
    extras = {part for part in (include or "").split(",") if part}
    if extras - {"ttl"}:
        raise InvalidInput(f"include supports only 'ttl', got {include!r}")
    return json_response(await service.get(thread_id, include_ttl="ttl" in extras, actor=actor))


@router.patch("/{thread_id}", response_model=Thread, responses=errors(404, *BODY))
async def patch_thread(
    thread_id: UUID, body: ThreadPatch, service: Threads, actor: CurrentActor
) -> Response:
    return json_response(await service.update(thread_id, body, actor=actor))


@router.delete("/{thread_id}", status_code=204, responses=errors(404, 422))
async def delete_thread(thread_id: UUID, service: Threads, actor: CurrentActor) -> Response:
    await service.delete(thread_id, actor=actor)
    return Response(status_code=204)


@router.get("/{thread_id}/storage", response_model=ThreadStorage, responses=errors(404, 422))
async def get_thread_storage(thread_id: UUID, service: Threads, actor: CurrentActor) -> Response:
    """Bytes the thread's checkpoints occupy, as stored: checkpoints, channel values (per
    channel) and pending writes."""
    return json_response(await service.storage(thread_id, actor=actor))


@router.post("/{thread_id}/copy", response_model=Thread, responses=errors(404, 422))
async def copy_thread(thread_id: UUID, service: Threads, actor: CurrentActor) -> Response:
    return json_response(await service.copy(thread_id, actor=actor))


@router.get("/{thread_id}/state", response_model=ThreadStateModel, responses=STATE_ERRORS)
async def get_thread_state(
    thread_id: UUID,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
    subgraphs: Subgraphs = False,
) -> Response:
    return json_response(
        await state.get_state(thread_id, subgraphs=subgraphs, actor=actor, headers=headers)
    )


@router.post(
    "/{thread_id}/state",
    response_model=ThreadStateUpdateResponse,
    responses=errors(
        404,
        409,
        *BODY,
        reasons={
            404: "No such thread (or checkpoint).",
            409: "The thread is busy with a run.",
            422: "Invalid request, or an update the graph refuses (unknown state keys, a "
            "value a reducer refuses, a thread that never ran).",
        },
    ),
)
async def update_thread_state(
    thread_id: UUID,
    body: ThreadStateUpdate,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> Response:
    return json_response(await state.update_state(thread_id, body, actor=actor, headers=headers))


@router.post(
    "/{thread_id}/state/checkpoint",
    response_model=ThreadStateModel,
    responses={**STATE_ERRORS, **errors(413)},
)
async def get_thread_state_at_checkpoint_post(
    thread_id: UUID,
    body: ThreadStateCheckpointRequest,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
    subgraphs: Subgraphs = False,
) -> Response:
    return json_response(
        await state.get_state(
            thread_id,
            checkpoint=body.checkpoint,
            subgraphs=subgraphs or body.subgraphs,
            actor=actor,
            headers=headers,
        )
    )


@router.get(
    "/{thread_id}/state/{checkpoint_id}", response_model=ThreadStateModel, responses=STATE_ERRORS
)
async def get_thread_state_at_checkpoint(
    thread_id: UUID,
    checkpoint_id: str,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
    subgraphs: Subgraphs = False,
) -> Response:
    checkpoint = CheckpointConfig(checkpoint_id=checkpoint_id)
    return json_response(
        await state.get_state(
            thread_id, checkpoint=checkpoint, subgraphs=subgraphs, actor=actor, headers=headers
        )
    )


@router.get("/{thread_id}/history", response_model=list[ThreadStateModel], responses=STATE_ERRORS)
async def get_thread_history(
    thread_id: UUID,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    before: Annotated[str | None, Query()] = None,
) -> Response:
    history = await state.history(
        thread_id,
        limit=limit,
        before=before,
        metadata=None,
        checkpoint=None,
        actor=actor,
        headers=headers,
    )
    return json_response(history)


@router.post(
    "/{thread_id}/history",
    response_model=list[ThreadStateModel],
    responses={**STATE_ERRORS, **errors(413)},
)
async def get_thread_history_post(
    thread_id: UUID,
    state: ThreadState,
    actor: CurrentActor,
    headers: RequestHeaders,
    body: ThreadStateSearch | None = None,
) -> Response:
    search = body or ThreadStateSearch()
    return json_response(
        await state.history(
            thread_id,
            limit=search.limit,
            before=search.before,
            metadata=search.metadata,
            checkpoint=search.checkpoint,
            actor=actor,
            headers=headers,
        )
    )
