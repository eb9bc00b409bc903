"""Filter and paging helpers shared by repositories: everything compiles to SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, literal_column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.filters import AuthFilter


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ilike_substring(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    return column.ilike(f"%{escape_like(value)}%", escape="\\")


def with_total(stmt: Select[Any]) -> Select[Any]:
    """Add ``count(*) OVER ()`` as ``__total`` so one query returns a page and its total."""
    return stmt.add_columns(func.count(literal_column("*")).over().label("__total"))


async def fetch_page(
    conn: AsyncConnection, stmt: Select[Any]
) -> tuple[list[dict[str, Any]], int | None]:
    """Rows of a paged select and the total match count (None when the page is empty)."""
    rows = [dict(r) for r in (await conn.execute(with_total(stmt))).mappings()]
    total = rows[0].pop("__total") if rows else None
    for r in rows[1:]:
        del r["__total"]
    return rows, total


def auth_conditions(
    metadata: ColumnElement[Any], scope: AuthFilter | None
) -> list[ColumnElement[bool]]:
    """An auth handler's filter as JSONB conditions on ``metadata`` (ANDed by the caller).

    Scalar ``$eq`` and ``$contains`` are containment (``@>``, which the GIN index on
    metadata serves): ``{"k": v}`` and ``{"k": [v, ...]}``; ``$eq`` on an object or a list
    compares the key's whole value."""
    clauses: list[ColumnElement[bool]] = []
    for cond in scope or ():
        if cond.op == "$contains":
            wanted = cond.value if isinstance(cond.value, list) else [cond.value]
            clauses.append(metadata.op("@>")(literal({cond.key: wanted}, type_=JSONB)))
        elif isinstance(cond.value, dict | list):
            field = metadata.op("->", return_type=JSONB)(literal(cond.key))
            clauses.append(field == literal(cond.value, type_=JSONB))
        else:
            clauses.append(metadata.op("@>")(literal({cond.key: cond.value}, type_=JSONB)))
    return clauses
