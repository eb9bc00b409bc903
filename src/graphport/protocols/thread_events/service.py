"""Thread event streaming's commands and streams, on the runs, threads and streams services.

Every command runs as the caller: ``run.start`` and ``input.respond`` create runs through
their ``threads`` ``create_run`` handler; a stream is a thread stream (their ``threads``
read handler), replayed from the thread's first kept event, then live."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from graphport.auth.actor import Actor
from graphport.errors import Conflict, GraphportError, NotFound, UnknownInterrupt
from graphport.execution.broker import PROTOCOL_EVENT, Broker, Subscriber
from graphport.graphs.state_format import pending_interrupt_ids
from graphport.protocols.thread_events.commands import (
    INVALID_ARGUMENT,
    NO_SUCH_INTERRUPT,
    NO_SUCH_RUN,
    UNKNOWN_ERROR,
    Command,
    CommandError,
    read_subscription,
    unknown,
    unknown_subscription,
)
from graphport.schemas.runs import RunCreateStateful
from graphport.services.runs import RunService
from graphport.services.streams import StreamHandle, StreamService
from graphport.services.threads import ThreadService

Row = dict[str, Any]
Headers = Mapping[str, str] | None

BUSY_WAIT_SECONDS = 5.0  # run.start's resume rule waits that long for a busy thread


def _refused(exc: GraphportError) -> CommandError:
    return CommandError(UNKNOWN_ERROR, f"{exc.status_code}: {exc.detail}")


class ThreadEventsService:
    def __init__(
        self, runs: RunService, threads: ThreadService, streams: StreamService, broker: Broker
    ) -> None:
        self._runs = runs
        self._threads = threads
        self._streams = streams
        self._broker = broker

    async def command(
        self, thread_id: UUID, command: Command, *, actor: Actor, headers: Headers
    ) -> Row:
        """The result of one command sent over HTTP. Raises ``CommandError``."""
        method, params = command.method, command.params
        if method == "run.start":
            return await self.start_run(thread_id, params, actor=actor, headers=headers)
        if method == "input.respond":
            return await self.respond(thread_id, params, actor=actor, headers=headers)
        if method == "agent.getTree":
            raise CommandError(NO_SUCH_RUN, "No active run is bound to this thread.")
        if method in ("subscription.subscribe", "subscription.reconnect"):
            read_subscription(method, params)
            return {"subscription_id": str(uuid4()), "replayed_events": 0}
        if method == "subscription.unsubscribe":
            raise unknown_subscription(params.get("subscription_id"))
        raise unknown(method)

    async def start_run(
        self, thread_id: UUID, params: Row, *, actor: Actor, headers: Headers
    ) -> Row:
        """``run.start``: a run on the thread (created if missing). When the thread waits at
        interrupts (waiting up to ``BUSY_WAIT_SECONDS`` while it is busy) and ``input`` is
        not null, the input answers them (``Command(resume=input)``), as on the official
        server."""
        assistant_id = params.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            raise CommandError(INVALID_ARGUMENT, "run.start requires an assistant_id.")
        strategy = params.get("multitask_strategy") or params.get("multitaskStrategy")
        fields: Row = {
            "assistant_id": assistant_id,
            "config": params.get("config"),
            "metadata": params.get("metadata"),
            "if_not_exists": "create",
            "multitask_strategy": strategy or "enqueue",
        }
        graph_input = params.get("input")
        # a strategy other than enqueue acts on a busy thread at once: no wait for it
        patient = fields["multitask_strategy"] == "enqueue"
        if graph_input is not None and await self._waits(thread_id, actor, patient=patient):
            fields["command"] = {"resume": graph_input}
            fields["strict_resume"] = True  # one answer wins, as for input.respond
            fields["multitask_strategy"] = "reject"
        else:
            fields["input"] = graph_input
        try:
            body = RunCreateStateful.model_validate(fields)
        except ValueError as exc:
            raise CommandError(INVALID_ARGUMENT, f"run.start: {exc}") from None
        created = await self._create(thread_id, body, actor, headers)
        return {"run_id": str(created["run_id"])}

    async def respond(self, thread_id: UUID, params: Row, *, actor: Actor, headers: Headers) -> Row:
        """``input.respond``: answer pending interrupts by id (one, or a batch in
        ``responses``), with the thread's assistant; ``update`` and ``goto`` go with it.
        One answer per interrupt wins: a second gets ``no_such_interrupt``. An answer to
        another interrupt while the thread is busy with the first answer waits for it
        (``BUSY_WAIT_SECONDS`` at most) and is applied if its interrupt still waits."""
        answers = _answers(params)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_WAIT_SECONDS
        while True:
            # its input.requested reached the client as the run ended, maybe before the
            # end was recorded: the thread may be busy still
            remaining = max(deadline - loop.time(), 0.0)
            thread = await self._settled(thread_id, actor, seconds=remaining)
            body = self._answer(thread_id, thread, answers, params)
            try:
                await self._runs.create(
                    thread_id, body, actor=actor, headers=headers, thread_events=True
                )
            except UnknownInterrupt:
                raise CommandError(
                    NO_SUCH_INTERRUPT, "The interrupt was answered already."
                ) from None
            except Conflict:
                if await self._answering(thread_id, answers, actor):
                    raise CommandError(
                        NO_SUCH_INTERRUPT, "The interrupt was answered already."
                    ) from None
                if loop.time() < deadline:
                    continue  # busy with another answer: wait for it, then look again
                raise CommandError(UNKNOWN_ERROR, "409: the thread is busy") from None
            except GraphportError as exc:
                raise _refused(exc) from None
            return {}

    async def _answering(self, thread_id: UUID, answers: Row, actor: Actor) -> bool:
        """Whether a run in flight on the thread answers one of ``answers``' interrupts (a
        node that asks twice asks again with the same id: a losing answer must not answer
        its next question)."""
        for status in ("pending", "running"):
            try:
                runs = await self._runs.list_runs(
                    thread_id, status=status, limit=100, offset=0, actor=actor
                )
            except GraphportError:
                return False
            for run in runs:
                command = (run.get("kwargs") or {}).get("command") or {}
                resume = command.get("resume")
                if isinstance(resume, dict) and any(i in resume for i in answers):
                    return True
        return False

    def _answer(
        self, thread_id: UUID, thread: Row | None, answers: Row, params: Row
    ) -> RunCreateStateful:
        """The run that answers ``answers``; raises ``CommandError`` when the thread waits
        at none of them."""
        if thread is None:
            raise CommandError(NO_SUCH_RUN, "No interrupted run is bound to this thread.")
        pending = pending_interrupt_ids(thread["interrupts"])
        if not pending:
            raise CommandError(NO_SUCH_RUN, "No interrupted run is bound to this thread.")
        for interrupt_id in answers:
            if interrupt_id not in pending:
                raise CommandError(NO_SUCH_INTERRUPT, f"No pending interrupt {interrupt_id}.")
        assistant_id = (thread.get("metadata") or {}).get("assistant_id")
        if not assistant_id:
            raise CommandError(NO_SUCH_RUN, "No interrupted run is bound to this thread.")
        command: Row = {"resume": answers}
        for key in ("update", "goto"):
            if params.get(key) is not None:
                command[key] = params[key]
        fields = {
            "assistant_id": str(assistant_id),
            "command": command,
            "config": params.get("config"),
            "metadata": params.get("metadata"),
        }
        fields["strict_resume"] = True  # one answer per interrupt: refused once one is
        fields["multitask_strategy"] = "reject"  # queued (reject) or given (strict)
        try:
            return RunCreateStateful.model_validate(fields)
        except ValueError as exc:
            raise CommandError(INVALID_ARGUMENT, f"input.respond: {exc}") from None

    async def _create(
        self, thread_id: UUID, body: RunCreateStateful, actor: Actor, headers: Headers
    ) -> Row:
        try:
            return await self._runs.create(
                thread_id, body, actor=actor, headers=headers, thread_events=True
            )
        except GraphportError as exc:
            raise _refused(exc) from None

    async def _waits(self, thread_id: UUID, actor: Actor, *, patient: bool) -> bool:
        """Whether the thread waits at interrupts (it does not exist: no); ``patient``: once
        the run in flight on it, if any, ended (``_settled``)."""
        thread = await self._settled(thread_id, actor, seconds=BUSY_WAIT_SECONDS if patient else 0)
        return thread is not None and thread["status"] == "interrupted"

    async def _settled(
        self, thread_id: UUID, actor: Actor, *, seconds: float = BUSY_WAIT_SECONDS
    ) -> Row | None:
        """The thread once no run is in flight on it (waiting ``seconds`` at most); None
        when it does not exist."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                thread: Row = await self._threads.get(thread_id, actor=actor)
            except NotFound:
                return None
            except GraphportError as exc:
                raise _refused(exc) from None
            if thread["status"] != "busy" or loop.time() >= deadline:
                return thread
            await asyncio.sleep(0.02)

    async def open_stream(
        self, thread_id: UUID, *, since: int | None, actor: Actor
    ) -> ThreadStream:
        """The thread's protocol events: those kept after ``since`` (all kept without it),
        then live. The thread need not exist yet (the SDKs open the stream before
        ``run.start``, and the official server waits for it): its events flow once the caller
        may read it (``ThreadStream.readable``). Raises the read handler's refusal."""
        # subscribed before the thread is read: a delete committed after the read ends it
        subscriber = await self.follow(thread_id, since=since)
        try:
            readable = await self.may_follow(thread_id, actor)
        except BaseException:
            self._broker.unsubscribe(subscriber)
            raise

        async def close(_left: bool) -> None:
            self._broker.unsubscribe(subscriber)

        handle = StreamHandle(subscriber, with_ids=True, on_close=close)
        return ThreadStream(handle, readable, partial(self.may_follow, thread_id, actor))

    async def follow(self, thread_id: UUID, *, since: int | None = None) -> Subscriber:
        """The thread's protocol events, those kept after ``since`` (all kept without it)
        then live, whether or not the thread exists yet (a WebSocket opens before its
        ``run.start``): deliver them only after ``may_follow``. ``unfollow`` when done."""
        last = str(since) if since is not None else "-1"
        return await self._broker.subscribe_thread(
            thread_id, last_event_id=last, modes=[PROTOCOL_EVENT]
        )

    def unfollow(self, subscriber: Subscriber) -> None:
        self._broker.unsubscribe(subscriber)

    async def may_follow(self, thread_id: UUID, actor: Actor) -> bool:
        """Whether the thread's events may go to the caller (``ThreadService.visible``): a
        thread missing or hidden from them is the same answer, False. Raises the read
        handler's refusal."""
        return await self._threads.visible(thread_id, actor=actor)


@dataclass(frozen=True)
class ThreadStream:
    """An SSE subscription to a thread's events. ``readable``: the caller could read the
    thread when it opened; else ``check`` says whether they may now (before the first event
    goes out: the thread did not exist yet, or is hidden from them)."""

    handle: StreamHandle
    readable: bool
    check: Callable[[], Awaitable[bool]]


def _answers(params: Row) -> Row:
    responses = params.get("responses")
    if responses is not None:
        if not isinstance(responses, list) or not responses:
            raise CommandError(INVALID_ARGUMENT, "input.respond responses must be a list.")
        found: Row = {}
        for item in responses:
            if not isinstance(item, dict) or not isinstance(item.get("interrupt_id"), str):
                raise CommandError(INVALID_ARGUMENT, "Each response needs an interrupt_id.")
            found[item["interrupt_id"]] = item.get("response")
        return found
    interrupt_id = params.get("interrupt_id")
    if not isinstance(interrupt_id, str) or "response" not in params:
        raise CommandError(INVALID_ARGUMENT, "input.respond requires interrupt_id and response.")
    return {interrupt_id: params["response"]}
