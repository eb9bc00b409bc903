"""docker-compose.yml: valid Compose, services that agree with graphport's CLI and settings
and with their images, and the API started as the file starts it (no container engine runs
here: the same command and environment names, on the test database)."""

from __future__ import annotations

import copy
import importlib.metadata
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from check_jsonschema.builtin_schemas import get_builtin_schema
from langgraph_sdk.client import LangGraphClient

from graphport.db.urls import psycopg_conninfo
from graphport.settings import Settings
from tests.deploy.files import (
    DOCKERFILE,
    api_service,
    compose,
    compose_service,
    dockerfile_instructions,
    environment,
    parse_cli,
    settings_env,
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
    assert set(services) == {"postgres", "redis", "api", "worker"}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg")
    postgres = environment(services["postgres"])
    assert services["postgres"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        f"pg_isready -U {postgres['POSTGRES_USER']} -d {postgres['POSTGRES_DB']}",
    ]
    assert services["redis"]["image"].startswith("redis:")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
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
    env = environment(api_service())
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
    command = api_service()["command"]
    assert command[0] == "graphport"
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="graphport")
    assert script.value == "graphport.cli:main"

    args = parse_cli(command[1:])
    with pytest.raises(AssertionError, match="rejects"):
        parse_cli([*command[1:], "--no-such-flag"])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    assert args.no_workers  # the worker service runs the runs
    assert api_service()["ports"] == [f"8000:{args.port}"]
    assert api_service()["build"] == "."  # the Dockerfile at the root
    (cmd,) = [
        i for i in stages(dockerfile_instructions(DOCKERFILE.read_text()))[-1] if i.keyword == "CMD"
    ]
    # the image alone (docker run) is a whole server; compose splits it in two
    assert cmd.exec_form() == [c for c in command if c != "--no-workers"]


def test_worker_is_graphport_worker_from_the_api_image() -> None:
    worker, api = compose_service("worker"), api_service()
    args = parse_cli(worker["command"][1:])
    assert worker["command"][0] == "graphport"
    assert (args.command, args.host) == ("worker", "0.0.0.0")
    assert (worker["build"], worker["image"]) == (api["build"], api["image"])
    assert environment(worker) == environment(api)
    assert "ports" not in worker  # --scale worker=3: nothing published, nothing to clash
    assert "container_name" not in worker
    # its drain: the grace period and a margin, as for the api
    grace = Settings().bg_job_shutdown_grace_period_secs
    assert worker["stop_grace_period"] == api["stop_grace_period"] == f"{int(grace) + 10}s"
    test = worker["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]  # slim has no curl
    assert f"http://127.0.0.1:{args.port}/ok" in test[3]


def test_worker_healthcheck_passes_on_a_ready_worker_and_fails_without_one(
    compose_worker: str,
) -> None:
    port = compose_service("worker")["command"][-1]
    code = compose_service("worker")["healthcheck"]["test"][3]
    here = compose_worker.rsplit(":", 1)[1]
    ready = subprocess.run([sys.executable, "-c", code.replace(port, here)], timeout=10)
    assert ready.returncode == 0
    gone = subprocess.run(
        [sys.executable, "-c", code.replace(port, str(free_port()))],
        capture_output=True,
        timeout=10,
    )
    assert gone.returncode == 1


async def test_api_runs_the_example_graph_as_compose_starts_it(
    compose_api: str, compose_client: LangGraphClient
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
