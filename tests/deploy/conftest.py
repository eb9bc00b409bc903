"""The API and a worker started the way docker-compose.yml starts them: the api and worker
services' commands and environment names, with this machine's Postgres and Redis in place
of the compose services."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.deploy.files import ROOT, api_service, compose_service, environment, settings_env
from tests.server import create_database, drop_database, free_port

LOCAL_REDIS = ("127.0.0.1", 6379)


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(LOCAL_REDIS, timeout=1):
            return True
    except OSError:
        return False


def _local_command(command: list[str], port: int) -> list[str]:
    """compose's command on a free port of the loopback (nothing else changes), run by the
    same console script."""
    local = list(command)
    local[local.index("--host") + 1] = "127.0.0.1"
    local[local.index("--port") + 1] = str(port)
    script = shutil.which("graphport", path=str(Path(sys.executable).parent))
    return [script, *local[1:]] if script else [sys.executable, "-m", "graphport.cli", *local[1:]]


def _local_env(database_uri: str) -> dict[str, str]:
    """compose's environment names with this machine's services: a database of the test's
    own and the local Redis (left out on a machine without one: graphport starts without)."""
    env = {k: v for k, v in os.environ.items() if k not in settings_env()}
    values = {"DATABASE_URI": database_uri}
    if _redis_reachable():
        values["REDIS_URI"] = "redis://{}:{}/0".format(*LOCAL_REDIS)
    assert set(values) <= set(environment(api_service()))
    assert environment(compose_service("worker")) == environment(api_service())
    return {**env, **values}


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{log.stem} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{log.stem} was not ready in 60 s:\n{log.read_text()}")


@contextmanager
def _started(name: str, database: str, folder: Path) -> Iterator[str]:
    """The compose service ``name`` as a local process on ``database``; its URL."""
    log_path = folder / f"{name}.log"
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            _local_command(compose_service(name)["command"], port),
            cwd=ROOT,
            env=_local_env(database),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, log_path)
        yield url
    finally:
        proc.terminate()  # by its own PID
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="package")
def compose_database(database_uri: str) -> Iterator[str]:
    database = create_database(database_uri)
    yield database
    drop_database(database_uri, database)


@pytest.fixture(scope="package")
def compose_worker(
    compose_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``graphport worker`` as the worker service runs it; the URL of its health port."""
    with _started("worker", compose_database, tmp_path_factory.mktemp("compose-worker")) as url:
        yield url


@pytest.fixture(scope="package")
def compose_api(
    compose_database: str, compose_worker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``graphport serve --no-workers`` as the api service runs it, in the image's working
    directory (the repository root: langgraph.json and the example graph), with a worker
    beside it; its URL."""
    with _started("api", compose_database, tmp_path_factory.mktemp("compose-api")) as url:
        yield url


@pytest.fixture
async def compose_client(compose_api: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=compose_api, api_key=None, timeout=30)
    yield client
    await client.http.client.aclose()
