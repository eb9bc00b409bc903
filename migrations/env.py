"""Alembic environment: run on a connection graphport hands over, or from DATABASE_URI."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from graphport.db.tables import metadata
from graphport.db.urls import sqlalchemy_url
from graphport.settings import Settings

target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    uri = Settings().database_uri
    if not uri:
        raise SystemExit("set DATABASE_URI to run alembic directly (or use `graphport migrate`)")
    engine = create_async_engine(sqlalchemy_url(uri))
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
