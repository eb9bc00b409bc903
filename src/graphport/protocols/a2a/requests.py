"""What an A2A message asks to run: the graph's input or an answer to an interrupt, on
which thread (its context), as whom (the run's metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from a2a.compat.v0_3.types import Message, MessageSendConfiguration, MessageSendParams, Role

from graphport.auth.actor import Actor
from graphport.errors import GraphportError, NotFound
from graphport.protocols.a2a import card, tasks
from graphport.protocols.a2a.messages import graph_input, message_text, resume_value
from graphport.protocols.a2a.refusals import refused
from graphport.protocols.a2a.task_runs import TaskRuns
from graphport.protocols.jsonrpc import INVALID_PARAMS, RpcError, accepts
from graphport.schemas.runs import RunCreateStateful
from graphport.services.threads import ThreadService

Row = dict[str, Any]

_OURS = frozenset({tasks.TASK_KEY, "a2a_message_id"})
PUSH_NOT_SUPPORTED = -32003
CONTENT_TYPE_NOT_SUPPORTED = -32005


@dataclass(frozen=True)
class Prepared:
    """The run a message asks for, and the ids of the messages its context held before."""

    body: RunCreateStateful
    thread_id: UUID  # the context's
    earlier: frozenset[str]
    task: str | None = None  # the task it answers (continues)


class RunRequests:
    def __init__(self, threads: ThreadService, task_runs: TaskRuns) -> None:
        self._threads = threads
        self._tasks = task_runs

    async def prepare(
        self, assistant_id: UUID, graph_id: str, params: MessageSendParams, actor: Actor
    ) -> Prepared:
        """The run a message asks for: its parts as the graph's input, or, on a context
        waiting at an interrupt, an answer to it (a ``{"resume": ...}`` data part, or the
        text of a message naming the waiting task), as on the official server. The
        message's and the request's ``metadata`` become the run's. Raises ``RpcError``:
        -32602 for a message that cannot start a run, -32003 when push notifications are
        asked for, -32005 when none of the accepted output modes is one this agent gives.
        An answer must name (or leave out) the task of this assistant that waits, and wins
        alone: once one is queued or given, others are refused (-32602)."""
        message = params.message
        if message.role != Role.user:
            raise RpcError(INVALID_PARAMS, "Only messages from the 'user' role start a run")
        if not message.parts:
            raise RpcError(INVALID_PARAMS, "Message must contain at least one part")
        _check_configuration(params.configuration)
        has_resume, resume = resume_value(message)
        run_metadata = {
            key: value
            for key, value in {**(message.metadata or {}), **(params.metadata or {})}.items()
            if key not in _OURS  # what the server records, a client does not set
        }
        run_metadata["a2a_message_id"] = message.message_id
        common: Row = {
            "assistant_id": str(assistant_id),
            "if_not_exists": "create",
            "metadata": run_metadata,
        }
        thread_id = await self._thread_of(assistant_id, message, actor)
        thread = await self._context_thread(thread_id, actor)
        _check_context(thread, graph_id)
        earlier = frozenset(_message_ids(thread["values"] if thread else None))
        if message.message_id in earlier:  # LangChain would replace that message with it
            raise RpcError(
                INVALID_PARAMS,
                f"messageId {message.message_id!r} is already in this context: "
                "each message needs an id of its own",
            )
        if message.task_id is None and not has_resume:
            body = RunCreateStateful(**common, input=graph_input(message))
            return Prepared(body, thread_id, earlier)
        task = await self._waiting_task(thread_id, thread, assistant_id, message, actor)
        answer = resume if has_resume else message_text(message)
        if answer is None:
            raise RpcError(INVALID_PARAMS, "An answer is text, or a data part {'resume': value}")
        run_metadata[tasks.TASK_KEY] = task  # the answer continues the waiting task
        # Exactly one answer: refused once another is queued (reject) or was given (strict).
        body = RunCreateStateful(
            **common,
            command={"resume": answer},
            strict_resume=True,
            multitask_strategy="reject",
        )
        return Prepared(body, thread_id, earlier, task)

    async def _waiting_task(
        self,
        thread_id: UUID,
        thread: Row | None,
        assistant_id: UUID,
        message: Message,
        actor: Actor,
    ) -> str:
        """The task of this assistant that waits for input in the context (the thread's
        newest run's), which a message naming a task must name. -32602 otherwise."""
        newest = None
        if thread is not None and thread["status"] == "interrupted":
            newest = await self._tasks.newest_run(thread_id, actor)
        waiting = None
        if newest is not None and newest["assistant_id"] == assistant_id:
            waiting = tasks.run_task_id(newest)
        if message.task_id is not None and message.task_id != waiting:
            raise RpcError(
                INVALID_PARAMS,
                f"Task {message.task_id} is not awaiting input: send without taskId to start "
                "a new task",
            )
        if waiting is None:
            raise RpcError(
                INVALID_PARAMS, "Task is not awaiting input: no task of this agent waits here"
            )
        return waiting

    async def _thread_of(self, assistant_id: UUID, message: Message, actor: Actor) -> UUID:
        """The message's context: its ``contextId``, else the thread of the task it names
        (``taskId``), else a new one. A ``taskId`` must be a task of this assistant the
        caller may see (-32001), in that context (-32602)."""
        if message.task_id is None:
            return self._context(message)
        run = await self._tasks.run_of(assistant_id, message.task_id, actor)
        if message.context_id is not None and message.context_id != str(run["thread_id"]):
            raise RpcError(
                INVALID_PARAMS,
                f"Task {message.task_id} is not in context {message.context_id}",
            )
        thread_id: UUID = run["thread_id"]
        return thread_id

    async def _context_thread(self, thread_id: UUID, actor: Actor) -> Row | None:
        """The context's thread; None for a new one (or one the caller may not see:
        creating the run then says it is not found)."""
        try:
            thread: Row = await self._threads.get(thread_id, actor=actor)
        except NotFound:
            return None
        except GraphportError as exc:
            raise refused(exc) from None
        return thread

    @staticmethod
    def _context(message: Message) -> UUID:
        if message.context_id is None:
            return uuid4()
        try:
            return UUID(message.context_id)
        except ValueError:
            raise RpcError(
                INVALID_PARAMS, f"Invalid contextId {message.context_id!r}: a thread id (UUID)"
            ) from None


def _check_configuration(config: MessageSendConfiguration | None) -> None:
    if config is None:
        return
    if config.push_notification_config is not None:
        raise RpcError(PUSH_NOT_SUPPORTED, "Push notifications are not supported")
    modes = config.accepted_output_modes
    if modes and not any(_gives(mode) for mode in modes):
        raise RpcError(
            CONTENT_TYPE_NOT_SUPPORTED,
            f"Incompatible content types: this agent answers {', '.join(card.MODES)}",
        )


def _gives(mode: str) -> bool:
    wanted = mode.split(";", 1)[0].strip().lower()
    return any(accepts(wanted, given) for given in card.MODES)


def _check_context(thread: Row | None, graph_id: str) -> None:
    """A context is one agent's conversation: a thread of another graph is refused (its
    state is not this graph's)."""
    if thread is None:
        return
    owner = (thread.get("metadata") or {}).get("graph_id")
    if owner is not None and owner != graph_id:
        raise RpcError(
            INVALID_PARAMS, f"Context {thread['thread_id']} is a conversation of graph {owner!r}"
        )


def _message_ids(values: Any) -> list[str]:
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return []
    return [str(m["id"]) for m in messages if isinstance(m, dict) and m.get("id")]
