"""Threads: rows that hold status, metadata and a values snapshot; state lives in checkpoints."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.db.engine import Database
from graphport.errors import Conflict, NotFound
from graphport.repositories import checkpoints as checkpoint_repo
from graphport.repositories import threads as repo
from graphport.schemas.threads import (
    ThreadCountRequest,
    ThreadCreate,
    ThreadPatch,
    ThreadPruneRequest,
    ThreadSearchRequest,
    ThreadSelectField,
    ThreadTTL,
)
from graphport.services.assistants import Page, select_fields
from graphport.services.runs import RunService
from graphport.services.thread_state import ThreadStateService

logger = logging.getLogger(__name__)

Row = dict[str, Any]

# if_exists "do_nothing": insert, else read the thread there, as many times while another
# request deletes it in between
_CREATE_TRIES = 3
RESPONSE_FIELDS = tuple(f for f in get_args(ThreadSelectField) if f != "context")


def thread_json(row: Row, select: Sequence[str] | None = None) -> Row:
    return select_fields(row, select or RESPONSE_FIELDS)


class ThreadService:
    def __init__(
        self,
        db: Database,
        state: ThreadStateService,
        runs: RunService,
        *,
        default_ttl_minutes: float | None = None,
    ) -> None:
        self._db = db
        self._state = state
        self._runs = runs
        self._default_ttl = default_ttl_minutes

    def _ttl(self, ttl: ThreadTTL | None) -> tuple[Row | None, datetime | None]:
        minutes = ttl.ttl if ttl is not None else self._default_ttl
        if minutes is None:
            return None, None
        strategy = ttl.strategy if ttl is not None else "delete"
        expires_at = datetime.now(UTC) + timedelta(minutes=minutes)
        return {"ttl": minutes, "strategy": strategy}, expires_at

    async def create(
        self, body: ThreadCreate, *, actor: Actor, headers: Mapping[str, str] | None = None
    ) -> Row:
        """Create a thread (seeded with ``body.supersteps``; ``headers``: the request's,
        for the graph factory, as ``ThreadStateService`` reads them)."""
        thread_id = body.thread_id or uuid4()
        ttl, expires_at = self._ttl(body.ttl)
        asked: Row = {
            "thread_id": thread_id,
            "metadata": dict(body.metadata or {}),
            "if_exists": body.if_exists or "raise",
            "ttl": body.ttl.model_dump() if body.ttl else None,
        }
        scope = await actor.authorize("threads", "create", asked)
        metadata = dict(asked.get("metadata") or {})  # handlers stamp owners here
        graph_id = metadata.get("graph_id")
        if body.supersteps:
            self._state.require_graph(graph_id, "supersteps need metadata.graph_id")
        values = {
            "thread_id": thread_id,
            "metadata": metadata,
            "ttl": ttl,
            "expires_at": expires_at,
        }
        return thread_json(await self._create(values, body, scope, actor, headers))

    async def _create(
        self,
        values: Row,
        body: ThreadCreate,
        scope: AuthFilter | None,
        actor: Actor,
        headers: Mapping[str, str] | None,
    ) -> Row:
        """Insert the thread and seed its supersteps in one transaction (no run nor state
        update can come before the seed); the existing thread for ``if_exists: do_nothing``.
        Conflict (409) when the id is taken; InvalidInput (422) for refused supersteps."""
        failure: Exception | None = None
        async with self._db.transaction() as conn:
            created, existed = await self._insert(conn, values, body.if_exists, scope)
            if body.supersteps and not existed:
                try:
                    created = await self._state.apply_supersteps(
                        conn, created, body.supersteps, actor=actor, headers=headers
                    )
                except Exception as exc:  # the seeding undid itself on conn: commit that
                    failure = exc
        if failure is not None:
            raise failure
        return created

    async def _insert(
        self, conn: AsyncConnection, values: Row, if_exists: str | None, scope: AuthFilter | None
    ) -> tuple[Row, bool]:
        """Insert the thread; with ``if_exists: "do_nothing"`` the one already there. Returns
        it and whether it existed. Conflict (409) when it exists (and the caller may not see
        it, or asked ``raise``)."""
        thread_id = values["thread_id"]
        for _ in range(_CREATE_TRIES):
            created = await repo.create_thread(conn, values=values)
            if created is not None:
                return created, False
            if if_exists != "do_nothing":
                break
            # ours waited for the other's insert to commit; it may be deleted since
            existing = await repo.get_thread(conn, thread_id=thread_id)
            if existing is None:
                continue
            if scope and not await repo.thread_visible(conn, thread_id=thread_id, scope=scope):
                break
            return existing, True
        raise Conflict(f"Thread {thread_id} already exists")

    async def get(self, thread_id: UUID, *, include_ttl: bool = False, actor: Actor) -> Row:
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        async with self._db.transaction() as conn:
            found = await repo.get_thread(conn, thread_id=thread_id, scope=scope)
        if found is None:
            raise NotFound(f"Thread {thread_id} not found")
        shown = thread_json(found)
        if include_ttl:
            ttl = found["ttl"]
            shown["ttl"] = None if ttl is None else {**ttl, "expires_at": found["expires_at"]}
        return shown

    async def visible(self, thread_id: UUID, *, actor: Actor) -> bool:
        """Whether the caller's ``threads`` read handler lets them see the thread's events.
        The thread is read only when the handler filters; without a filter nothing is hidden
        and the answer is True, even for a thread not created yet (its events come once it
        is). Raises the handler's refusal."""
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        if not scope:
            return True
        async with self._db.transaction() as conn:
            found = await repo.get_thread(conn, thread_id=thread_id, scope=scope)
        return found is not None

    async def update(self, thread_id: UUID, body: ThreadPatch, *, actor: Actor) -> Row:
        ttl, expires_at = self._ttl(body.ttl) if body.ttl is not None else (None, None)
        asked: Row = {"thread_id": thread_id, "metadata": dict(body.metadata or {})}
        scope = await actor.authorize("threads", "update", asked)
        async with self._db.transaction() as conn:
            updated = await repo.patch_thread(
                conn,
                thread_id=thread_id,
                metadata=asked.get("metadata"),
                ttl=ttl,
                expires_at=expires_at,
                scope=scope,
            )
        if updated is None:
            raise NotFound(f"Thread {thread_id} not found")
        return thread_json(updated)

    async def delete(self, thread_id: UUID, *, actor: Actor) -> None:
        """Stop the thread's runs, then delete it and its checkpoints in one transaction.
        NotFound (404) when it does not exist or the ``threads.delete`` filter hides it."""
        scope = await actor.authorize("threads", "delete", {"thread_id": thread_id})
        await self._delete(thread_id, scope)

    async def _delete(self, thread_id: UUID, scope: AuthFilter | None) -> None:
        if scope:
            async with self._db.transaction() as conn:
                if not await repo.thread_visible(conn, thread_id=thread_id, scope=scope):
                    raise NotFound(f"Thread {thread_id} not found")
        await self._runs.cancels.stop_thread_runs(thread_id)
        async with self._db.transaction() as conn:
            late = await self._runs.cancels.stop_late_runs(conn, thread_id)
            if not await repo.delete_thread(conn, thread_id=thread_id, scope=scope):
                raise NotFound(f"Thread {thread_id} not found")
            await checkpoint_repo.delete_thread_checkpoints(conn, thread_ids=[thread_id])
        if late is not None:
            await self._runs.cancels.signal(late)

    async def prune(self, body: ThreadPruneRequest, *, actor: Actor) -> int:
        """Prune each thread named (once): ``delete`` deletes it as ``delete`` does (its
        runs stopped); ``keep_latest`` keeps it and its latest state, dropping older
        checkpoints (see ``ThreadStateService.keep_latest``). Every thread is authorized
        (``threads.delete``, as the official server asks) before any is pruned: a refusal
        (403) prunes none. Threads missing, hidden by the filter, or (``keep_latest``) busy
        with a run are skipped; returns how many were pruned."""
        thread_ids = list(dict.fromkeys(body.thread_ids))
        scopes = [
            await actor.authorize("threads", "delete", {"thread_id": thread_id})
            for thread_id in thread_ids
        ]
        pruned, skipped = 0, Counter[str]()
        for thread_id, scope in zip(thread_ids, scopes, strict=True):
            try:
                if body.strategy == "delete":
                    await self._delete(thread_id, scope)
                else:
                    await self._state.keep_latest(thread_id, scope=scope)
            except (NotFound, Conflict) as exc:
                skipped["missing" if isinstance(exc, NotFound) else "busy"] += 1
                continue
            pruned += 1
        if skipped:  # one line per request, not per thread: a prune names up to 1000
            logger.info("prune (%s) skipped %s thread(s)", body.strategy, dict(skipped))
        return pruned

    async def storage(self, thread_id: UUID, *, actor: Actor) -> Row:
        """The bytes the thread's checkpoints occupy (the ``ThreadStorage`` shape, as the
        official server reports it). NotFound (404) when it does not exist or the
        ``threads.read`` filter hides it."""
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        async with self._db.transaction() as conn:
            if not await repo.thread_visible(conn, thread_id=thread_id, scope=scope):
                raise NotFound(f"Thread {thread_id} not found")
            usage = await checkpoint_repo.get_thread_storage(conn, thread_id=thread_id)
        return {"thread_id": thread_id, **usage}

    async def delete_expired(self, *, batch: int = 500) -> int:
        """Delete threads whose TTL passed (and their checkpoints); returns how many."""
        async with self._db.transaction() as conn:
            expired = await repo.delete_expired_threads(conn, limit=batch)
            if expired:
                await checkpoint_repo.delete_thread_checkpoints(conn, thread_ids=expired)
        return len(expired)

    async def search(self, body: ThreadSearchRequest, *, actor: Actor) -> Page:
        asked = _search_value(body)
        scope = await actor.authorize("threads", "search", asked)
        metadata = asked.get("metadata") or None
        async with self._db.transaction() as conn:
            rows, total = await repo.search_threads(
                conn,
                ids=body.ids,
                metadata=metadata,
                values=body.values,
                status=body.status,
                sort_by=body.sort_by or "updated_at",  # recently active threads first
                descending=(body.sort_order or "desc") == "desc",
                limit=body.limit,
                offset=body.offset,
                scope=scope,
            )
            if total is None:
                total = await repo.count_threads(
                    conn,
                    metadata=metadata,
                    values=body.values,
                    status=body.status,
                    ids=body.ids,
                    scope=scope,
                )
        return Page.of([thread_json(r, body.select) for r in rows], total, body.offset)

    async def count(self, body: ThreadCountRequest, *, actor: Actor) -> int:
        asked = _search_value(body)
        scope = await actor.authorize("threads", "search", asked)
        async with self._db.transaction() as conn:
            return await repo.count_threads(
                conn,
                metadata=asked.get("metadata") or None,
                values=body.values,
                status=body.status,
                scope=scope,
            )

    async def copy(self, thread_id: UUID, *, actor: Actor) -> Row:
        """A new thread with the same metadata, values and every checkpoint. The caller must
        be able to read the source and to create the copy."""
        new_id = uuid4()
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        async with self._db.transaction() as conn:
            source = await repo.get_thread(conn, thread_id=thread_id, scope=scope)
            if source is None:
                raise NotFound(f"Thread {thread_id} not found")
        asked: Row = {"thread_id": new_id, "metadata": dict(source["metadata"])}
        await actor.authorize("threads", "create", asked)
        async with self._db.transaction() as conn:
            # locked: a concurrent delete must not take the checkpoints from under the copy
            source = await repo.get_thread(conn, thread_id=thread_id, scope=scope, for_update=True)
            if source is None:
                raise NotFound(f"Thread {thread_id} not found")
            values = {
                k: source[k] for k in ("config", "status", "values", "interrupts", "error", "ttl")
            }
            values["metadata"] = dict(asked.get("metadata") or {})
            if values["status"] == "busy":
                values["status"] = "idle"  # the copy has no run in flight
            values["expires_at"] = source["expires_at"]
            created = await repo.create_thread(conn, values={"thread_id": new_id, **values})
            assert created is not None
            await checkpoint_repo.copy_thread_checkpoints(conn, source=thread_id, target=new_id)
        return thread_json(created)


def _search_value(body: ThreadSearchRequest | ThreadCountRequest) -> Row:
    """What a ``threads.search`` handler sees."""
    value: Row = {"metadata": dict(body.metadata or {}), "values": body.values or {}}
    value["status"] = body.status
    if isinstance(body, ThreadSearchRequest):
        value.update(limit=body.limit, offset=body.offset, ids=body.ids)
    return value
