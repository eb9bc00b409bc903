"""Thread state: read and write LangGraph checkpoints through the thread's graph."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast
from uuid import UUID

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END
from langgraph.types import Command, StateSnapshot, StateUpdate
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.db.engine import Database
from graphport.errors import Conflict, GraphportError, InvalidInput, NotFound
from graphport.graphs.factories import AccessContext
from graphport.graphs.introspection import unknown_state_keys
from graphport.graphs.registry import AnyPregel, GraphRegistry, system_assistant_id
from graphport.graphs.state_format import (
    checkpoint_of,
    snapshot_json,
    thread_interrupts,
    thread_status,
)
from graphport.repositories import assistants as assistant_repo
from graphport.repositories import checkpoints as checkpoint_repo
from graphport.repositories import runs as run_repo
from graphport.repositories import threads as repo
from graphport.schemas.threads import (
    CheckpointConfig,
    Superstep,
    SuperstepUpdate,
    ThreadStateUpdate,
)

Row = dict[str, Any]

_GRAPH_KEYS = ("graph_id", "assistant_id")  # thread metadata naming the graph it runs


def _empty_state() -> Row:
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }


def _thread_config(thread_id: UUID, checkpoint: CheckpointConfig | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": str(thread_id), "checkpoint_ns": ""}
    if checkpoint is not None:
        if checkpoint.checkpoint_ns:
            configurable["checkpoint_ns"] = checkpoint.checkpoint_ns
        if checkpoint.checkpoint_id:
            configurable["checkpoint_id"] = checkpoint.checkpoint_id
        if checkpoint.checkpoint_map:
            configurable["checkpoint_map"] = checkpoint.checkpoint_map
    return RunnableConfig(configurable=configurable)


async def require_checkpoint(
    conn: AsyncConnection, thread_id: UUID, checkpoint: CheckpointConfig
) -> None:
    """NotFound (404) unless the thread has the checkpoint named: by id in its namespace,
    or (a subgraph namespace without an id) any checkpoint in that namespace."""
    namespace = checkpoint.checkpoint_ns or ""
    checkpoint_id = checkpoint.checkpoint_id or None  # "" names none, as LangGraph reads it
    if checkpoint_id is None and not namespace:
        return
    if not await checkpoint_repo.checkpoint_exists(
        conn, thread_id=thread_id, checkpoint_ns=namespace, checkpoint_id=checkpoint_id
    ):
        if checkpoint_id is None:
            raise NotFound(f"Checkpoint namespace {namespace!r} not found")
        raise NotFound(f"Checkpoint {checkpoint_id} not found")


# what is not the graph's doing: our own errors and storage failures (they stay 500)
_NOT_THE_GRAPH = (GraphportError, psycopg.Error, OSError)


@contextmanager
def _refused_as(problem: str) -> Iterator[None]:
    """What a graph raises while applying an update (a reducer refusing a value, an unknown
    node, ...) is the request's fault: 422."""
    try:
        yield
    except _NOT_THE_GRAPH:
        raise
    except Exception as exc:
        raise InvalidInput(f"{problem}: {type(exc).__name__}: {exc}") from exc


def _unreadable(thread_id: Any, exc: Exception) -> Conflict:
    return Conflict(
        f"The state of thread {thread_id} cannot be read: it holds writes the graph refuses "
        f"({type(exc).__name__}: {exc}); update the state or run the thread again"
    )


@contextmanager
def _reading(thread_id: Any) -> Iterator[None]:
    """Reading state replays stored writes through the graph's reducers: writes a failed run
    left that a reducer refuses make the state unreadable (409, not 500)."""
    try:
        yield
    except _NOT_THE_GRAPH:
        raise
    except Exception as exc:
        raise _unreadable(thread_id, exc) from exc


def _check_keys(graph: AnyPregel, values: Any, problem: str) -> None:
    """An update's keys must be state keys: LangGraph drops others without a word."""
    if isinstance(values, dict) and (unknown := unknown_state_keys(graph, values)):
        raise InvalidInput(f"{problem}: no state key(s) {unknown} in the graph")


def _check_supersteps(graph: AnyPregel, supersteps: list[Superstep]) -> None:
    """Superstep updates must name state keys, and ``command.goto`` nodes of the graph."""
    for step in supersteps:
        for update in step.updates:
            _check_keys(graph, update.values, "Invalid superstep")
            if update.command is not None:
                _check_keys(graph, update.command.update, "Invalid superstep")
            goto = update.command.goto if update.command is not None else None
            targets = goto if isinstance(goto, list) else [] if goto is None else [goto]
            for target in targets:
                node = target.get("node") if isinstance(target, dict) else target
                if node != END and (not isinstance(node, str) or node not in graph.nodes):
                    raise InvalidInput(f"Invalid superstep: command.goto names no node: {node!r}")


def _update_values(update: SuperstepUpdate) -> Any:
    """A superstep applies a command (update/goto) as if the node had returned it."""
    if update.command is None:
        return update.values
    return Command(**update.command.model_dump(exclude_none=True))


