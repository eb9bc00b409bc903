"""The long-term memory store API, over the same store graphs use."""

from __future__ import annotations

import logging
from typing import Any, Literal

from langgraph.store.base import BaseStore

from graphport.auth.actor import Actor
from graphport.auth.handlers import HandlerFailed
from graphport.errors import BadRequest, InvalidInput
from graphport.schemas.store import (
    StoreDeleteRequest,
    StoreListNamespacesRequest,
    StorePutRequest,
    StoreSearchRequest,
)

logger = logging.getLogger(__name__)

Row = dict[str, Any]


# The store's primary keys are btree rows (namespace, key[, index field]), which Postgres
# caps at 2704 bytes: these bounds keep a row under it.
MAX_KEY_BYTES = 1024  # the key, and the namespace (labels joined with '.'), each
MAX_FIELD_BYTES = 256  # each field path named in ``index``


def _check_item_size(namespace: tuple[str, ...], key: str, fields: Any) -> None:
    """InvalidInput (422) when the item's namespace, key or index fields are too long to
    store (measured after auth handlers rewrote them)."""
    if len(".".join(namespace).encode()) > MAX_KEY_BYTES:
        raise InvalidInput(f"namespace is longer than {MAX_KEY_BYTES} bytes (UTF-8, joined by '.')")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidInput(f"key is longer than {MAX_KEY_BYTES} bytes (UTF-8)")
    for field in fields if isinstance(fields, list) else ():
        if len(str(field).encode()) > MAX_FIELD_BYTES:
            raise InvalidInput(f"index field {field!r} is longer than {MAX_FIELD_BYTES} bytes")


def parse_namespace(raw: str | None) -> tuple[str, ...]:
    """The GET form: labels joined with '.' (the SDK's encoding)."""
    return tuple(part for part in (raw or "").split(".") if part)


async def _authorized(actor: Actor, action: str, value: Row) -> Row:
    """Run the ``store.<action>`` handler; it may rewrite the namespace (e.g. prefix the
    user's id). Store items carry no metadata to filter on, so a filter is refused."""
    if await actor.authorize("store", action, value) is not None:
        logger.error(
            "auth handler for store.%s returned a filter; store handlers may only "
            "allow, deny or rewrite the namespace",
            action,
        )
        raise HandlerFailed()
    namespace = value.get("namespace")
    if namespace is not None:
        if isinstance(namespace, str) or not all(isinstance(p, str) for p in namespace):
            logger.error("auth handler for store.%s set a namespace that is not strings", action)
            raise HandlerFailed()
        value["namespace"] = tuple(namespace)
    return value


class StoreService:
    def __init__(self, store: BaseStore, *, has_index: bool) -> None:
        self._store = store
        self._has_index = has_index

    async def put(self, body: StorePutRequest, *, actor: Actor) -> None:
        if not body.namespace:
            raise BadRequest("namespace must have at least one label")
        if body.index not in (None, False) and not self._has_index:
            raise InvalidInput("index needs a store.index configuration in langgraph.json")
        fields: Literal[False] | list[str] | None = None  # None or True: the configured fields
        if body.index is False or isinstance(body.index, list):
            fields = body.index
        asked = await _authorized(
            actor,
            "put",
            {
                "namespace": tuple(body.namespace),
                "key": body.key,
                "value": body.value,
                "index": fields,
            },
        )
        _check_item_size(asked["namespace"], asked["key"], asked["index"])
        await self._store.aput(
            asked["namespace"], asked["key"], asked["value"], index=asked["index"], ttl=body.ttl
        )

    async def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None, actor: Actor
    ) -> Any:
        if not key:
            raise InvalidInput("key is required")
        asked = await _authorized(actor, "get", {"namespace": namespace, "key": key})
        item = await self._store.aget(asked["namespace"], asked["key"], refresh_ttl=refresh_ttl)
        return item.dict() if item is not None else None

    async def delete(self, body: StoreDeleteRequest, *, actor: Actor) -> None:
        asked = await _authorized(
            actor, "delete", {"namespace": tuple(body.namespace), "key": body.key}
        )
        await self._store.adelete(asked["namespace"], asked["key"])

    async def search(self, body: StoreSearchRequest, *, actor: Actor) -> Row:
        if body.query and not self._has_index:
            raise InvalidInput(
                "query (semantic search) needs a store.index configuration in langgraph.json"
            )
        asked = await _authorized(
            actor,
            "search",
            {
                "namespace": tuple(body.namespace_prefix or ()),
                "filter": body.filter,
                "limit": body.limit,
                "offset": body.offset,
                "query": body.query,
            },
        )
        items = await self._store.asearch(
            asked["namespace"],
            query=asked["query"],
            filter=asked["filter"],
            limit=asked["limit"],
            offset=asked["offset"],
            refresh_ttl=body.refresh_ttl,
        )
        return {"items": [item.dict() for item in items]}

    async def list_namespaces(self, body: StoreListNamespacesRequest, *, actor: Actor) -> Row:
        asked = await _authorized(
            actor,
            "list_namespaces",
            {
                "namespace": tuple(body.prefix) if body.prefix else None,
                "suffix": tuple(body.suffix) if body.suffix else None,
                "max_depth": body.max_depth,
                "limit": body.limit,
                "offset": body.offset,
            },
        )
        found = await self._store.alist_namespaces(
            prefix=asked["namespace"] or None,
            suffix=asked["suffix"],
            max_depth=asked["max_depth"],
            limit=asked["limit"],
            offset=asked["offset"],
        )
        return {"namespaces": [list(ns) for ns in found]}
