"""``GET /metrics``: Prometheus text (prometheus-client) or JSON.

The JSON carries the official server's keys with their meaning (``queue``, ``workers``,
``api``, ``postgres``), then graphport's own (``runs``, ``streams``, ``timings``,
``unknown_request_fields``). Counts that live in the database (runs by status, queue depth
and waits) are read at scrape time; timings (HTTP latency, queue wait, run duration) and
counters are recorded as they happen, in a registry owned by this app (never the
process-global one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from graphport.db.checkpointer import Checkpointer
from graphport.db.engine import Database
from graphport.execution.broker import Broker
from graphport.execution.completions import RunOutcome
from graphport.execution.executor import Executor
from graphport.repositories import runs as run_repo
from graphport.services.unknown_fields import UnknownFieldCounter

RUN_STATUSES = ("pending", "running", "success", "error", "timeout", "interrupted")
UNCOUNTED_ROUTES = frozenset({"/ok", "/info", "/metrics", "/docs", "/openapi.json"})
"""Left out of ``api.http_requests_total``, as by the official server (health checks and
scrapes would drown the rest)."""
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# a queue wait may be a long run ahead on the thread, or after_seconds
_WAITS = (*_FAST, 30, 60, 300, 900, 3600)
POOL_STATES = ("pool_size", "pool_available")  # connections now (open, of which idle)
_SLOW = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)


class Timings:
    """Histograms recorded by the HTTP middleware and the executor, and the counter of
    unknown request fields the routes report."""

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
            "From a run's creation to its start, by graph",
            ["graph"],
            buckets=_WAITS,
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "graphport_run_duration_seconds",
            "From a run's start to its end, by graph and status (its count: runs finished)",
            ["graph", "status"],
            buckets=_SLOW,
            registry=self.registry,
        )
        self.webhooks = Counter(
            "graphport_webhook_deliveries",
            "Webhook deliveries by outcome: delivered, rejected (4xx), failed (after retries)",
            ["outcome"],
            registry=self.registry,
        )
        self.cron_firings = Counter(
            "graphport_cron_firings",
            "Cron firings by outcome (started a run, or refused)",
            ["outcome"],
            registry=self.registry,
        )
        self.unknown_fields = UnknownFieldCounter(self.registry)

    def run_finished(self, run: dict[str, Any], outcome: RunOutcome, seconds: float) -> None:
        graph = str(run.get("graph_id") or "")
        started, created = run.get("started_at"), run.get("created_at")
        if started is not None and created is not None:
            self.queue_wait.labels(graph).observe(max((started - created).total_seconds(), 0.0))
        self.run_duration.labels(graph, outcome.status).observe(seconds)

    def webhook_sent(self, outcome: str) -> None:
        self.webhooks.labels(outcome).inc()

    def cron_fired(self, started: bool) -> None:
        self.cron_firings.labels("started" if started else "refused").inc()

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"webhook_deliveries": {outcome: n}, "cron_firings": {outcome: n}}``."""
        found: dict[str, dict[str, int]] = {}
        for key, counter in (
            ("webhook_deliveries", self.webhooks),
            ("cron_firings", self.cron_firings),
        ):
            found[key] = {}
            for metric in counter.collect():
                for sample in metric.samples:
                    if sample.name.endswith("_total"):
                        found[key][sample.labels["outcome"]] = int(sample.value)
        return found

    def http_requests(self) -> list[dict[str, Any]]:
        """``[{"method", "path", "status", "count"}, ...]``: requests by route template and
        status, as the official server's ``api.http_requests_total`` (routes matched only,
        ``UNCOUNTED_ROUTES`` left out)."""
        counted = []
        for metric in self.http.collect():
            for sample in metric.samples:
                route = sample.labels.get("route", "")
                if not sample.name.endswith("_count") or not route.startswith("/"):
                    continue  # "unmatched": no route template
                if route in UNCOUNTED_ROUTES:
                    continue
                method, status = sample.labels["method"], int(sample.labels["status"])
                counted.append(
                    {"method": method, "path": route, "status": status, "count": int(sample.value)}
                )
        return counted


