"""LangGraph's Postgres checkpointer on a psycopg pool from the same ``DATABASE_URI``.

Graph outputs reach Postgres here (checkpoints, and the store on the same pool) without
passing through our API, so this is where they are normalised (README, "Values"): JSON on
the pool's connections is written by ``serialization.dumps`` (NUL, lone surrogates, big
integers, NaN, depth), and checkpoint blobs get a second chance when msgpack refuses a value.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from langgraph.checkpoint.postgres import aio as saver_module
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from graphport.db.locks import setup_under_lock
from graphport.db.urls import psycopg_conninfo
from graphport.serialization import dumps, json_values, loads_stored, normalise

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Serialises langgraph's own setup() (it is not safe to run twice at once).
_SETUP_LOCK_KEY = 0x67726171


class Checkpointer:
    """Owns the psycopg pool and the saver; ``start()``/``stop()`` from the lifespan."""

    def __init__(self, uri: str, *, pool_size: int = 10, pool_timeout: float = 30) -> None:
        self._conninfo = psycopg_conninfo(uri)
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout  # seconds to wait for a free connection
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
            max_size=max(self._pool_size, 2),  # setup holds a lock connection and uses another
            timeout=self._pool_timeout,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            configure=use_our_json,
            open=False,
        )
        await self._pool.open(wait=True)
        serialize_on_the_loop()
        self._saver = AsyncPostgresSaver(self._pool, serde=TolerantSerializer())
        if setup:
            await setup_under_lock(self.pool, _SETUP_LOCK_KEY, self.saver.setup)

    def pool_stats(self) -> dict[str, int]:
        """psycopg's pool measures (``pool_max``, ``pool_size``, ``pool_available``) and
        counters since start (``requests_queued``: waited for a connection,
        ``requests_errors``: failed to get one)."""
        stats = self._pool.get_stats() if self._pool is not None else {}
        keys = ("pool_max", "pool_size", "pool_available", "requests_queued", "requests_errors")
        return {key: stats.get(key, 0) for key in keys}

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        self._pool = None
        self._saver = None


class _NoThreadHop:
    """The ``asyncio`` module as LangGraph's Postgres saver sees it, except ``to_thread``:
    that calls the function at once, on the event loop."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def to_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        # the hop was a point where other tasks ran (between the checkpoints of a long
        # history read, say): one iteration of the loop keeps it, at a fraction of the cost
        await asyncio.sleep(0)
        return func(*args, **kwargs)


def serialize_on_the_loop() -> None:
    """Make LangGraph's Postgres saver encode checkpoints and writes, and decode pending
    writes, on the event loop, as it already decodes checkpoints, instead of in a thread.

    The saver hands these to ``asyncio.to_thread``, four to seven times per run. The hop
    (a future, a thread wake-up, the GIL handed over and back) cost more CPU than the
    encoding itself (0.6 ms of 3.7 per one-node run, measured), and gained no parallelism:
    the encoding is Python code that holds the GIL. Each call still lets the loop run other
    tasks first, as the hop did. Idempotent; process-wide (the module's
    ``asyncio`` name); a saver version that stops calling ``asyncio.to_thread`` there
    simply hops again."""
    if not isinstance(getattr(saver_module, "asyncio", None), _NoThreadHop):
        setattr(saver_module, "asyncio", _NoThreadHop())  # noqa: B010 (not exported)


async def use_our_json(conn: AsyncConnection[Any]) -> None:
    """JSON(B) parameters of this connection are written by ``dumps`` (psycopg's default, the
    standard library, writes NaN and ``\\u0000``, which JSONB refuses, and integers that
    do not read back into JSON) and read by ``loads_stored``."""
    set_json_dumps(dumps, conn)
    set_json_loads(loads_stored, conn)


class TolerantSerializer(JsonPlusSerializer):
    """LangGraph's checkpoint serializer, with a second chance for what msgpack refuses
    (integers beyond 64 bits, nesting over 255): the value normalised with its types kept
    (messages stay messages), and as a last resort its JSON form. A subclass, not a wrapper,
    so that LangGraph can still derive its strict msgpack allowlist from it."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        try:
            return super().dumps_typed(obj)
        except (TypeError, ValueError, RecursionError):  # MsgpackEncodeError is a TypeError
            pass
        try:
            return super().dumps_typed(normalise(obj))
        except (TypeError, ValueError, RecursionError) as exc:
            logger.warning("checkpointing %s as plain JSON data: %s", type(obj).__name__, exc)
        return super().dumps_typed(json_values(obj))
