"""Filter and paging helpers shared by repositories: everything compiles to SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection


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
