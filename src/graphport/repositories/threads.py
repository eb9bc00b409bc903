"""SQL for threads. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.filters import AuthFilter
from graphport.db.raw import driver, jsonb
from graphport.db.tables import run, thread
from graphport.repositories.filters import auth_conditions, fetch_page

Row = dict[str, Any]

UNCHANGED: Any = object()  # leave the values snapshot as it is


def _filters(
    *,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: str | None,
    ids: list[UUID] | None = None,
    scope: AuthFilter | None = None,
) -> list[ColumnElement[bool]]:
    clauses = auth_conditions(thread.c.metadata, scope)
    if metadata:
        clauses.append(thread.c.metadata.contains(metadata))
    if values:
        clauses.append(thread.c["values"].contains(values))  # NULL values never match
    if status:
        if status == "busy":
            clauses.append(_HAS_RUNNING_RUN)
        else:
            clauses.append(and_(thread.c.status == status, ~_HAS_RUNNING_RUN))
    if ids is not None:
        clauses.append(thread.c.thread_id.in_(ids))
    return clauses


_HAS_RUNNING_RUN = exists().where(run.c.thread_id == thread.c.thread_id, run.c.status == "running")
# ``busy`` is derived from the queue (a running run), so claiming a run never has to lock
# the thread row; the stored status is the last run's outcome.
_STATUS = case((_HAS_RUNNING_RUN, "busy"), else_=thread.c.status).label("status")
_COLUMNS = [_STATUS if c.name == "status" else c for c in thread.c]
# Hot-path statements, built once (they hold no resources, only SQL).
_GET_THREAD = select(*_COLUMNS).where(thread.c.thread_id == bindparam("thread_id"))
_GET_THREAD_FOR_UPDATE = _GET_THREAD.with_for_update(of=thread)


def _columns() -> list[ColumnElement[Any]]:
    return list(_COLUMNS)


def _merged_metadata(patch: dict[str, Any]) -> ColumnElement[Any]:
    """Top-level keys of ``patch`` replace the stored ones (JSONB ``||``)."""
    return thread.c.metadata.op("||")(literal(patch, type_=JSONB))


async def create_thread(conn: AsyncConnection, *, values: Row) -> Row | None:
    """Insert a thread; None when the id is taken."""
    stmt = (
        pg_insert(thread)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[thread.c.thread_id])
        .returning(*_columns())
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def get_thread(
    conn: AsyncConnection,
    *,
    thread_id: UUID,
    for_update: bool = False,
    scope: AuthFilter | None = None,
) -> Row | None:
    """The thread, or None when it does not exist or ``scope`` (an auth filter) hides it."""
    stmt = _GET_THREAD_FOR_UPDATE if for_update else _GET_THREAD
    if scope:
        stmt = stmt.where(*auth_conditions(thread.c.metadata, scope))
    row = (await conn.execute(stmt, {"thread_id": thread_id})).mappings().first()
    return dict(row) if row else None


async def bound_lock_waits(conn: AsyncConnection, *, seconds: float) -> None:
    """Past ``seconds`` (for the rest of the transaction), a statement waiting for a lock
    fails with lock_not_available (see ``lock_timed_out``) instead of waiting on."""
    value = f"{max(1, round(seconds * 1000))}ms"
    await conn.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": value})


def lock_timed_out(exc: DBAPIError) -> bool:
    """Whether ``exc`` is a lock wait that ``bound_lock_waits`` ended (SQLSTATE 55P03)."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"


async def thread_visible(
    conn: AsyncConnection, *, thread_id: UUID, scope: AuthFilter | None
) -> bool:
    stmt = select(literal(1)).where(
        thread.c.thread_id == thread_id, *auth_conditions(thread.c.metadata, scope)
    )
    return (await conn.execute(stmt)).first() is not None


