"""Turn a stored run into what LangGraph takes: config, context, input."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Send
from pydantic import BaseModel

from graphport.auth.actor import graph_configurable
from graphport.graphs.registry import AnyPregel
from graphport.graphs.updates import update_writes

Row = dict[str, Any]


def run_config(run: Row) -> RunnableConfig:
    """The run's config with the identifiers graphs read from ``configurable``."""
    kwargs = run["kwargs"]
    base: dict[str, Any] = dict(kwargs.get("config") or {})
    ids = {
        "run_id": str(run["run_id"]),
        "thread_id": str(run["thread_id"]),
        "graph_id": run["graph_id"],
        "assistant_id": str(run["assistant_id"]),
    }
    configurable: dict[str, Any] = {**(base.get("configurable") or {}), **ids}
    checkpoint = kwargs.get("checkpoint") or {}
    for key in ("checkpoint_id", "checkpoint_ns", "checkpoint_map"):
        if checkpoint.get(key):
            configurable[key] = checkpoint[key]
    metadata = {**(base.get("metadata") or {}), **run["metadata"], **ids}
    metadata["run_attempt"] = run["attempt"]
    configurable = graph_configurable(configurable)
    base.update(configurable=configurable, metadata=metadata, run_id=run["run_id"])
    return cast(RunnableConfig, base)


def run_input(run: Row, *, resume_from_checkpoint: bool) -> Any:
    """The graph input: a command, the given input, or None to resume where a retry stopped."""
    if resume_from_checkpoint:
        return None
    command = run["kwargs"].get("command")
    if command:
        return _command(command)
    return run["kwargs"].get("input")


def _command(raw: Row) -> Command[Any]:
    goto = raw.get("goto")
    if goto is not None:
        goto = [_send_or_node(g) for g in goto] if isinstance(goto, list) else _send_or_node(goto)
    update = raw.get("update")
    if isinstance(update, list):  # JSON made the SDK's (key, value) tuples lists
        update = update_writes(update)
    return Command(update=update, resume=raw.get("resume"), goto=goto or ())


def _send_or_node(target: Any) -> Any:
    if isinstance(target, dict):
        return Send(target["node"], target.get("input"))
    return target


def run_context(graph: AnyPregel, raw: Row | None) -> Any:
    """Coerce the context dict to the graph's context schema (dataclass or pydantic)."""
    if not raw:
        raw = {}
    schema = getattr(graph, "context_schema", None)
    if schema is None or not isinstance(schema, type):
        return raw or None
    if issubclass(schema, BaseModel):
        return schema.model_validate(raw)
    if dataclasses.is_dataclass(schema):
        names = {f.name for f in dataclasses.fields(schema)}
        return schema(**{k: v for k, v in raw.items() if k in names})
    return raw


def interrupt_nodes(value: Any) -> Any:
    return value if value in (None, "*") else list(value)
