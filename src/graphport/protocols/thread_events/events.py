"""Thread events on the wire: LangGraph's protocol events (``astream_events(version="v3")``)
made JSON, the root events the server adds (a run's ``lifecycle`` and ``input.requested``),
and the envelope each connection sends (its ``seq`` is the thread stream's event id).

Between the worker and the streams they travel through the broker as ``protocol`` events:
``{"method", "params": {"namespace", "timestamp", "data"[, "node"]}, "event_id"}``."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from graphport.execution.broker import PROTOCOL_EVENT

Row = dict[str, Any]
__all__ = ["PROTOCOL_EVENT", "envelope", "from_langgraph", "input_requested", "lifecycle"]


def now_ms() -> int:
    return int(time.time() * 1000)


def from_langgraph(event: Row, run_id: UUID, index: int) -> Row:
    """A LangGraph protocol event as it travels (the broker writes it as JSON: messages
    become plain dicts there): a ``messages`` event's data without the metadata LangGraph
    pairs it with, and an ``event_id`` stable across connections (``<run_id>:<index>``)."""
    params = event.get("params") or {}
    method, data = event.get("method"), params.get("data")
    namespace = list(params.get("namespace") or [])
    if method == "messages" and isinstance(data, list | tuple) and data:
        data = data[0]
    elif method == "lifecycle" and isinstance(data, dict) and data.get("namespace"):
        namespace = list(data["namespace"])  # a subgraph's, sent in its own namespace
        if data.get("event") != "started":  # its end as the official server words it
            data = _subgraph_end(data, namespace)
    elif method == "updates" and isinstance(data, dict) and "__interrupt__" in data:
        # the interrupt travels as input.requested; the official server sends the rest
        data = {k: v for k, v in data.items() if k != "__interrupt__"}
    elif method == "checkpoints" and isinstance(data, dict):
        data = _checkpoint(data)
    shaped: Row = {
        "namespace": namespace,
        "timestamp": params.get("timestamp") or now_ms(),
        "data": data,
    }
    if "node" in params:
        shaped["node"] = params["node"]
    return {"method": method, "params": shaped, "event_id": f"{run_id}:{index}"}


def _subgraph_end(data: Row, namespace: list[str]) -> Row:
    """``{event, graph_name[, error]}``: the graph named after its node, as on the official
    server."""
    shaped: Row = {
        "event": data.get("event"),
        "graph_name": data.get("graph_name") or str(namespace[-1]).split(":", 1)[0],
    }
    if data.get("error") is not None:
        shaped["error"] = data["error"]
    return shaped


def _checkpoint(data: Row) -> Row:
    """A checkpoint as the protocol names it: ``{id, parent_id?, step, source}``."""

    def checkpoint_id(config: Any) -> Any:
        return ((config or {}).get("configurable") or {}).get("checkpoint_id")

    metadata = data.get("metadata") or {}
    shaped = {
        "id": checkpoint_id(data.get("config")),
        "step": metadata.get("step"),
        "source": metadata.get("source"),
    }
    if (parent := checkpoint_id(data.get("parent_config"))) is not None:
        shaped["parent_id"] = parent
    return shaped


def lifecycle(run_id: UUID, event: str, graph_name: str, **extra: Any) -> Row:
    """A root ``lifecycle`` event the server adds: ``running`` when a run starts (resumes
    too), then ``completed``, ``failed`` (with ``error``) or ``interrupted``."""
    data = {"event": event, "graph_name": graph_name, **extra}
    return {
        "method": "lifecycle",
        "params": {"namespace": [], "timestamp": now_ms(), "data": data},
        "event_id": f"synth:{run_id}:lc||{event}",
    }


def input_requested(run_id: UUID, interrupt: Row) -> Row:
    """An ``input.requested`` event for a pending interrupt of the run."""
    # ``payload`` as the official server sends it, ``value`` as newer SDKs read it
    value = interrupt.get("value")
    data = {"interrupt_id": interrupt.get("id"), "payload": value, "value": value}
    return {
        "method": "input.requested",
        "params": {"namespace": [], "timestamp": now_ms(), "data": data},
        "event_id": f"synth:{run_id}:input||{interrupt.get('id')}",
    }


def envelope(seq: int, event: Row) -> Row:
    """What a connection sends: the event with its ``seq`` (the thread stream's id)."""
    return {
        "type": "event",
        "event_id": event.get("event_id"),
        "seq": seq,
        "method": event.get("method"),
        "params": event.get("params"),
    }
