"""The long-term memory store API, over the same store graphs use."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.store.base import BaseStore

from graphport.errors import BadRequest, InvalidInput
from graphport.schemas.store import (
    StoreDeleteRequest,
    StoreListNamespacesRequest,
    StorePutRequest,
    StoreSearchRequest,
)

Row = dict[str, Any]


def parse_namespace(raw: str | None) -> tuple[str, ...]:
    """The GET form: labels joined with '.' (the SDK's encoding)."""
    return tuple(part for part in (raw or "").split(".") if part)


class StoreService:
    def __init__(self, store: BaseStore, *, has_index: bool) -> None:
        self._store = store
        self._has_index = has_index

    async def put(self, body: StorePutRequest) -> None:
        if not body.namespace:
            raise BadRequest("namespace must have at least one label")
        if body.index not in (None, False) and not self._has_index:
            raise InvalidInput("index needs a store.index configuration in langgraph.json")
        fields: Literal[False] | list[str] | None = None  # None or True: the configured fields
        if body.index is False or isinstance(body.index, list):
            fields = body.index
        await self._store.aput(
            tuple(body.namespace), body.key, body.value, index=fields, ttl=body.ttl
        )

    async def get(self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None) -> Any:
        if not key:
            raise InvalidInput("key is required")
        item = await self._store.aget(namespace, key, refresh_ttl=refresh_ttl)
        return item.dict() if item is not None else None

    async def delete(self, body: StoreDeleteRequest) -> None:
        await self._store.adelete(tuple(body.namespace), body.key)

    async def search(self, body: StoreSearchRequest) -> Row:
        if body.query and not self._has_index:
            raise InvalidInput(
                "query (semantic search) needs a store.index configuration in langgraph.json"
            )
        items = await self._store.asearch(
            tuple(body.namespace_prefix or ()),
            query=body.query,
            filter=body.filter,
            limit=body.limit,
            offset=body.offset,
            refresh_ttl=body.refresh_ttl,
        )
        return {"items": [item.dict() for item in items]}

    async def list_namespaces(self, body: StoreListNamespacesRequest) -> Row:
        found = await self._store.alist_namespaces(
            prefix=tuple(body.prefix) if body.prefix else None,
            suffix=tuple(body.suffix) if body.suffix else None,
            max_depth=body.max_depth,
            limit=body.limit,
            offset=body.offset,
        )
        return {"namespaces": [list(ns) for ns in found]}
