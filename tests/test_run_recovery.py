"""Run engine behaviour across processes: timeouts, SIGKILL recovery, SIGTERM drain."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import httpx

from tests.server import ServerProcess


def _wait_status(url: str, thread_id: str, run_id: str, *statuses: str, within: float = 30) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run = httpx.get(f"{url}/threads/{thread_id}/runs/{run_id}").json()
        if run.get("status") in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run never reached {statuses}")


def _background_run(url: str, delay: float) -> tuple[str, str]:
    thread = httpx.post(f"{url}/threads", json={}).json()
    run = httpx.post(
        f"{url}/threads/{thread['thread_id']}/runs",
        json={"assistant_id": "slow", "input": {"delay": delay}},
    ).json()
    return thread["thread_id"], run["run_id"]


def test_run_timeout(fresh_database: str) -> None:
    server = ServerProcess(
        database_uri=fresh_database, extra_env={"BG_JOB_TIMEOUT_SECS": "0.5"}
    ).start()
    try:
        thread = httpx.post(f"{server.url}/threads", json={}).json()
        output = httpx.post(
            f"{server.url}/threads/{thread['thread_id']}/runs/wait",
            json={"assistant_id": "slow", "input": {"delay": 2}},
            timeout=30,
        ).json()
        assert output["__error__"]["error"] == "TimeoutError"
        (run,) = httpx.get(f"{server.url}/threads/{thread['thread_id']}/runs").json()
        assert run["status"] == "timeout"
        assert httpx.get(f"{server.url}/threads/{thread['thread_id']}").json()["status"] == "error"
    finally:
        server.stop()


def test_sigkill_mid_run_then_restart_completes_the_run(fresh_database: str) -> None:
    first = ServerProcess(database_uri=fresh_database).start()
    try:
        thread_id, run_id = _background_run(first.url, delay=1.0)
        _wait_status(first.url, thread_id, run_id, "running")
    finally:
        first.stop(signal.SIGKILL)

    second = ServerProcess(database_uri=fresh_database).start()
    try:
        joined = httpx.get(
            f"{second.url}/threads/{thread_id}/runs/{run_id}/join", timeout=30
        ).json()
        assert joined["log"][-1] == "after"
        assert _wait_status(second.url, thread_id, run_id, "success")
        assert httpx.get(f"{second.url}/threads/{thread_id}").json()["status"] == "idle"
        running = httpx.get(f"{second.url}/threads/{thread_id}/runs?status=running").json()
        assert running == []
    finally:
        second.stop()


def test_sigterm_lets_running_runs_finish(fresh_database: str) -> None:
    server = ServerProcess(database_uri=fresh_database).start()
    url = server.url
    thread_id, run_id = _background_run(url, delay=0.5)
    _wait_status(url, thread_id, run_id, "running")
    server.stop(signal.SIGTERM)  # returns once the process has exited

    again = ServerProcess(database_uri=fresh_database).start()
    try:
        run = httpx.get(f"{again.url}/threads/{thread_id}/runs/{run_id}").json()
        assert run["status"] == "success"
    finally:
        again.stop()


def test_sigterm_requeues_what_does_not_finish_in_the_grace_period(fresh_database: str) -> None:
    server = ServerProcess(
        database_uri=fresh_database, extra_env={"BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": "0.2"}
    ).start()
    thread_id, run_id = _background_run(server.url, delay=3)
    _wait_status(server.url, thread_id, run_id, "running")
    server.stop(signal.SIGTERM)

    again = ServerProcess(database_uri=fresh_database).start()
    try:
        pending_or_running = httpx.get(f"{again.url}/threads/{thread_id}/runs/{run_id}").json()
        assert pending_or_running["status"] in ("pending", "running", "success")
        joined = httpx.get(f"{again.url}/threads/{thread_id}/runs/{run_id}/join", timeout=30)
        assert joined.json()["log"][-1] == "after"
    finally:
        again.stop()


async def test_a_run_failed_by_the_sweeper_ends_its_joins_in_other_processes(
    fresh_database: str,
) -> None:
    """The run's process dies; another process's sweeper fails it (no retries left): the
    join and join stream opened on that other process end at once."""
    no_retry = {"BG_JOB_MAX_RETRIES": "0"}
    worker = ServerProcess(database_uri=fresh_database, extra_env=no_retry).start()
    api = ServerProcess(
        database_uri=fresh_database, extra_env={**no_retry, "N_JOBS_PER_WORKER": "0"}
    ).start()
    try:
        thread_id, run_id = _background_run(worker.url, delay=30)
        _wait_status(worker.url, thread_id, run_id, "running")
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            path = f"/threads/{thread_id}/runs/{run_id}"
            async with http.stream("GET", f"{path}/stream") as stream:
                join = asyncio.create_task(http.get(f"{path}/join"))
                worker.stop(signal.SIGKILL)
                # the sweeper runs every 10 s; the stream ends with the run
                lines = await asyncio.wait_for(_lines(stream), 25)
                joined = (await asyncio.wait_for(join, 5)).json()
            assert (await http.get(path)).json()["status"] == "error"
        assert not any(line.startswith("event: error") for line in lines)
        assert joined["__error__"]["error"] == "WorkerLost"
    finally:
        worker.stop()
        api.stop()


async def _lines(response: httpx.Response) -> list[str]:
    return [line async for line in response.aiter_lines()]