class ThreadStateService:
    def __init__(
        self, db: Database, registry: GraphRegistry, checkpointer: BaseCheckpointSaver[Any]
    ) -> None:
        self._db = db
        self._registry = registry
        self._checkpointer = checkpointer

    def require_graph(self, graph_id: Any, problem: str) -> str:
        if not isinstance(graph_id, str) or not graph_id:
            raise InvalidInput(problem)
        if graph_id not in self._registry:
            raise NotFound(f"Graph {graph_id!r} not found")
        return graph_id

    async def _thread(
        self,
        thread_id: UUID,
        actor: Actor,
        action: str,
        checkpoints: Sequence[CheckpointConfig | None] = (),
        **value: Any,
    ) -> tuple[Row, AuthFilter | None]:
        """The thread, once ``threads.<action>`` allows it (404 when its filter hides it),
        and when it has each of ``checkpoints`` (404 otherwise); with the filter (scope)."""
        scope = await actor.authorize("threads", action, {"thread_id": thread_id, **value})
        async with self._db.transaction() as conn:
            found = await repo.get_thread(conn, thread_id=thread_id, scope=scope)
            if found is None:
                raise NotFound(f"Thread {thread_id} not found")
            for checkpoint in checkpoints:
                if checkpoint is not None:
                    await require_checkpoint(conn, thread_id, checkpoint)
        return found, scope

    @asynccontextmanager
    async def _writing(
        self, thread: Row, scope: AuthFilter | None
    ) -> AsyncIterator[AsyncConnection]:
        """A transaction holding the thread's row lock while the caller writes its state:
        the lock run creation takes, so no run is created (and no other state write starts)
        until it commits. Conflict (409) when a run is pending or running: a worker claims a
        queued run without that lock, and a run writes checkpoints of its own. Conflict too
        when a run changed the thread's graph since ``thread`` was read."""
        thread_id = thread["thread_id"]
        async with self._db.transaction() as conn:
            locked = await repo.get_thread(conn, thread_id=thread_id, for_update=True, scope=scope)
            if locked is None:
                raise NotFound(f"Thread {thread_id} not found")
            # a statement of its own: its snapshot, taken after the lock, sees every run
            # created by an earlier lock holder
            if await run_repo.in_flight_runs(conn, thread_id=thread_id):
                raise Conflict(f"Thread {thread_id} is busy with a run; try again when it ends")
            if any(locked["metadata"].get(k) != thread["metadata"].get(k) for k in _GRAPH_KEYS):
                raise Conflict(f"Thread {thread_id} changed its graph meanwhile; try again")
            yield conn

    @asynccontextmanager
    async def _graph(
        self,
        thread: Row,
        actor: Actor,
        access: AccessContext = "threads.read",
        conn: AsyncConnection | None = None,
    ) -> AsyncIterator[AnyPregel | None]:
        """The thread's graph bound to the checkpointer, or None before its first run.
        ``conn``: a transaction the caller holds, to read the assistant on."""
        graph_id = thread["metadata"].get("graph_id")
        if not isinstance(graph_id, str) or graph_id not in self._registry:
            yield None
            return
        if conn is None:
            async with self._db.transaction() as conn:
                assistant_config = await self._assistant_config(conn, thread, graph_id)
        else:
            assistant_config = await self._assistant_config(conn, thread, graph_id)
        config = cast(RunnableConfig, actor.for_graph(dict(assistant_config)))
        async with self._registry.graph(
            graph_id, config, checkpointer=self._checkpointer, access_context=access
        ) as graph:
            yield graph

    async def _assistant_config(
        self, conn: AsyncConnection, thread: Row, graph_id: str
    ) -> RunnableConfig:
        raw = thread["metadata"].get("assistant_id")
        try:
            assistant_id = UUID(str(raw)) if raw else system_assistant_id(graph_id)
        except ValueError:
            assistant_id = system_assistant_id(graph_id)
        assistant = await assistant_repo.get_assistant(conn, assistant_id=assistant_id)
        return cast(RunnableConfig, dict(assistant["config"]) if assistant else {})

    async def get_state(
        self,
        thread_id: UUID,
        *,
        checkpoint: CheckpointConfig | None = None,
        subgraphs: bool = False,
        actor: Actor,
    ) -> Row:
        thread, _ = await self._thread(thread_id, actor, "read", [checkpoint])
        async with self._graph(thread, actor) as graph:
            if graph is None:
                return _empty_state()
            config = _thread_config(thread_id, checkpoint)
            snapshot = await self._read_state(graph, config, subgraphs)
        if checkpoint is not None and checkpoint.checkpoint_id and snapshot.created_at is None:
            raise NotFound(f"Checkpoint {checkpoint.checkpoint_id} not found")
        return snapshot_json(snapshot)

    async def history(
        self,
        thread_id: UUID,
        *,
        limit: int,
        before: CheckpointConfig | str | None,
        metadata: Row | None,
        checkpoint: CheckpointConfig | None,
        actor: Actor,
    ) -> list[Row]:
        if isinstance(before, str):
            before = CheckpointConfig(checkpoint_id=before)
        thread, _ = await self._thread(thread_id, actor, "read", [before, checkpoint])
        async with self._graph(thread, actor) as graph:
            if graph is None:
                return []
            with _reading(thread_id):
                states = [
                    snapshot_json(s)
                    async for s in graph.aget_state_history(
                        _thread_config(thread_id, checkpoint),
                        limit=limit,
                        before=_thread_config(thread_id, before) if before else None,
                        filter=metadata or None,
                    )
                ]
        return states

    async def _read_state(
        self, graph: AnyPregel, config: RunnableConfig, subgraphs: bool
    ) -> StateSnapshot:
        """The state at ``config``. The latest state includes the writes of the tasks that
        finished in a step that then failed; when the graph refuses those, the state its
        checkpoint stored is shown instead (409 when even that cannot be read)."""
        configurable = config.get("configurable") or {}
        thread_id = configurable.get("thread_id")
        try:
            return await graph.aget_state(config, subgraphs=subgraphs)
        except _NOT_THE_GRAPH:
            raise
        except Exception as exc:
            if "checkpoint_id" in configurable:
                raise _unreadable(thread_id, exc) from exc
            failure = exc
        stored = await self._checkpointer.aget_tuple(config)
        if stored is None:
            raise _unreadable(thread_id, failure) from failure
        with _reading(thread_id):
            return await graph.aget_state(stored.config, subgraphs=subgraphs)

    async def update_state(self, thread_id: UUID, body: ThreadStateUpdate, *, actor: Actor) -> Row:
        """Write ``body.values`` as if ``body.as_node`` ran, on the latest checkpoint or the
        one named (a fork); returns the checkpoint written. Serialised with run creation and
        other state writes on the thread (its row lock); the thread row ends as the head.
        NotFound (404): thread (or hidden) or checkpoint; Conflict (409): a run is pending
        or running; InvalidInput (422): values the graph refuses, or no graph yet."""
        checkpoint = body.checkpoint
        if body.checkpoint_id:
            checkpoint = CheckpointConfig(
                checkpoint_id=body.checkpoint_id,
                checkpoint_ns=checkpoint.checkpoint_ns if checkpoint else "",
            )
        thread, scope = await self._thread(
            thread_id, actor, "update", [checkpoint], values=body.values, as_node=body.as_node
        )
        if thread["status"] == "busy":  # early answer; _writing decides under the lock
            raise Conflict(f"Thread {thread_id} is busy with a run; try again when it ends")
        async with self._graph(thread, actor, "threads.update") as graph:
            if graph is None:
                raise InvalidInput(
                    f"Thread {thread_id} has no graph yet: run it once, or create it with "
                    "metadata.graph_id"
                )
            if body.as_node != "__copy__" and not (checkpoint and checkpoint.checkpoint_ns):
                _check_keys(graph, body.values, "Invalid state update")  # subgraphs have theirs
            async with self._writing(thread, scope) as conn:
                with _refused_as("Invalid state update"):
                    new_config = await graph.aupdate_state(
                        _thread_config(thread_id, checkpoint), body.values, as_node=body.as_node
                    )
                await self._record(conn, thread_id, graph)
        written = checkpoint_of(new_config)
        return {
            "checkpoint": written,
            "configurable": written,
            "checkpoint_id": written["checkpoint_id"] if written else None,
        }

    async def apply_supersteps(
        self, conn: AsyncConnection, thread: Row, supersteps: list[Superstep], *, actor: Actor
    ) -> Row:
        """Replay updates (as if the named nodes ran) to seed the state of a thread that
        ``conn``'s transaction has just inserted: no one sees the row before it commits, so
        no run nor state write races the seeding. Returns the thread row as recorded.

        On failure (InvalidInput 422 for updates the graph refuses) the checkpoints written
        and the row are deleted on ``conn`` before the error is raised: the caller commits
        that (a rollback would drop the row but leave checkpoints a later thread of the
        same id would inherit)."""
        thread_id = thread["thread_id"]
        updates = [
            [StateUpdate(_update_values(u), u.as_node) for u in step.updates] for step in supersteps
        ]
        try:
            async with self._graph(thread, actor, "threads.update", conn) as graph:
                assert graph is not None
                _check_supersteps(graph, supersteps)
                with _refused_as("Invalid superstep"):
                    await graph.abulk_update_state(_thread_config(thread_id), updates)
                return await self._record(conn, thread_id, graph)
        except Exception:
            await checkpoint_repo.delete_thread_checkpoints(conn, thread_ids=[thread_id])
            await repo.delete_thread(conn, thread_id=thread_id)
            raise

    async def _record(self, conn: AsyncConnection, thread_id: UUID, graph: AnyPregel) -> Row:
        """Copy the latest snapshot's values, status and interrupts onto the thread row,
        on ``conn`` (the transaction holding the row: the row ends as the head checkpoint)."""
        snapshot: StateSnapshot = await graph.aget_state(_thread_config(thread_id))
        updated = await repo.update_thread_state(
            conn,
            thread_id=thread_id,
            values=snapshot.values,
            status=thread_status(snapshot),
            interrupts=thread_interrupts(snapshot),
        )
        if updated is None:
            raise NotFound(f"Thread {thread_id} not found")
        return updated
