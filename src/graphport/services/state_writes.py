"""What a thread state write needs besides the graph: one writer per thread at a time, the
updates a command-only run left pending kept, and superstep updates checked up front."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END
from langgraph.types import Command

from graphport.errors import Conflict, GraphportError, InvalidInput
from graphport.graphs.introspection import unknown_state_keys
from graphport.graphs.registry import AnyPregel
from graphport.graphs.updates import StartState, check_update, update_writes
from graphport.repositories.checkpoints import NULL_TASK_ID
from graphport.schemas.threads import Superstep, SuperstepUpdate

logger = logging.getLogger(__name__)

# what is not the graph's doing: our own errors and storage failures (they stay 500)
NOT_THE_GRAPH = (GraphportError, psycopg.Error, OSError)


@contextmanager
def refused_as(problem: str) -> Iterator[None]:
    """What a graph raises while applying an update (a reducer refusing a value, an unknown
    node, ...) is the request's fault: 422."""
    try:
        yield
    except NOT_THE_GRAPH:
        raise
    except Exception as exc:
        raise InvalidInput(f"{problem}: {type(exc).__name__}: {exc}") from exc


@dataclasses.dataclass
class _Slot:
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    users: int = 0  # the holder and the waiters


class KeyedLocks:
    """One ``asyncio.Lock`` per key (a thread id), forgotten once no holder nor waiter
    remains: waiters queue here, holding no database connection."""

    def __init__(self) -> None:
        self._slots: dict[Hashable, _Slot] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def hold(self, key: Hashable, *, wait_seconds: float, busy: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block; Conflict (409, ``busy``) when it cannot be had
        within ``wait_seconds``."""
        slot = self._slots.setdefault(key, _Slot())
        slot.users += 1
        try:
            try:
                async with asyncio.timeout(wait_seconds):
                    await slot.lock.acquire()
            except TimeoutError:
                raise Conflict(busy) from None
            try:
                yield
            finally:
                slot.lock.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[key]


def _is_state_write(graph: AnyPregel, channel: str) -> bool:
    """A write to a state key, not a control one (a goto's ``branch:to:*``, a Send, a
    resume value): applying it alone triggers no node."""
    return not channel.startswith(("branch:", "__")) and not unknown_state_keys(graph, [channel])


async def keep_pending_updates(
    graph: AnyPregel, checkpointer: BaseCheckpointSaver[Any], config: RunnableConfig
) -> RunnableConfig:
    """The checkpoint to write a state update on so that the updates of no task pending on
    ``config``'s (those a command-only run leaves; reads show them, LangGraph's update drops
    them) are kept: ``config`` when there are none, else a checkpoint written on top of it
    with them applied (LangGraph's update as END, which clears no task when none is due).
    Call it holding the thread's write lock. Conflict (409) when such updates sit on the
    thread's latest checkpoint with tasks due (an interrupt) or node triggers: applying them
    would clear those, dropping them would lose an accepted update. On an older checkpoint
    (a fork) LangGraph's way stands then: the checkpoints after it hold those updates."""
    configurable = config.get("configurable") or {}
    if configurable.get("checkpoint_ns"):
        return config  # a subgraph's state: command-only runs write the root's
    saved = await checkpointer.aget_tuple(config)
    pending = [c for t, c, _ in (saved.pending_writes or ()) if t == NULL_TASK_ID] if saved else []
    if saved is None or not pending:
        return config
    try:
        snapshot = await graph.aget_state(saved.config)
    except NOT_THE_GRAPH:
        raise
    except Exception as exc:  # unreadable: LangGraph's own update is the way out
        logger.warning("updates pending on an unreadable state are dropped: %s", exc)
        return config
    if not snapshot.tasks and all(_is_state_write(graph, c) for c in pending):
        return await graph.aupdate_state(saved.config, None, as_node=END)
    if "checkpoint_id" in configurable:
        head = await checkpointer.aget_tuple(
            RunnableConfig(configurable={**configurable, "checkpoint_id": None})
        )
        if head is None or head.checkpoint["id"] != saved.checkpoint["id"]:
            return config
    raise Conflict(
        f"Thread {configurable.get('thread_id')} has a command update pending next to tasks "
        "due (an interrupt or a goto): resume it with a run first (command.resume), or clear "
        "the tasks with an update as __end__ without values (this applies the pending update)"
    )


def superstep_update(update: SuperstepUpdate) -> Any:
    """A superstep applies a command (update/goto) as if the node had returned it; its
    ``update`` pairs become the tuples LangGraph reads (it drops JSON lists silently)."""
    if update.command is None:
        return update.values
    command = update.command.model_dump(exclude_none=True)
    if "update" in command:
        command["update"] = update_writes(command["update"])
    return Command(**command)


def _invalid(problem: str) -> InvalidInput:
    return InvalidInput(f"Invalid superstep: {problem}")


def _step_writes(graph: AnyPregel, update: SuperstepUpdate) -> list[tuple[str, Any]]:
    """An update's state writes (its values object, its command's update), each key a state
    key of the graph, and its ``command.goto`` nodes of the graph. InvalidInput (422)."""
    writes = list(update.values.items()) if isinstance(update.values, dict) else []
    goto = None
    if update.command is not None:
        try:
            writes += update_writes(update.command.update)
        except InvalidInput as exc:
            raise _invalid(exc.detail) from None
        goto = update.command.goto
    if unknown := unknown_state_keys(graph, dict.fromkeys(k for k, _ in writes)):
        raise _invalid(f"no state key(s) {unknown} in the graph")
    targets = goto if isinstance(goto, list) else [] if goto is None else [goto]
    for target in targets:
        node = target.get("node") if isinstance(target, dict) else target
        if node != END and (not isinstance(node, str) or node not in graph.nodes):
            raise _invalid(f"command.goto names no node: {node!r}")
    return writes


def check_supersteps(graph: AnyPregel, supersteps: list[Superstep]) -> None:
    """Superstep updates, checked before anything is written, as a run's command.update:
    their shapes, keys and goto nodes; the first step's values also by the reducers, on the
    empty state a new thread starts from (later steps' by LangGraph as it applies them).
    InvalidInput (422)."""
    for index, step in enumerate(supersteps):
        writes = [w for update in step.updates for w in _step_writes(graph, update)]
        if index == 0:
            try:
                check_update(graph, writes, StartState(), what="the update")
            except InvalidInput as exc:
                raise _invalid(exc.detail) from None
