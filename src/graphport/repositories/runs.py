"""SQL for runs and the run queue. Nothing here commits: the caller owns the transaction."""

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
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import dialect as postgres_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.filters import AuthFilter
from graphport.db.raw import driver, jsonb
from graphport.db.tables import run, thread
from graphport.repositories.filters import auth_conditions

Row = dict[str, Any]

_PG = postgres_dialect()  # type: ignore[no-untyped-call]
IN_FLIGHT = ("pending", "running")

# The oldest due pending run whose thread has no running run and no older pending run.
# SKIP LOCKED lets many workers claim at once; the partial unique index on running runs
# per thread is the final guard against two claims racing on one thread. The claim locks
# run rows only (never the thread: a thread is "busy" while it has a running run).
_CLAIM_SQL = text(
    """
    WITH candidate AS (
        SELECT r.run_id FROM run r
        WHERE r.status = 'pending' AND r.available_at <= now()
          AND NOT EXISTS (
              SELECT 1 FROM run o
              WHERE o.thread_id = r.thread_id
                AND (o.status = 'running' OR (o.status = 'pending' AND o.seq < r.seq))
          )
        ORDER BY r.seq
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE run SET status = 'running', worker_id = :worker_id, attempt = run.attempt + 1,
               started_at = now(), heartbeat_at = now(), updated_at = now()
        FROM candidate WHERE run.run_id = candidate.run_id
        RETURNING run.*
    )
    SELECT * FROM claimed
    """
)

# Running runs whose worker no longer holds its advisory lock (the process died), or whose
# heartbeat stopped (the process hangs or lost its database connection).
_ORPHANS_SQL = text(
    """
    SELECT run_id, thread_id, attempt, cancel_action, graph_id,
      jsonb_build_object('thread_events', kwargs->'thread_events') AS kwargs
    FROM run
    WHERE status = 'running' AND (
        heartbeat_at < now() - make_interval(secs => :stale_seconds)
        OR NOT EXISTS (
            SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND ((l.classid::bigint << 32) | l.objid::bigint) = run.worker_id
        )
    )
    FOR UPDATE SKIP LOCKED
    """
)


# Hot-path statements (plain SQL for the raw driver; they hold no resources).
_IN_FLIGHT_RUNS = (
    select(run)
    .where(run.c.thread_id == bindparam("thread_id"), run.c.status.in_(IN_FLIGHT))
    .order_by(run.c.seq)
)
# Only the lock: whether runs are in flight is decided by a later statement (a fresh
# snapshot). A subquery here would use the snapshot taken before waiting for the lock and
# miss the run the previous lock holder just inserted.
_LOCK_THREAD_SQL = """
    SELECT t.metadata, t.interrupts FROM thread t WHERE t.thread_id = $1 FOR UPDATE OF t
"""
_INSERTABLE = [c.name for c in run.c if c.name != "seq"]
_RUN_DEFAULTS: Row = {
    "status": "pending",
    "attempt": 0,
    "worker_id": None,
    "ended_at": None,
    "cancel_action": None,
    "error": None,
    "trace_context": None,
}
_JSON_COLUMNS = {"metadata", "kwargs", "error", "trace_context"}
_PARAMS = [c for c in _INSERTABLE if c not in ("started_at", "heartbeat_at")]  # $n, in order


def _param(column: str) -> str:
    """``$n::type``: typed, since the values come through a SELECT, not a VALUES list."""
    return f"${_PARAMS.index(column) + 1}::{run.c[column].type.compile(dialect=_PG)}"


