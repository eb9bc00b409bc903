"""The cost of tracing (by hand, not in CI): the same server with and without
``OTEL_EXPORTER_OTLP_ENDPOINT``, side by side in one run.

    python bench/tracing_bench.py          # embedded Postgres (or DATABASE_URI when set)

Stateful ``POST /threads/{t}/runs/wait`` on the ``chain`` graph (ten nodes: a request span,
a run span and ten node spans per run) at 1 and 16 clients, against a server exporting to
an OTLP/HTTP receiver in this process that takes each batch and answers 200 (the cost of a
collector is not the server's). Prints runs/s, p50 and server CPU per run each way, and the
ratio traced / untraced. Rounds alternate the two servers, so a busy moment hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common import cpu_seconds, database_uri, machine, start_server
from runs_bench import server_wait


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


async def measure(url: str, pid: int, n: int, concurrency: int) -> dict[str, float]:
    cpu = cpu_seconds(pid)
    result = await server_wait(url, "chain", n, concurrency)
    result["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / (n + concurrency * 2)
    return result


async def main(n: int, rounds: int) -> None:
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    uri, embedded = database_uri()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    servers = {
        "untraced": start_server(uri),
        "traced": start_server(uri, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint),
    }
    try:
        print(machine())
        for concurrency in (1, 16):
            print(f"\nruns/wait, chain (10 nodes), {concurrency} client(s), {n} runs x {rounds}")
            found: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, server in servers.items():
                    pid = server.proc.pid if server.proc else 0
                    found[name].append(await measure(server.url, pid, n, concurrency))
            medians = {
                name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                for name, runs in found.items()
            }
            for name, figures in medians.items():
                print(
                    f"  {name:9s} {figures['rps']:7.1f} runs/s  p50 {figures['p50_ms']:6.1f} ms"
                    f"  server CPU {figures['cpu_ms']:5.1f} ms/run"
                )
            traced, untraced = medians["traced"], medians["untraced"]
            print(
                f"  ratio traced/untraced: runs/s {traced['rps'] / untraced['rps']:.2f}x,"
                f" CPU per run {traced['cpu_ms'] / untraced['cpu_ms']:.2f}x"
            )
        print(f"\nOTLP batches received: {_Sink.received}")
    finally:
        for server in servers.values():
            server.stop()
        sink.shutdown()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.rounds))