async def patch_thread(
    conn: AsyncConnection,
    *,
    thread_id: UUID,
    metadata: dict[str, Any] | None,
    ttl: dict[str, Any] | None,
    expires_at: datetime | None,
    scope: AuthFilter | None = None,
) -> Row | None:
    """Merge metadata (top-level keys) and replace the TTL when one is given."""
    values: dict[str, Any] = {"updated_at": func.now()}
    if metadata:
        values["metadata"] = _merged_metadata(metadata)
    if ttl is not None:
        values["ttl"] = ttl
        values["expires_at"] = expires_at
    stmt = (
        update(thread)
        .where(thread.c.thread_id == thread_id, *auth_conditions(thread.c.metadata, scope))
        .values(**values)
        .returning(*_columns())
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def update_thread_state(
    conn: AsyncConnection,
    *,
    thread_id: UUID,
    values: Any,
    status: str,
    interrupts: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> Row | None:
    """Record the latest state snapshot (values, status, pending interrupts)."""
    changes: dict[str, Any] = {
        "status": status,
        "interrupts": interrupts,
        "error": error,
        "updated_at": func.now(),
        "state_updated_at": func.now(),
    }
    if values is not UNCHANGED:
        changes["values"] = values
    if metadata:
        changes["metadata"] = _merged_metadata(metadata)
    stmt = (
        update(thread)
        .where(thread.c.thread_id == thread_id)
        .values(**changes)
        .returning(*_columns())
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def delete_thread(
    conn: AsyncConnection, *, thread_id: UUID, scope: AuthFilter | None = None
) -> bool:
    stmt = delete(thread).where(
        thread.c.thread_id == thread_id, *auth_conditions(thread.c.metadata, scope)
    )
    return bool((await conn.execute(stmt)).rowcount)


async def search_threads(
    conn: AsyncConnection,
    *,
    ids: list[UUID] | None,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: str | None,
    sort_by: str,
    descending: bool,
    limit: int,
    offset: int,
    scope: AuthFilter | None = None,
) -> tuple[list[Row], int | None]:
    """A page of threads and the total match count (None when the page is empty)."""
    column = _STATUS if sort_by == "status" else thread.c[sort_by]
    tiebreak = thread.c.thread_id
    stmt = (
        select(*_columns())
        .where(*_filters(metadata=metadata, values=values, status=status, ids=ids, scope=scope))
        .order_by(column.desc() if descending else column.asc())
        .order_by(tiebreak.desc() if descending else tiebreak.asc())
        .limit(limit)
        .offset(offset)
    )
    return await fetch_page(conn, stmt)


async def count_threads(
    conn: AsyncConnection,
    *,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: str | None,
    ids: list[UUID] | None = None,
    scope: AuthFilter | None = None,
) -> int:
    stmt = (
        select(func.count())
        .select_from(thread)
        .where(*_filters(metadata=metadata, values=values, status=status, ids=ids, scope=scope))
    )
    return int((await conn.execute(stmt)).scalar_one())


async def delete_expired_threads(conn: AsyncConnection, *, limit: int) -> list[UUID]:
    """Delete up to ``limit`` threads whose TTL has passed; skip rows others hold, and
    threads with runs in flight (a run is activity: they go at a later sweep)."""
    in_flight = exists().where(
        run.c.thread_id == thread.c.thread_id, run.c.status.in_(("pending", "running"))
    )
    expired = (
        select(thread.c.thread_id)
        .where(thread.c.expires_at <= func.now(), ~in_flight)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = delete(thread).where(thread.c.thread_id.in_(expired)).returning(thread.c.thread_id)
    return list((await conn.execute(stmt)).scalars())


async def delete_threads_with_metadata(
    conn: AsyncConnection, *, metadata: dict[str, Any], scope: AuthFilter | None = None
) -> list[UUID]:
    stmt = (
        delete(thread)
        .where(thread.c.metadata.contains(metadata), *auth_conditions(thread.c.metadata, scope))
        .returning(thread.c.thread_id)
    )
    return list((await conn.execute(stmt)).scalars())


_THREAD_END = (
    "UPDATE thread SET status = $2, interrupts = $3, error = $4, "
    "values = CASE WHEN $5 THEN $6::jsonb ELSE values END, "
    "updated_at = now(), state_updated_at = now() WHERE thread_id = $1"
)
_QUEUED = "EXISTS (SELECT 1 FROM run WHERE run.thread_id = $1 AND run.status = 'pending')"
_RECORD_RUN_END_SQL = f"{_THREAD_END} RETURNING {_QUEUED}"
# The run's own end in the same statement (atomic without a transaction). It reads ``t``,
# so the thread row is locked first, as by every writer.
_RECORD_AND_FINISH_SQL = (
    f"WITH t AS ({_THREAD_END} RETURNING 1), r AS ("
    "UPDATE run SET status = $8, error = $4, ended_at = now(), updated_at = now() "
    "WHERE run_id = $7 AND status = 'running' AND EXISTS (SELECT 1 FROM t)) "
    f"SELECT {_QUEUED}"
)


def _end_args(
    thread_id: UUID, values: Any, status: str, interrupts: dict[str, Any], error: Any
) -> list[Any]:
    keep = values is UNCHANGED
    return [
        thread_id,
        status,
        jsonb(interrupts),
        jsonb(error),
        not keep,
        None if keep else jsonb(values),
    ]


async def record_run_end(
    conn: AsyncConnection,
    *,
    thread_id: UUID,
    values: Any,
    status: str,
    interrupts: dict[str, Any],
    error: dict[str, Any] | None,
) -> bool:
    """The run-end update of the thread row, in ``conn``'s transaction (hot path: raw
    driver). Returns whether runs are queued on the thread."""
    args = _end_args(thread_id, values, status, interrupts, error)
    return bool(await (await driver(conn)).fetchval(_RECORD_RUN_END_SQL, *args))


async def finish_run(
    raw: Any,
    *,
    thread_id: UUID,
    run: tuple[UUID, str],
    values: Any,
    status: str,
    interrupts: dict[str, Any],
    error: dict[str, Any] | None,
) -> bool:
    """``record_run_end`` and the run's own end (``run``: its id and final status) in one
    statement, atomic without a transaction, on ``raw`` (an asyncpg connection from
    ``Database.statement``). Returns whether runs are queued on the thread."""
    args = _end_args(thread_id, values, status, interrupts, error)
    return bool(await raw.fetchval(_RECORD_AND_FINISH_SQL, *args, *run))
