"""The asyncpg connection under a SQLAlchemy one, for the few statements on the run hot path.

SQLAlchemy's execution layer costs more CPU than these small statements themselves; the
raw driver runs them in the same transaction. JSONB parameters go in as JSON text (the
codec SQLAlchemy installed adds the binary prefix) and come back decoded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.serialization import dumps_text


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection of ``conn`` (inside its current transaction)."""
    fairy = await conn.get_raw_connection()
    return fairy.driver_connection


def jsonb(value: Any) -> str | None:
    """A JSONB parameter: ``value`` as JSON text, normalised so that JSONB takes it."""
    return None if value is None else dumps_text(value)
