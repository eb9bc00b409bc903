"""Traces over OTLP: a live server exports to an OTLP/HTTP receiver in this process; the test
checks the span tree of runs driven with the official SDK (a model calling a tool, the
tool, an interrupt, its answer; a node that fails), that a run's span is a child of the
request that created it, and that the server's log lines carry the trace id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.server import FIXTURES, ServerProcess, create_database, drop_database

Span = dict[str, Any]
HUMAN = {"messages": [{"type": "human", "content": "weather?"}]}


class Receiver:
    """An OTLP/HTTP trace receiver (``POST /v1/traces``, protobuf) on a free port."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                receiver.take(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scoped in resource.scope_spans:
                for span in scoped.spans:
                    found.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex() or None,
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                            "events": [e.name for e in span.events],
                            "error": span.status.code == 2,
                            "message": span.status.message,
                            "service": service.get("service.name"),
                        }
                    )
        with self.lock:
            self.spans.extend(found)

    def where(self, **wanted: Any) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if all(s.get(k) == v for k, v in wanted.items())]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def traced_server(receiver: Receiver, database_uri: str) -> Iterator[ServerProcess]:
    uri = create_database(database_uri)
    process = ServerProcess(
        database_uri=uri,
        config=FIXTURES / "tracing" / "langgraph.json",
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",  # ms: spans leave at once
            "OTEL_SERVICE_NAME": "graphport-under-test",
            "LOG_JSON": "true",
        },
    )
    yield process.start()
    process.stop()
    drop_database(database_uri, uri)


def _until(found: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.1)
    raise AssertionError("the spans did not come")


def _run_span(receiver: Receiver, graph: str, run_id: str) -> Span:
    """The span of run ``run_id`` of ``graph``, once it came."""
    spans = _until(
        lambda: [
            s
            for s in receiver.where(name=f"run {graph}")
            if s["attributes"]["graphport.run_id"] == run_id
        ]
    )
    return dict(spans[0])


def _children(receiver: Receiver, parent: Span) -> dict[str, Span]:
    return {s["name"]: s for s in receiver.where(parent=parent["span_id"])}


async def test_a_runs_span_tree(receiver: Receiver, traced_server: ServerProcess) -> None:
    client = get_client(url=traced_server.url)
    thread = await client.threads.create()
    asked = await client.runs.create(thread["thread_id"], "tools_then_ask", input=HUMAN)
    await client.runs.join(thread["thread_id"], asked["run_id"])
    answered = await client.runs.wait(
        thread["thread_id"], "tools_then_ask", command={"resume": "yes"}
    )
    assert answered["messages"][-1]["content"] == "sent: yes"
    await client.http.get("/ok")

    run = _until(lambda: receiver.where(name="run tools_then_ask"))[0]
    assert run["service"] == "graphport-under-test"
    attributes = run["attributes"]
    assert attributes["graphport.run_id"] == asked["run_id"]
    assert attributes["graphport.thread_id"] == thread["thread_id"]
    assert attributes["graphport.graph_id"] == "tools_then_ask"
    assert attributes["graphport.run.attempt"] == 1
    assert attributes["graphport.run.queue_wait_ms"] >= 0
    assert "graphport.run.status" in attributes
    # its parent: the request that created it
    [request] = receiver.where(span_id=run["parent"])
    assert request["name"] == "POST /threads/{thread_id}/runs"
    assert request["trace_id"] == run["trace_id"]

    nodes = _until(lambda: len(_children(receiver, run)) >= 3 and _children(receiver, run))
    assert set(nodes) == {"node agent", "node tools", "node approve"}
    assert nodes["node agent"]["attributes"]["graphport.node"] == "agent"
    [model] = _children(receiver, nodes["node agent"]).values()
    assert model["name"].startswith("chat ")
    assert model["attributes"]["gen_ai.operation.name"] == "chat"
    [tool] = _children(receiver, nodes["node tools"]).values()
    assert tool["name"] == "execute_tool lookup"
    assert tool["attributes"]["gen_ai.tool.name"] == "lookup"
    assert tool["attributes"]["gen_ai.tool.call.id"] == "call-1"
    asking = nodes["node approve"]
    assert asking["events"] == ["interrupt"] and not asking["error"]
    assert not any(s["error"] for s in (run, model, tool))

    # the answer: a run of its own, in its request's trace, that finishes the question
    resumed = _until(
        lambda: [
            s
            for s in receiver.where(name="run tools_then_ask")
            if s["attributes"]["graphport.run_id"] != asked["run_id"]
        ]
    )[0]
    [wait] = receiver.where(span_id=resumed["parent"])
    assert wait["name"] == "POST /threads/{thread_id}/runs/wait"
    assert resumed["attributes"]["graphport.run.status"] == "success"
    finished = _until(lambda: _children(receiver, resumed).get("node approve"))
    assert finished["events"] == [] and not finished["error"]
    assert not receiver.where(name="GET /ok")  # health checks are not traced


