"""What a run request names must exist, checked before anything is written: the webhook it
calls, the graph nodes it names (``interrupt_before``/``interrupt_after``, ``command.goto``),
the state keys and values of ``command.update``, and the checkpoint it starts from. A
request that has none of these costs no I/O."""

from __future__ import annotations

import logging
from typing import Any, cast
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.db.engine import Database
from graphport.errors import GraphportError, InvalidInput, NotFound
from graphport.graphs.registry import GraphRegistry
from graphport.graphs.updates import StartState, check_update, start_state, update_writes
from graphport.repositories import assistants as assistant_repo
from graphport.schemas.runs import RunCreateStateful, RunCreateStateless
from graphport.schemas.threads import CheckpointConfig
from graphport.services.run_kwargs import build_kwargs
from graphport.services.thread_state import require_checkpoint
from graphport.services.webhooks import WebhookPolicy

logger = logging.getLogger(__name__)

Row = dict[str, Any]
RunCreate = RunCreateStateful | RunCreateStateless


def named_nodes(body: RunCreate) -> dict[str, list[str]]:
    """The node names a request mentions, by field (``"*"`` names no node)."""
    named: dict[str, list[str]] = {}
    for field in ("interrupt_before", "interrupt_after"):
        value = getattr(body, field)
        if isinstance(value, list) and value:
            named[field] = value
    goto = body.command.goto if body.command is not None else None
    if goto is not None:
        targets = goto if isinstance(goto, list) else [goto]
        nodes = [t if isinstance(t, str) else t.node for t in targets]
        if nodes := [n for n in nodes if n != END]:
            named["command.goto"] = nodes
    return named


_CHECKPOINT_KEYS = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")


def checkpoint_named(body: RunCreate) -> CheckpointConfig | None:
    """The checkpoint a run starts from, as the worker resolves it: ``checkpoint_id``, else
    the one in ``checkpoint``, else the one in ``config.configurable`` (each key on its
    own); None when it names none. InvalidInput (422) for ids that are not strings.

    The run's own request is all there is to read: ``build_kwargs`` keeps the checkpoint
    keys of the assistant's config and of context out of the run's config. The request's
    ``config.configurable`` keys were type-checked with the request (``checked_config``):
    an empty one (null id, root namespace ``""``, empty map) names no checkpoint."""
    configurable = (body.config or {}).get("configurable") or {}
    named = {k: configurable[k] for k in _CHECKPOINT_KEYS if configurable.get(k)}
    if isinstance(body, RunCreateStateful):
        given = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
        if body.checkpoint_id:
            given["checkpoint_id"] = body.checkpoint_id
        named |= {k: given[k] for k in _CHECKPOINT_KEYS if given.get(k)}
    if not named:
        return None
    try:
        checkpoint = CheckpointConfig.model_validate(named)
    except ValidationError:
        checkpoint = None
    mapped = (checkpoint.checkpoint_map or {}).values() if checkpoint is not None else ()
    if checkpoint is None or not all(isinstance(v, str) and v for v in mapped):
        raise InvalidInput(
            "checkpoint_id and checkpoint_ns must be strings, checkpoint_map an object of "
            "checkpoint ids by namespace"
        )
    return checkpoint


async def require_checkpoints(
    conn: AsyncConnection, thread_id: UUID | None, checkpoint: CheckpointConfig
) -> None:
    """NotFound (404) unless the thread has the checkpoint named and each one of its
    ``checkpoint_map``; a stateless run (``thread_id`` None) starts on a new thread, which
    has none."""
    mapped = checkpoint.checkpoint_map or {}
    if thread_id is None:
        named = checkpoint.checkpoint_id or checkpoint.checkpoint_ns or next(iter(mapped.values()))
        raise NotFound(f"Checkpoint {named} not found: a stateless run starts on a new thread")
    await require_checkpoint(conn, thread_id, checkpoint)
    for namespace, checkpoint_id in mapped.items():
        entry = CheckpointConfig(checkpoint_ns=namespace, checkpoint_id=checkpoint_id)
        await require_checkpoint(conn, thread_id, entry)


