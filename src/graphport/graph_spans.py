"""Spans of a run's graph: one per node, per chat model or LLM call and per tool call, as a
LangChain callback handler (LangGraph reports its nodes through the same callbacks).

Only built when tracing is on (``tracing.Tracing.graph_callbacks``). Called inline on the
event loop (``run_inline``): no thread hop per callback. Runnables that are not nodes
(LangGraph's channel writes, a node's inner chains) get no span; what runs under them
attaches to the closest span above; nothing opens once the run's span ended. A
``GraphInterrupt`` ending a node is an ``interrupt`` event on its span, a cancel a
``cancelled`` event: neither is an error. Log lines inside a node carry the run's span
(these spans are not made current: callbacks cannot restore a context reliably).
Attributes follow OpenTelemetry's GenAI conventions where they exist (``gen_ai.*``)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

_HIDDEN = "langsmith:hidden"


class GraphSpans(BaseCallbackHandler):
    run_inline = True  # on the loop, in order: spans open and close where the work does

    def __init__(self, tracer: Tracer, root: Span) -> None:
        self._tracer = tracer
        self._root = root
        self._spans: dict[UUID, Span] = {}  # ours, by LangChain run id
        self._under: dict[UUID, Span] = {}  # a runnable without a span: the span above it

    # -- nodes -------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or _name(serialized)
        node = (metadata or {}).get("langgraph_node")
        if parent_run_id is None or node != name or _HIDDEN in (tags or ()):
            self._under[run_id] = self._parent(parent_run_id)
            return
        attributes = {
            "graphport.node": str(node),
            "graphport.step": int((metadata or {}).get("langgraph_step") or 0),
        }
        self._open(run_id, parent_run_id, f"node {node}", attributes)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- models ------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._model(run_id, parent_run_id, serialized, metadata, kwargs, "chat")

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._model(run_id, parent_run_id, serialized, metadata, kwargs, "text_completion")

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._spans.get(run_id)
        if span is not None:
            for key, value in _usage(response).items():
                span.set_attribute(key, value)
        self._close(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- tools -------------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or _name(serialized)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": str(name),
        }
        if call_id := kwargs.get("tool_call_id"):
            attributes["gen_ai.tool.call.id"] = str(call_id)
        self._open(run_id, parent_run_id, f"execute_tool {name}", attributes)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    # -- spans -------------------------------------------------------------------------

    def _model(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        serialized: dict[str, Any] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
        operation: str,
    ) -> None:
        found = metadata or {}
        model = found.get("ls_model_name") or kwargs.get("name") or _name(serialized)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": str(model),
        }
        if provider := found.get("ls_provider"):
            attributes["gen_ai.system"] = str(provider)
        self._open(run_id, parent_run_id, f"{operation} {model}", attributes)

    def _parent(self, parent_run_id: UUID | None) -> Span:
        if parent_run_id is None:
            return self._root
        return self._spans.get(parent_run_id) or self._under.get(parent_run_id) or self._root

    def _open(
        self, run_id: UUID, parent_run_id: UUID | None, name: str, attributes: dict[str, Any]
    ) -> None:
        if not self._root.is_recording():
            return  # the run ended (a sync node's thread may go on after a cancel): no span
        context = trace.set_span_in_context(self._parent(parent_run_id))
        self._spans[run_id] = self._tracer.start_span(name, context=context, attributes=attributes)

    def _close(self, run_id: UUID, error: BaseException | None = None) -> None:
        self._under.pop(run_id, None)
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        if isinstance(error, GraphInterrupt):
            span.add_event("interrupt")
        elif isinstance(error, asyncio.CancelledError):
            span.add_event("cancelled")  # the run was stopped: not the node's error
        elif error is not None and not isinstance(error, GraphBubbleUp):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()


def _name(serialized: dict[str, Any] | None) -> str:
    found = serialized or {}
    ids = found.get("id") or ["?"]
    return str(found.get("name") or ids[-1])


def _usage(response: Any) -> dict[str, int]:
    """``gen_ai.usage.*`` from the first generation's message, when the model said."""
    try:
        message = response.generations[0][0].message
        usage = message.usage_metadata or {}
    except (AttributeError, IndexError, TypeError):
        return {}
    found = {}
    if "input_tokens" in usage:
        found["gen_ai.usage.input_tokens"] = int(usage["input_tokens"])
    if "output_tokens" in usage:
        found["gen_ai.usage.output_tokens"] = int(usage["output_tokens"])
    return found
