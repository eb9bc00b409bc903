"""One dedicated Postgres connection per process: LISTEN for run and thread notices (from
other processes and from the database's triggers), and hold this worker's advisory lock
(its liveness, seen by the orphan sweeper)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from graphport.db.urls import psycopg_conninfo

logger = logging.getLogger(__name__)

NEW_RUN = "graphport_run_new"
CANCEL_RUN = "graphport_run_cancel"
RUN_DONE = "graphport_run_done"  # payload: the run id; sent by a trigger (migration 0006)
THREAD_DELETED = "graphport_thread_deleted"  # payload: the thread id; a trigger (0007)
CRON_CHANGED = "graphport_cron_changed"  # a cron was created or rescheduled: re-plan
CHANNELS = (NEW_RUN, CANCEL_RUN, RUN_DONE, THREAD_DELETED, CRON_CHANGED)

Handler = Callable[[str, str], None]


class PgListener:
    def __init__(self, uri: str, *, worker_id: int, handler: Handler) -> None:
        self._dsn = psycopg_conninfo(uri)
        self._worker_id = worker_id
        self._handler = handler
        self._conn: asyncpg.Connection | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def start(self) -> None:
        await self._connect()
        self._watchdog = asyncio.create_task(self._keep_connected(), name="pg-listener")

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.execute("SELECT pg_advisory_lock($1)", self._worker_id)
        for channel in CHANNELS:
            await conn.add_listener(channel, self._on_notify)
        conn.add_termination_listener(lambda _c: self._lost.set())
        self._conn = conn
        self._lost.clear()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        try:
            self._handler(channel, payload)
        except Exception:  # a bad notice must not kill the listener
            logger.exception("handling %s notice failed", channel)

    async def _keep_connected(self) -> None:
        """Reconnect after a lost connection (runs are swept meanwhile: lock released)."""
        while True:
            await self._lost.wait()
            logger.warning("lost the listener connection; reconnecting")
            while True:
                try:
                    await self._connect()
                    self._handler(NEW_RUN, "")  # catch up on what was missed
                    break
                except (OSError, asyncpg.PostgresError):
                    await asyncio.sleep(1)
