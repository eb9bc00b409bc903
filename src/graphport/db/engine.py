"""The async engine and short transactions; built in the app lifespan, never at import."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg_pool
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn

from graphport.db.urls import sqlalchemy_url
from graphport.serialization import dumps_text, loads_stored

# No pooled connection came free in time (SQLAlchemy's pool, the checkpointer's psycopg
# pool), or PostgreSQL refused a new one (too many clients, SQLSTATE 53300): the server is
# overloaded for now, a 503 and a retry, not a fault.
POOL_EXHAUSTED: tuple[type[Exception], ...] = (sa_exc.TimeoutError, psycopg_pool.PoolTimeout)
_TOO_MANY_CONNECTIONS = "53300"
_REFUSED = re.compile(r"too many clients already|too many connections for")


def pool_exhausted(exc: BaseException) -> bool:
    """Whether ``exc`` says no database connection could be had: every pooled one stayed
    busy past its timeout, or PostgreSQL refused to open another (its ``max_connections``
    reached), however the driver or SQLAlchemy wrapped that."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, POOL_EXHAUSTED):
            return True
        if getattr(current, "sqlstate", None) == _TOO_MANY_CONNECTIONS:
            return True
        if isinstance(current, psycopg.OperationalError) and _REFUSED.search(str(current)):
            return True  # libpq's connection errors carry no SQLSTATE, only the server's text
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def log_background_failure(log: logging.Logger, exc: BaseException, doing: str) -> None:
    """Log a background job's failure, from its ``except`` block: an exhausted pool is
    overload (a warning line; the next pass retries), anything else a traceback."""
    if pool_exhausted(exc):
        log.warning("%s deferred: the database pool is exhausted", doing)
    else:
        log.exception("%s failed", doing)


class Database:
    """Owns the engine; services open one short transaction per state change."""

    def __init__(self, uri: str, *, pool_size: int = 10, pool_timeout: float = 30) -> None:
        self.uri = uri
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout  # seconds to wait for a free connection
        self._engine: AsyncEngine | None = None
        self._relaxed: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database.start() has not been called")
        return self._engine

    async def start(self) -> None:
        self._engine = self._create_engine({})
        self._relaxed = self._create_engine({"synchronous_commit": "off"})

    def _create_engine(self, server_settings: dict[str, str]) -> AsyncEngine:
        return create_async_engine(
            sqlalchemy_url(self.uri),
            # Up to twice the setting; past the first half, a connection closes when it is
            # returned, so a burst does not keep holding PostgreSQL's connections (shared
            # with every other process) once it is over.
            pool_size=self._pool_size,
            max_overflow=self._pool_size,
            pool_timeout=self._pool_timeout,
            pool_pre_ping=False,
            json_serializer=dumps_text,  # normalised: JSONB takes what it writes
            json_deserializer=loads_stored,
            connect_args={"server_settings": server_settings} if server_settings else {},
        )

    async def stop(self) -> None:
        for engine in (self._engine, self._relaxed):
            if engine is not None:
                await engine.dispose()
        self._engine = self._relaxed = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def relaxed_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction whose commit does not wait for the disk flush.

        Only for changes that recovery redoes when a crash loses them: claiming a run (the
        run is claimed again) and recording its end (the orphan sweeper requeues it and it
        resumes from its durable checkpoint). Never for what a client was promised.
        """
        if self._relaxed is None:
            raise RuntimeError("Database.start() has not been called")
        async with self._relaxed.begin() as conn:
            yield conn

    @asynccontextmanager
    async def statement(self, *, relaxed: bool = False) -> AsyncIterator[Any]:
        """A pooled asyncpg connection for statements that are each atomic by themselves
        (sent without BEGIN and COMMIT): the run hot path's. The same pools as
        ``transaction``; without SQLAlchemy's connection and transaction objects, which cost
        more CPU than such a statement. ``relaxed``: its commit does not wait for the disk
        flush (only for what ``relaxed_transaction`` allows)."""
        engine = self._relaxed if relaxed else self._engine
        if engine is None:
            raise RuntimeError("Database.start() has not been called")
        pooled = await engine.raw_connection()
        try:
            yield pooled.driver_connection
        finally:
            # returned to the pool; past its size the driver's connection is closed (awaited)
            await greenlet_spawn(pooled.close)

    def pool_stats(self) -> dict[str, int]:
        """The engines' connections, as psycopg's pool names them: ``pool_max`` (the most
        they may open), ``pool_size`` (open now), ``pool_available`` (open and idle)."""
        stats = {"pool_max": 0, "pool_size": 0, "pool_available": 0}
        for engine in (self._engine, self._relaxed):
            pool = engine.pool if engine is not None else None
            if isinstance(pool, QueuePool):
                idle = pool.checkedin()
                stats["pool_max"] += 2 * self._pool_size  # pool_size + max_overflow
                stats["pool_size"] += idle + pool.checkedout()
                stats["pool_available"] += idle
        return stats

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
