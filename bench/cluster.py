"""Scale-out plumbing for the benchmarks: API-only, worker and all-in-one processes on one
PostgreSQL and one Redis, and the CPU time of every process taking part.

Every process is started here and stopped by its own PID (``ServerProcess``); Redis is the
one ``REDIS_URI`` names, else a ``redis-server`` started for the run (tests/redis_server.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import HERE, cpu_seconds

from tests.server import ServerProcess, create_database, drop_database

CONFIG = HERE / "langgraph.json"


def fresh_database(admin_uri: str) -> str:
    """A new empty database on the server of ``admin_uri`` (drop it with ``drop``)."""
    return create_database(admin_uri, prefix="graphport_bench")


def drop(admin_uri: str, uri: str) -> None:
    drop_database(admin_uri, uri)


class Cluster:
    """Processes sharing ``uri`` (and ``redis``, when given): ``api()`` is
    ``serve --no-workers``, ``worker()`` is ``graphport worker``, ``serve()`` is all in one.
    The first process started migrates the database; the others skip it."""

    def __init__(self, uri: str, redis: str | None, **env: str) -> None:
        self.uri = uri
        self.redis = redis
        self.env = env
        self.processes: dict[str, ServerProcess] = {}
        self._migrated = False

    def api(self, name: str) -> ServerProcess:
        return self._start(name, "serve", ["--no-workers"])

    def serve(self, name: str) -> ServerProcess:
        return self._start(name, "serve", [])

    def worker(self, name: str, **env: str) -> ServerProcess:
        return self._start(name, "worker", [], **env)

    def _start(self, name: str, command: str, args: list[str], **env: str) -> ServerProcess:
        if self._migrated:
            args = [*args, "--no-migrate"]
        proc = ServerProcess(
            database_uri=self.uri,
            config=CONFIG,
            command=command,
            extra_args=args,
            extra_env={**self.env, **env},
        )
        proc.env.pop("REDIS_URI", None)
        if self.redis is not None:
            proc.env["REDIS_URI"] = self.redis
        proc.start(timeout=60)
        self._migrated = True
        self.processes[name] = proc
        return proc

    def pid(self, name: str) -> int:
        proc = self.processes[name].proc
        assert proc is not None, name
        return proc.pid

    def kill(self, name: str) -> ServerProcess:
        """``kill -9`` the process by its PID and reap it; it leaves the cluster (its log
        stays readable on the returned object)."""
        server = self.processes.pop(name)
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        server.proc = None
        return server

    def stop(self) -> None:
        for server in self.processes.values():
            server.stop()
        self.processes.clear()

    def logs(self, name: str) -> str:
        return self.processes[name].logs()


@contextlib.contextmanager
def cluster(uri: str, redis: str | None, **env: str) -> Iterator[Cluster]:
    processes = Cluster(uri, redis, **env)
    try:
        yield processes
    finally:
        processes.stop()


def worker_metrics(server: ServerProcess) -> dict[str, Any]:
    """A worker's (or any process's) ``/metrics`` JSON."""
    response = httpx.get(f"{server.url}/metrics", params={"format": "json"}, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def runs_executed(server: ServerProcess) -> int:
    """Runs this process ran to an end (its run-duration histogram's count)."""
    return int(worker_metrics(server)["timings"]["run_duration"]["count"])


# -- CPU of the processes taking part ------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its children, live and reaped (a postmaster's backends)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    fields = _stat(pid)
    total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            child = _stat(int(entry.name))
            if int(child[1]) == pid:  # field 4, the parent
                total += sum(int(f) for f in child[11:15])
    return total / ticks


def postgres_pid(uri: str) -> int | None:
    """The postmaster's PID, from ``postmaster.pid`` in its data directory (None when the
    server is not on this machine or its files cannot be read)."""
    with contextlib.suppress(Exception), psycopg.connect(uri) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        if row is not None:
            return int((Path(row[0]) / "postmaster.pid").read_text().split()[0])
    return None


def redis_pid(redis: str) -> int | None:
    """The PID of the ``redis-server`` listening on the port of ``redis`` (its title names
    the port), or None when none on this machine does."""
    port = httpx.URL(redis).port or 6379
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            program, _, rest = title.partition(" ")
            if program.endswith("redis-server") and f":{port}" in rest:
                return int(entry.name)
    return None


class CpuMeter:
    """CPU seconds of named processes between ``start()`` and ``read()``: plain processes
    by their PID, ``postgres`` with its backends (``tree_cpu_seconds``)."""

    def __init__(self, pids: dict[str, int | None], trees: frozenset[str] = frozenset()) -> None:
        self._pids = {name: pid for name, pid in pids.items() if pid is not None}
        self._trees = trees
        self._before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {
            name: (tree_cpu_seconds(pid) if name in self._trees else cpu_seconds(pid))
            for name, pid in self._pids.items()
        }

    def start(self) -> CpuMeter:
        self._before = self._now()
        return self

    def read(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._before[name] for name in now}


def meter(processes: Cluster, redis: str | None) -> CpuMeter:
    """A meter over every process of ``processes``, this one (``bench``), Postgres and Redis
    when they run on this machine."""
    pids: dict[str, int | None] = {name: processes.pid(name) for name in processes.processes}
    pids["bench"] = os.getpid()
    pids["postgres"] = postgres_pid(processes.uri)
    if redis is not None:
        pids["redis"] = redis_pid(redis)
    return CpuMeter(pids, trees=frozenset({"postgres"})).start()


def cpu_line(cpu: dict[str, float]) -> str:
    """``api 1.2 s, w1 3.4 s, ...``: where the CPU went."""
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
