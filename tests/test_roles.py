"""Process roles: ``graphport serve --no-workers`` (the API only) and ``graphport worker``
(runs, crons and sweepers, with a health port), as separate processes on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from graphport.settings import Settings
from tests.server import TEST_CONFIG, ServerProcess

SLOTS = Settings.model_fields["n_jobs_per_worker"].default  # run slots by default


def _api(uri: str) -> ServerProcess:
    return ServerProcess(database_uri=uri, extra_args=["--no-workers"])


def _worker(uri: str, **env: str) -> ServerProcess:
    return ServerProcess(database_uri=uri, command="worker", extra_env=env)


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    """The test's server processes, stopped at its end (each by its own PID)."""
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def _eventually(check: Any, within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within}s: {check}")
        time.sleep(0.05)


def _status(url: str, thread_id: str, run_id: str) -> str:
    status: str = httpx.get(f"{url}/threads/{thread_id}/runs/{run_id}").json()["status"]
    return status


def _background_run(url: str, delay: float) -> tuple[str, str]:
    thread_id = httpx.post(f"{url}/threads", json={}).json()["thread_id"]
    run = httpx.post(
        f"{url}/threads/{thread_id}/runs", json={"assistant_id": "slow", "input": {"delay": delay}}
    ).json()
    return thread_id, run["run_id"]


def _ended_in(server: ServerProcess, run_id: str) -> bool:
    return f"run {run_id} ended" in server.logs()


def _metrics(server: ServerProcess) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/metrics", params={"format": "json"})
    assert answer.status_code == 200
    metrics: dict[str, Any] = answer.json()
    return metrics


def test_worker_needs_a_database_and_lists_its_options() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URI"}
    command = [sys.executable, "-m", "graphport.cli", "worker", "--config", str(TEST_CONFIG)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "graphport: worker needs a database: set DATABASE_URI to the PostgreSQL of your API "
        "(postgresql://user:password@host:5432/dbname)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "graphport.cli", "worker", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0
    for option in ("--config", "--host", "--port", "--no-migrate"):
        assert option in shown.stdout
    assert "(default: 8001)" in " ".join(shown.stdout.split())
    assert "--data-dir" not in shown.stdout


def test_runs_wait_in_the_queue_until_a_worker_takes_them(
    fresh_database: str, processes: list[ServerProcess]
) -> None:
    api = _api(fresh_database).start()
    processes.append(api)
    thread_id, run_id = _background_run(api.url, delay=0)
    time.sleep(1.0)  # an API process would have started it long before
    assert _status(api.url, thread_id, run_id) == "pending"
    assert "workers" not in _metrics(api)  # no run slots here
    assert "graphport role api: the API only" in api.logs()

    worker = _worker(fresh_database).start()
    processes.append(worker)
    joined = httpx.get(f"{api.url}/threads/{thread_id}/runs/{run_id}/join", timeout=30).json()
    assert joined["log"][-1] == "after"
    assert _status(api.url, thread_id, run_id) == "success"
    assert _ended_in(worker, run_id) and not _ended_in(api, run_id)
    assert f"graphport role worker: {SLOTS} run slots" in worker.logs()

    # runs.wait on the API: answered when the worker's run ends
    waited = httpx.post(
        f"{api.url}/threads/{thread_id}/runs/wait",
        json={"assistant_id": "slow", "input": {"delay": 0}},
        timeout=30,
    )
    assert waited.json()["log"][-1] == "after"
    run_id = waited.headers["Content-Location"].rsplit("/", 1)[-1]
    assert _ended_in(worker, run_id) and not _ended_in(api, run_id)
    worker_metrics = _metrics(worker)
    assert worker_metrics["workers"] == {"max": SLOTS, "active": 0, "available": SLOTS}
    assert worker_metrics["timings"]["run_duration"]["count"] == 2
    assert _metrics(api)["timings"]["run_duration"]["count"] == 0


def test_a_cron_created_on_the_api_fires_on_the_worker(
    fresh_database: str, processes: list[ServerProcess]
) -> None:
    processes += [_api(fresh_database).launch(), _worker(fresh_database).launch()]
    for process in processes:
        process.wait_ready(60)  # both at once on an empty database: migrations serialise
    api, worker = processes
    thread_id = httpx.post(f"{api.url}/threads", json={}).json()["thread_id"]
    cron = httpx.post(
        f"{api.url}/threads/{thread_id}/runs/crons",
        json={"assistant_id": "slow", "schedule": "0 0 1 1 *", "input": {"delay": 0}},
    ).json()
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE cron SET next_run_date = now() - interval '1 second' WHERE cron_id = %s",
            (cron["cron_id"],),
        )
    # a cron change on the API reaches the worker's scheduler (a NOTIFY), which re-plans
    nudge = httpx.post(
        f"{api.url}/runs/crons", json={"assistant_id": "slow", "schedule": "0 0 1 1 *"}
    ).json()
    httpx.delete(f"{api.url}/runs/crons/{nudge['cron_id']}")

    def fired() -> list[Any]:
        runs: list[Any] = httpx.get(f"{api.url}/threads/{thread_id}/runs").json()
        return [r for r in runs if r["status"] == "success"]

    (run,) = _eventually(fired, within=15)
    assert _ended_in(worker, run["run_id"]) and not _ended_in(api, run["run_id"])


