"""LangGraph's Postgres store (long-term memory) on the checkpointer's psycopg pool: the
same store graphs get injected, so what a graph writes the API reads and vice versa."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg_pool import AsyncConnectionPool

from graphport.db.locks import setup_under_lock
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
    """Owns the AsyncPostgresStore."""

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
        try:
            self.store = AsyncPostgresStore(pool, index=index, ttl=ttl)  # type: ignore[arg-type]
        except Exception as exc:
            raise ConfigError(f"store configuration: {type(exc).__name__}: {exc}") from exc

    async def start(self, *, setup: bool = True) -> None:
        """Create the store's tables. Expiry is swept by the app's own periodic task
        (fractional minutes allowed), not LangGraph's sweeper."""
        if setup:
            await setup_under_lock(self._pool, _SETUP_LOCK_KEY, self.store.setup)
