"""Store routes: parse, call the service once, respond."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from graphport.api.deps import CurrentActor, Store
from graphport.api.parsing import StrictRoute
from graphport.api.responses import BODY, errors, json_response
from graphport.schemas.store import (
    Item,
    ListNamespaceResponse,
    SearchItemsResponse,
    StoreDeleteRequest,
    StoreListNamespacesRequest,
    StorePutRequest,
    StoreSearchRequest,
)
from graphport.services.store import parse_namespace

router = APIRouter(prefix="/store", tags=["Store"], route_class=StrictRoute)


@router.put(
    "/items",
    status_code=204,
    responses=errors(400, *BODY, reasons={400: "The namespace is empty."}),
)
async def put_item(body: StorePutRequest, store: Store, actor: CurrentActor) -> Response:
    await store.put(body, actor=actor)
    return Response(status_code=204)


@router.get(
    "/items",
    response_model=Item | None,
    responses=errors(422),
    response_description="The item, or null when there is none.",
)
async def get_item(
    store: Store,
    actor: CurrentActor,
    key: Annotated[str, Query()],
    namespace: Annotated[str | None, Query()] = None,
    refresh_ttl: Annotated[bool | None, Query()] = None,
) -> Response:
    return json_response(
        await store.get(parse_namespace(namespace), key, refresh_ttl=refresh_ttl, actor=actor)
    )


@router.delete("/items", status_code=204, responses=errors(*BODY))
async def delete_item(body: StoreDeleteRequest, store: Store, actor: CurrentActor) -> Response:
    await store.delete(body, actor=actor)
    return Response(status_code=204)


@router.post("/items/search", response_model=SearchItemsResponse, responses=errors(*BODY))
async def search_items(
    store: Store, actor: CurrentActor, body: StoreSearchRequest | None = None
) -> Response:
    return json_response(await store.search(body or StoreSearchRequest(), actor=actor))


@router.post("/namespaces", response_model=ListNamespaceResponse, responses=errors(*BODY))
async def list_namespaces(
    store: Store, actor: CurrentActor, body: StoreListNamespacesRequest | None = None
) -> Response:
    return json_response(
        await store.list_namespaces(body or StoreListNamespacesRequest(), actor=actor)
    )
