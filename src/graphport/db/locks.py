"""Running one-time schema setup under a Postgres advisory lock, safely."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool


async def setup_under_lock(
    pool: AsyncConnectionPool[Any], key: int, setup: Callable[[], Awaitable[None]]
) -> None:
    """Run ``setup`` while holding advisory lock ``key`` (processes starting together).

    Polls a try-lock rather than blocking in pg_advisory_lock: a statement waiting on the
    lock would hold a snapshot, and a setup's CREATE INDEX CONCURRENTLY in the process that
    holds the lock waits for every such snapshot (a silent deadlock).
    """
    async with pool.connection() as lock_conn:
        while True:
            cursor = await lock_conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,))
            row = await cursor.fetchone()
            if row and row["locked"]:
                break
            await asyncio.sleep(0.05)
        try:
            await setup()
        finally:
            await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
