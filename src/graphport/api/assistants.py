"""Assistants routes: parse, call the service once, respond."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from graphport.api.deps import Assistants, CurrentActor, RequestHeaders
from graphport.api.parsing import StrictRoute
from graphport.api.responses import (
    BODY,
    PAGINATED,
    errors,
    json_response,
    pagination_headers,
)
from graphport.errors import InvalidInput
from graphport.schemas.assistants import (
    Assistant,
    AssistantCountRequest,
    AssistantCreate,
    AssistantPatch,
    AssistantSearchRequest,
    AssistantSelection,
    AssistantVersion,
    AssistantVersionChange,
    AssistantVersionsSearchRequest,
    GraphDrawing,
    GraphSchema,
    Subgraphs,
)
from graphport.schemas.common import INT4_MAX

router = APIRouter(prefix="/assistants", tags=["Assistants"], route_class=StrictRoute)


def parse_xray(raw: str) -> bool | int:
    lowered = raw.strip().lower()
    if lowered == "true":
        return True
    if lowered in {"false", ""}:
        return False
    try:
        depth = int(lowered)
    except ValueError:
        raise InvalidInput(
            f"xray must be true, false or a non-negative integer, got {raw!r}"
        ) from None
    if depth < 0:
        raise InvalidInput("xray depth must not be negative")
    return depth


@router.post(
    "",
    response_model=Assistant,
    responses=errors(404, 409, *BODY, reasons={404: "No graph of that id in langgraph.json."}),
)
async def create_assistant(
    body: AssistantCreate, service: Assistants, actor: CurrentActor
) -> Response:
    return json_response(await service.create(body, actor=actor))


@router.post(
    "/search", response_model=list[AssistantSelection], responses={**PAGINATED, **errors(*BODY)}
)
async def search_assistants(
    service: Assistants, actor: CurrentActor, body: AssistantSearchRequest | None = None
) -> Response:
    page = await service.search(body or AssistantSearchRequest(), actor=actor)
    return json_response(page.items, headers=pagination_headers(page.total, page.next_offset))


@router.post("/count", response_model=int, responses=errors(*BODY))
async def count_assistants(
    service: Assistants, actor: CurrentActor, body: AssistantCountRequest | None = None
) -> Response:
    return json_response(await service.count(body or AssistantCountRequest(), actor=actor))


@router.get("/{assistant_id}", response_model=Assistant, responses=errors(404, 422))
async def get_assistant(assistant_id: UUID, service: Assistants, actor: CurrentActor) -> Response:
    return json_response(await service.get(assistant_id, actor=actor))


@router.patch("/{assistant_id}", response_model=Assistant, responses=errors(404, *BODY))
async def patch_assistant(
    assistant_id: UUID, body: AssistantPatch, service: Assistants, actor: CurrentActor
) -> Response:
    return json_response(await service.update(assistant_id, body, actor=actor))


@router.delete("/{assistant_id}", status_code=204, responses=errors(404, 422))
async def delete_assistant(
    assistant_id: UUID,
    service: Assistants,
    actor: CurrentActor,
    delete_threads: Annotated[bool, Query()] = False,
) -> Response:
    await service.delete(assistant_id, delete_threads=delete_threads, actor=actor)
    return Response(status_code=204)


@router.get("/{assistant_id}/graph", response_model=GraphDrawing, responses=errors(404, 422))
async def get_assistant_graph(
    assistant_id: str,
    service: Assistants,
    actor: CurrentActor,
    headers: RequestHeaders,
    xray: Annotated[str, Query()] = "false",
) -> Response:
    """Accepts a graph id too (its system assistant), as the official server does."""
    resolved = service.resolve_id(assistant_id)
    drawn = await service.graph(resolved, parse_xray(xray), actor=actor, headers=headers)
    return json_response(drawn)


@router.get("/{assistant_id}/schemas", response_model=GraphSchema, responses=errors(404, 422))
async def get_assistant_schemas(
    assistant_id: UUID, service: Assistants, actor: CurrentActor, headers: RequestHeaders
) -> Response:
    return json_response(await service.schemas(assistant_id, actor=actor, headers=headers))


@router.get("/{assistant_id}/subgraphs", response_model=Subgraphs, responses=errors(404, 422))
async def get_assistant_subgraphs(
    assistant_id: UUID,
    service: Assistants,
    actor: CurrentActor,
    headers: RequestHeaders,
    recurse: Annotated[bool, Query()] = False,
) -> Response:
    found = await service.subgraphs(assistant_id, None, recurse, actor=actor, headers=headers)
    return json_response(found)


@router.get(
    "/{assistant_id}/subgraphs/{namespace}", response_model=Subgraphs, responses=errors(404, 422)
)
async def get_assistant_subgraphs_by_namespace(
    assistant_id: UUID,
    namespace: str,
    service: Assistants,
    actor: CurrentActor,
    headers: RequestHeaders,
    recurse: Annotated[bool, Query()] = False,
) -> Response:
    found = await service.subgraphs(assistant_id, namespace, recurse, actor=actor, headers=headers)
    return json_response(found)


@router.post(
    "/{assistant_id}/versions", response_model=list[AssistantVersion], responses=errors(404, *BODY)
)
async def get_assistant_versions(
    assistant_id: UUID,
    service: Assistants,
    actor: CurrentActor,
    body: AssistantVersionsSearchRequest | None = None,
) -> Response:
    return json_response(
        await service.versions(assistant_id, body or AssistantVersionsSearchRequest(), actor=actor)
    )


@router.post("/{assistant_id}/latest", response_model=Assistant, responses=errors(404, *BODY))
async def set_latest_assistant_version(
    assistant_id: UUID,
    service: Assistants,
    actor: CurrentActor,
    body: Annotated[AssistantVersionChange | None, Body()] = None,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> Response:
    chosen = body.version if body is not None and body.version is not None else version
    if chosen is None:
        raise InvalidInput("version is required (JSON body or query parameter)")
    return json_response(await service.set_latest(assistant_id, chosen, actor=actor))
