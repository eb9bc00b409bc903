"""Runs: create (queue), wait, read; cancelling is ``RunCanceller`` (``.cancels``), joining
``RunWaiter`` (``.waits``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import SYSTEM, Actor
from graphport.auth.filters import AuthFilter, satisfying
from graphport.db.engine import Database
from graphport.errors import Conflict, InvalidInput, NotFound, UnknownInterrupt
from graphport.execution.broker import Broker
from graphport.execution.completions import Completions, RunOutcome
from graphport.execution.executor import Executor
from graphport.execution.listener import NEW_RUN
from graphport.graphs.registry import GraphRegistry
from graphport.graphs.state_format import pending_interrupt_ids
from graphport.repositories import assistants as assistant_repo
from graphport.repositories import runs as repo
from graphport.repositories import threads as thread_repo
from graphport.schemas.runs import (
    RunCreateStateful,
    RunCreateStateless,
    RunSelectField,
)
from graphport.services.assistants import select_fields
from graphport.services.configurable_headers import HeaderSelection
from graphport.services.run_access import RunAccess, authorize_run
from graphport.services.run_cancel import RunCanceller, Stopped
from graphport.services.run_checks import RunChecks
from graphport.services.run_kwargs import build_kwargs, stamp_config
from graphport.services.run_waits import Departure, RunWaiter
from graphport.tracing import OFF, Tracing

Row = dict[str, Any]
RunCreate = RunCreateStateful | RunCreateStateless

RUN_FIELDS = get_args(RunSelectField)
# if_not_exists "create": lock, else create, as many times while a concurrent request
# creates the thread and another deletes it before we can lock it
_CREATE_TRIES = 3


def run_json(row: Row, select: Sequence[str] | None = None) -> Row:
    return select_fields(row, select or RUN_FIELDS)


def _tags(assistant: Row) -> Row:
    return {"graph_id": assistant["graph_id"], "assistant_id": str(assistant["assistant_id"])}


def _new_thread_metadata(
    assistant: Row, body: RunCreate, metadata: Row, scope: AuthFilter | None
) -> Row:
    """What a thread the server creates for a run carries (a stateless run, ``if_not_exists:
    "create"``): the run's metadata as the caller's ``threads.create_run`` handler left it,
    and its config's, as on the official server, so a handler that stamps an owner on the
    run owns the thread too; then made to satisfy the handler's filter (which has the last
    word: a client's metadata cannot hand the thread to someone else). The graph and
    assistant tags win."""
    from_config = (body.config or {}).get("metadata") or {}
    return {**satisfying(scope, {**from_config, **metadata}), **_tags(assistant)}


def _locks_in_insert(body: RunCreateStateful, scope: AuthFilter | None) -> bool:
    """Whether the run can be created on its thread in one statement (lock, tag, insert):
    no auth filter to check on the thread, the ``enqueue`` strategy (nothing to stop), no
    strict resume to check against the thread's interrupts."""
    strict = body.strict_resume and body.command is not None and body.command.resume is not None
    return not scope and body.multitask_strategy in (None, "enqueue") and not strict


def _check_strict_resume(resume: Any, interrupts: dict[str, list[Row]]) -> None:
    """``strict_resume``: refuse an answer to an interrupt that is not waiting (the thread
    stays as it was) instead of letting the graph ignore it."""
    pending = pending_interrupt_ids(interrupts)
    if not pending:
        raise UnknownInterrupt(
            "UnknownInterruptError: the thread has no pending interrupt to resume"
        )
    if isinstance(resume, dict) and any(len(str(k)) == 32 for k in resume):
        unknown = sorted(str(k) for k in resume if k not in pending)
        if unknown:
            raise UnknownInterrupt(
                f"UnknownInterruptError: no pending interrupt {', '.join(unknown)}"
            )


