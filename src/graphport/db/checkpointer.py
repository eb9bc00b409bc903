"""LangGraph's Postgres checkpointer on a psycopg pool from the same ``DATABASE_URI``."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from graphport.db.locks import setup_under_lock
from graphport.db.urls import psycopg_conninfo

# Serialises langgraph's own setup() (it is not safe to run twice at once).
_SETUP_LOCK_KEY = 0x67726171


class Checkpointer:
    """Owns the psycopg pool and the saver; ``start()``/``stop()`` from the lifespan."""

    def __init__(self, uri: str, *, pool_size: int = 10) -> None:
        self._conninfo = psycopg_conninfo(uri)
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool[Any] | None = None
        self._saver: AsyncPostgresSaver | None = None

    @property
    def saver(self) -> AsyncPostgresSaver:
        if self._saver is None:
            raise RuntimeError("Checkpointer.start() has not been called")
        return self._saver

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError("Checkpointer.start() has not been called")
        return self._pool

    async def start(self, *, setup: bool = True) -> None:
        self._pool = AsyncConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await self._pool.open(wait=True)
        self._saver = AsyncPostgresSaver(self._pool)
        if setup:
            await setup_under_lock(self.pool, _SETUP_LOCK_KEY, self.saver.setup)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        self._pool = None
        self._saver = None