# Computed columns; ``d.running``: asked to start now (the caller holds a worker slot) and
# no run is pending or running on the thread. The INSERT decides this itself because its
# snapshot is taken after the caller locked the thread: it sees every run inserted by an
# earlier lock holder, so a second run can never come out running, nor overtake a queued one.
_COMPUTED = {
    "status": "CASE WHEN d.running THEN 'running' ELSE 'pending' END",
    "worker_id": f"CASE WHEN d.running THEN {_param('worker_id')} END",
    "attempt": f"CASE WHEN d.running THEN {_param('attempt')} ELSE 0 END",
    "started_at": "CASE WHEN d.running THEN d.at END",
    "heartbeat_at": "CASE WHEN d.running THEN d.at END",
    # the clock at insert (not at transaction start): created_at follows the queue order
    **{c: f"COALESCE({_param(c)}, d.at)" for c in ("created_at", "updated_at", "available_at")},
}
_INSERT_RUN_HEAD = (
    f"INSERT INTO run ({', '.join(_INSERTABLE)}) SELECT "
    + ", ".join(_COMPUTED.get(c) or _param(c) for c in _INSERTABLE)
    + f" FROM (SELECT clock_timestamp() AS at, {_param('status')} = 'running' AND NOT EXISTS ("
    f"SELECT 1 FROM run o WHERE o.thread_id = {_param('thread_id')} "
    "AND o.status IN ('pending', 'running')) AS running) d"
)
_INSERT_RUN_SQL = f"{_INSERT_RUN_HEAD} RETURNING *"
# A stateless run's thread and the run in one statement (atomic without a transaction);
# no row when the thread id is taken. The thread's metadata is the last parameter.
_INSERT_WITH_THREAD_SQL = (
    f"WITH t AS (INSERT INTO thread (thread_id, metadata) VALUES ({_param('thread_id')}, "
    f"${len(_PARAMS) + 1}::jsonb) ON CONFLICT (thread_id) DO NOTHING RETURNING 1) "
    f"{_INSERT_RUN_HEAD} CROSS JOIN t RETURNING *"
)


async def lock_thread_for_run(
    conn: AsyncConnection, *, thread_id: UUID, scope: AuthFilter | None = None
) -> Row | None:
    """Lock the thread row (serialising run creation on it): its metadata and interrupts.
    None when the thread does not exist; with an auth ``scope``, ``visible`` says whether
    the caller may see it (same round trip). Runs in flight are not part of the answer: ask
    ``in_flight_runs`` (a later statement) or let ``create_run`` decide."""
    if not scope:
        row = await (await driver(conn)).fetchrow(_LOCK_THREAD_SQL, thread_id)
        return dict(row) if row else None
    stmt = (
        select(
            thread.c.metadata,
            thread.c.interrupts,
            and_(*auth_conditions(thread.c.metadata, scope)).label("visible"),
        )
        .where(thread.c.thread_id == thread_id)
        .with_for_update(of=thread)
    )
    found = (await conn.execute(stmt)).mappings().first()
    return dict(found) if found else None


# graphport_create_run (migration 0010) takes the run's columns in the order of _PARAMS,
# then the thread's tags; its body repeats _INSERT_RUN_SQL's, frozen in the migration
# (tests/test_db_transactions.py checks the two parameter lists agree).
_CREATE_ON_THREAD_SQL = (
    "SELECT * FROM graphport_create_run("
    + ", ".join(f"${i}" for i in range(1, len(_PARAMS) + 2))
    + ")"
)


def _run_args(values: Row) -> list[Any]:
    full = {**_RUN_DEFAULTS, "created_at": None, "updated_at": None, "available_at": None, **values}
    return [jsonb(full[c]) if c in _JSON_COLUMNS else full[c] for c in _PARAMS]


async def create_run(conn: AsyncConnection, *, values: Row) -> Row:
    """Insert a run; the caller holds the thread's lock. ``status: "running"`` (with
    ``worker_id`` and ``attempt``) asks for it to start at once: it does only when no run
    is pending or running on the thread, else it is queued (``status`` of the answer)."""
    return dict(await (await driver(conn)).fetchrow(_INSERT_RUN_SQL, *_run_args(values)))


async def create_run_locking_thread(
    conn: AsyncConnection, *, values: Row, thread_tags: Row
) -> Row | None:
    """Lock the thread, tag it (``thread_tags`` merged into its metadata when it lacks
    them) and insert the run as ``create_run`` does, in one statement that needs no
    transaction of its own (one round trip instead of four). None, and nothing written,
    when the thread does not exist."""
    raw = await driver(conn, alone=True)
    row = await raw.fetchrow(_CREATE_ON_THREAD_SQL, *_run_args(values), jsonb(thread_tags))
    return dict(row) if row is not None else None