async def test_a_failing_node_is_an_error_on_its_span_and_its_runs(
    receiver: Receiver, traced_server: ServerProcess
) -> None:
    client = get_client(url=traced_server.url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "fails", input=HUMAN)
    await client.runs.join(thread["thread_id"], run["run_id"])
    span = _run_span(receiver, "fails", run["run_id"])
    assert span["error"] and span["attributes"]["graphport.run.status"] == "error"
    assert span["attributes"]["error.type"] == "ValueError"
    node = _until(lambda: _children(receiver, span).get("node fail"))
    assert node["error"] and "exception" in node["events"]
    assert node["message"] == "ValueError: the node broke"

    # the server's JSON log lines of the run carry its ids and its trace id
    assert traced_server.log_path is not None
    lines = [json.loads(line) for line in traced_server.log_path.read_text().splitlines()]
    about = [line for line in lines if line.get("run_id") == run["run_id"]]
    inside = [line for line in about if line["logger"].startswith("graphport.execution")]
    assert inside and all(line["trace_id"] == span["trace_id"] for line in inside), inside
    access = [line for line in about if line["logger"] == "uvicorn.access"]
    assert access and all(len(line["trace_id"]) == 32 for line in access), access


async def test_a_run_another_process_runs_joins_its_requests_trace(
    receiver: Receiver, database_uri: str
) -> None:
    """An API process without run slots queues the run; a worker process runs it: the run's
    span is still the child of the request that created it (the run row carries it)."""
    uri = create_database(database_uri)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    config = FIXTURES / "tracing" / "langgraph.json"
    api = ServerProcess(database_uri=uri, config=config, extra_env=env, extra_args=["--no-workers"])
    worker = ServerProcess(database_uri=uri, config=config, extra_env=env, command="worker")
    try:
        api.start()
        worker.start()
        client = get_client(url=api.url)
        thread = await client.threads.create()
        run = await client.runs.create(thread["thread_id"], "tools_then_ask", input=HUMAN)
        await client.runs.join(thread["thread_id"], run["run_id"])
        span = _run_span(receiver, "tools_then_ask", run["run_id"])
        [request] = _until(lambda: receiver.where(span_id=span["parent"]))
        assert request["name"] == "POST /threads/{thread_id}/runs"
        assert request["trace_id"] == span["trace_id"]
        nodes = _until(lambda: len(_children(receiver, span)) >= 3 and _children(receiver, span))
        assert set(nodes) == {"node agent", "node tools", "node approve"}
    finally:
        worker.stop()
        api.stop()
        drop_database(database_uri, uri)


def test_without_an_endpoint_nothing_is_set_up() -> None:
    """No OTLP endpoint: no tracer provider, no request middleware, no instrumentation
    imported (a process of its own: this one has imported them)."""
    script = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from graphport.app import create_app\n"
        "from graphport.settings import Settings\n"
        f"app = create_app(Settings(GRAPHPORT_CONFIG={str(FIXTURES / 'langgraph.json')!r}))\n"
        "names = [m.cls.__name__ for m in app.user_middleware]\n"
        "assert 'OpenTelemetryMiddleware' not in names, names\n"
        "assert 'opentelemetry.instrumentation.fastapi' not in sys.modules\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
        "print('untraced')\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "untraced", done.stderr


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        ({"OTEL_PROPAGATORS": "b3"}, "b3"),
    ],
)
def test_a_setting_it_cannot_honour_leaves_tracing_off_with_one_line(
    setting: dict[str, str], named: str
) -> None:
    script = (
        "import logging\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from graphport.tracing import Tracing\n"
        "print('on' if Tracing.from_env().enabled else 'off')\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ |= {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", **setting}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "off", done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if "tracing is off" in ln]
    assert named in line and "Traceback" not in done.stderr


def test_a_collector_that_hangs_does_not_hold_up_a_stop() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from graphport.tracing import Tracing

    class Hangs(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            time.sleep(30)
            return SpanExportResult.FAILURE

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Hangs()))
    tracing = Tracing(provider)
    for _ in range(3):
        provider.get_tracer("test").start_span("waits").end()
    started = time.monotonic()
    tracing.shutdown(seconds=0.5)
    assert time.monotonic() - started < 2


async def test_any_host_is_traced_but_health_checks(
    receiver: Receiver, traced_server: ServerProcess
) -> None:
    """The exclusions match the path: a host named metrics-... or ...ok... is traced."""
    async with httpx.AsyncClient(base_url=traced_server.url) as http:
        thread = (await http.post("/threads", json={})).json()
        for host in ("metrics-gw.example", "tokyo.example"):
            found = await http.get(f"/threads/{thread['thread_id']}", headers={"Host": host})
            assert found.status_code == 200
        for path in ("/", "/ok", "/metrics", "/ok?x=1"):
            await http.get(path, headers={"Host": "metrics.example"})
    spans = _until(lambda: len(receiver.where(name="GET /threads/{thread_id}")) >= 2 and True)
    assert spans
    names = {s["name"] for s in receiver.spans}
    assert not {"GET /", "GET /ok", "GET /metrics"} & names
