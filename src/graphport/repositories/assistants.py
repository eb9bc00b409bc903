"""SQL for assistants and their versions. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.filters import AuthFilter
from graphport.db.raw import driver
from graphport.db.tables import assistant, assistant_version
from graphport.repositories.filters import auth_conditions, fetch_page, ilike_substring

Row = dict[str, Any]

_GET = select(assistant).where(assistant.c.assistant_id == bindparam("assistant_id"))
_GET_FOR_UPDATE = _GET.with_for_update()

VERSION_FIELDS = ("graph_id", "name", "description", "config", "context", "metadata")


def _visible(scope: AuthFilter | None) -> list[ColumnElement[bool]]:
    """An auth filter on the assistant's metadata: it decides for every assistant, the
    graphs' own (system) ones too, as on the official server."""
    return auth_conditions(assistant.c.metadata, scope) if scope else []


@dataclass(frozen=True)
class AssistantCriteria:
    """What a search or count matches: the client's filters and the auth handler's."""

    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    description: str | None = None
    scope: AuthFilter | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses = _visible(self.scope)
        if self.metadata:
            clauses.append(assistant.c.metadata.contains(self.metadata))
        if self.graph_id:
            clauses.append(assistant.c.graph_id == self.graph_id)
        if self.name:
            clauses.append(ilike_substring(assistant.c.name, self.name))
        if self.description:
            clauses.append(ilike_substring(assistant.c.description, self.description))
        return clauses


async def create_assistant(conn: AsyncConnection, *, values: Row) -> Row | None:
    """Insert an assistant and its version 1; None when the id is taken."""
    stmt = (
        pg_insert(assistant)
        .values(**values, version=1)
        .on_conflict_do_nothing(index_elements=[assistant.c.assistant_id])
        .returning(*assistant.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    created = dict(row)
    await conn.execute(
        insert(assistant_version).values(
            assistant_id=created["assistant_id"],
            version=1,
            created_at=created["created_at"],
            **{k: created[k] for k in VERSION_FIELDS},
        )
    )
    return created


async def get_assistant(
    conn: AsyncConnection,
    *,
    assistant_id: UUID,
    for_update: bool = False,
    scope: AuthFilter | None = None,
) -> Row | None:
    """The assistant, or None when it does not exist or ``scope`` hides it."""
    stmt = _GET_FOR_UPDATE if for_update else _GET
    if scope:
        stmt = stmt.where(*_visible(scope))
    row = (await conn.execute(stmt, {"assistant_id": assistant_id})).mappings().first()
    return dict(row) if row else None


async def get_max_version(conn: AsyncConnection, *, assistant_id: UUID) -> int:
    stmt = select(func.coalesce(func.max(assistant_version.c.version), 0)).where(
        assistant_version.c.assistant_id == assistant_id
    )
    return int((await conn.execute(stmt)).scalar_one())


async def create_version(
    conn: AsyncConnection, *, assistant_id: UUID, version: int, values: Row
) -> Row:
    stmt = (
        insert(assistant_version)
        .values(assistant_id=assistant_id, version=version, **values)
        .returning(*assistant_version.c)
    )
    return dict((await conn.execute(stmt)).mappings().one())


async def get_version(conn: AsyncConnection, *, assistant_id: UUID, version: int) -> Row | None:
    stmt = select(assistant_version).where(
        and_(
            assistant_version.c.assistant_id == assistant_id,
            assistant_version.c.version == version,
        )
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def update_assistant(conn: AsyncConnection, *, assistant_id: UUID, values: Row) -> Row:
    stmt = (
        update(assistant)
        .where(assistant.c.assistant_id == assistant_id)
        .values(**values, updated_at=func.now())
        .returning(*assistant.c)
    )
    return dict((await conn.execute(stmt)).mappings().one())


async def delete_assistant(
    conn: AsyncConnection, *, assistant_id: UUID, scope: AuthFilter | None = None
) -> bool:
    stmt = delete(assistant).where(assistant.c.assistant_id == assistant_id, *_visible(scope))
    return bool((await conn.execute(stmt)).rowcount)


async def search_assistants(
    conn: AsyncConnection,
    *,
    criteria: AssistantCriteria,
    sort_by: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[Row], int | None]:
    """A page of assistants and the total match count (None when the page is empty)."""
    order = assistant.c[sort_by].desc() if descending else assistant.c[sort_by].asc()
    tiebreak = assistant.c.assistant_id.desc() if descending else assistant.c.assistant_id.asc()
    stmt = (
        select(assistant)
        .where(*criteria.clauses())
        .order_by(order, tiebreak)
        .limit(limit)
        .offset(offset)
    )
    return await fetch_page(conn, stmt)


async def count_assistants(conn: AsyncConnection, *, criteria: AssistantCriteria) -> int:
    stmt = select(func.count()).select_from(assistant).where(*criteria.clauses())
    return int((await conn.execute(stmt)).scalar_one())


async def list_versions(
    conn: AsyncConnection,
    *,
    assistant_id: UUID,
    metadata: dict[str, Any] | None,
    limit: int,
    offset: int,
) -> list[Row]:
    stmt = select(assistant_version).where(assistant_version.c.assistant_id == assistant_id)
    if metadata:
        stmt = stmt.where(assistant_version.c.metadata.contains(metadata))
    stmt = stmt.order_by(assistant_version.c.version.desc()).limit(limit).offset(offset)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def ensure_system_assistant(
    conn: AsyncConnection, *, assistant_id: UUID, graph_id: str
) -> None:
    """Create the per-graph system assistant unless it exists (idempotent, race-safe)."""
    await create_assistant(
        conn,
        values={
            "assistant_id": assistant_id,
            "graph_id": graph_id,
            "name": graph_id,
            "description": None,
            "config": {},
            "context": {},
            "metadata": {"created_by": "system"},
        },
    )


_RUN_VIEW_SQL = (
    "SELECT assistant_id, graph_id, config, context FROM assistant WHERE assistant_id = $1"
)


async def get_assistant_for_run(conn: AsyncConnection, *, assistant_id: UUID) -> Row | None:
    """What a run needs of its assistant (hot path: raw driver). As the first statement of
    ``conn`` it runs alone (no BEGIN): the run's own statements need not see the same
    snapshot, and a stateless run then needs no transaction at all."""
    row = await (await driver(conn, alone=True)).fetchrow(_RUN_VIEW_SQL, assistant_id)
    return dict(row) if row else None
