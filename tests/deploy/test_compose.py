"""docker-compose.yml: valid Compose, services that agree with graphport's CLI and settings
and with their images, and the API started as the file starts it (no container engine runs
here: the same command and environment names, on the test database)."""

from __future__ import annotations

import copy
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from check_jsonschema.builtin_schemas import get_builtin_schema
from langgraph_sdk import get_client

from graphport.db.urls import psycopg_conninfo
from graphport.settings import Settings
from tests.deploy.files import (
    DOCKERFILE,
    ROOT,
    compose,
    dockerfile_instructions,
    parse_cli,
    stages,
)
from tests.server import free_port

# Environment variables the images document (Docker Hub pages of `postgres`, which
# `pgvector/pgvector` is built on, and of `redis`, which documents none).
POSTGRES_IMAGE_ENV = {
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_INITDB_ARGS",
    "POSTGRES_INITDB_WALDIR",
    "POSTGRES_HOST_AUTH_METHOD",
    "PGDATA",
}
IMAGE_ENV = {
    "pgvector/pgvector": POSTGRES_IMAGE_ENV,
    "postgres": POSTGRES_IMAGE_ENV,
    "redis": set(),
}
LOCAL_REDIS = ("127.0.0.1", 6379)


def settings_env() -> set[str]:
    """Every environment variable graphport's settings read."""
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either of its forms (mapping or ``KEY=value`` list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(key): str(value) for key, value in env.items()}


def api() -> dict[str, Any]:
    service = compose()["services"]["api"]
    assert isinstance(service, dict)
    return service


def test_compose_file_follows_the_compose_specification() -> None:
    schema = get_builtin_schema("vendor.compose-spec")  # compose-spec's own JSON schema
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []

    # the check has teeth: a misspelt key, a wrong type
    broken = copy.deepcopy(compose())
    broken["services"]["api"]["depend_on"] = broken["services"]["api"].pop("depends_on")
    broken["services"]["api"]["ports"] = "8000:8000"
    found = {(tuple(e.absolute_path), e.message) for e in validator.iter_errors(broken)}
    assert (("services", "api", "ports"), "'8000:8000' is not of type 'array'") in found
    assert any("'depend_on'" in message for _, message in found)


def test_databases_are_healthy_before_the_api_starts() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "api"}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["image"].startswith("redis:")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert api()["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # Postgres keeps its data in a named volume, declared at the top level
    volume, _, target = services["postgres"]["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose()["volumes"]


def unknown_env(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Per service, the environment variables neither graphport (a service built from the
    Dockerfile) nor the service's image reads."""
    found = {}
    for name, service in doc["services"].items():
        if "build" in service:
            known = settings_env()
        else:
            image = service["image"].partition(":")[0]
            assert image in IMAGE_ENV, f"{name}: no list of {image}'s variables"
            known = IMAGE_ENV[image]
        unknown = sorted(set(environment(service)) - known)
        if unknown:
            found[name] = unknown
    return found


def test_every_environment_variable_is_one_its_image_reads() -> None:
    assert unknown_env(compose()) == {}

    broken = copy.deepcopy(compose())
    broken["services"]["api"]["environment"]["DATABASE_URL"] = "postgres://x"
    broken["services"]["postgres"]["environment"]["POSTGRES_PASS"] = "x"
    assert unknown_env(broken) == {"api": ["DATABASE_URL"], "postgres": ["POSTGRES_PASS"]}


def test_api_reaches_postgres_and_redis_by_their_service_names() -> None:
    services = compose()["services"]
    env = environment(api())
    assert set(env) == {"DATABASE_URI", "REDIS_URI"}

    database = urlsplit(env["DATABASE_URI"])
    postgres = environment(services["postgres"])
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    assert database.path == f"/{postgres['POSTGRES_DB']}"
    psycopg_conninfo(env["DATABASE_URI"])  # a URI graphport takes

    redis = urlsplit(env["REDIS_URI"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)


def test_api_command_is_graphport_serve_on_the_published_port() -> None:
    command = api()["command"]
    assert command[0] == "graphport"
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="graphport")
    assert script.value == "graphport.cli:main"

    args = parse_cli(command[1:])
    with pytest.raises(AssertionError, match="rejects"):
        parse_cli([*command[1:], "--no-such-flag"])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    assert api()["ports"] == [f"8000:{args.port}"]
    assert api()["build"] == "."  # the Dockerfile at the root, which runs the same command
    (cmd,) = [
        i for i in stages(dockerfile_instructions(DOCKERFILE.read_text()))[-1] if i.keyword == "CMD"
    ]
    assert cmd.exec_form() == command


# --- the API, started as compose starts it ---------------------------------------------------


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(LOCAL_REDIS, timeout=1):
            return True
    except OSError:
        return False


def _local_command(command: list[str], port: int) -> list[str]:
    """compose's command with its own port, on the loopback only (nothing else changes)."""
    local = list(command)
    local[local.index("--host") + 1] = "127.0.0.1"
    local[local.index("--port") + 1] = str(port)
    script = shutil.which("graphport", path=str(Path(sys.executable).parent))
    return [script, *local[1:]] if script else [sys.executable, "-m", "graphport.cli", *local[1:]]


def _local_env(fresh_database: str) -> dict[str, str]:
    """compose's environment names with this machine's services: the test's own database
    and the local Redis (graphport starts without it, when a machine has none)."""
    env = {k: v for k, v in os.environ.items() if k not in settings_env()}
    values = {"DATABASE_URI": fresh_database}
    if _redis_reachable():
        values["REDIS_URI"] = "redis://{}:{}/0".format(*LOCAL_REDIS)
    assert set(values) <= set(environment(api()))
    return {**env, **values}


@pytest.fixture
def compose_api(fresh_database: str, tmp_path: Path) -> Iterator[str]:
    """``graphport serve`` as the api service runs it, in the image's working directory
    (the repository root: langgraph.json with the example graph)."""
    port = free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        _local_command(api()["command"], port),
        cwd=ROOT,
        env=_local_env(fresh_database),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, tmp_path / "api.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the api exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the api was not ready in 60 s:\n{log.read_text()}")


@pytest.fixture
async def compose_client(compose_api: str) -> AsyncIterator[Any]:
    client = get_client(url=compose_api, api_key=None, timeout=30)
    yield client
    await client.http.client.aclose()


async def test_api_runs_the_example_graph_as_compose_starts_it(
    compose_api: str, compose_client: Any
) -> None:
    async with httpx.AsyncClient(base_url=compose_api) as http:
        assert (await http.get("/ok", params={"check_db": 1})).json() == {"ok": True}

    (assistant,) = await compose_client.assistants.search(graph_id="chat")
    thread = await compose_client.threads.create()
    output = await compose_client.runs.wait(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "user", "content": "hello from compose"}]},
    )
    assert [(m["type"], m["content"]) for m in output["messages"]] == [
        ("human", "hello from compose"),
        ("ai", "You said: hello from compose"),
    ]
    state = await compose_client.threads.get_state(thread["thread_id"])
    assert state["values"] == output
