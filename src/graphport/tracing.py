"""OpenTelemetry traces, exported over OTLP when the standard variables ask for it.

``Tracing.from_env()`` is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (and neither ``OTEL_SDK_DISABLED=true`` nor
``OTEL_TRACES_EXPORTER=none`` says otherwise). The SDK reads every other ``OTEL_*`` variable
itself (service name, resource attributes, sampler, batch delays, headers, protocol).
Off, it is ``Tracing.OFF``: graphport imports none of the SDK, installs no middleware and
no callback, and each call here returns at once. A setting the SDK cannot honour (an OTLP
protocol not installed, an unknown propagator) leaves tracing off with one error line.

What is traced:
- every HTTP request, a server span (the FastAPI instrumentation);
- every run, a ``run <graph>`` span whose parent is the request that created it, even when
  another process runs it: the creating request's context travels in the run row
  (``trace_context``, W3C ``traceparent``). Its attributes: run, thread, assistant, graph,
  attempt, queue wait (ms) and, at its end, status;
- under a run, a span per graph node, per chat model or LLM call and per tool call
  (``graph_spans.GraphSpans``, a LangChain callback), errors recorded; an interrupt is an
  event on its node's span, not an error.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

logger = logging.getLogger(__name__)

Row = dict[str, Any]
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
# Health checks and scrapes get no span: ``/``, ``/ok``, ``/metrics``. The instrumentation
# searches these regexes in ``scheme://host/path``: anchored on the path, whatever the Host.
NOT_TRACED = r"^[a-z]+://[^/]*/(ok|metrics)?/?(\?.*)?$"
CARRIED = ("traceparent", "tracestate")  # what a run row keeps of its request's context
SHUTDOWN_SECONDS = 5.0  # the most a stop waits for the last spans (a collector may hang)
SCOPE = "graphport"


def wanted(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether the environment asks for traces (an OTLP endpoint, the SDK not disabled)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


class Tracing:
    """This process's tracer, or none (``OFF``). ``start`` installs the provider (once per
    process, before the app serves); ``shutdown`` flushes what is buffered."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self._tracer: Tracer | None = provider.get_tracer(SCOPE) if provider else None

    @classmethod
    def from_env(cls) -> Tracing:
        """The exporter the ``OTEL_*`` variables describe, or ``OFF``. Raises
        ``RuntimeError`` for an OTLP protocol this install cannot speak."""
        if not wanted():
            return OFF
        try:
            provider = _provider()
        except Exception as exc:  # a bad OTEL_* value: serve untraced, and say so once
            logger.error("tracing is off: %s", exc)
            return OFF
        from graphport import logs

        logs.trace_ids_in_records(True)
        logger.info("tracing: exporting spans over OTLP")
        return cls(provider)

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def instrument(self, app: FastAPI) -> None:
        """A server span per HTTP request (not per body chunk), when on."""
        if self._provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self._provider,
            excluded_urls=NOT_TRACED,
            exclude_spans=["receive", "send"],
        )

    def carrier(self) -> Row | None:
        """The current trace context as W3C headers (a run row's ``trace_context``), or
        None when off or outside any span."""
        if self._tracer is None:
            return None
        from opentelemetry.propagate import inject

        found: dict[str, str] = {}
        inject(found)
        kept = {k: v for k, v in found.items() if k in CARRIED}  # not the client's baggage
        return kept or None

    @contextmanager
    def run_span(self, run: Row) -> Iterator[Span | None]:
        """The span of one attempt of ``run``, child of the request that created it; None
        when off. The caller sets its end status with ``ended``."""
        if self._tracer is None:
            yield None
            return
        from opentelemetry import trace
        from opentelemetry.propagate import extract

        parent = extract(run.get("trace_context") or {})
        attributes: dict[str, Any] = {
            "graphport.run_id": str(run["run_id"]),
            "graphport.thread_id": str(run["thread_id"]),
            "graphport.assistant_id": str(run["assistant_id"]),
            "graphport.graph_id": str(run["graph_id"]),
            "graphport.run.attempt": int(run.get("attempt") or 0),
        }
        if (wait := _queue_wait_ms(run)) is not None:
            attributes["graphport.run.queue_wait_ms"] = wait
        with self._tracer.start_as_current_span(
            f"run {run['graph_id']}",
            context=parent,
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    def graph_callbacks(self, span: Span | None) -> list[Any]:
        """The LangChain callback that traces a run's nodes, models and tools under
        ``span`` (none when off)."""
        if self._tracer is None or span is None:
            return []
        from graphport.graph_spans import GraphSpans

        return [GraphSpans(self._tracer, span)]

    def shutdown(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Export what is buffered and stop, ``seconds`` at most: each batch may
        wait out the exporter's timeout on a collector that hangs or fails, which would
        outlast an orchestrator's grace period. Past it, the exporting thread (a daemon) is
        left to die with the process and the rest of the spans are lost."""
        if self._provider is None:
            return
        stopping = threading.Thread(
            target=self._provider.shutdown, name="otel-shutdown", daemon=True
        )
        stopping.start()
        stopping.join(seconds)
        if stopping.is_alive():
            logger.warning(
                "tracing: the collector did not take the last spans in %.1f s; they are lost",
                seconds,
            )


OFF = Tracing()


def app_options() -> dict[str, Any]:
    """``FastAPI(**app_options())``: FastAPI's own telemetry off where it has some (0.165+
    traces every app once a global tracer provider exists, health checks included, and may
    configure exporters from ``OTEL_*`` itself): ``Tracing.instrument`` is the only one."""
    from fastapi import FastAPI

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
    return {"telemetry": off}


def _provider() -> TracerProvider:
    """The SDK's provider, exporting in batches, installed as the global one (libraries
    that trace on their own join in). Raises on a setting it cannot honour."""
    from opentelemetry import propagate, trace  # noqa: F401 (OTEL_PROPAGATORS is read here)
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create(_default_service()))
    provider.add_span_processor(BatchSpanProcessor(_exporter()))
    trace.set_tracer_provider(provider)
    return provider


def ended(span: Span | None, status: str, error: Row | None) -> None:
    """Record a run's end on its span: ``graphport.run.status``, and an error status for
    ``error``/``timeout`` (its type and message)."""
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("graphport.run.status", status)
    if status in ("error", "timeout"):
        detail = error or {}
        span.set_attribute("error.type", str(detail.get("error") or status))
        span.set_status(Status(StatusCode.ERROR, str(detail.get("message") or status)))


def _default_service() -> dict[str, str]:
    """``service.name`` graphport, unless ``OTEL_SERVICE_NAME`` or
    ``OTEL_RESOURCE_ATTRIBUTES`` name the service (the SDK reads those)."""
    named = os.environ.get("OTEL_SERVICE_NAME", "").strip() or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return {} if named else {"service.name": "graphport"}


def _queue_wait_ms(run: Row) -> float | None:
    created, started = run.get("created_at"), run.get("started_at")
    if not isinstance(created, datetime) or not isinstance(started, datetime):
        return None
    return max((started - created).total_seconds() * 1000, 0.0)


def _exporter() -> Any:
    """OTLP over HTTP/protobuf (the spec's default), or gRPC when asked and installed."""
    variable = next(
        (name for name in _PROTOCOL_VARIABLES if os.environ.get(name, "").strip()), None
    )
    protocol = os.environ[variable].strip() if variable else "http/protobuf"
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise RuntimeError(
                f"{variable}=grpc needs opentelemetry-exporter-otlp-proto-grpc"
                " (pip install opentelemetry-exporter-otlp-proto-grpc), or use http/protobuf"
            ) from None
        return GrpcExporter()
    if protocol != "http/protobuf":
        raise RuntimeError(f"{variable}={protocol} is not supported: use http/protobuf or grpc")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()
