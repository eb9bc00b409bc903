"""Outcomes of stateless runs, kept a few minutes after their rows went (``run_result``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.db.tables import run_result

Row = dict[str, Any]


async def create_result(
    conn: AsyncConnection,
    *,
    run_id: UUID,
    status: str,
    output: Any,
    error: Row | None,
    interrupts: Row | None,
) -> None:
    """Record how the run ended (a second record of one run keeps the first)."""
    values = {"run_id": run_id, "status": status, "output": output, "error": error}
    stmt = insert(run_result).values(**values, interrupts=interrupts)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["run_id"]))


async def get_result(conn: AsyncConnection, *, run_id: UUID) -> Row | None:
    rows = await conn.execute(select(run_result).where(run_result.c.run_id == run_id))
    found = rows.mappings().first()
    return dict(found) if found is not None else None


async def delete_old_results(conn: AsyncConnection, *, older_than_seconds: float) -> None:
    cutoff = func.now() - text("make_interval(secs => :seconds)").bindparams(
        seconds=older_than_seconds
    )
    await conn.execute(delete(run_result).where(run_result.c.ended_at < cutoff))
