"""The stored form of a run request: the assistant's config and context merged under the
run's own, plus the options the worker reads."""

from __future__ import annotations

from typing import Any

from graphport.schemas.runs import RunCreateStateful, RunCreateStateless

Row = dict[str, Any]


def merge_config(assistant_config: Row, run_config: Row | None) -> Row:
    run_config = run_config or {}
    merged = {**assistant_config, **run_config}
    configurable = {
        **(assistant_config.get("configurable") or {}),
        **(run_config.get("configurable") or {}),
    }
    if configurable:
        merged["configurable"] = configurable
    if "tags" in assistant_config and "tags" in run_config:
        merged["tags"] = list(dict.fromkeys([*assistant_config["tags"], *run_config["tags"]]))
    if "metadata" in assistant_config or "metadata" in run_config:
        merged["metadata"] = {
            **(assistant_config.get("metadata") or {}),
            **(run_config.get("metadata") or {}),
        }
    return merged


def build_kwargs(assistant: Row, body: RunCreateStateful | RunCreateStateless) -> Row:
    config = merge_config(assistant["config"], body.config)
    context = {**(assistant.get("context") or {}), **(body.context or {})}
    if context:
        # context and configurable read the same values (LangGraph >= 0.6 prefers context)
        config["configurable"] = {**context, **(config.get("configurable") or {})}
    kwargs: Row = {
        "input": body.input,
        "command": body.command.model_dump(exclude_none=True) if body.command else None,
        "config": config,
        "context": context,
        "stream_mode": body.stream_modes(),
        "interrupt_before": body.interrupt_before,
        "interrupt_after": body.interrupt_after,
        "webhook": body.webhook,
        "feedback_keys": body.feedback_keys,
        "subgraphs": body.stream_subgraphs,
        "resumable": body.stream_resumable,
        "on_disconnect": body.on_disconnect,
        "durability": body.resolved_durability(),
        "checkpoint_during": body.checkpoint_during,
    }
    if isinstance(body, RunCreateStateless):
        kwargs["temporary"] = body.on_completion == "delete"
    else:
        checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
        if body.checkpoint_id:
            checkpoint["checkpoint_id"] = body.checkpoint_id
        kwargs["checkpoint"] = checkpoint or None
    return kwargs
