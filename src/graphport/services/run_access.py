"""What custom auth decides about a new run: the ``threads.create_run`` handler (which may
stamp metadata or adjust the request), the assistant's ``assistants.read`` filter, and the
caller's identity in the run's config."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from graphport.auth.actor import Actor
from graphport.auth.filters import AuthFilter
from graphport.auth.handlers import HandlerFailed
from graphport.schemas.runs import RunCreateStateful, RunCreateStateless
from graphport.schemas.unknown import collect_unknown_fields

logger = logging.getLogger(__name__)

Row = dict[str, Any]
RunCreate = RunCreateStateful | RunCreateStateless


@dataclass(frozen=True)
class RunAccess:
    body: RunCreate
    metadata: Row
    thread_scope: AuthFilter | None = None
    assistant_scope: AuthFilter | None = None


async def authorize_run(
    actor: Actor,
    thread_id: UUID | None,
    assistant_id: UUID,
    run_id: UUID,
    body: RunCreate,
    *,
    system: bool,
) -> RunAccess:
    """The ``threads.create_run`` handler's decision, then the ``assistants.read`` one.
    ``system``: the assistant is a graph's own (what a graph id names), which anyone may
    run whatever the read handler says, as on the official server (reads of it are
    filtered like any assistant's)."""
    if actor.authorizer is None:
        return RunAccess(body, body.metadata or {})
    asked = _create_value(thread_id, assistant_id, run_id, body)
    thread_scope = await actor.authorize("threads", "create_run", asked)
    body = _with_handler_changes(body, asked["kwargs"])
    assistant_scope = await run_assistant_scope(actor, assistant_id, system=system)
    return RunAccess(body, dict(asked.get("metadata") or {}), thread_scope, assistant_scope)


async def run_assistant_scope(
    actor: Actor, assistant_id: UUID, *, system: bool
) -> AuthFilter | None:
    """The filter the assistant a run (or a cron's runs) uses must match: the
    ``assistants.read`` handler's, not asked for a graph's own assistant (``system``)."""
    if system:
        return None
    return await actor.authorize("assistants", "read", {"assistant_id": assistant_id})


def _create_value(thread_id: UUID | None, assistant_id: UUID, run_id: UUID, body: RunCreate) -> Row:
    """What a ``threads.create_run`` handler sees (and may change: ``metadata``)."""
    return {
        "thread_id": thread_id,
        "assistant_id": assistant_id,
        "run_id": run_id,
        "status": "pending",
        "metadata": dict(body.metadata or {}),
        "prevent_insert_if_inflight": body.multitask_strategy == "reject",
        "multitask_strategy": body.multitask_strategy or "enqueue",
        "if_not_exists": getattr(body, "if_not_exists", None) or "reject",
        "after_seconds": body.after_seconds or 0,
        "kwargs": body.model_dump(exclude_none=True, mode="json"),
        "action": None,
    }


def _with_handler_changes(body: RunCreate, kwargs: Row) -> RunCreate:
    """The request as a ``create_run`` handler left ``value["kwargs"]`` (e.g. config it
    added). A change that is not a valid request is the handler's bug: 500, logged."""
    if kwargs == body.model_dump(exclude_none=True, mode="json"):
        return body
    try:
        with collect_unknown_fields() as unknown:  # the handler's, not the client's
            changed = type(body).model_validate(kwargs)
    except ValidationError as exc:
        logger.error("auth handler for threads.create_run left an invalid run: %s", exc)
        raise HandlerFailed() from None
    if unknown:  # a client's unknown field is ignored; a handler's is a mistake
        names = sorted({name for _model, name in unknown})
        logger.error("auth handler for threads.create_run added unknown fields: %s", names)
        raise HandlerFailed()
    return changed
