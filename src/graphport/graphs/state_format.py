"""LangGraph state snapshots as the API's ThreadState JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, PregelTask, StateSnapshot

Json = dict[str, Any]


def checkpoint_of(config: RunnableConfig | None, *, require_id: bool = True) -> Json | None:
    """The ``checkpoint`` object clients see: thread id, namespace, id (and map)."""
    if not config:
        return None
    configurable = config.get("configurable") or {}
    if require_id and "checkpoint_id" not in configurable:
        return None
    checkpoint: Json = {
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
    }
    if "checkpoint_id" in configurable:
        checkpoint["checkpoint_id"] = configurable["checkpoint_id"]
    if configurable.get("checkpoint_map"):
        checkpoint["checkpoint_map"] = configurable["checkpoint_map"]
    return checkpoint


def interrupts_json(interrupts: Iterable[Interrupt]) -> list[Json]:
    return [{"value": i.value, "id": i.id} for i in interrupts]


def _error_text(error: Exception | None) -> str | None:
    return None if error is None else repr(error)


def task_json(task: PregelTask) -> Json:
    state = task.state
    nested: Json | None = None
    checkpoint: Json | None = None
    if isinstance(state, StateSnapshot):
        nested = snapshot_json(state)
    elif state is not None:
        # a subgraph task points at its namespace; its state is fetched with subgraphs=true
        checkpoint = checkpoint_of(state, require_id=False)
    return {
        "id": task.id,
        "name": task.name,
        "path": list(task.path),
        "error": _error_text(task.error),
        "interrupts": interrupts_json(task.interrupts),
        "checkpoint": checkpoint,
        "state": nested,
        "result": task.result,
    }


def snapshot_json(snapshot: StateSnapshot) -> Json:
    checkpoint = checkpoint_of(snapshot.config)
    parent = checkpoint_of(snapshot.parent_config)
    return {
        "values": snapshot.values,
        "next": list(snapshot.next),
        "tasks": [task_json(t) for t in snapshot.tasks],
        "metadata": snapshot.metadata,
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": interrupts_json(snapshot.interrupts),
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


def thread_interrupts(snapshot: StateSnapshot) -> dict[str, list[Json]]:
    """Pending interrupts keyed by the id of the task that raised them."""
    return {t.id: interrupts_json(t.interrupts) for t in snapshot.tasks if t.interrupts}


def pending_interrupt_ids(interrupts: dict[str, list[Json]] | None) -> set[Any]:
    """The ids of a thread's pending interrupts (its ``interrupts`` column, as
    ``thread_interrupts`` wrote it)."""
    return {i.get("id") for found in (interrupts or {}).values() for i in found}


def thread_status(snapshot: StateSnapshot) -> str:
    """``interrupted`` whenever tasks are still pending, else ``idle``."""
    return "interrupted" if snapshot.next else "idle"
