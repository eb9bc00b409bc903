"""PostgreSQL refusing a connection (``max_connections`` reached) is overload, like a pool
that stayed busy: 503 with Retry-After, a run's end retried, never a 500 nor a lost end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from graphport.db.engine import Database, pool_exhausted


@pytest.fixture
def refused_uri(database_uri: str) -> Iterator[str]:
    """The URI of a role PostgreSQL lets open no connection (CONNECTION LIMIT 0): each
    attempt fails with SQLSTATE 53300, "too many connections", as at max_connections."""
    role = f"gp_refused_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    parts = urlsplit(database_uri)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    yield urlunsplit((parts.scheme, f"{role}@{netloc}", parts.path, parts.query, ""))
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


async def test_a_refused_connection_is_overload_for_both_drivers(refused_uri: str) -> None:
    db = Database(refused_uri, pool_size=1, pool_timeout=1)
    await db.start()
    try:
        with pytest.raises(Exception) as through_sqlalchemy:  # noqa: PT011 - any wrapper
            async with db.transaction() as conn:
                await conn.exec_driver_sql("SELECT 1")
    finally:
        await db.stop()
    assert pool_exhausted(through_sqlalchemy.value), repr(through_sqlalchemy.value)
    with pytest.raises(psycopg.OperationalError) as through_psycopg:
        await psycopg.AsyncConnection.connect(refused_uri)
    assert pool_exhausted(through_psycopg.value), repr(through_psycopg.value)


def test_other_database_errors_are_not_overload() -> None:
    assert not pool_exhausted(ValueError("boom"))
    assert not pool_exhausted(psycopg.errors.UniqueViolation("duplicate"))
