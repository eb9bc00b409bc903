"""SQL on langgraph's checkpoint tables, for what the saver does not offer (copy) or what must
share a transaction with our own rows (delete)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


async def _columns(conn: AsyncConnection, table: str) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = :t ORDER BY ordinal_position"
        ),
        {"t": table},
    )
    return [r[0] for r in rows]


async def copy_thread_checkpoints(conn: AsyncConnection, *, source: UUID, target: UUID) -> None:
    """Duplicate every checkpoint, blob and pending write of ``source`` under ``target``."""
    for table in CHECKPOINT_TABLES:
        columns = await _columns(conn, table)
        picked = []
        for column in columns:
            if column == "thread_id":
                picked.append(":target")
            elif column == "metadata" and table == "checkpoints":
                picked.append(
                    "CASE WHEN metadata ? 'thread_id' "
                    "THEN jsonb_set(metadata, '{thread_id}', to_jsonb(CAST(:target AS text))) "
                    "ELSE metadata END"
                )
            else:
                picked.append(f'"{column}"')
        names = ", ".join(f'"{c}"' for c in columns)
        await conn.execute(
            text(
                f"INSERT INTO {table} ({names}) SELECT {', '.join(picked)} "
                f"FROM {table} WHERE thread_id = :source"
            ),
            {"source": str(source), "target": str(target)},
        )


async def delete_thread_checkpoints(conn: AsyncConnection, *, thread_ids: list[UUID]) -> None:
    ids = [str(t) for t in thread_ids]
    for table in CHECKPOINT_TABLES:
        await conn.execute(text(f"DELETE FROM {table} WHERE thread_id = ANY(:ids)"), {"ids": ids})


async def delete_run_checkpoints(conn: AsyncConnection, *, thread_id: UUID, run_id: UUID) -> None:
    """Delete the checkpoints a run wrote (langgraph stamps ``run_id`` in their metadata)."""
    params = {"thread_id": str(thread_id), "run_id": str(run_id)}
    await conn.execute(
        text(
            "DELETE FROM checkpoint_writes w USING checkpoints c "
            "WHERE c.thread_id = :thread_id AND c.metadata->>'run_id' = :run_id "
            "AND w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns "
            "AND w.checkpoint_id = c.checkpoint_id"
        ),
        params,
    )
    await conn.execute(
        text(
            "DELETE FROM checkpoints WHERE thread_id = :thread_id AND metadata->>'run_id' = :run_id"
        ),
        params,
    )


# LangGraph's task id for writes that belong to no task: a Command's update, goto and resume.
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"


async def delete_unapplied_command(conn: AsyncConnection, *, thread_id: UUID, run_id: UUID) -> None:
    """Drop the writes of no task pending on the thread's latest root checkpoint, when the run
    made no checkpoint of its own (it failed, or was rolled back, before they were applied).
    LangGraph stores a run's Command there before applying it, and every later run and state
    read applies them again: a value a reducer refused would fail them all."""
    await conn.execute(
        text(
            "DELETE FROM checkpoint_writes WHERE thread_id = :thread_id AND checkpoint_ns = '' "
            "AND task_id = :no_task AND checkpoint_id = ("
            "  SELECT checkpoint_id FROM checkpoints WHERE thread_id = :thread_id "
            "  AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1) "
            "AND NOT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = :thread_id "
            "  AND metadata->>'run_id' = :run_id)"
        ),
        {"thread_id": str(thread_id), "run_id": str(run_id), "no_task": NULL_TASK_ID},
    )


async def checkpoint_exists(
    conn: AsyncConnection, *, thread_id: UUID, checkpoint_ns: str, checkpoint_id: str | None
) -> bool:
    """Whether the thread has that checkpoint in that namespace (``""``: the root graph,
    ``"child:<task id>"``: a subgraph); without an id, whether it has any there."""
    sql = "SELECT 1 FROM checkpoints WHERE thread_id = :thread_id AND checkpoint_ns = :ns"
    params = {"thread_id": str(thread_id), "ns": checkpoint_ns}
    if checkpoint_id is not None:
        sql += " AND checkpoint_id = :checkpoint_id"
        params["checkpoint_id"] = checkpoint_id
    found = await conn.execute(text(sql + " LIMIT 1"), params)
    return found.first() is not None