class RunService:
    def __init__(
        self,
        db: Database,
        registry: GraphRegistry,
        executor: Executor,
        completions: Completions,
        checks: RunChecks,
        broker: Broker,
        *,
        origin: str,
        headers: HeaderSelection | None = None,
        tracing: Tracing = OFF,
    ) -> None:
        self._db = db
        self._tracing = tracing  # a run carries its creating request's trace
        self._headers = headers or HeaderSelection()
        self._registry = registry
        self._executor = executor
        self._completions = completions
        self._broker = broker
        self._origin = origin
        self.cancels = RunCanceller(db, executor, completions, origin=origin)
        self.waits = RunWaiter(db, completions, self.cancels, registry)
        self.checks = checks

    # -- create ------------------------------------------------------------------------------

    async def create(
        self,
        thread_id: UUID | None,
        body: RunCreate,
        *,
        actor: Actor,
        observable: bool = True,
        streamed: bool = False,
        run_id: UUID | None = None,
        cron_id: UUID | None = None,
        headers: Mapping[str, str] | None = None,
        thread_events: bool = False,
    ) -> Row:
        """Queue a run. ``thread_id`` None: a stateless run on a thread of its own.
        ``run_id``: the new run's id, when the caller must know it beforehand; ``cron_id``:
        the cron firing it; ``headers``: the request's, some of which the run's
        ``configurable`` receives (``HeaderSelection``); ``thread_events``: a run of thread
        event streaming (``run.start``), which streams LangGraph's protocol events to its
        thread (execution/thread_runs.py).

        When this process has a free worker slot and the thread is idle, the run is inserted
        already running and started here: no claim round trip, no wake-up delay."""
        assistant_id = self._assistant_uuid(body.assistant_id)
        run_id = run_id or uuid4()
        system = assistant_id in self._registry.system_assistant_ids
        access = await authorize_run(actor, thread_id, assistant_id, run_id, body, system=system)
        body, scope, assistant_scope = access.body, access.thread_scope, access.assistant_scope
        await self.checks.check(
            thread_id, assistant_id, body, actor=actor, assistant_scope=assistant_scope
        )
        stopped: Stopped | None = None
        reserved = False
        try:
            async with self._db.transaction() as conn:
                assistant = await self._assistant(conn, assistant_id, assistant_scope)
                if assistant is None:
                    raise NotFound(f"Assistant {assistant_id} not found")
                if assistant["graph_id"] not in self._registry:
                    raise NotFound(f"Graph {assistant['graph_id']!r} is not loaded")
                owned = _new_thread_metadata(assistant, body, access.metadata, scope)
                new_thread: Row | None = None
                tags: Row | None = None
                if thread_id is None or isinstance(body, RunCreateStateless):
                    # a thread of its own, inserted with the run
                    thread_id, new_thread, busy = thread_id or uuid4(), owned, False
                elif _locks_in_insert(body, scope):
                    tags, busy = _tags(assistant), False
                else:
                    stopped, busy = await self._prepare_thread(
                        conn, thread_id, assistant, body, scope, owned
                    )
                picked = self._headers.select(headers)
                values = self._run_values(run_id, thread_id, assistant, body, access, picked)
                config = values["kwargs"]["config"]
                values["kwargs"]["config"] = stamp_config(config, values, actor, cron_id)
                # Background and streamed runs produce events (a join may come at any time);
                # a run someone waits on only does when a stream joins before it starts.
                values["kwargs"]["observable"] = observable or thread_events
                if thread_events:
                    values["kwargs"]["thread_events"] = True
                found, reserved = await self._insert(
                    conn, values, body, may_start=not busy, new_thread=new_thread, tags=tags
                )
                if found is None:  # no such thread: the general path answers 404 or makes it
                    assert isinstance(body, RunCreateStateful)
                    stopped, busy = await self._prepare_thread(
                        conn, thread_id, assistant, body, scope, owned
                    )
                    found, reserved = await self._insert(conn, values, body, may_start=not busy)
                assert found is not None
                created = found
        except BaseException:
            if reserved:
                self._executor.release_slot(run_id)
            raise
        if stopped is not None:
            await self.cancels.signal(stopped)
        if observable or thread_events or body.stream_resumable:
            await self._broker.prepare(
                created["run_id"],
                created["thread_id"],
                resumable=body.stream_resumable,
                streamed=streamed,
            )
        if reserved:
            self._executor.start_reserved(created)
        else:
            self._executor.wake(created["available_at"] if body.after_seconds else None)
        return created

    async def _insert(
        self,
        conn: AsyncConnection,
        values: Row,
        body: RunCreate,
        *,
        may_start: bool,
        new_thread: Row | None = None,
        tags: Row | None = None,
    ) -> tuple[Row | None, bool]:
        """Insert the run (the thread is locked); returns it and whether it holds a worker
        slot reserved here, to start after the commit. It does when a slot is free and no
        run is in flight on the thread: the INSERT decides that, with a snapshot taken after
        the lock (one round trip; ``may_start`` False: the caller knows the thread is busy).
        ``new_thread``: the metadata of a thread to insert with the run (a stateless run's);
        Conflict (409) when that thread id is taken. ``tags``: the thread is not locked yet:
        lock it, tag it and insert, in one statement; (None, False) when it does not exist."""
        run_id = values["run_id"]
        reserved = may_start and not body.after_seconds and self._executor.reserve_slot(run_id)
        if reserved:
            values.update(self._executor.claimed_now())
        try:
            if new_thread is not None:
                created = await repo.create_run_with_thread(
                    conn, values=values, thread_metadata=new_thread
                )
                if created is None:
                    raise Conflict(f"Thread {values['thread_id']} already exists")
            elif tags is not None:
                created = await repo.create_run_locking_thread(
                    conn, values=values, thread_tags=tags
                )
            else:
                created = await repo.create_run(conn, values=values)
        except BaseException:
            if reserved:
                self._executor.release_slot(run_id)
            raise
        if created is None:
            if reserved:
                self._executor.release_slot(run_id)
                for column in self._executor.claimed_now():
                    values.pop(column)
            return None, False
        if reserved and created["status"] != "running":
            # queued behind a run in flight: the slot is free again for the claim loop
            reserved = False
            self._executor.release_slot(run_id)
        if not reserved and (body.after_seconds or not self._executor.has_free_slot()):
            # another process may have a free worker: tell them (delivered on commit)
            due = values.get("available_at")
            payload = f"{self._origin}:{due.timestamp() if due else ''}"
            await repo.notify(conn, channel=NEW_RUN, payload=payload, alone=True)
        return created, reserved

    async def _assistant(
        self, conn: AsyncConnection, assistant_id: UUID, scope: AuthFilter | None
    ) -> Row | None:
        if not scope:
            return await assistant_repo.get_assistant_for_run(conn, assistant_id=assistant_id)
        return await assistant_repo.get_assistant(conn, assistant_id=assistant_id, scope=scope)

    def _assistant_uuid(self, raw: str) -> UUID:
        resolved = self._registry.resolve_assistant_id(raw)
        if resolved is not None:
            return resolved
        known = ", ".join(sorted(self._registry.ids())) or "none"
        raise InvalidInput(
            f"Invalid assistant: {raw!r}. Must be either:\n- A valid assistant UUID, or\n"
            f"- One of the registered graphs: {known}"
        )

    async def _prepare_thread(
        self,
        conn: AsyncConnection,
        thread_id: UUID,
        assistant: Row,
        body: RunCreateStateful,
        scope: AuthFilter | None,
        owned: Row,
    ) -> tuple[Stopped | None, bool]:
        """Lock the thread (create it with ``owned`` metadata if asked), apply the
        multitask strategy, tag it. Returns the runs the strategy stopped, and whether runs
        are in flight. ``enqueue`` does not ask (False): the run's INSERT itself decides
        whether it starts or queues."""
        stopped, busy = None, False
        thread = await self._lock_thread(conn, thread_id, body, scope, owned)
        if thread is not None:
            if body.strict_resume and body.command and body.command.resume is not None:
                _check_strict_resume(body.command.resume, thread["interrupts"])
            if body.multitask_strategy not in (None, "enqueue"):
                stopped, busy = await self._apply_multitask(
                    conn, thread_id, body.multitask_strategy
                )
        tags = _tags(assistant)
        if thread is not None and any(thread["metadata"].get(k) != v for k, v in tags.items()):
            await thread_repo.patch_thread(
                conn, thread_id=thread_id, metadata=tags, ttl=None, expires_at=None
            )
        return stopped, busy

    async def _lock_thread(
        self,
        conn: AsyncConnection,
        thread_id: UUID,
        body: RunCreateStateful,
        scope: AuthFilter | None,
        owned: Row,
    ) -> Row | None:
        """The locked thread row; None when this call created the thread (``if_not_exists:
        "create"``, with ``owned`` metadata). NotFound (404) when it does not exist and may
        not be created, or the caller may not see it; Conflict (409) only when it kept being
        created and deleted by concurrent requests as fast as we tried to create it."""
        for _ in range(_CREATE_TRIES):
            thread = await repo.lock_thread_for_run(conn, thread_id=thread_id, scope=scope)
            if thread is not None:
                if not thread.get("visible", True):
                    raise NotFound(f"Thread {thread_id} not found")
                return thread
            if body.if_not_exists != "create":
                raise NotFound(f"Thread {thread_id} not found")
            values = {"thread_id": thread_id, "metadata": owned}
            if await thread_repo.create_thread(conn, values=values) is not None:
                return None
            # A concurrent request created it first (our insert waited for it to commit):
            # lock it as an existing thread, unless it was deleted since: then create again.
        raise Conflict(f"Thread {thread_id} is being created and deleted concurrently; retry")

    async def _apply_multitask(
        self, conn: AsyncConnection, thread_id: UUID, strategy: str
    ) -> tuple[Stopped | None, bool]:
        in_flight = await repo.in_flight_runs(conn, thread_id=thread_id)
        if not in_flight:
            return None, False
        if strategy == "enqueue":
            return None, True
        if strategy == "reject":
            raise Conflict(
                f"Thread {thread_id} is busy with run {in_flight[0]['run_id']}; "
                "use multitask_strategy enqueue, interrupt or rollback"
            )
        return await self.cancels.cancel_rows(conn, in_flight, strategy), True

    def _run_values(
        self,
        run_id: UUID,
        thread_id: UUID,
        assistant: Row,
        body: RunCreate,
        access: RunAccess,
        headers: Row,
    ) -> Row:
        available_at = None
        if body.after_seconds:
            available_at = datetime.now(UTC) + timedelta(seconds=body.after_seconds)
        values: Row = {
            "run_id": run_id,
            "thread_id": thread_id,
            "assistant_id": assistant["assistant_id"],
            "graph_id": assistant["graph_id"],
            "metadata": access.metadata,
            "kwargs": build_kwargs(assistant, body, headers),
            "multitask_strategy": body.multitask_strategy or "enqueue",
        }
        if available_at is not None:
            values["available_at"] = available_at
        if (trace_context := self._tracing.carrier()) is not None:
            values["trace_context"] = trace_context
        return values

    async def create_batch(
        self,
        bodies: list[RunCreateStateless],
        *,
        actor: Actor,
        headers: Mapping[str, str] | None = None,
    ) -> list[Row]:
        for body in bodies:  # one bad run refuses the batch before any run is created
            assistant_id = self._assistant_uuid(body.assistant_id)
            await self.checks.check(None, assistant_id, body, actor=actor, assistant_scope=None)
        return [await self.create(None, body, actor=actor, headers=headers) for body in bodies]

    # -- wait ------------------------------------------------------------------------------

    async def wait(
        self,
        thread_id: UUID | None,
        body: RunCreate,
        *,
        actor: Actor,
        departure: Departure | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Row, Any]:
        """Create a run and await its end: (the run, its output). Raises ``ClientLeft``
        when ``departure`` returns first; the run is then cancelled if the body says
        ``on_disconnect: "cancel"`` (by the server: the caller asked for it when creating
        the run), else it runs on (the default, as on the official server)."""
        created, future = await self._create_and_expect(thread_id, body, actor, headers)
        leave_cancels = SYSTEM if body.on_disconnect == "cancel" else None
        return created, await self.waits.output(created, future, departure, leave_cancels)

    async def _create_and_expect(
        self,
        thread_id: UUID | None,
        body: RunCreate,
        actor: Actor,
        headers: Mapping[str, str] | None,
    ) -> tuple[Row, asyncio.Future[RunOutcome]]:
        # Expected before it exists: a queued run may be ended (a cancel, here or in another
        # process) as soon as it is committed, before create() returns.
        run_id = uuid4()
        future = self._completions.expect(run_id)
        try:
            created = await self.create(
                thread_id, body, actor=actor, observable=False, run_id=run_id, headers=headers
            )
        except BaseException:
            self._completions.forget(run_id, future)
            raise
        return created, future

    # -- read --------------------------------------------------------------------------------

    async def get(self, thread_id: UUID | None, run_id: UUID, *, actor: Actor) -> Row:
        value = {"thread_id": thread_id, "run_id": run_id}
        scope = await actor.authorize("threads", "read", value)
        async with self._db.transaction() as conn:
            found = await repo.get_run(conn, run_id=run_id, thread_id=thread_id, scope=scope)
        if found is None:
            raise NotFound(f"Run {run_id} not found")
        return found

    async def list_runs(
        self, thread_id: UUID, *, status: str | None, limit: int, offset: int, actor: Actor
    ) -> list[Row]:
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        async with self._db.transaction() as conn:
            if await thread_repo.get_thread(conn, thread_id=thread_id, scope=scope) is None:
                raise NotFound(f"Thread {thread_id} not found")
            return await repo.list_runs(
                conn, thread_id=thread_id, status=status, limit=limit, offset=offset
            )

    async def delete(self, thread_id: UUID, run_id: UUID, *, actor: Actor) -> None:
        value = {"thread_id": thread_id, "run_id": run_id}
        scope = await actor.authorize("threads", "delete", value)
        async with self._db.transaction() as conn:
            found = await repo.get_run(conn, run_id=run_id, thread_id=thread_id, scope=scope)
            if found is None:
                raise NotFound(f"Run {run_id} not found")
            if found["status"] in repo.IN_FLIGHT:
                raise Conflict(f"Run {run_id} is {found['status']}; cancel it before deleting")
            await repo.delete_run(conn, run_id=run_id)
