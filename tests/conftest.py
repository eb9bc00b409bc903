"""Fixtures: a real PostgreSQL (DATABASE_URI, or an embedded one) and a live server on it."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import clients
from tests.server import FIXTURES, ServerProcess, create_database, drop_database, remove_logs

AUTH_CONFIG = FIXTURES / "auth" / "langgraph.json"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave no server logs behind, unless tests failed (then they are there to read)."""
    if exitstatus == 0:
        remove_logs()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Postgres every test uses: DATABASE_URI when set, else one embedded server
    shared by all xdist workers (pgserver stops it when the last one leaves)."""
    configured = os.environ.get("DATABASE_URI")
    if configured:
        yield configured
        return
    from graphport.db.embedded import EmbeddedPostgres

    # One server per pytest session, shared by its xdist workers (their basetemps are
    # siblings under the session's), never by two sessions.
    base = tmp_path_factory.getbasetemp()
    session = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    if os.geteuid() != 0:
        shared = session / "pgdata"
    else:
        digest = hashlib.sha256(str(session).encode()).hexdigest()[:12]
        shared = Path(tempfile.gettempdir()) / f"graphport-pg-{digest}" / "pgdata"
    embedded = EmbeddedPostgres(shared)
    uri = embedded.start()
    yield uri
    if embedded.stop():  # the last one out: its ~40 MB of data go too
        made = shared.parent if shared.parent.name.startswith("graphport-pg-") else shared
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def pg_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory for a test's own embedded PostgreSQL. As root, PostgreSQL runs as
    the user 'pgserver', which must traverse every folder above its data: not under
    pytest's temp root, which every new pytest session as root makes private again."""
    if os.geteuid() != 0:
        yield tmp_path / "data"
        shutil.rmtree(tmp_path / "data", ignore_errors=True)  # pytest keeps tmp_path
        return
    made = Path(tempfile.mkdtemp(prefix="graphport-pg-"))
    yield made / "data"
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def fresh_database(database_uri: str) -> Iterator[str]:
    """A database of its own on the same server, for tests that run extra server processes
    whose queue must not be shared with the session's server."""
    uri = create_database(database_uri)
    yield uri
    drop_database(database_uri, uri)


@pytest.fixture(scope="session")
def server(database_uri: str) -> Iterator[ServerProcess]:
    process = ServerProcess(database_uri=database_uri).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def auth_server(database_uri: str) -> Iterator[ServerProcess]:
    """A ``graphport dev`` server with custom auth (tests/fixtures/auth), on a database of
    its own: its queue must not meet the main server's graphs."""
    uri = create_database(database_uri)
    process = ServerProcess(database_uri=uri, config=AUTH_CONFIG, command="dev").start()
    yield process
    process.stop()
    drop_database(database_uri, uri)


@pytest.fixture(scope="session")
def base_url(server: ServerProcess) -> str:
    return server.url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=base_url, api_key=None, timeout=30)
    yield sdk
    await sdk.http.client.aclose()


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as raw:
        yield raw


@pytest.fixture
def tag() -> str:
    """A unique value so tests can share one database without wiping tables."""
    return uuid.uuid4().hex


@pytest.fixture(scope="session")
def redis_uri() -> Iterator[str]:
    """A real Redis: REDIS_URI when set, else a redis-server started for the session (the
    tests that need one skip, saying so, on a machine with neither: `.ci/run` installs it)."""
    from tests.redis_server import redis_server_binary
    from tests.redis_server import redis_uri as started

    if not os.environ.get("REDIS_URI") and redis_server_binary() is None:
        pytest.skip("needs Redis: set REDIS_URI or install redis-server")
    with started() as uri:
        yield uri


@pytest.fixture
async def users(auth_server: ServerProcess) -> AsyncIterator[dict[str, LangGraphClient]]:
    """SDK clients of the custom-auth server, one per user (tests/api/auth_helpers)."""
    async with clients(auth_server.url) as made:
        yield made


@pytest.fixture
async def raw(auth_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the custom-auth server without credentials."""
    async with httpx.AsyncClient(base_url=auth_server.url, timeout=30) as made:
        yield made
