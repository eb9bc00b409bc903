"""SQL on langgraph's checkpoint tables, for what the saver does not offer (copy) or what must
share a transaction with our own rows (delete)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]

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


@dataclass(frozen=True)
class PendingCommands:
    """The writes of no task pending on a root checkpoint before a run adds its command's.

    LangGraph keys a regular write (``idx >= 0``) by its position and never overwrites one:
    a run's command writes go after ``regular`` ones already there. A special write
    (``idx < 0``: a resume) is replaced in place, so the rows themselves are kept."""

    checkpoint_id: str
    regular: int
    special: tuple[Row, ...]


async def get_pending_commands(
    conn: AsyncConnection, *, thread_id: UUID, checkpoint_id: str | None
) -> PendingCommands | None:
    """What is pending on the root checkpoint a run starts from (``checkpoint_id``, else
    the thread's latest); None when the thread has no such checkpoint."""
    params = {"thread_id": str(thread_id), "checkpoint_id": checkpoint_id}
    found = await conn.execute(
        text(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = :thread_id "
            "AND checkpoint_ns = '' AND (CAST(:checkpoint_id AS text) IS NULL "
            "  OR checkpoint_id = :checkpoint_id) "
            "ORDER BY checkpoint_id DESC LIMIT 1"
        ),
        params,
    )
    start = found.scalar()
    if start is None:
        return None
    rows = await conn.execute(
        text(
            "SELECT * FROM checkpoint_writes WHERE thread_id = :thread_id "
            "AND checkpoint_ns = '' AND checkpoint_id = :checkpoint_id AND task_id = :no_task"
        ),
        params | {"checkpoint_id": start, "no_task": NULL_TASK_ID},
    )
    writes = [dict(r) for r in rows.mappings()]
    regular = max((w["idx"] + 1 for w in writes if w["idx"] >= 0), default=0)
    return PendingCommands(start, regular, tuple(w for w in writes if w["idx"] < 0))


async def has_run_checkpoint(conn: AsyncConnection, *, thread_id: UUID, run_id: UUID) -> bool:
    """Whether the run wrote a checkpoint of its own on the thread (any namespace)."""
    found = await conn.execute(
        text(
            "SELECT 1 FROM checkpoints WHERE thread_id = :thread_id "
            "AND metadata->>'run_id' = :run_id LIMIT 1"
        ),
        {"thread_id": str(thread_id), "run_id": str(run_id)},
    )
    return found.first() is not None


async def delete_unapplied_command(
    conn: AsyncConnection, *, thread_id: UUID, run_id: UUID, before: PendingCommands
) -> None:
    """Take back the writes of no task a run added to its start checkpoint (``before``: what
    was pending there when it started), when it made no checkpoint of its own (it failed,
    or was rolled back, before they were applied). Every later run and state read would
    apply them (a value a reducer refused would fail them all); what earlier runs left
    pending stays."""
    if await has_run_checkpoint(conn, thread_id=thread_id, run_id=run_id):
        return
    await conn.execute(
        text(
            "DELETE FROM checkpoint_writes WHERE thread_id = :thread_id AND checkpoint_ns = '' "
            "AND checkpoint_id = :checkpoint_id AND task_id = :no_task "
            "AND (idx >= :regular OR idx < 0)"
        ),
        {
            "thread_id": str(thread_id),
            "checkpoint_id": before.checkpoint_id,
            "no_task": NULL_TASK_ID,
            "regular": before.regular,
        },
    )
    for row in before.special:  # a resume this run replaced: put the earlier one back
        names = ", ".join(f'"{c}"' for c in row)
        values = ", ".join(f":{c}" for c in row)
        await conn.execute(
            text(
                f"INSERT INTO checkpoint_writes ({names}) VALUES ({values}) ON CONFLICT DO NOTHING"
            ),
            row,
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


# pg_column_size: the bytes a value takes as stored (after compression); NULL blobs take none
_STORAGE_SQL = """
SELECT 'checkpoints' AS section, NULL AS channel, count(*) AS count,
    coalesce(sum(pg_column_size(checkpoint) + coalesce(pg_column_size(metadata), 0)), 0) AS bytes
FROM checkpoints WHERE thread_id = :thread_id
UNION ALL
SELECT 'pending_writes', NULL, count(*), coalesce(sum(pg_column_size(blob)), 0)
FROM checkpoint_writes WHERE thread_id = :thread_id
UNION ALL
SELECT 'channel_values', channel, count(*), coalesce(sum(pg_column_size(blob)), 0)
FROM checkpoint_blobs WHERE thread_id = :thread_id GROUP BY channel
"""


async def get_thread_storage(conn: AsyncConnection, *, thread_id: UUID) -> Row:
    """The bytes the thread's checkpoint rows occupy: ``total_bytes``, ``checkpoints`` and
    ``pending_writes`` (``count``, ``bytes``), ``channel_values`` (the same, and
    ``by_channel``: ``versions``, ``bytes`` per channel)."""
    rows = await conn.execute(text(_STORAGE_SQL), {"thread_id": str(thread_id)})
    usage: Row = {
        "checkpoints": {"count": 0, "bytes": 0},
        "channel_values": {"count": 0, "bytes": 0, "by_channel": {}},
        "pending_writes": {"count": 0, "bytes": 0},
    }
    for section, channel, count, size in rows:
        entry = usage[section]
        entry["count"] += int(count)
        entry["bytes"] += int(size)
        if channel is not None:
            entry["by_channel"][channel] = {"versions": int(count), "bytes": int(size)}
    return {"total_bytes": sum(entry["bytes"] for entry in usage.values()), **usage}
