"""Alembic migrations, run in-process under an advisory lock (many processes may start at once)."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

# Arbitrary constant: serialises concurrent migrators on one database.
_MIGRATION_LOCK_KEY = 0x67726170  # "grap"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("graphport.migrations")))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def run_migrations(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # Poll a try-lock (see Checkpointer._setup: never wait on a lock inside a snapshot).
        try_lock = text("SELECT pg_try_advisory_xact_lock(:k)")
        while True:
            if (await conn.execute(try_lock, {"k": _MIGRATION_LOCK_KEY})).scalar():
                break
            await asyncio.sleep(0.05)
        await conn.run_sync(_upgrade)