class MetricsService:
    def __init__(
        self,
        db: Database,
        checkpointer: Checkpointer,
        executor: Executor,
        broker: Broker,
        timings: Timings,
    ) -> None:
        self._db = db
        self._checkpointer = checkpointer
        self._executor = executor
        self._broker = broker
        self._timings = timings

    @property
    def unknown_fields(self) -> UnknownFieldCounter:
        """Where routes report the request fields no API version defines."""
        return self._timings.unknown_fields

    async def snapshot(self) -> dict[str, Any]:
        """The JSON form (schemas/system.py ``Metrics``). ``workers`` only when this
        process runs workers (N_JOBS_PER_WORKER > 0), as on the official server."""
        async with self._db.transaction() as conn:
            by_graph = await run_repo.count_by_graph_and_status(conn)
            waits = await run_repo.get_queue_waits(conn)
        counts: dict[str, int] = {}
        for (_, status), n in by_graph.items():
            counts[status] = counts.get(status, 0) + n
        slots, used = self._executor.slots()
        snapshot: dict[str, Any] = {
            "postgres": self._pool_stats(),
            "queue": {
                "n_pending": counts.get("pending", 0),
                "n_running": counts.get("running", 0),
                **waits,
            },
            "api": {"http_requests_total": self._timings.http_requests()},
        }
        if slots > 0:
            snapshot["workers"] = {"max": slots, "active": used, "available": max(slots - used, 0)}
        return snapshot | {
            "runs": {status: counts.get(status, 0) for status in RUN_STATUSES},
            "runs_by_graph": _by_graph(by_graph),
            "streams": {
                "open": self._broker.open_streams(),
                "runs": self._broker.run_streams(),
            },
            "timings": {
                name: _summary(histogram)
                for name, histogram in (
                    ("http_requests", self._timings.http),
                    ("run_queue_wait", self._timings.queue_wait),
                    ("run_duration", self._timings.run_duration),
                )
            },
            **self._timings.counts(),
            "unknown_request_fields": self._timings.unknown_fields.snapshot(),
        }

    async def prometheus(self) -> bytes:
        counts = CollectorRegistry()
        counts.register(_SnapshotCollector(await self.snapshot(), self._executor.slots()))
        return generate_latest(counts) + generate_latest(self._timings.registry)

    def _pool_stats(self) -> dict[str, int]:
        """Both connection pools (ours, the checkpointer's) summed, as the official server
        sums its own; only psycopg's pool counts queued and failed requests."""
        ours, theirs = self._db.pool_stats(), self._checkpointer.pool_stats()
        return {key: ours.get(key, 0) + value for key, value in theirs.items()}


def _by_graph(counts: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """``{graph: {status: n}}``."""
    found: dict[str, dict[str, int]] = {}
    for (graph, status), n in sorted(counts.items()):
        found.setdefault(graph, {})[status] = n
    return found


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
    def __init__(self, snapshot: dict[str, Any], slots: tuple[int, int]) -> None:
        self._snapshot = snapshot
        self._slots = slots

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily("graphport_runs", "Runs by status", labels=["status"])
        for status, count in self._snapshot["runs"].items():
            runs.add_metric([status], count)
        yield runs
        slots, used = self._slots
        yield GaugeMetricFamily("graphport_worker_slots", "Run slots", value=slots)
        yield GaugeMetricFamily("graphport_worker_slots_used", "Busy slots", value=used)
        queue = self._snapshot["queue"]
        yield GaugeMetricFamily("graphport_queue_pending", "Pending runs", value=queue["n_pending"])
        for key, name, about in _WAIT_GAUGES:
            if queue[key] is not None:
                yield GaugeMetricFamily(name, about, value=queue[key])
        by_graph = GaugeMetricFamily(
            "graphport_runs_by_graph", "Runs by graph and status", labels=["graph", "status"]
        )
        for graph, statuses in self._snapshot["runs_by_graph"].items():
            for status, count in statuses.items():
                by_graph.add_metric([graph, status], count)
        yield by_graph
        streams = self._snapshot["streams"]
        yield GaugeMetricFamily(
            "graphport_open_streams", "Open event streams", value=streams["open"]
        )
        subscribers = GaugeMetricFamily(
            "graphport_stream_subscribers",
            "Open event streams by what they follow (a run, or a thread)",
            labels=["kind"],
        )
        subscribers.add_metric(["run"], streams["runs"])
        subscribers.add_metric(["thread"], max(streams["open"] - streams["runs"], 0))
        yield subscribers
        pool = GaugeMetricFamily(
            "graphport_db_pool",
            "Database connections (both pools summed) by state",
            labels=["state"],
        )
        for state, count in self._snapshot["postgres"].items():
            if state in POOL_STATES:  # not the limits and running totals psycopg adds
                pool.add_metric([state], count)
        yield pool


_WAIT_GAUGES = (
    (
        "pending_runs_wait_time_max_secs",
        "graphport_queue_wait_max_seconds",
        "Longest wait of a due pending run",
    ),
    (
        "pending_runs_wait_time_med_secs",
        "graphport_queue_wait_median_seconds",
        "Median wait of the due pending runs",
    ),
    (
        "pending_unblocked_runs_wait_time_max_secs",
        "graphport_queue_unblocked_wait_max_seconds",
        "Longest wait of a due pending run whose thread has no running run",
    ),
)