async def create_run_with_thread(
    conn: AsyncConnection, *, values: Row, thread_metadata: Row
) -> Row | None:
    """Insert a new thread (``values["thread_id"]``, ``thread_metadata``) and the run on it,
    as ``create_run`` does, in one statement that needs no transaction of its own (one
    round trip). None, and nothing written, when a thread with that id exists."""
    raw = await driver(conn, alone=True)
    row = await raw.fetchrow(_INSERT_WITH_THREAD_SQL, *_run_args(values), jsonb(thread_metadata))
    return dict(row) if row is not None else None


def _thread_scope(scope: AuthFilter | None) -> list[ColumnElement[bool]]:
    """Runs are visible when their thread is (an auth filter on the thread's metadata)."""
    if not scope:
        return []
    return [
        exists().where(
            thread.c.thread_id == run.c.thread_id, *auth_conditions(thread.c.metadata, scope)
        )
    ]


async def get_run(
    conn: AsyncConnection,
    *,
    run_id: UUID,
    thread_id: UUID | None = None,
    scope: AuthFilter | None = None,
) -> Row | None:
    stmt = select(run).where(run.c.run_id == run_id, *_thread_scope(scope))
    if thread_id is not None:
        stmt = stmt.where(run.c.thread_id == thread_id)
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def list_runs(
    conn: AsyncConnection, *, thread_id: UUID, status: str | None, limit: int, offset: int
) -> list[Row]:
    stmt = select(run).where(run.c.thread_id == thread_id)
    if status:
        stmt = stmt.where(run.c.status == status)
    stmt = stmt.order_by(run.c.seq.desc()).limit(limit).offset(offset)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def in_flight_runs(conn: AsyncConnection, *, thread_id: UUID) -> list[Row]:
    """Pending and running runs (no row locks: callers hold the thread's lock)."""
    rows = await conn.execute(_IN_FLIGHT_RUNS, {"thread_id": thread_id})
    return [dict(r) for r in rows.mappings()]


async def delete_run(conn: AsyncConnection, *, run_id: UUID) -> bool:
    return bool((await conn.execute(delete(run).where(run.c.run_id == run_id))).rowcount)


async def claim_next_run(conn: AsyncConnection, *, worker_id: int) -> Row | None:
    row = (await conn.execute(_CLAIM_SQL, {"worker_id": worker_id})).mappings().first()
    return dict(row) if row else None


async def next_available_at(conn: AsyncConnection) -> datetime | None:
    """When the earliest scheduled (after_seconds) pending run becomes due."""
    stmt = select(func.min(run.c.available_at)).where(
        run.c.status == "pending", run.c.available_at > func.now()
    )
    value: datetime | None = (await conn.execute(stmt)).scalar()
    return value


async def end_pending(
    conn: AsyncConnection, *, run_ids: list[UUID], delete_them: bool
) -> list[UUID]:
    """End runs that are still pending (interrupted, or deleted for a rollback)."""
    where = (run.c.run_id.in_(run_ids), run.c.status == "pending")
    if delete_them:
        deleted = await conn.execute(delete(run).where(*where).returning(run.c.run_id))
        return list(deleted.scalars())
    interrupted = await conn.execute(
        update(run)
        .where(*where)
        .values(status="interrupted", updated_at=func.now(), ended_at=func.now())
        .returning(run.c.run_id)
    )
    return list(interrupted.scalars())


async def request_cancel(conn: AsyncConnection, *, run_ids: list[UUID], action: str) -> list[UUID]:
    """Ask running runs to stop; returns those that were running. A rollback asked once
    stays asked: a later interrupt does not undo it."""
    kept = case((run.c.cancel_action == "rollback", run.c.cancel_action), else_=action)
    stmt = (
        update(run)
        .where(run.c.run_id.in_(run_ids), run.c.status == "running")
        .values(cancel_action=kept, updated_at=func.now())
        .returning(run.c.run_id)
    )
    return list((await conn.execute(stmt)).scalars())


