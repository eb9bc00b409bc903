"""The hot path, side by side with the library ceiling in one run (by hand, not in CI).

    python bench/hot_path_bench.py [--official PATH/TO/langgraph] [--rounds 3]

Embedded Postgres, or DATABASE_URI when set. Every figure of the performance targets:

(1) stateful ``runs/wait`` (``noop``), 16 clients, and the 10-node ``chain``: req/s against
    the ceiling (``graph.ainvoke`` + ``AsyncPostgresSaver`` in this process); CPU per run
    of the server and of PostgreSQL (every process of its postmaster), ceiling beside;
(2) stateless ``runs/wait``, 1 client: latency p50 against the ceiling's (a new thread each);
(3) stream first token p50, 1 and 16 clients (``tokens``, ``POST /runs/stream``);
(4) background runs: 400 ``noop`` runs on 100 threads from 16 submitters: runs/s and
    created -> done p50 (server timestamps); with ``--official``, the official dev server
    (in memory) takes the same load in the same run;
(5) statements, transactions and round trips per run (a counting wire proxy in front of
    PostgreSQL): one stateful wait, one background run, one stateless wait.

Rounds alternate ceiling and server; figures are medians of the rounds. In (1) each round
measures ceiling, server, server, ceiling and takes each side's mean, so that the machine's
speed drifting during the round (seen here: 30 % within a minute) weighs on both sides
alike. Every response is checked (final message, token count, every run succeeded).

The ceiling is the library as it comes. ``--tuned-ceiling`` gives it the server's own tuning
(checkpoints encoded on the loop, the garbage collector settled), so that its ratio is
graphport's overhead alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import (
    HERE,
    cpu_seconds,
    database_uri,
    machine,
    new_client,
    run_bounded,
    saver_pool,
    start_server,
)
from graphs import noop, tokens
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from pgwire import WireCounter
from runs_bench import ceiling, server_wait

from graphport.db.checkpointer import serialize_on_the_loop
from graphport.heap import settle_heap
from tests.server import free_port

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
TOKEN_CHUNKS = 199


# -- CPU of PostgreSQL ---------------------------------------------------------------------------


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


class DatabaseCpu:
    """CPU seconds of the postmaster serving ``uri`` and every process under it (local
    servers only: a backend's parent is the postmaster)."""

    def __init__(self, uri: str) -> None:
        with psycopg.connect(uri) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        stat = Path(f"/proc/{row[0]}/stat").read_text()
        self.postmaster = int(stat.rsplit(")", 1)[1].split()[1])

    def seconds(self) -> float:
        # the postmaster's reaped children count too: backends that ended (a pool closing
        # a connection) would take their CPU with them
        fields = Path(f"/proc/{self.postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        for pid in [self.postmaster, *_children(self.postmaster)]:
            with contextlib.suppress(OSError, ValueError):  # a backend that just ended
                total += cpu_seconds(pid)
        return total


class Meter:
    """CPU used (ms per item) by this process, the server and the database, between
    ``start`` and ``per``."""

    def __init__(self, db: DatabaseCpu, server_pid: int | None) -> None:
        self.db, self.server_pid = db, server_pid

    def _read(self) -> tuple[float, float, float]:
        server = cpu_seconds(self.server_pid) if self.server_pid else 0.0
        return time.process_time(), server, self.db.seconds()

    def start(self) -> Meter:
        self.before = self._read()
        return self

    def per(self, items: int) -> dict[str, float]:
        after = self._read()
        own, server, db = ((a - b) * 1000 / items for a, b in zip(after, self.before, strict=True))
        return {"bench_ms": own, "server_ms": server, "db_ms": db}


# -- (1) stateful runs/wait ---------------------------------------------------------------------


# -- (2) stateless runs/wait --------------------------------------------------------------------


async def ceiling_stateless(uri: str, n: int, meter: Meter) -> Any:
    async with saver_pool(uri, 3) as pool:
        saver = AsyncPostgresSaver(pool)
        bound = noop.copy(update={"checkpointer": saver})

        async def one(i: int) -> float:
            started = time.perf_counter()
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            out = await bound.ainvoke(INPUT, config)
            assert out["messages"][-1].content == "ok"
            return time.perf_counter() - started

        await run_bounded(5, 1, one)
        meter.start()
        seconds, latencies = await run_bounded(n, 1, one)
        return n / seconds, latencies, meter.per(n)


async def server_stateless(url: str, n: int, meter: Meter) -> Any:
    async with new_client(url, 1) as http:
        body = {"assistant_id": "noop", "input": INPUT}

        async def one(i: int) -> float:
            started = time.perf_counter()
            response = await http.post("/runs/wait", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["messages"][-1]["content"] == "ok"
            return time.perf_counter() - started

        await run_bounded(5, 1, one)
        meter.start()
        seconds, latencies = await run_bounded(n, 1, one)
        return n / seconds, latencies, meter.per(n)


# -- (3) stream first token ---------------------------------------------------------------------


async def ceiling_stream(uri: str, n: int, concurrency: int) -> float:
    async with saver_pool(uri, concurrency + 2) as pool:
        graph = tokens.copy(update={"checkpointer": AsyncPostgresSaver(pool)})
        firsts: list[float] = []

        async def one() -> None:
            started = time.perf_counter()
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            first, count = None, 0
            async for _chunk in graph.astream(INPUT, config, stream_mode="messages"):
                count += 1
                first = first or time.perf_counter() - started
            assert count >= TOKEN_CHUNKS, count
            firsts.append(first or 0.0)

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm up
        firsts.clear()
        for _ in range(max(n // concurrency, 1)):
            await asyncio.gather(*(one() for _ in range(concurrency)))
    return statistics.median(firsts) * 1000


async def server_stream(url: str, n: int, concurrency: int) -> float:
    firsts: list[float] = []
    async with new_client(url, concurrency) as http:
        body = {"assistant_id": "tokens", "input": INPUT, "stream_mode": "messages-tuple"}

        async def one() -> None:
            started = time.perf_counter()
            first, seen = None, 0
            async with http.stream("POST", "/runs/stream", json=body) as response:
                async for chunk in response.aiter_bytes():
                    found = chunk.count(b"event: messages\r\n")
                    if found and first is None:
                        first = time.perf_counter() - started
                    seen += found
            assert seen >= TOKEN_CHUNKS, seen
            firsts.append(first or 0.0)

        await asyncio.gather(*(one() for _ in range(concurrency)))
        firsts.clear()
        for _ in range(max(n // concurrency, 1)):
            await asyncio.gather(*(one() for _ in range(concurrency)))
    return statistics.median(firsts) * 1000


# -- (4) background runs ------------------------------------------------------------------------


async def background(url: str, n_runs: int, n_threads: int) -> tuple[float, list[str]]:
    """``n_runs`` background ``noop`` runs on ``n_threads`` new threads from 16 submitters,
    then every thread's last run joined: (runs/s from the first submit to the last end,
    run ids). Works on any server of the API (the official one too)."""
    async with new_client(url, 16) as http:
        threads = [
            (await http.post("/threads", json={})).json()["thread_id"] for _ in range(n_threads)
        ]
        last: dict[str, str] = {}
        run_ids: list[str] = []
        started = time.perf_counter()

        async def submit(i: int) -> float:
            thread = threads[i % n_threads]
            body = {"assistant_id": "noop", "input": INPUT}
            response = await http.post(f"/threads/{thread}/runs", json=body)
            assert response.status_code == 200, response.text
            last[thread] = response.json()["run_id"]
            run_ids.append(last[thread])
            return 0.0

        await run_bounded(n_runs, 16, submit)
        for thread, run_id in last.items():
            joined = await http.get(f"/threads/{thread}/runs/{run_id}/join")
            assert joined.status_code == 200, joined.text
        seconds = time.perf_counter() - started
        for thread in threads:
            runs = (await http.get(f"/threads/{thread}/runs", params={"limit": 100})).json()
            bad = [r["status"] for r in runs if r["status"] != "success"]
            assert not bad and len(runs) == n_runs // n_threads, (len(runs), bad)
    return n_runs / seconds, run_ids


async def created_to_done(uri: str, run_ids: list[str]) -> tuple[float, float]:
    """(p50, p95) of ended_at - created_at over ``run_ids``, in ms (graphport's table); prints
    where that time goes: queued (created -> started), running (started -> ended), and how
    long the submitters took to create them all."""
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        rows = await (
            await conn.execute(
                "SELECT extract(epoch FROM ended_at - created_at) * 1000, "
                "extract(epoch FROM started_at - created_at) * 1000, "
                "extract(epoch FROM ended_at - started_at) * 1000, "
                "extract(epoch FROM created_at) FROM run "
                "WHERE run_id = ANY(%s::uuid[]) ORDER BY 1",
                (run_ids,),
            )
        ).fetchall()
    values = [float(r[0]) for r in rows]
    queued = statistics.median(float(r[1]) for r in rows)
    running = statistics.median(float(r[2]) for r in rows)
    created = [float(r[3]) for r in rows]
    print(
        f"    queued p50 {queued:.0f} ms, running p50 {running:.1f} ms; the {len(rows)} runs "
        f"were created over {1000 * (max(created) - min(created)):.0f} ms"
    )
    return statistics.median(values), values[int(len(values) * 0.95) - 1]


class OfficialServer:
    """``langgraph dev`` (the official in-memory dev server) on the bench graphs."""

    def __init__(self, cli: str) -> None:
        self.cli, self.port = cli, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OfficialServer:
        log = open(os.environ.get("TMPDIR", "/tmp") + f"/official-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.cli, "dev", "--no-browser", "--no-reload", "--port", str(self.port)],
            cwd=HERE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "N_JOBS_PER_WORKER": "10"},
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ok", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the official dev server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- (5) statements per run ---------------------------------------------------------------------


async def statement_counts(uri: str, n: int, show: int) -> dict[str, dict[str, float]]:
    """Statements, transactions and round trips per run, by driver, through the proxy."""
    results: dict[str, dict[str, float]] = {}
    async with WireCounter(uri) as proxy:
        server = await asyncio.to_thread(start_server, proxy.uri)
        try:
            async with new_client(server.url, 4) as http:
                thread = (await http.post("/threads", json={})).json()["thread_id"]
                threads = [
                    (await http.post("/threads", json={})).json()["thread_id"] for _ in range(n)
                ]
                body = {"assistant_id": "noop", "input": INPUT}

                async def stateful() -> None:
                    response = await http.post(f"/threads/{thread}/runs/wait", json=body)
                    assert response.status_code == 200, response.text

                async def stateless() -> None:
                    response = await http.post("/runs/wait", json=body)
                    assert response.status_code == 200, response.text

                async def background_runs() -> None:
                    ids = []
                    for t in threads:
                        response = await http.post(f"/threads/{t}/runs", json=body)
                        ids.append(response.json()["run_id"])
                    await wait_ended(uri, ids)

                cases: list[tuple[str, Callable[[], Awaitable[None]], int]] = [
                    ("stateful runs/wait", stateful, n),
                    ("background run (POST /runs, runs alone)", background_runs, 1),
                    ("stateless runs/wait", stateless, n),
                ]
                for name, case, repeat in cases:
                    for _ in range(3):
                        await (stateful() if case is background_runs else case())
                    await asyncio.sleep(0.2)
                    proxy.counts.reset()
                    for _ in range(repeat):
                        await case()
                    results[name] = per_run(proxy.counts, n)
                    if show:
                        print(f"    {name}: the most frequent statements per run")
                        for text, count in proxy.counts.texts.most_common(show):
                            print(f"      {count / n:5.2f}  {text}")
        finally:
            await asyncio.to_thread(server.stop)
    return results


async def wait_ended(uri: str, run_ids: list[str]) -> None:
    """Poll (directly, not through the proxy) until every run in ``run_ids`` has ended."""
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        for _ in range(600):
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM run WHERE run_id = ANY(%s::uuid[]) "
                    "AND status NOT IN ('pending', 'running')",
                    (run_ids,),
                )
            ).fetchone()
            if row is not None and row[0] == len(run_ids):
                await asyncio.sleep(0.2)  # the ends' own statements are all sent
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("background runs did not end")


def per_run(counts: Any, n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for driver in ("asyncpg", "psycopg"):
        out[f"{driver} statements"] = counts.statements[driver] / n
        out[f"{driver} transactions"] = counts.transactions[driver] / n
        out[f"{driver} round trips"] = counts.round_trips[driver] / n
    return out


# -- main ---------------------------------------------------------------------------------------


def mean_of(results: list[dict[str, Any]], key: str) -> float:
    return statistics.fmean(r[key] for r in results)


def mean_cpu(results: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.fmean(r["cpu"][k] for r in results) for k in results[0]["cpu"]}


def p50(latencies: list[float]) -> float:
    return statistics.median(latencies) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400, help="requests per wait measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--official", help="the langgraph CLI of a venv with langgraph-cli[inmem]")
    parser.add_argument("--show", type=int, default=0, help="print the N most frequent SQL")
    parser.add_argument(
        "--only", default="wait,stateless,stream,background,statements", help="sections"
    )
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument(
        "--tuned-ceiling",
        action="store_true",
        help="give the ceiling the server's own tuning (checkpoints encoded on the loop, "
        "the garbage collector settled): the ratio is then graphport's overhead alone",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    uri, embedded = database_uri()
    print(f"machine: {machine()}")
    began = time.perf_counter()
    env = dict(item.split("=", 1) for item in args.env)
    figures: dict[str, list[float]] = {}

    def note(key: str, value: float) -> None:
        figures.setdefault(key, []).append(value)

    tuning = contextlib.AsyncExitStack()
    if args.tuned_ceiling:
        serialize_on_the_loop()
        settle_heap(tuning)
    db = DatabaseCpu(uri)
    server = start_server(uri, **env)
    try:
        pid = server.proc.pid if server.proc else None
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}")
            if "wait" in only:
                for graph_name in ("noop", "chain"):
                    n = args.n if graph_name == "noop" else args.n // 2
                    first = await ceiling(uri, graph_name, n, 16, Meter(db, None))
                    s_ = [
                        await server_wait(server.url, graph_name, n, 16, Meter(db, pid))
                        for _ in range(2)
                    ]
                    c = [first, await ceiling(uri, graph_name, n, 16, Meter(db, None))]
                    c_rps, c_cpu = mean_of(c, "rps"), mean_cpu(c)
                    s_rps, s_cpu = mean_of(s_, "rps"), mean_cpu(s_)
                    print(
                        f"  stateful runs/wait {graph_name} c=16: ceiling {c_rps:.1f} req/s, "
                        f"server {s_rps:.1f} ({s_rps / c_rps:.2f}x); CPU/run ceiling "
                        f"{c_cpu['bench_ms']:.1f} + {c_cpu['db_ms']:.1f} ms, server "
                        f"{s_cpu['server_ms']:.1f} + {s_cpu['db_ms']:.1f} ms"
                    )
                    note(f"wait {graph_name} ratio", s_rps / c_rps)
                    note(f"wait {graph_name} ceiling req/s", c_rps)
                    note(f"wait {graph_name} server req/s", s_rps)
                    if graph_name == "noop":
                        c_total = c_cpu["bench_ms"] + c_cpu["db_ms"]
                        s_total = s_cpu["server_ms"] + s_cpu["db_ms"]
                        note("cpu ceiling ms", c_cpu["bench_ms"])
                        note("cpu ceiling db ms", c_cpu["db_ms"])
                        note("cpu server ms", s_cpu["server_ms"])
                        note("cpu server db ms", s_cpu["db_ms"])
                        note("cpu ratio", s_total / c_total)
            if "stateless" in only:
                _, c_lat, _ = await ceiling_stateless(uri, args.n // 2, Meter(db, None))
                _, s_lat, _ = await server_stateless(server.url, args.n // 2, Meter(db, pid))
                print(
                    f"  stateless runs/wait c=1 p50: ceiling {p50(c_lat):.1f} ms, "
                    f"server {p50(s_lat):.1f} ms"
                )
                note("stateless ceiling p50 ms", p50(c_lat))
                note("stateless server p50 ms", p50(s_lat))
            if "stream" in only:
                for concurrency in (1, 16):
                    n = 32 if concurrency == 1 else 96
                    c_first = await ceiling_stream(uri, n, concurrency)
                    s_first = await server_stream(server.url, n, concurrency)
                    print(
                        f"  stream first token p50 c={concurrency}: ceiling {c_first:.1f} ms, "
                        f"server {s_first:.1f} ms ({s_first / c_first:.2f}x)"
                    )
                    note(f"stream c={concurrency} ceiling ms", c_first)
                    note(f"stream c={concurrency} server ms", s_first)
                    note(f"stream c={concurrency} ratio", s_first / c_first)
            if "background" in only:
                rate, run_ids = await background(server.url, 400, 100)
                done50, done95 = await created_to_done(uri, run_ids)
                print(
                    f"  background: 400 runs, 100 threads, 16 submitters: {rate:.1f} runs/s, "
                    f"created -> done p50 {done50:.0f} ms, p95 {done95:.0f} ms"
                )
                note("background runs/s", rate)
                note("background done p50 ms", done50)
    finally:
        server.stop()
        await tuning.aclose()
    try:
        if "background" in only and args.official:
            with OfficialServer(args.official) as official:
                for round_ in range(args.rounds):
                    rate, _ = await background(official.url, 400, 100)
                    print(f"  official dev, background round {round_ + 1}: {rate:.1f} runs/s")
                    note("official background runs/s", rate)
        if "statements" in only:
            counts = await statement_counts(uri, 30, args.show)
            print("statements per run (asyncpg: graphport's SQL; psycopg: the checkpointer's)")
            for name, row in counts.items():
                print(f"  {name:<42} " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()))
    finally:
        if embedded is not None:
            embedded.stop()
    print_summary(figures)
    print(f"{machine()}; {time.perf_counter() - began:.0f} s in all")
    print(json.dumps({k: round(statistics.median(v), 3) for k, v in figures.items()}))


def print_summary(figures: dict[str, list[float]]) -> None:
    def m(key: str) -> float:
        return statistics.median(figures[key]) if key in figures else float("nan")

    print("summary (medians of the rounds)           ceiling    graphport   target")
    rows = [
        (
            "stateful runs/wait noop c=16, req/s",
            m("wait noop ceiling req/s"),
            m("wait noop server req/s"),
            f"{m('wait noop ratio'):.2f}x (>= 0.75x)",
        ),
        (
            "stateful runs/wait chain c=16, req/s",
            m("wait chain ceiling req/s"),
            m("wait chain server req/s"),
            f"{m('wait chain ratio'):.2f}x (>= 0.9x)",
        ),
        (
            "stateless runs/wait c=1 p50, ms",
            m("stateless ceiling p50 ms"),
            m("stateless server p50 ms"),
            "< 10 ms",
        ),
        (
            "CPU per stateful run, process + db, ms",
            m("cpu ceiling ms") + m("cpu ceiling db ms"),
            m("cpu server ms") + m("cpu server db ms"),
            f"{m('cpu ratio'):.2f}x (<= 1.4x)",
        ),
        (
            "stream first token p50 c=1, ms",
            m("stream c=1 ceiling ms"),
            m("stream c=1 server ms"),
            f"{m('stream c=1 ratio'):.2f}x (< 10 ms)",
        ),
        (
            "stream first token p50 c=16, ms",
            m("stream c=16 ceiling ms"),
            m("stream c=16 server ms"),
            f"{m('stream c=16 ratio'):.2f}x (< 3x)",
        ),
    ]
    for name, theirs, ours, target in rows:
        print(f"  {name:<40} {theirs:8.1f}  {ours:10.1f}   {target}")
    official = m("official background runs/s")
    ours = m("background runs/s")
    print(
        f"  {'background runs/s (400 runs)':<40} {'official':>8} {official:6.1f}  {ours:10.1f}   "
        f"{ours / official:.2f}x (>= 2x); created -> done p50 {m('background done p50 ms'):.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
