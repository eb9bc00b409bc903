"""Outcomes of stateless runs, kept a few minutes after their rows went (``run_result``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.db.raw import jsonb
from graphport.db.tables import run_result
from graphport.repositories.checkpoints import CHECKPOINT_TABLES

Row = dict[str, Any]


# How a temporary run ended, and its thread gone (its run by cascade, the checkpoints a
# state update may have written under it), in one statement: atomic without a transaction.
_END_TEMPORARY_SQL = (
    "WITH r AS (INSERT INTO run_result (run_id, status, output, error, interrupts) "
    "VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb) ON CONFLICT (run_id) DO NOTHING), "
    + ", ".join(
        f"{table} AS (DELETE FROM {table} WHERE thread_id = $7)" for table in CHECKPOINT_TABLES
    )
    + " DELETE FROM thread WHERE thread_id = $6"
)


async def end_temporary_run(
    raw: Any,
    *,
    run_id: UUID,
    thread_id: UUID,
    status: str,
    output: Any,
    error: Row | None,
    interrupts: Row | None,
) -> None:
    """Record how a temporary (stateless) run ended (a second record of one run keeps the
    first) and delete its thread, run and checkpoints: one statement, atomic without a
    transaction, on ``raw`` (an asyncpg connection from ``Database.statement``)."""
    await raw.execute(
        _END_TEMPORARY_SQL,
        run_id,
        status,
        jsonb(output),
        jsonb(error),
        jsonb(interrupts),
        thread_id,
        str(thread_id),
    )


async def get_result(conn: AsyncConnection, *, run_id: UUID) -> Row | None:
    rows = await conn.execute(select(run_result).where(run_result.c.run_id == run_id))
    found = rows.mappings().first()
    return dict(found) if found is not None else None


async def delete_old_results(conn: AsyncConnection, *, older_than_seconds: float) -> None:
    cutoff = func.now() - text("make_interval(secs => :seconds)").bindparams(
        seconds=older_than_seconds
    )
    await conn.execute(delete(run_result).where(run_result.c.ended_at < cutoff))