def command_update(body: RunCreate) -> list[tuple[str, Any]]:
    """The state writes a run's command carries, as ``(state key, value)`` pairs in order;
    InvalidInput (422) for an update of another shape."""
    return update_writes(body.command.update) if body.command is not None else []


class RunChecks:
    def __init__(
        self,
        db: Database,
        registry: GraphRegistry,
        webhooks: WebhookPolicy,
        checkpointer: BaseCheckpointSaver[Any],
    ) -> None:
        self._db = db
        self._registry = registry
        self._webhooks = webhooks
        self._checkpointer = checkpointer

    async def check(
        self,
        thread_id: UUID | None,
        assistant_id: UUID,
        body: RunCreate,
        *,
        actor: Actor,
        assistant_scope: AuthFilter | None,
    ) -> None:
        """Raise InvalidInput (422) for a webhook runs may not call, a node the graph lacks
        or a ``command.update`` it refuses; NotFound (404) for an assistant the caller
        cannot see (when the graph is needed) or a checkpoint the thread does not have."""
        if body.webhook:
            self._webhooks.check(body.webhook)
        named = named_nodes(body)
        needs_graph = bool(named) or bool(command_update(body))
        checkpoint = checkpoint_named(body)
        if not needs_graph and checkpoint is None:
            return
        assistant = None
        async with self._db.transaction() as conn:
            if needs_graph:
                assistant = await self.visible_assistant(conn, assistant_id, assistant_scope)
            if checkpoint is not None:
                await require_checkpoints(conn, thread_id, checkpoint)
        if assistant is not None:
            await self._check_graph(assistant, body, named, actor, thread_id, checkpoint)

    async def visible_assistant(
        self, conn: AsyncConnection, assistant_id: UUID, scope: AuthFilter | None
    ) -> Row:
        """The assistant as runs see it (404 when missing, hidden, or its graph unloaded)."""
        assistant = await assistant_repo.get_assistant(conn, assistant_id=assistant_id, scope=scope)
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        if assistant["graph_id"] not in self._registry:
            raise NotFound(f"Graph {assistant['graph_id']!r} is not loaded")
        return assistant

    async def _check_graph(
        self,
        assistant: Row,
        body: RunCreate,
        named: dict[str, list[str]],
        actor: Actor,
        thread_id: UUID | None,
        checkpoint: CheckpointConfig | None,
    ) -> None:
        graph_id = assistant["graph_id"]
        # the config the run's graph is built with (context mirrored into configurable)
        config = cast(RunnableConfig, actor.for_graph(build_kwargs(assistant, body)["config"]))
        wanted = [n for names in named.values() for n in names]
        try:
            missing = set(await self._registry.missing_nodes(graph_id, wanted, config))
            if update := command_update(body):
                start = await self._start_state(thread_id, checkpoint)
                async with self._registry.graph(graph_id, config) as graph:
                    check_update(graph, update, start)
        except GraphportError:
            raise
        except Exception as exc:  # the factory fails for this config: so will the run
            logger.warning("cannot build graph %r to check the run: %s", graph_id, exc)
            return
        if not missing:
            return
        nodes = sorted(n for n in self._registry.known_nodes(graph_id) if not n.startswith("__"))
        problems = [
            f"{field} names unknown node(s) {', '.join(repr(n) for n in names if n in missing)}"
            for field, names in named.items()
            if any(n in missing for n in names)
        ]
        raise InvalidInput(
            f"{'; '.join(problems)}; graph {graph_id!r} has nodes: {', '.join(nodes) or 'none'}"
        )

    async def _start_state(
        self, thread_id: UUID | None, checkpoint: CheckpointConfig | None
    ) -> StartState:
        """The state a run starts from: the checkpoint it names, else the thread's latest;
        empty for a stateless run or a thread that never ran."""
        if thread_id is None:
            return StartState()
        checkpoint_id = checkpoint.checkpoint_id if checkpoint is not None else None
        return await start_state(self._checkpointer, str(thread_id), checkpoint_id)