def test_a_cancel_on_the_api_stops_the_run_on_the_worker(
    fresh_database: str, processes: list[ServerProcess]
) -> None:
    processes += [_worker(fresh_database).start(), _api(fresh_database).start()]
    worker, api = processes
    thread_id, run_id = _background_run(api.url, delay=30)
    # the API's NOTIFY wakes the idle worker: well before its 5 s recheck of the queue
    _eventually(lambda: _status(api.url, thread_id, run_id) == "running", within=4)
    started = time.monotonic()
    cancelled = httpx.post(
        f"{api.url}/threads/{thread_id}/runs/{run_id}/cancel", params={"wait": 1}, timeout=30
    )
    assert cancelled.status_code in (200, 202, 204), cancelled.text
    assert _status(api.url, thread_id, run_id) == "interrupted"
    assert time.monotonic() - started < 10
    assert _ended_in(worker, run_id)


def test_the_worker_answers_ok_and_metrics_only(
    fresh_database: str, processes: list[ServerProcess]
) -> None:
    worker = _worker(fresh_database).start()
    processes.append(worker)
    assert httpx.get(f"{worker.url}/ok").json() == {"ok": True}
    assert httpx.get(f"{worker.url}/ok", params={"check_db": 1}).json() == {"ok": True}
    assert _metrics(worker)["queue"]["n_pending"] == 0
    text = httpx.get(f"{worker.url}/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    assert f"graphport_worker_slots {SLOTS:.1f}" in text.text
    for path in ("/", "/info", "/threads", "/assistants/search", "/docs", "/openapi.json"):
        missing = httpx.get(f"{worker.url}{path}")
        assert missing.status_code == 404, path
        assert missing.json() == {"detail": "Not Found"}
    assert httpx.post(f"{worker.url}/threads", json={}).status_code == 404


def test_sigterm_lets_the_workers_run_finish_and_exits_0(
    fresh_database: str, processes: list[ServerProcess]
) -> None:
    api = _api(fresh_database).start()
    worker = _worker(fresh_database).start()
    processes += [api, worker]
    thread_id, run_id = _background_run(api.url, delay=1.0)
    _eventually(lambda: _status(api.url, thread_id, run_id) == "running")
    proc = worker.proc
    assert proc is not None
    worker.stop(signal.SIGTERM)  # returns once the process has exited
    assert proc.returncode == 0
    assert _status(api.url, thread_id, run_id) == "success"
    assert _ended_in(worker, run_id)
