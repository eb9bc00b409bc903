"""SQL for crons. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.filters import AuthFilter
from graphport.db.tables import assistant, cron, thread
from graphport.repositories.filters import auth_conditions, fetch_page

Row = dict[str, Any]


def _filters(
    *,
    assistant_id: UUID | None,
    thread_id: UUID | None,
    metadata: dict[str, Any] | None,
    enabled: bool | None,
    scope: AuthFilter | None = None,
) -> list[ColumnElement[bool]]:
    clauses = auth_conditions(cron.c.metadata, scope)
    if assistant_id is not None:
        clauses.append(cron.c.assistant_id == assistant_id)
    if thread_id is not None:
        clauses.append(cron.c.thread_id == thread_id)
    if metadata:
        clauses.append(cron.c.metadata.contains(metadata))
    if enabled is not None:
        clauses.append(cron.c.enabled == enabled)
    return clauses


async def _hold(conn: AsyncConnection, key: ColumnElement[Any], value: UUID) -> bool:
    stmt = select(literal(1)).where(key == value).with_for_update(read=True, key_share=True)
    return (await conn.execute(stmt)).first() is not None


async def hold_parents(
    conn: AsyncConnection, *, assistant_id: UUID, thread_id: UUID | None
) -> tuple[bool, bool]:
    """Lock the cron's assistant (and thread) ``FOR KEY SHARE`` until commit, as a foreign
    key would: a concurrent delete of either waits for the new cron (and deletes it too), or
    has committed and the row is gone. Returns whether each exists (the thread: True when
    ``thread_id`` is None)."""
    has_assistant = await _hold(conn, assistant.c.assistant_id, assistant_id)
    has_thread = thread_id is None or await _hold(conn, thread.c.thread_id, thread_id)
    return has_assistant, has_thread


async def delete_assistant_crons(conn: AsyncConnection, *, assistant_id: UUID) -> list[UUID]:
    """Delete the crons of an assistant (being deleted in the same transaction, so none can
    be created on it any more: see ``hold_parents``). Returns their ids."""
    stmt = delete(cron).where(cron.c.assistant_id == assistant_id).returning(cron.c.cron_id)
    return list((await conn.execute(stmt)).scalars())


async def delete_orphans(conn: AsyncConnection, *, cron_ids: list[UUID]) -> list[UUID]:
    """Delete those of ``cron_ids`` whose assistant no longer exists (crons stored before
    deleting an assistant deleted its crons); returns their ids."""
    gone = ~exists().where(assistant.c.assistant_id == cron.c.assistant_id)
    stmt = delete(cron).where(cron.c.cron_id.in_(cron_ids), gone).returning(cron.c.cron_id)
    return list((await conn.execute(stmt)).scalars())


async def create_cron(conn: AsyncConnection, *, values: Row) -> Row:
    stmt = cron.insert().values(**values).returning(*cron.c)
    return dict((await conn.execute(stmt)).mappings().one())


async def get_cron(
    conn: AsyncConnection,
    *,
    cron_id: UUID,
    for_update: bool = False,
    scope: AuthFilter | None = None,
) -> Row | None:
    stmt = select(cron).where(cron.c.cron_id == cron_id, *auth_conditions(cron.c.metadata, scope))
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def update_cron(conn: AsyncConnection, *, cron_id: UUID, values: Row) -> Row:
    stmt = (
        update(cron)
        .where(cron.c.cron_id == cron_id)
        .values(**values, updated_at=func.now())
        .returning(*cron.c)
    )
    return dict((await conn.execute(stmt)).mappings().one())


async def delete_cron(
    conn: AsyncConnection, *, cron_id: UUID, scope: AuthFilter | None = None
) -> bool:
    stmt = delete(cron).where(cron.c.cron_id == cron_id, *auth_conditions(cron.c.metadata, scope))
    return bool((await conn.execute(stmt)).rowcount)


async def search_crons(
    conn: AsyncConnection,
    *,
    filters: Row,
    sort_by: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[Row], int | None]:
    column = cron.c[sort_by]
    stmt = (
        select(cron)
        .where(*_filters(**filters))
        .order_by(column.desc() if descending else column.asc(), cron.c.cron_id)
        .limit(limit)
        .offset(offset)
    )
    return await fetch_page(conn, stmt)


async def count_crons(conn: AsyncConnection, *, filters: Row) -> int:
    stmt = select(func.count()).select_from(cron).where(*_filters(**filters))
    return int((await conn.execute(stmt)).scalar_one())


async def claim_due_crons(conn: AsyncConnection, *, limit: int) -> list[Row]:
    """Enabled crons whose time has come; rows another scheduler holds are skipped."""
    stmt = (
        select(cron)
        .where(cron.c.enabled, cron.c.next_run_date <= func.now())
        .order_by(cron.c.next_run_date)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def next_due(conn: AsyncConnection) -> Any:
    stmt = select(func.min(cron.c.next_run_date)).where(cron.c.enabled)
    return (await conn.execute(stmt)).scalar()
