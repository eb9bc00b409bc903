"""Thread state: read and write LangGraph checkpoints through the thread's graph."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END
from langgraph.types import StateSnapshot, StateUpdate
from psycopg.errors import DeadlockDetected, SerializationFailure
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.db.engine import Database
from graphport.errors import Conflict, InvalidInput, NotFound
from graphport.execution.broker import STATE_UPDATE, Broker
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
from graphport.schemas.threads import CheckpointConfig, Superstep, ThreadStateUpdate
from graphport.services.configurable_headers import HeaderSelection
from graphport.services.state_writes import (
    NOT_THE_GRAPH,
    KeyedLocks,
    check_supersteps,
    keep_pending_updates,
    refused_as,
    superstep_update,
)

Row = dict[str, Any]

_GRAPH_KEYS = ("graph_id", "assistant_id")  # thread metadata naming the graph it runs
# how long a state write waits for the thread (behind other writes, in process then in the
# database) before answering 409: waits stay bounded, however many queue
LOCK_WAIT_SECONDS = 10.0


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
    except NOT_THE_GRAPH:
        raise
    except Exception as exc:
        raise _unreadable(thread_id, exc) from exc


def _check_keys(graph: AnyPregel, values: Any, problem: str) -> None:
    """An update's keys must be state keys: LangGraph drops others without a word."""
    if isinstance(values, dict) and (unknown := unknown_state_keys(graph, values)):
        raise InvalidInput(f"{problem}: no state key(s) {unknown} in the graph")


