"""``graphport serve`` for production: a database required, JSON logs with request, run and
thread ids, the request id echoed, several worker processes on one port."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from langgraph_sdk import get_client

from tests.server import ServerProcess, free_port

ACCEPTED_ID = "req-7f3a.b_c:1"


def test_serve_without_a_database_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphport.cli",
            "serve",
            "--config",
            str(tmp_path / "langgraph.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no DATABASE_URI
    )
    assert result.returncode == 2
    assert result.stderr == (
        "graphport: serve needs a database: set DATABASE_URI to your PostgreSQL "
        "(postgresql://user:password@host:5432/dbname), or pass --embedded-postgres\n"
    )
    assert not (tmp_path / ".graphport").exists()  # no embedded PostgreSQL was made


def _records(server: ServerProcess) -> list[dict[str, Any]]:
    """Every line of the server's output, each a JSON object (a non-JSON line fails)."""
    records = [json.loads(line) for line in server.logs().splitlines()]
    for record in records:
        assert {"timestamp", "level", "logger", "message", "pid"} <= record.keys(), record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["timestamp"])
    return records


def _wait_for(server: ServerProcess, text: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while text not in server.logs():
        assert time.monotonic() < deadline, f"no {text!r} in:\n{server.logs()}"
        time.sleep(0.05)


def test_json_logs_carry_request_run_and_thread_ids(fresh_database: str) -> None:
    server = ServerProcess(
        database_uri=fresh_database, extra_env={"LOG_JSON": "true", "LOG_LEVEL": "info"}
    ).start()
    try:
        url = server.url
        created = httpx.post(
            f"{url}/threads", json={"metadata": {}}, headers={"X-Request-ID": ACCEPTED_ID}
        )
        assert created.headers["x-request-id"] == ACCEPTED_ID
        thread_id = created.json()["thread_id"]
        made = httpx.get(f"{url}/ok").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        for unusable in ("two words", "x" * 201):  # replaced by an id of the server's
            answered = httpx.get(f"{url}/ok", headers={"X-Request-ID": unusable})
            assert re.fullmatch(r"[0-9a-f]{32}", answered.headers["x-request-id"])
        missing = httpx.get(f"{url}/threads/{made}", headers={"X-Request-ID": "req-404"})
        assert (missing.status_code, missing.headers["x-request-id"]) == (404, "req-404")

        waited = httpx.post(
            f"{url}/threads/{thread_id}/runs/wait",
            json={"assistant_id": "slow", "input": {}},
            headers={"X-Request-ID": "req-wait"},
            timeout=30,
        )
        assert waited.status_code == 200
        run_id = waited.headers["content-location"].rsplit("/", 1)[1]
        inspected = httpx.post(
            f"{url}/threads/{thread_id}/runs/wait",
            json={"assistant_id": "inspector", "input": {}},
            timeout=30,
        )
        inspected_run = inspected.headers["content-location"].rsplit("/", 1)[1]
        # a run the claim loop takes later, outside any request
        later = httpx.post(
            f"{url}/threads/{thread_id}/runs",
            json={"assistant_id": "slow", "input": {}, "after_seconds": 1},
            headers={"X-Request-ID": "req-later"},
        ).json()
        joined = httpx.get(f"{url}/threads/{thread_id}/runs/{later['run_id']}/join", timeout=30)
        assert joined.status_code == 200
        _wait_for(server, f"run {later['run_id']} ended")
    finally:
        server.stop()
    records = _records(server)

    [banner] = [r for r in records if r["message"] == "graphport ready"]
    assert banner["logger"] == "graphport"
    assert banner["api_url"] == url
    assert banner["studio_url"] == f"https://smith.langchain.com/studio/?baseUrl={url}"

    def access(request_id: str) -> dict[str, Any]:
        [found] = [
            r
            for r in records
            if r["logger"] == "uvicorn.access" and r.get("request_id") == request_id
        ]
        return found

    assert '"POST /threads HTTP/1.1" 200' in access(ACCEPTED_ID)["message"]
    assert "thread_id" not in access(ACCEPTED_ID)
    assert access("req-404")["thread_id"] == made  # named by the path
    wait_line = access("req-wait")
    assert wait_line["thread_id"] == thread_id
    assert wait_line["level"] == "info"

    [ended] = [r for r in records if r["message"].startswith(f"run {run_id} ended")]
    # started at once by the request that created it: the run's lines carry its request id
    assert (ended["run_id"], ended["thread_id"], ended["request_id"]) == (
        run_id,
        thread_id,
        "req-wait",
    )
    assert ended["logger"] == "graphport.execution.executor"
    [graph_line] = [r for r in records if r["logger"] == "graphs.inspector"]
    assert graph_line["message"] == "inspecting"
    assert (graph_line["run_id"], graph_line["thread_id"]) == (inspected_run, thread_id)
    [claimed] = [r for r in records if r["message"].startswith(f"run {later['run_id']} ended")]
    assert (claimed["run_id"], claimed["thread_id"]) == (later["run_id"], thread_id)
    assert "request_id" not in claimed  # claimed from the queue, after its request ended
    assert not [r for r in records if r["level"] in ("error", "critical")]


def _workers(server: ServerProcess) -> list[psutil.Process]:
    assert server.proc is not None
    children = psutil.Process(server.proc.pid).children()
    return [c for c in children if "spawn_main" in " ".join(c.cmdline())]


async def test_serve_with_two_workers_runs_everything_once_and_drains_on_sigterm(
    fresh_database: str,
) -> None:
    server = ServerProcess(
        database_uri=fresh_database,
        port=free_port(),
        extra_args=["--workers", "2"],
        # two slots each: twelve runs at once are shared by both workers
        extra_env={
            "LOG_JSON": "true",
            "N_JOBS_PER_WORKER": "2",
            "BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": "20",
        },
    ).start(timeout=60)
    workers: list[psutil.Process] = []
    try:
        _wait_for(server, '"graphport ready"')  # announced once both workers listen
        workers = _workers(server)
        assert len(workers) == 2
        client = get_client(url=server.url, timeout=60)
        threads = [(await client.threads.create())["thread_id"] for _ in range(12)]
        slow = {"delay": 0.2}
        waits = [client.runs.wait(t, "slow", input=slow) for t in threads[:8]]
        background = [await client.runs.create(t, "slow", input=slow) for t in threads[8:]]
        outputs = await asyncio.gather(*waits)
        joined = [await client.runs.join(r["thread_id"], r["run_id"]) for r in background]
        for output in [*outputs, *joined]:
            assert len(output["log"]) == 2 and output["log"][1] == "after"  # each ran once
        parts = [
            part
            async for part in client.runs.stream(
                None, "chat", input={"messages": [{"role": "user", "content": "hi"}]}
            )
        ]
        assert parts[-1].event == "values"
        assert parts[-1].data["messages"][-1]["content"] == "hello from the fake model"
        for thread_id in threads:
            [run] = await client.runs.list(thread_id)
            assert run["status"] == "success"
        ran_in = {
            r["pid"] for r in _records(server) if re.match(r"run \S+ ended: success", r["message"])
        }
        assert ran_in == {w.pid for w in workers}  # both workers ran runs

        # SIGTERM: the parent stops both workers; a run in progress still ends and answers
        thread_id = threads[0]
        waiting = asyncio.create_task(client.runs.wait(thread_id, "slow", input={"delay": 1.0}))
        await _until_running(client, thread_id)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        output = await waiting
        assert output["log"][-1] == "after"
        assert await asyncio.to_thread(server.proc.wait, 60) == 0
        for worker in workers:
            assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    finally:
        server.stop(signal.SIGKILL)
        for worker in _orphans(workers):
            worker.kill()
    records = _records(server)
    assert [r["message"] for r in records].count("graphport ready") == 1
    assert not [r for r in records if r["level"] in ("error", "critical")], records


async def _until_running(client: Any, thread_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = await client.runs.list(thread_id, status="running")
        if runs:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never started")


def _orphans(workers: list[psutil.Process]) -> list[psutil.Process]:
    """Workers still alive after their parent ended (only on a failure)."""
    return [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
