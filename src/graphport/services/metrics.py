"""``GET /metrics``: Prometheus text (prometheus-client) or JSON, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from graphport.db.engine import Database
from graphport.execution.broker import LocalBroker
from graphport.execution.executor import Executor
from graphport.repositories import runs as run_repo

RUN_STATUSES = ("pending", "running", "success", "error", "timeout", "interrupted")


class MetricsService:
    def __init__(self, db: Database, executor: Executor, broker: LocalBroker) -> None:
        self._db = db
        self._executor = executor
        self._broker = broker

    async def snapshot(self) -> dict[str, Any]:
        async with self._db.transaction() as conn:
            counts = await run_repo.count_by_status(conn)
        slots, used = self._executor.slots()
        return {
            "queue": {"pending": counts.get("pending", 0), "running": counts.get("running", 0)},
            "runs": {status: counts.get(status, 0) for status in RUN_STATUSES},
            "workers": {"slots": slots, "used": used, "free": max(slots - used, 0)},
            "streams": {"open": self._broker.open_streams()},
        }

    async def prometheus(self) -> bytes:
        registry = CollectorRegistry()
        registry.register(_SnapshotCollector(await self.snapshot()))
        return generate_latest(registry)


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
