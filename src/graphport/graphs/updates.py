"""A ``Command``'s state update judged as LangGraph applies it: on the state a run starts
from, in one step with the updates of no task already pending there."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.channels.base import BaseChannel
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphport.errors import InvalidInput
from graphport.graphs.introspection import unknown_state_keys
from graphport.graphs.registry import AnyPregel
from graphport.repositories.checkpoints import NULL_TASK_ID

logger = logging.getLogger(__name__)

Row = dict[str, Any]


def update_writes(update: Any) -> list[tuple[str, Any]]:
    """``command.update`` as ``(state key, value)`` pairs in order: a dict, or a list of
    ``[key, value]`` pairs (JSON turns the SDK's tuples into lists); empty for None.
    Raises InvalidInput (422) for any other shape (LangGraph would drop it silently)."""
    if update is None:
        return []
    if isinstance(update, dict):
        return [(str(key), value) for key, value in update.items()]
    if isinstance(update, list | tuple) and all(_is_pair(p) for p in update):
        return [(key, value) for key, value in update]
    raise InvalidInput(
        "command.update must be an object of state keys, or a list of [key, value] pairs "
        "whose keys are strings"
    )


def _is_pair(item: Any) -> bool:
    return isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)


@dataclasses.dataclass(frozen=True)
class StartState:
    """The state a run starts from: its checkpoint's channel values, and the values of no
    task pending there (commands LangGraph applies with the run's own), by state key."""

    channel_values: Row = dataclasses.field(default_factory=dict)
    pending: dict[str, list[Any]] = dataclasses.field(default_factory=dict)


async def start_state(
    checkpointer: BaseCheckpointSaver[Any], thread_id: str, checkpoint_id: str | None
) -> StartState:
    """The root state at ``checkpoint_id``, else the thread's latest; empty when the thread
    has none."""
    configurable: Row = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    found = await checkpointer.aget_tuple(RunnableConfig(configurable=configurable))
    if found is None:
        return StartState()
    pending: dict[str, list[Any]] = {}
    for task_id, channel, value in found.pending_writes or ():
        if task_id == NULL_TASK_ID:
            pending.setdefault(channel, []).append(value)
    return StartState(dict(found.checkpoint["channel_values"]), pending)


def check_update(
    graph: AnyPregel,
    writes: list[tuple[str, Any]],
    start: StartState,
    *,
    what: str = "command.update",
) -> None:
    """Each key must be a state key, and its values ones the key's reducer takes on
    ``start``, applied as LangGraph applies them: after the updates pending there, in one
    step. Raises InvalidInput (422) naming the key and the reducer's error; ``what`` names
    the writes in it."""
    if unknown := unknown_state_keys(graph, dict.fromkeys(k for k, _ in writes)):
        raise InvalidInput(f"{what} names no state key of the graph: {unknown}")
    by_key: dict[str, list[Any]] = {}
    for key, value in writes:
        by_key.setdefault(key, []).append(value)
    for key, values in by_key.items():
        spec = cast(BaseChannel[Any, Any, Any], graph.channels[key])
        seed = start.channel_values
        try:
            channel = spec.from_checkpoint(seed[key]) if key in seed else spec
            channel = channel.copy()
        except Exception:  # a channel we cannot seed: the run itself will tell
            logger.warning("cannot check command.update of %r on the current state", key)
            continue
        pending = start.pending.get(key, [])
        try:
            channel.update([*pending, *values])
        except Exception as exc:  # a reducer refusing the value, whatever it raises
            after = f" after the {len(pending)} update(s) pending on the thread" if pending else ""
            raise InvalidInput(
                f"{what} of {key!r} is refused by the graph{after}: {type(exc).__name__}: {exc}"
            ) from None