async def select_runs_to_cancel(
    conn: AsyncConnection,
    *,
    thread_id: UUID | None,
    run_ids: list[UUID] | None,
    statuses: tuple[str, ...],
    scope: AuthFilter | None = None,
) -> list[Row]:
    stmt = select(run).where(run.c.status.in_(statuses), *_thread_scope(scope))
    if thread_id is not None:
        stmt = stmt.where(run.c.thread_id == thread_id)
    if run_ids is not None:
        stmt = stmt.where(run.c.run_id.in_(run_ids))
    stmt = stmt.order_by(run.c.seq)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def heartbeat(conn: AsyncConnection, *, run_ids: list[UUID], worker_id: int) -> None:
    stmt = (
        update(run)
        .where(run.c.run_id.in_(run_ids), run.c.worker_id == worker_id, run.c.status == "running")
        .values(heartbeat_at=func.now())
    )
    await conn.execute(stmt)


async def find_orphaned_runs(conn: AsyncConnection, *, stale_seconds: float) -> list[Row]:
    rows = await conn.execute(_ORPHANS_SQL, {"stale_seconds": stale_seconds})
    return [dict(r) for r in rows.mappings()]


async def requeue_runs(conn: AsyncConnection, *, run_ids: list[UUID]) -> None:
    """Return runs to the queue."""
    if not run_ids:
        return
    stmt = (
        update(run)
        .where(run.c.run_id.in_(run_ids), run.c.status == "running")
        .values(status="pending", worker_id=None, heartbeat_at=None, updated_at=func.now())
    )
    await conn.execute(stmt)


async def notify(conn: AsyncConnection, *, channel: str, payload: str, alone: bool = False) -> None:
    """Delivered to listeners when the surrounding transaction commits. ``alone``: when no
    statement of ``conn`` opened a transaction (what it announces is committed already), it
    is sent at once, in one round trip instead of three."""
    raw = await driver(conn, alone=alone)
    await raw.execute("SELECT pg_notify($1, $2)", channel, payload)


async def fail_runs(conn: AsyncConnection, *, run_ids: list[UUID], error: Row) -> None:
    """End runs as errors; threads first, like every writer, so locks never cross."""
    thread_ids = select(run.c.thread_id).where(run.c.run_id.in_(run_ids)).scalar_subquery()
    await conn.execute(
        update(thread)
        .where(thread.c.thread_id.in_(thread_ids))
        .values(status="error", error=error, updated_at=func.now())
    )
    await conn.execute(
        update(run)
        .where(run.c.run_id.in_(run_ids), run.c.status == "running")
        .values(status="error", error=error, ended_at=func.now(), updated_at=func.now())
    )


async def count_by_graph_and_status(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """``{(graph_id, status): n}`` over every run kept."""
    stmt = select(run.c.graph_id, run.c.status, func.count()).group_by(run.c.graph_id, run.c.status)
    return {(graph, status): int(n) for graph, status, n in await conn.execute(stmt)}


async def get_queue_waits(conn: AsyncConnection) -> dict[str, float | None]:
    """How long the due pending runs have waited, in seconds (None without any): the
    longest, the median, and the longest of those whose thread has no running run (the
    others wait for it, not for a worker). A run waits from when it is due: its creation,
    or the end of its ``after_seconds``."""
    running = run.alias("running")
    busy = exists().where(running.c.thread_id == run.c.thread_id, running.c.status == "running")
    waits = (
        select(
            func.extract("epoch", func.now() - run.c.available_at).label("wait"),
            busy.label("blocked"),
        )
        .where(run.c.status == "pending", run.c.available_at <= func.now())
        .subquery()
    )
    stmt = select(
        func.max(waits.c.wait),
        func.percentile_cont(0.5).within_group(waits.c.wait),
        func.max(waits.c.wait).filter(~waits.c.blocked),
    )
    longest, median, unblocked = (await conn.execute(stmt)).one()
    return {
        "pending_runs_wait_time_max_secs": _seconds(longest),
        "pending_runs_wait_time_med_secs": _seconds(median),
        "pending_unblocked_runs_wait_time_max_secs": _seconds(unblocked),
    }


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


async def end_cancelled(conn: AsyncConnection, *, run_ids: list[UUID]) -> None:
    """Runs whose cancel was asked before their worker died end as interrupted."""
    await conn.execute(
        update(run)
        .where(run.c.run_id.in_(run_ids), run.c.status == "running")
        .values(status="interrupted", ended_at=func.now(), updated_at=func.now())
    )
