"""Assistants: versioned configurations of a graph."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args
from uuid import UUID, uuid4

from langchain_core.runnables import RunnableConfig

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.db.engine import Database
from graphport.errors import Conflict, InvalidInput, NotFound
from graphport.graphs import introspection
from graphport.graphs.registry import GraphRegistry, system_assistant_id
from graphport.repositories import assistants as repo
from graphport.repositories import checkpoints as checkpoint_repo
from graphport.repositories import crons as cron_repo
from graphport.repositories import threads as thread_repo
from graphport.schemas.assistants import (
    AssistantCountRequest,
    AssistantCreate,
    AssistantPatch,
    AssistantSearchRequest,
    AssistantSelectField,
    AssistantVersionsSearchRequest,
)
from graphport.schemas.common import CHECKPOINT_KEYS, checked_config
from graphport.services.configurable_headers import HeaderSelection
from graphport.services.run_access import run_assistant_scope

Row = dict[str, Any]
Headers = Mapping[str, str] | None

_RESPONSE_FIELDS = get_args(AssistantSelectField)


@dataclass(frozen=True)
class Page:
    items: list[Row]
    total: int
    next_offset: int | None

    @classmethod
    def of(cls, items: list[Row], total: int, offset: int) -> Page:
        end = offset + len(items)
        return cls(items, total, end if end < total else None)


def reconcile_context(config: dict[str, Any], context: dict[str, Any] | None) -> tuple[Row, Row]:
    """Mirror ``context`` and ``config.configurable`` so each reads the same values.

    Context superseded configurable in LangGraph 0.6; clients still send either.
    InvalidInput (422) for both given and different, or a config runs cannot take
    (see ``checked_assistant_config``).
    """
    config = dict(config)
    configurable = config.get("configurable")
    if context and configurable and context != configurable:
        raise InvalidInput(
            "Cannot specify both config.configurable and context; prefer setting context alone."
        )
    if context:
        config["configurable"] = dict(context)
        return checked_assistant_config(config), dict(context)
    if configurable:
        if not isinstance(configurable, dict):
            raise InvalidInput("config.configurable must be an object")
        return checked_assistant_config(config), dict(configurable)
    return checked_assistant_config(config), {}


def checked_assistant_config(config: Row) -> Row:
    """``config`` unchanged when runs can take it as an assistant's; InvalidInput (422) for
    a checkpoint key in its ``configurable`` (a checkpoint belongs to one thread, an
    assistant serves all: name it on the run), LangGraph's own keys, or values of the wrong
    type (what an auth handler or the context mirrored into ``configurable`` added too)."""
    try:
        checked_config(config)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if named := [k for k in CHECKPOINT_KEYS if k in (config.get("configurable") or {})]:
        raise InvalidInput(
            f"An assistant's config.configurable and context cannot name a checkpoint "
            f"({', '.join(named)}): it serves every thread; name the checkpoint on the run"
        )
    return config


class AssistantService:
    def __init__(
        self, db: Database, registry: GraphRegistry, headers: HeaderSelection | None = None
    ) -> None:
        self._db = db
        self._registry = registry
        self._headers = headers or HeaderSelection()

    def resolve_id(self, raw: str) -> UUID:
        """An assistant id, or a graph id standing for that graph's system assistant."""
        resolved = self._registry.resolve_assistant_id(raw)
        if resolved is None:
            raise InvalidInput(f"Invalid assistant ID {raw!r}: not a UUID nor a graph id")
        return resolved

    async def ensure_system_assistants(self) -> None:
        async with self._db.transaction() as conn:
            for graph_id in self._registry.ids():
                await repo.ensure_system_assistant(
                    conn, assistant_id=system_assistant_id(graph_id), graph_id=graph_id
                )

    async def read_scope(self, assistant_id: UUID, actor: Actor) -> AuthFilter | None:
        return await actor.authorize("assistants", "read", {"assistant_id": assistant_id})

    async def create(self, body: AssistantCreate, *, actor: Actor) -> Row:
        self._require_graph(body.graph_id)
        assistant_id = body.assistant_id or uuid4()
        asked: Row = {
            "assistant_id": assistant_id,
            "graph_id": body.graph_id,
            "config": dict(body.config or {}),
            "context": body.context,
            "metadata": dict(body.metadata or {}),
            "if_exists": body.if_exists or "raise",
            "name": body.name or "Untitled",
        }
        scope = await actor.authorize("assistants", "create", asked)
        config, context = reconcile_context(asked.get("config") or {}, asked.get("context"))
        values = {
            "assistant_id": assistant_id,
            "graph_id": body.graph_id,
            "name": asked.get("name") or "Untitled",
            "description": body.description,
            "config": config,
            "context": context,
            "metadata": dict(asked.get("metadata") or {}),
        }
        async with self._db.transaction() as conn:
            created = await repo.create_assistant(conn, values=values)
            if created is not None:
                return created
            if body.if_exists == "do_nothing":
                existing = await repo.get_assistant(conn, assistant_id=assistant_id, scope=scope)
                if existing is not None:
                    return existing
        raise Conflict(f"Assistant {assistant_id} already exists")

    async def get(self, assistant_id: UUID, *, actor: Actor) -> Row:
        scope = await self.read_scope(assistant_id, actor)
        async with self._db.transaction() as conn:
            return await self._get(conn, assistant_id, scope)

    async def update(self, assistant_id: UUID, body: AssistantPatch, *, actor: Actor) -> Row:
        if body.graph_id is not None:
            self._require_graph(body.graph_id)
        asked: Row = {
            "assistant_id": assistant_id,
            "graph_id": body.graph_id,
            "config": body.config,
            "context": body.context,
            "metadata": body.metadata,
            "name": body.name,
        }
        scope = await actor.authorize("assistants", "update", asked)
        if asked.get("metadata") is not None:
            body = body.model_copy(update={"metadata": dict(asked["metadata"])})
        async with self._db.transaction() as conn:
            current = await repo.get_assistant(
                conn, assistant_id=assistant_id, for_update=True, scope=scope
            )
            if current is None:
                raise NotFound(f"Assistant {assistant_id} not found")
            values = _patched_values(current, body)
            version = await repo.get_max_version(conn, assistant_id=assistant_id) + 1
            await repo.create_version(
                conn, assistant_id=assistant_id, version=version, values=values
            )
            return await repo.update_assistant(
                conn, assistant_id=assistant_id, values={**values, "version": version}
            )

    async def delete(
        self, assistant_id: UUID, *, delete_threads: bool = False, actor: Actor
    ) -> None:
        """Delete every version and the assistant's crons; ``delete_threads`` also deletes the
        threads it ran on (those the caller may delete). NotFound (404) when it does not
        exist or the caller may not see it."""
        scope = await actor.authorize("assistants", "delete", {"assistant_id": assistant_id})
        thread_scope = None
        if delete_threads:
            thread_scope = await actor.authorize("threads", "delete", {"thread_id": None})
        async with self._db.transaction() as conn:
            if not await repo.delete_assistant(conn, assistant_id=assistant_id, scope=scope):
                raise NotFound(f"Assistant {assistant_id} not found")
            # its crons would fail at every firing: they go with it (the thread's go with
            # the thread, by the foreign key)
            await cron_repo.delete_assistant_crons(conn, assistant_id=assistant_id)
            if delete_threads:
                owned = await thread_repo.delete_threads_with_metadata(
                    conn, metadata={"assistant_id": str(assistant_id)}, scope=thread_scope
                )
                if owned:
                    await checkpoint_repo.delete_thread_checkpoints(conn, thread_ids=owned)

    async def _criteria(
        self, body: AssistantSearchRequest | AssistantCountRequest, actor: Actor
    ) -> repo.AssistantCriteria:
        """The client's filters (a handler may add metadata) and the handler's filter."""
        asked: Row = {"graph_id": body.graph_id, "metadata": dict(body.metadata or {})}
        if isinstance(body, AssistantSearchRequest):
            asked.update(limit=body.limit, offset=body.offset)
        scope = await actor.authorize("assistants", "search", asked)
        return repo.AssistantCriteria(
            metadata=asked.get("metadata") or None,
            graph_id=body.graph_id,
            name=body.name,
            description=body.description,
            scope=scope,
        )

    async def search(self, body: AssistantSearchRequest, *, actor: Actor) -> Page:
        sort_by = body.sort_by or "created_at"
        descending = (body.sort_order or "desc") == "desc"
        criteria = await self._criteria(body, actor)
        async with self._db.transaction() as conn:
            rows, total = await repo.search_assistants(
                conn,
                criteria=criteria,
                sort_by=sort_by,
                descending=descending,
                limit=body.limit,
                offset=body.offset,
            )
            if total is None:
                total = await repo.count_assistants(conn, criteria=criteria)
        return Page.of([select_fields(r, body.select) for r in rows], total, body.offset)

    async def count(self, body: AssistantCountRequest, *, actor: Actor) -> int:
        criteria = await self._criteria(body, actor)
        async with self._db.transaction() as conn:
            return await repo.count_assistants(conn, criteria=criteria)

    async def versions(
        self, assistant_id: UUID, body: AssistantVersionsSearchRequest, *, actor: Actor
    ) -> list[Row]:
        scope = await self.read_scope(assistant_id, actor)
        async with self._db.transaction() as conn:
            await self._get(conn, assistant_id, scope)
            return await repo.list_versions(
                conn,
                assistant_id=assistant_id,
                metadata=body.metadata,
                limit=body.limit,
                offset=body.offset,
            )

    async def set_latest(self, assistant_id: UUID, version: int, *, actor: Actor) -> Row:
        """Point the assistant at an earlier version, restoring all of that version's fields."""
        asked: Row = {"assistant_id": assistant_id, "version": version}
        scope = await actor.authorize("assistants", "update", asked)
        async with self._db.transaction() as conn:
            current = await repo.get_assistant(
                conn, assistant_id=assistant_id, for_update=True, scope=scope
            )
            if current is None:
                raise NotFound(f"Assistant {assistant_id} not found")
            chosen = await repo.get_version(conn, assistant_id=assistant_id, version=version)
            if chosen is None:
                raise NotFound(f"Assistant {assistant_id} has no version {version}")
            values = {k: chosen[k] for k in repo.VERSION_FIELDS}
            return await repo.update_assistant(
                conn, assistant_id=assistant_id, values={**values, "version": version}
            )

    # ``headers`` (graph, schemas, subgraphs): the request's, some of which a graph
    # factory's config receives (``HeaderSelection``), as for runs.

    async def graph(
        self, assistant_id: UUID, xray: bool | int, *, actor: Actor, headers: Headers = None
    ) -> dict[str, Any]:
        assistant = await self.get(assistant_id, actor=actor)
        async with self._graph_of(assistant, actor, headers) as graph:
            return await introspection.drawable_graph(graph, xray=xray)

    async def schemas(
        self, assistant_id: UUID, *, actor: Actor, headers: Headers = None
    ) -> dict[str, Any]:
        assistant = await self.get(assistant_id, actor=actor)
        async with self._graph_of(assistant, actor, headers) as graph:
            return {"graph_id": assistant["graph_id"], **introspection.graph_schemas(graph)}

    async def with_input_schema(
        self, assistant_id: UUID, *, actor: Actor, headers: Headers = None, to_run: bool = False
    ) -> tuple[Row, introspection.JsonSchema]:
        """The assistant (as ``get``) and its graph's input JSON schema (``input_schema_of``).
        ``to_run``: found as a run finds it, a graph's own assistant whatever the read
        handler says."""
        if to_run:
            system = assistant_id in self._registry.system_assistant_ids
            scope = await run_assistant_scope(actor, assistant_id, system=system)
            async with self._db.transaction() as conn:
                assistant = await self._get(conn, assistant_id, scope)
        else:
            assistant = await self.get(assistant_id, actor=actor)
        return assistant, await self.input_schema_of(assistant, actor=actor, headers=headers)

    async def input_schema_of(
        self, assistant: Row, *, actor: Actor, headers: Headers = None
    ) -> introspection.JsonSchema:
        """The input JSON schema of an assistant already read (None when its graph cannot
        say it; not to be changed). NotFound (404) when its graph is not loaded."""
        async with self._graph_of(assistant, actor, headers) as graph:
            return introspection.input_schema(graph)

    async def subgraphs(
        self,
        assistant_id: UUID,
        namespace: str | None,
        recurse: bool,
        *,
        actor: Actor,
        headers: Headers = None,
    ) -> dict[str, Any]:
        assistant = await self.get(assistant_id, actor=actor)
        async with self._graph_of(assistant, actor, headers) as graph:
            return await introspection.subgraph_schemas(graph, namespace=namespace, recurse=recurse)

    def _graph_of(self, assistant: Row, actor: Actor, headers: Headers) -> Any:
        graph_id = assistant["graph_id"]
        if graph_id not in self._registry:
            raise NotFound(
                f"Graph {graph_id!r} of assistant {assistant['assistant_id']} is not loaded"
            )
        config = self._headers.apply(actor.for_graph(dict(assistant["config"])), headers)
        return self._registry.graph(graph_id, cast(RunnableConfig, config))

    def _require_graph(self, graph_id: str) -> None:
        if graph_id not in self._registry:
            known = ", ".join(sorted(self._registry.ids())) or "none"
            raise NotFound(f"Graph {graph_id!r} not found; graphs in langgraph.json: {known}")

    async def _get(self, conn: Any, assistant_id: UUID, scope: AuthFilter | None) -> Row:
        found = await repo.get_assistant(conn, assistant_id=assistant_id, scope=scope)
        if found is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        return found


def _patched_values(current: Row, body: AssistantPatch) -> Row:
    values = {k: current[k] for k in repo.VERSION_FIELDS}
    if body.graph_id is not None:
        values["graph_id"] = body.graph_id
    if body.name is not None:
        values["name"] = body.name
    if body.description is not None:
        values["description"] = body.description
    if body.metadata is not None:
        values["metadata"] = {**current["metadata"], **body.metadata}
    if body.config is None and body.context is None:
        return values
    config = dict(body.config if body.config is not None else current["config"])
    context: Row | None
    if body.context is not None:
        if body.config is None:
            config.pop("configurable", None)  # the new context replaces the mirrored one
        context = body.context
    elif "configurable" in config:
        context = None  # taken from the new configurable
    else:
        context = current["context"]  # a config without configurable keeps the context
    values["config"], values["context"] = reconcile_context(config, context)
    return values


def select_fields(row: Row, select: Iterable[str] | None) -> Row:
    fields = select or _RESPONSE_FIELDS
    return {k: row[k] for k in fields if k in row}
