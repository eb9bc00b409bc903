"""The asyncpg connection under a SQLAlchemy one, for the few statements on the run hot path.

SQLAlchemy's execution layer costs more CPU than these small statements themselves; the
raw driver runs them in the same transaction. JSONB parameters go in as JSON text (the
codec SQLAlchemy installed adds the binary prefix) and come back decoded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.serialization import dumps_text


async def driver(conn: AsyncConnection, *, alone: bool = False) -> Any:
    """The asyncpg connection of ``conn``, inside ``conn``'s transaction.

    SQLAlchemy sends BEGIN lazily, before its own first statement: a raw statement coming
    first would run on its own (autocommit), its row locks gone as soon as it returns, so
    BEGIN is sent here. ``alone``: the caller's only statement, atomic by itself; when no
    statement came before it, it runs without BEGIN and COMMIT (two round trips saved)."""
    fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    if alone or not conn.in_transaction():
        return fairy.driver_connection
    if adapted._transaction is None and not adapted.autocommit:
        await adapted._start_transaction()
    return fairy.driver_connection


def jsonb(value: Any) -> str | None:
    """A JSONB parameter: ``value`` as JSON text, normalised so that JSONB takes it."""
    return None if value is None else dumps_text(value)
