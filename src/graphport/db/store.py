"""LangGraph's Postgres store (long-term memory) on the checkpointer's psycopg pool: the
same store graphs get injected, so what a graph writes the API reads and vice versa."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg_pool import AsyncConnectionPool

from graphport.errors import ConfigError

logger = logging.getLogger(__name__)

_SETUP_LOCK_KEY = 0x67726172


def load_embed(spec: Any, base_dir: Path) -> Any:
    """``store.index.embed``: ``./file.py:function`` becomes that function; other values
    (``provider:model`` strings, objects) are LangGraph's to resolve."""
    if not isinstance(spec, str) or ".py:" not in spec:
        return spec
    from graphport.graphs.registry import load_attribute

    return load_attribute(base_dir, "store.index.embed", spec)


class Store:
    """Owns the AsyncPostgresStore and its TTL sweeper; ``start()``/``stop()``."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], config: dict[str, Any] | None, base_dir: Path
    ) -> None:
        config = dict(config or {})
        index = dict(config["index"]) if config.get("index") else None
        if index is not None:
            if "dims" not in index or "embed" not in index:
                raise ConfigError("store.index needs 'dims' and 'embed'")
            index["embed"] = load_embed(index["embed"], base_dir)
        ttl = config.get("ttl")
        self._pool = pool
        self.has_index = index is not None
        self._ttl = ttl
        try:
            self.store = AsyncPostgresStore(pool, index=index, ttl=ttl)  # type: ignore[arg-type]
        except Exception as exc:
            raise ConfigError(f"store configuration: {type(exc).__name__}: {exc}") from exc

    async def start(self, *, setup: bool = True) -> None:
        if setup:
            async with self._pool.connection() as lock_conn:
                while True:  # poll: see Checkpointer._setup for why not block
                    cursor = await lock_conn.execute(
                        "SELECT pg_try_advisory_lock(%s) AS locked", (_SETUP_LOCK_KEY,)
                    )
                    row = await cursor.fetchone()
                    if row and row["locked"]:
                        break
                    await asyncio.sleep(0.05)
                try:
                    await self.store.setup()
                finally:
                    await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        if self._ttl and self._ttl.get("sweep_interval_minutes"):
            await self.store.start_ttl_sweeper()

    async def stop(self) -> None:
        if self._ttl and self._ttl.get("sweep_interval_minutes"):
            await self.store.stop_ttl_sweeper(timeout=5)
