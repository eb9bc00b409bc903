"""The stored form of a run request: the assistant's config and context merged under the
run's own, plus the options the worker reads.

Only the run request itself names the checkpoint a run starts from (``checkpoint_id``,
``checkpoint``, ``config.configurable``): an assistant serves every thread, so a checkpoint
in its config names none of them, and context is the graph's own. Both are dropped here, so
what ``run_checks`` checks is what the run uses."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from graphport.auth.actor import Actor
from graphport.schemas.common import CHECKPOINT_KEYS, INTERNAL_PREFIX
from graphport.schemas.runs import RunCreateStateful, RunCreateStateless

Row = dict[str, Any]

RUN_IDS = ("run_id", "thread_id", "graph_id", "assistant_id")


def _without_checkpoints(configurable: Row) -> Row:
    """``configurable`` less the keys that name a checkpoint and LangGraph's own (assistants
    stored before they were refused may hold them)."""
    return {
        k: v
        for k, v in configurable.items()
        if k not in CHECKPOINT_KEYS and not k.startswith(INTERNAL_PREFIX)
    }


def merge_config(assistant_config: Row, run_config: Row | None) -> Row:
    """The run's config: ``run_config`` over ``assistant_config`` (``configurable`` and
    ``metadata`` merged key by key, ``tags`` joined), without the assistant's checkpoint."""
    run_config = run_config or {}
    merged = {**assistant_config, **run_config}
    configurable = {
        **_without_checkpoints(assistant_config.get("configurable") or {}),
        **(run_config.get("configurable") or {}),
    }
    if configurable or "configurable" in merged:
        merged["configurable"] = configurable
    if "tags" in assistant_config and "tags" in run_config:
        merged["tags"] = list(dict.fromkeys([*assistant_config["tags"], *run_config["tags"]]))
    if "metadata" in assistant_config or "metadata" in run_config:
        merged["metadata"] = {
            **(assistant_config.get("metadata") or {}),
            **(run_config.get("metadata") or {}),
        }
    return merged


def build_kwargs(
    assistant: Row, body: RunCreateStateful | RunCreateStateless, headers: Row | None = None
) -> Row:
    """What the worker runs (``kwargs`` of the stored run): ``config``, ``context``,
    ``input`` or ``command``, the stream and interrupt options, and the ``checkpoint`` a
    thread run starts from (None: the thread's latest). ``headers``: the request's
    configurable headers, over the client's own ``configurable`` keys (as officially)."""
    config = merge_config(assistant["config"], body.config)
    context = {**(assistant.get("context") or {}), **(body.context or {})}
    if context:
        # context and configurable read the same values (LangGraph >= 0.6 prefers context)
        config["configurable"] = {
            **_without_checkpoints(context),
            **(config.get("configurable") or {}),
        }
    if headers:
        config["configurable"] = {**(config.get("configurable") or {}), **headers}
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


def stamp_config(config: Row, run: Row, actor: Actor, cron_id: UUID | None = None) -> Row:
    """The run's config as stored: ``configurable`` holds what the server sets, over
    anything a client sent under those keys, as the official server does: the run's ids
    (``RUN_IDS`` of ``run``), the caller (``Actor.with_identity``), and ``cron_id`` on a
    run a cron fired, only there (a client cannot claim a run came from a cron)."""
    configurable = {k: v for k, v in (config.get("configurable") or {}).items() if k != "cron_id"}
    configurable.update((k, str(run[k])) for k in RUN_IDS)
    if cron_id is not None:
        configurable["cron_id"] = str(cron_id)
    return actor.with_identity({**config, "configurable": configurable})
