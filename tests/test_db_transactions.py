"""The raw asyncpg statements of the hot path run inside the surrounding transaction.

SQLAlchemy sends BEGIN lazily, before its own first statement; ``db.raw.driver`` sends it
for raw statements that come first. If a SQLAlchemy upgrade changed what that relies on,
raw statements would each commit alone and the run queue's thread lock would be released
at once (concurrent creates on one thread would race again): these tests catch it.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from graphport.db.engine import Database
from graphport.db.raw import driver


@pytest.fixture
async def db(database_uri: str):  # type: ignore[no-untyped-def]
    database = Database(database_uri, pool_size=2)
    await database.start()
    yield database
    await database.stop()


async def test_raw_statements_share_the_transaction(db: Database) -> None:
    async with db.transaction() as conn:
        first = await (await driver(conn)).fetchval("SELECT txid_current()")
        between = (await conn.execute(text("SELECT txid_current()"))).scalar()
        last = await (await driver(conn)).fetchval("SELECT txid_current()")
    assert first == between == last


async def test_a_raw_statement_holds_its_locks_until_the_commit(db: Database) -> None:
    async with db.transaction() as conn:
        raw = await driver(conn)
        # txid_current() assigns an id: this transaction now holds a lock on it
        mine = await raw.fetchval("SELECT txid_current()")
        other = await asyncpg.connect(db.uri.replace("postgresql+asyncpg", "postgresql"))
        try:
            held = await other.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                "AND transactionid::text = $1::text AND granted",
                str(mine),
            )
        finally:
            await other.close()
    assert held == 1


async def test_a_lone_statement_needs_no_transaction(db: Database) -> None:
    async with db.transaction() as conn:
        value = await (await driver(conn, alone=True)).fetchval("SELECT 1")
    assert value == 1


async def test_the_create_run_function_takes_the_columns_the_server_sends(db: Database) -> None:
    """graphport_create_run (migration 0010) repeats the run INSERT with its parameters
    frozen; the server calls it with every insertable column in its own order: a column
    added to ``run`` without a migration replacing the function would break every run."""
    from graphport.db.migrate import run_migrations
    from graphport.repositories.runs import _PARAMS

    await run_migrations(db.engine)
    async with db.transaction() as conn:
        names = await (await driver(conn)).fetchval(
            "SELECT proargnames FROM pg_proc WHERE proname = 'graphport_create_run'"
        )
    assert names == [f"p_{column}" for column in _PARAMS] + ["p_thread_tags"]
