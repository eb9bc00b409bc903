"""Worker-loss benchmark (by hand, not in CI): ``kill -9`` a worker in the middle of its
runs and check every run still ends ``success`` exactly once.

    python bench/kill_bench.py [--rounds 20] [--runs 10] [--replace-after]

One ``serve --no-workers`` and two ``graphport worker`` (5 run slots each, so that both hold
runs) on one PostgreSQL (embedded, or DATABASE_URI) and one Redis (REDIS_URI, or one started
here). Each round creates ``--runs`` background runs of ``steps`` (five checkpointed 0.4 s
steps, each appending its name to the state) on threads of their own, waits until both
workers run some, kills the busier worker by its PID, starts a replacement (at once, so its
start-up sweep finds the orphans; ``--replace-after``: once the round is over, so the
survivor's periodic sweeper must), and waits for every run to end. A run is

- lost: not ``success`` within ``BOUND_SECONDS`` of the kill;
- duplicated: a step in its final state more than once, more checkpoints than an undisturbed
  run makes, more than one run on its thread, or its end logged by more than one worker.

Per round: runs, runs the killed worker held, runs restarted (``attempt`` 2), lost,
duplicated, time from the kill to the last run's end. Exits 1 when any run is lost or
duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import httpx
import psycopg
from cluster import Cluster, cluster, drop, fresh_database, worker_metrics
from common import database_uri, machine, new_client
from graphs import STEP_COUNT

from tests.redis_server import redis_uri
from tests.server import ServerProcess, remove_logs

BOUND_SECONDS = 60.0  # the orphan sweeper runs every 10 s; a restarted run takes 2 s more
SLOTS = "5"  # run slots per worker
EXPECTED_STEPS = [f"s{i}" for i in range(STEP_COUNT)]


async def start_round(http: httpx.AsyncClient, round_no: int, n_runs: int) -> dict[str, str]:
    """``n_runs`` background ``steps`` runs, each on a new thread; {run id: thread id}."""
    runs: dict[str, str] = {}
    for i in range(n_runs):
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        body = {
            "assistant_id": "steps",
            "input": {"tag": f"round {round_no} run {i}", "steps": []},
            "metadata": {"round": round_no},
        }
        response = await http.post(f"/threads/{thread}/runs", json=body)
        assert response.status_code == 200, response.text
        runs[response.json()["run_id"]] = thread
    return runs


def active_runs(worker: ServerProcess) -> int:
    return int(worker_metrics(worker)["workers"]["active"])


async def wait_busy(workers: dict[str, ServerProcess], within: float) -> dict[str, int]:
    """Poll the workers' /metrics until each runs at least one run; {worker: active runs}."""
    deadline = time.monotonic() + within
    while True:
        active = {name: active_runs(w) for name, w in workers.items()}
        if all(active.values()) or time.monotonic() > deadline:
            return active
        await asyncio.sleep(0.05)


async def wait_ended(conn: psycopg.AsyncConnection[Any], runs: list[str], within: float) -> float:
    """Poll until every run has ended (or ``within`` passes); the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM run WHERE run_id = ANY(%s::uuid[]) "
                "AND status NOT IN ('pending', 'running')",
                (runs,),
            )
        ).fetchone()
        if row is not None and row[0] == len(runs):
            break
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def expected_checkpoints(http: httpx.AsyncClient, conn: Any) -> int:
    """The checkpoints one undisturbed ``steps`` run leaves on its thread."""
    runs = await start_round(http, -1, 1)
    await wait_ended(conn, list(runs), BOUND_SECONDS)
    (run_id, thread), *_ = runs.items()
    return len(await history(http, thread))


async def history(http: httpx.AsyncClient, thread: str) -> list[Any]:
    response = await http.post(f"/threads/{thread}/history", json={"limit": 1000})
    assert response.status_code == 200, response.text
    result: list[Any] = response.json()
    return result


async def judge(
    http: httpx.AsyncClient,
    conn: Any,
    runs: dict[str, str],
    logs: str,
    checkpoints: int,
) -> dict[str, int]:
    """Counts of runs lost, duplicated and restarted (see the module docstring)."""
    rows = await (
        await conn.execute(
            "SELECT run_id::text, status, attempt, "
            "(SELECT count(*) FROM run o WHERE o.thread_id = r.thread_id) "
            "FROM run r WHERE run_id = ANY(%s::uuid[])",
            (list(runs),),
        )
    ).fetchall()
    found = {row[0]: row[1:] for row in rows}
    lost = duplicated = restarted = 0
    for run_id, thread in runs.items():
        status, attempt, on_thread = found.get(run_id, ("missing", 0, 0))
        restarted += attempt > 1
        if status != "success":
            lost += 1
            continue
        state = (await http.get(f"/threads/{thread}/state")).json()
        kept = len(await history(http, thread))
        ends = logs.count(f"run {run_id} ended: ")
        faults = {
            "steps": state["values"]["steps"] != EXPECTED_STEPS,
            "runs on its thread": on_thread != 1,
            f"{kept} checkpoints": kept != checkpoints,
            f"{ends} ends logged": ends != 1,
        }
        if any(faults.values()):
            duplicated += 1
            said = ", ".join(k for k, bad in faults.items() if bad)
            print(f"    run {run_id} (attempt {attempt}): {said}; steps {state['values']['steps']}")
    return {"lost": lost, "duplicated": duplicated, "restarted": restarted}


class Round:
    """One round's figures, for the per-round line and the totals."""

    def __init__(self, n_runs: int, held: int, counts: dict[str, int], recovery: float) -> None:
        self.runs, self.held, self.recovery = n_runs, held, recovery
        self.lost, self.duplicated = counts["lost"], counts["duplicated"]
        self.restarted = counts["restarted"]

    def line(self, round_no: int, killed: str) -> str:
        return (
            f"  round {round_no:>2}: {self.runs} runs, killed {killed:<8} holding {self.held}, "
            f"restarted {self.restarted}, lost {self.lost}, duplicated {self.duplicated}, "
            f"kill -> all ended {self.recovery:5.2f} s"
        )