class ThreadStateService:
    def __init__(
        self,
        db: Database,
        registry: GraphRegistry,
        checkpointer: BaseCheckpointSaver[Any],
        events: Broker,
        headers: HeaderSelection | None = None,
    ) -> None:
        self._db = db
        self._headers = headers or HeaderSelection()
        self._registry = registry
        self._checkpointer = checkpointer
        self._events = events  # thread streams hear of state writes (``state_update``)
        self._write_locks = KeyedLocks()  # per thread id: one state write at a time here

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
        until it commits. Writes of one thread queue in process first, holding no database
        connection. Conflict (409): the thread stays busy past ``LOCK_WAIT_SECONDS`` (in
        process, then again for the row lock), a run is pending or running (a worker claims
        a queued run without that lock, and a run writes checkpoints of its own), or a run
        changed the thread's graph since ``thread`` was read."""
        thread_id = thread["thread_id"]
        busy = f"Thread {thread_id} is busy with other writes; try again"
        async with (
            self._write_locks.hold(thread_id, wait_seconds=LOCK_WAIT_SECONDS, busy=busy),
            self._db.transaction() as conn,
        ):
            await repo.bound_lock_waits(conn, seconds=LOCK_WAIT_SECONDS)
            try:
                locked = await repo.get_thread(
                    conn, thread_id=thread_id, for_update=True, scope=scope
                )
            except DBAPIError as exc:
                if repo.lock_timed_out(exc):
                    raise Conflict(busy) from None
                raise
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
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[AnyPregel | None]:
        """The thread's graph bound to the checkpointer, or None before its first run.
        ``conn``: a transaction the caller holds, to read the assistant on; ``headers``:
        the request's, some of which a graph factory's config receives, as for runs."""
        graph_id = thread["metadata"].get("graph_id")
        if not isinstance(graph_id, str) or graph_id not in self._registry:
            yield None
            return
        if conn is None:
            async with self._db.transaction() as conn:
                assistant_config = await self._assistant_config(conn, thread, graph_id)
        else:
            assistant_config = await self._assistant_config(conn, thread, graph_id)
        config = self._headers.apply(actor.for_graph(dict(assistant_config)), headers)
        async with self._registry.graph(
            graph_id,
            cast(RunnableConfig, config),
            checkpointer=self._checkpointer,
            access_context=access,
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
        headers: Mapping[str, str] | None = None,
    ) -> Row:
        thread, _ = await self._thread(thread_id, actor, "read", [checkpoint])
        async with self._graph(thread, actor, headers=headers) as graph:
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
        headers: Mapping[str, str] | None = None,
    ) -> list[Row]:
        if isinstance(before, str):
            before = CheckpointConfig(checkpoint_id=before)
        thread, _ = await self._thread(thread_id, actor, "read", [before, checkpoint])
        async with self._graph(thread, actor, headers=headers) as graph:
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
        except NOT_THE_GRAPH:
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

    async def update_state(
        self,
        thread_id: UUID,
        body: ThreadStateUpdate,
        *,
        actor: Actor,
        headers: Mapping[str, str] | None = None,
    ) -> Row:
        """Write ``body.values`` as if ``body.as_node`` ran, on the latest checkpoint or the
        one named (a fork); returns the checkpoint written. Serialised with run creation and
        other state writes on the thread (its row lock); the thread row ends as the head.
        NotFound (404): thread (or hidden) or checkpoint; Conflict (409): a run is pending
        or running, the thread stays busy with other writes past ``LOCK_WAIT_SECONDS``, or a
        command update pending on it cannot be kept (see ``keep_pending_updates``);
        InvalidInput (422): values the graph refuses, or no graph yet."""
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
        async with self._graph(thread, actor, "threads.update", headers=headers) as graph:
            if graph is None:
                raise InvalidInput(
                    f"Thread {thread_id} has no graph yet: run it once, or create it with "
                    "metadata.graph_id"
                )
            if body.as_node != "__copy__" and not (checkpoint and checkpoint.checkpoint_ns):
                _check_keys(graph, body.values, "Invalid state update")  # subgraphs have theirs
            async with self._writing(thread, scope) as conn:
                config = _thread_config(thread_id, checkpoint)
                new_config = await self._apply_update(graph, config, body)
                _, snapshot = await self._record(conn, thread_id, graph)
        # committed: the thread's streams get the new state, as the official server sends it
        state = {"state": snapshot_json(snapshot), "thread_id": str(thread_id)}
        await self._events.publish_thread(thread_id, STATE_UPDATE, state)
        written = checkpoint_of(new_config)
        return {
            "checkpoint": written,
            "configurable": written,
            "checkpoint_id": written["checkpoint_id"] if written else None,
        }

    async def _apply_update(
        self, graph: AnyPregel, config: RunnableConfig, body: ThreadStateUpdate
    ) -> RunnableConfig:
        """``body`` applied on ``config``'s checkpoint after the updates a command-only run
        left pending there (LangGraph's update would drop them; its update as __end__ with
        no values applies them itself). The checkpoint written; Conflict (409) when those
        cannot be kept, InvalidInput (422) for an update the graph refuses."""
        with refused_as("Invalid state update"):
            if not (body.as_node == END and body.values is None):
                kept = await keep_pending_updates(graph, self._checkpointer, config)
                if kept is not config and body.as_node == "__copy__" and body.values is None:
                    return kept  # a new checkpoint of the same values: the copy asked for
                config = kept
            return await graph.aupdate_state(config, body.values, as_node=body.as_node)

    async def apply_supersteps(
        self,
        conn: AsyncConnection,
        thread: Row,
        supersteps: list[Superstep],
        *,
        actor: Actor,
        headers: Mapping[str, str] | None = None,
    ) -> Row:
        """Replay updates (as if the named nodes ran) to seed the state of a thread that
        ``conn``'s transaction has just inserted: no one sees the row before it commits, so
        no run nor state write races the seeding. Returns the thread row as recorded.

        On failure (InvalidInput 422 for updates the graph refuses) the checkpoints written
        and the row are deleted on ``conn`` before the error is raised: the caller commits
        that (a rollback would drop the row but leave checkpoints a later thread of the
        same id would inherit)."""
        thread_id = thread["thread_id"]
        try:
            async with self._graph(thread, actor, "threads.update", conn, headers) as graph:
                assert graph is not None
                check_supersteps(graph, supersteps)
                updates = [
                    [StateUpdate(superstep_update(u), u.as_node) for u in step.updates]
                    for step in supersteps
                ]
                with refused_as("Invalid superstep"):
                    await graph.abulk_update_state(_thread_config(thread_id), updates)
                recorded, _ = await self._record(conn, thread_id, graph)
                return recorded
        except Exception:
            await checkpoint_repo.delete_thread_checkpoints(conn, thread_ids=[thread_id])
            await repo.delete_thread(conn, thread_id=thread_id)
            raise

    async def _record(
        self, conn: AsyncConnection, thread_id: UUID, graph: AnyPregel
    ) -> tuple[Row, StateSnapshot]:
        """Copy the latest snapshot's values, status and interrupts onto the thread row,
        on ``conn`` (the transaction holding the row: the row ends as the head checkpoint).
        The row as updated, and that snapshot."""
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
        return updated, snapshot

    async def keep_latest(self, thread_id: UUID, *, scope: AuthFilter | None) -> None:
        """Prune the thread's checkpoints to its latest state: LangGraph's saver keeps the
        latest checkpoint of each namespace with its pending writes and the blobs it uses,
        and drops the rest (and the namespaces of subgraph calls that ended). A state write
        (``_writing``): NotFound (404) when the thread is gone or ``scope`` hides it,
        Conflict (409) when it is busy (a run pending or running) or LangGraph cannot
        prune it (a DeltaChannel)."""
        async with self._db.transaction() as conn:
            thread = await repo.get_thread(conn, thread_id=thread_id, scope=scope)
        if thread is None:
            raise NotFound(f"Thread {thread_id} not found")
        async with self._writing(thread, scope):
            try:
                await self._checkpointer.aprune([str(thread_id)], strategy="keep_latest")
            except NotImplementedError as exc:
                raise Conflict(f"Thread {thread_id} cannot be pruned: {exc}") from None
            except (SerializationFailure, DeadlockDetected):  # a write slipped past the lock
                raise Conflict(f"Thread {thread_id} changed while pruned; try again") from None
