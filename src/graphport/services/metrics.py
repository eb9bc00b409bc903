"""``GET /metrics``: Prometheus text (prometheus-client) or JSON.

Counts that live in the database (runs by status, queue depth) are read at scrape time;
timings (HTTP latency, queue wait, run duration) are recorded as they happen, in a
registry owned by this app (never the process-global one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from graphport.db.engine import Database
from graphport.execution.broker import LocalBroker
from graphport.execution.completions import RunOutcome
from graphport.execution.executor import Executor
from graphport.repositories import runs as run_repo

RUN_STATUSES = ("pending", "running", "success", "error", "timeout", "interrupted")
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_SLOW = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)


class Timings:
    """Histograms recorded by the HTTP middleware and the executor."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = Histogram(
            "graphport_http_request_duration_seconds",
            "HTTP request latency (streams: time to the response start)",
            ["method", "route", "status"],
            buckets=_FAST,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "graphport_run_queue_wait_seconds",
            "From a run's creation to its start",
            buckets=_FAST,
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "graphport_run_duration_seconds",
            "From a run's start to its end",
            ["status"],
            buckets=_SLOW,
            registry=self.registry,
        )

    def run_finished(self, run: dict[str, Any], outcome: RunOutcome, seconds: float) -> None:
        started, created = run.get("started_at"), run.get("created_at")
        if started is not None and created is not None:
            self.queue_wait.observe(max((started - created).total_seconds(), 0.0))
        self.run_duration.labels(outcome.status).observe(seconds)


class MetricsService:
    def __init__(
        self, db: Database, executor: Executor, broker: LocalBroker, timings: Timings
    ) -> None:
        self._db = db
        self._executor = executor
        self._broker = broker
        self._timings = timings

    async def snapshot(self) -> dict[str, Any]:
        async with self._db.transaction() as conn:
            counts = await run_repo.count_by_status(conn)
        slots, used = self._executor.slots()
        return {
            "queue": {"pending": counts.get("pending", 0), "running": counts.get("running", 0)},
            "runs": {status: counts.get(status, 0) for status in RUN_STATUSES},
            "workers": {"slots": slots, "used": used, "free": max(slots - used, 0)},
            "streams": {"open": self._broker.open_streams()},
            "timings": {
                name: _summary(histogram)
                for name, histogram in (
                    ("http_requests", self._timings.http),
                    ("run_queue_wait", self._timings.queue_wait),
                    ("run_duration", self._timings.run_duration),
                )
            },
        }

    async def prometheus(self) -> bytes:
        counts = CollectorRegistry()
        counts.register(_SnapshotCollector(await self.snapshot()))
        return generate_latest(counts) + generate_latest(self._timings.registry)


def _summary(histogram: Histogram) -> dict[str, float]:
    """Count and total seconds over every label set."""
    count = total = 0.0
    for metric in histogram.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
    return {"count": count, "seconds": total}


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: dict[str, Any]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily("graphport_runs", "Runs by status", labels=["status"])
        for status, count in self._snapshot["runs"].items():
            runs.add_metric([status], count)
        yield runs
        workers = self._snapshot["workers"]
        yield GaugeMetricFamily("graphport_worker_slots", "Run slots", value=workers["slots"])
        yield GaugeMetricFamily("graphport_worker_slots_used", "Busy slots", value=workers["used"])
        yield GaugeMetricFamily(
            "graphport_queue_pending", "Pending runs", value=self._snapshot["queue"]["pending"]
        )
        yield GaugeMetricFamily(
            "graphport_open_streams", "Open event streams", value=self._snapshot["streams"]["open"]
        )