class Bench:
    """The cluster, its dead workers (their logs still count) and the next worker's name."""

    def __init__(self, procs: Cluster, http: httpx.AsyncClient, conn: Any) -> None:
        self.procs, self.http, self.conn = procs, http, conn
        self.dead: list[ServerProcess] = []
        self.next_worker = 1
        self.checkpoints = 0
        self.replace_after = False  # True: the survivor's periodic sweeper must recover

    def start_worker(self) -> None:
        self.procs.worker(f"worker{self.next_worker}", N_JOBS_PER_WORKER=SLOTS)
        self.next_worker += 1

    def workers(self) -> dict[str, ServerProcess]:
        return {n: p for n, p in self.procs.processes.items() if n.startswith("worker")}

    def logs(self) -> str:
        live = [p.logs() for n, p in self.procs.processes.items() if n.startswith("worker")]
        return "\n".join(live + [p.logs() for p in self.dead])

    async def round(self, round_no: int, n_runs: int, rng: random.Random) -> Round:
        runs = await start_round(self.http, round_no, n_runs)
        active = await wait_busy(self.workers(), 10)
        await asyncio.sleep(rng.uniform(0.0, 1.2))  # kill at a different step each round
        active = {name: active_runs(w) for name, w in self.workers().items()}
        victim = max(active, key=lambda name: active[name])
        killed_at = time.perf_counter()
        self.dead.append(self.procs.kill(victim))
        if not self.replace_after:
            self.start_worker()
        await wait_ended(self.conn, list(runs), BOUND_SECONDS)
        recovery = time.perf_counter() - killed_at
        if self.replace_after:
            self.start_worker()
        counts = await judge(self.http, self.conn, runs, self.logs(), self.checkpoints)
        result = Round(n_runs, active[victim], counts, recovery)
        print(result.line(round_no, victim), flush=True)
        return result


async def rounds(uri: str, redis: str, args: argparse.Namespace) -> list[Round]:
    with cluster(uri, redis) as procs:
        api = procs.api("api")
        async with (
            new_client(api.url, 4) as http,
            await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn,
        ):
            bench = Bench(procs, http, conn)
            bench.replace_after = args.replace_after
            bench.start_worker()
            bench.start_worker()
            bench.checkpoints = await expected_checkpoints(http, conn)
            print(f"  an undisturbed run leaves {bench.checkpoints} checkpoints")
            rng = random.Random(7)
            return [await bench.round(i + 1, args.runs, rng) for i in range(args.rounds)]


def totals(results: list[Round], seconds: float) -> int:
    runs = sum(r.runs for r in results)
    lost = sum(r.lost for r in results)
    duplicated = sum(r.duplicated for r in results)
    recoveries = sorted(r.recovery for r in results)
    print(
        f"totals: {len(results)} rounds, {runs} runs, {sum(r.held for r in results)} held by "
        f"killed workers, {sum(r.restarted for r in results)} restarted, lost {lost}, "
        f"duplicated {duplicated}"
    )
    print(
        f"  kill -> all ended: median {recoveries[len(recoveries) // 2]:.2f} s, "
        f"max {recoveries[-1]:.2f} s (bound {BOUND_SECONDS:.0f} s); {seconds:.0f} s in all"
    )
    return 1 if lost or duplicated else 0


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10, help="runs per round")
    parser.add_argument(
        "--replace-after",
        action="store_true",
        help="start the replacement worker only once the round's runs have ended: the "
        "surviving worker's periodic sweeper (every 10 s) must requeue them",
    )
    args = parser.parse_args()
    admin_uri, embedded = database_uri()
    print(f"machine: {machine()}")
    began = time.perf_counter()
    try:
        uri = fresh_database(admin_uri)
        try:
            with redis_uri() as redis:
                results = await rounds(uri, redis, args)
        finally:
            drop(admin_uri, uri)
    finally:
        if embedded is not None:
            embedded.stop()
    status = totals(results, time.perf_counter() - began)
    print(machine())
    if status == 0:
        remove_logs()  # the server logs stay (in $TMPDIR or /tmp) only when a check failed
    return status


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
