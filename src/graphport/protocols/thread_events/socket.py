"""The thread event WebSocket (``/threads/{thread_id}/stream/events``): commands and events
in-band, one JSON text frame per message.

A connection follows the thread's protocol events from the first one kept (held here, up
to ``HISTORY`` of them); its subscriptions (``subscription.subscribe``/``reconnect``) say
which it gets, each event once per connection however many subscriptions match.
``run.start`` and ``input.respond`` work as over HTTP; ``agent.getTree`` describes the run
this connection started. Events flow only once the caller may read the thread (it may not
exist when the socket opens: the SDKs subscribe before ``run.start``); a thread the caller
may not read closes the socket with 4404, its deletion with 1011."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from graphport.auth.actor import Actor
from graphport.errors import GraphportError
from graphport.execution.broker import END, PROTOCOL_EVENT
from graphport.protocols.thread_events.commands import (
    INVALID_ARGUMENT,
    NO_SUCH_RUN,
    RESUME_GAP,
    Command,
    CommandError,
    failure,
    read_command,
    read_subscription,
    success,
    unknown_subscription,
)
from graphport.protocols.thread_events.events import envelope
from graphport.protocols.thread_events.filters import EventFilter
from graphport.protocols.thread_events.service import ThreadEventsService
from graphport.serialization import dumps

logger = logging.getLogger(__name__)

Row = dict[str, Any]

HISTORY = 10_000  # events a connection can replay to a new subscription
CLOSE_ENDED = 1011
CLOSE_NOT_FOUND = 4404


class _Closed(Exception):
    """The socket was closed here; its loops end."""


@dataclass
class _Connection:
    subscriptions: dict[str, EventFilter] = field(default_factory=dict)
    history: deque[tuple[int, Row]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    sent: set[int] = field(default_factory=set)
    last_seq: int = 0
    run: Row | None = None  # the run this connection started: {run_id, graph, status}
    readable: bool = False


class ThreadSocket:
    def __init__(
        self,
        websocket: WebSocket,
        service: ThreadEventsService,
        thread_id: UUID,
        actor: Actor,
        headers: Mapping[str, str],
    ) -> None:
        self._ws = websocket
        self._service = service
        self._thread_id = thread_id
        self._actor = actor
        self._headers = headers
        self._state = _Connection()
        self._lock = asyncio.Lock()  # one writer at a time, and replay vs live

    async def serve(self) -> None:
        """Until the client leaves or the thread's stream ends; both loops are owned here
        and stopped together."""
        await self._ws.accept()
        subscriber = await self._service.follow(self._thread_id)
        loops = (
            asyncio.create_task(self._pump(subscriber)),
            asyncio.create_task(self._read()),
        )
        try:
            await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
        finally:
            try:
                for task in loops:
                    task.cancel()
                for task in loops:
                    try:
                        await task
                    except (asyncio.CancelledError, WebSocketDisconnect, _Closed):
                        pass
                    except Exception:  # a loop's failure must not keep the subscription
                        logger.exception("a thread event socket failed")
            finally:
                self._service.unfollow(subscriber)

    async def _read(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            try:
                if frame is None:  # a binary frame: commands are JSON text
                    raise CommandError(INVALID_ARGUMENT, "Commands are JSON text frames.")
                command = read_command(frame)
            except CommandError as exc:
                await self._send(failure(None, exc))
                continue
            try:
                result = await self._command(command)
            except CommandError as exc:
                answer = failure(command.id, exc)
                if command.method.startswith("subscription."):  # as the official server
                    answer["meta"] = {"applied_through_seq": self._state.last_seq}
                await self._send(answer)
            else:
                await self._send(success(command.id, result, self._state.last_seq))

    async def _command(self, command: Command) -> Row:
        method, params = command.method, command.params
        state = self._state
        if method in ("subscription.subscribe", "subscription.reconnect"):
            return await self._subscribe(method, params)
        if method == "subscription.unsubscribe":
            if state.subscriptions.pop(str(params.get("subscription_id")), None) is None:
                raise unknown_subscription(params.get("subscription_id"))
            return {}
        if method == "agent.getTree":
            if state.run is None:
                raise CommandError(NO_SUCH_RUN, "No active run is bound to this thread.")
            shown = {k: v for k, v in state.run.items() if k != "run_id"}
            return {"tree": {"namespace": [], **shown}}
        result = await self._service.command(
            self._thread_id, command, actor=self._actor, headers=self._headers
        )
        if method == "run.start":
            graph = str(params.get("assistant_id"))
            state.run = {"run_id": result["run_id"], "status": "running", "graph_name": graph}
        return result

    async def _subscribe(self, method: str, params: Row) -> Row:
        keep, since = read_subscription(method, params)
        if method == "subscription.reconnect":
            oldest = self._state.history[0][0] if self._state.history else None
            # since 0: nothing seen yet, everything kept is the answer
            if oldest is not None and 0 < since < oldest - 1:
                raise CommandError(
                    RESUME_GAP,
                    f"resume gap: since={since} is older than min_available_seq={oldest}",
                    since=since,
                    min_available_seq=oldest,
                )
        subscription_id = str(uuid4())
        async with self._lock:
            self._state.subscriptions[subscription_id] = keep
            replay = [
                (seq, event)
                for seq, event in self._state.history
                if seq > since and seq not in self._state.sent and keep.matches(event)
            ]
            for seq, event in replay:
                await self._deliver(seq, event)
        return {"subscription_id": subscription_id, "replayed_events": len(replay)}

    async def _pump(self, subscriber: Any) -> None:
        while (item := await subscriber.queue.get()) is not END:
            subscriber.taken(item)
            if item.event != PROTOCOL_EVENT:
                continue
            event = orjson.loads(item.data)
            async with self._lock:
                state = self._state
                state.history.append((item.id, event))
                state.last_seq = item.id
                if len(state.sent) > 2 * HISTORY:  # what left the history is not sent again
                    oldest = state.history[0][0]
                    state.sent = {seq for seq in state.sent if seq >= oldest}
                self._observe(event)
                if any(keep.matches(event) for keep in state.subscriptions.values()):
                    await self._deliver(item.id, event)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # it may be gone
            await self._ws.close(CLOSE_ENDED)

    def _observe(self, event: Row) -> None:
        run = self._state.run
        params = event.get("params") or {}
        if run is None or event.get("method") != "lifecycle" or params.get("namespace"):
            return
        run["status"] = (params.get("data") or {}).get("event", run["status"])

    async def _deliver(self, seq: int, event: Row) -> None:
        """Send an event once (lock held), after checking once that the caller may read
        the thread."""
        state = self._state
        if seq in state.sent:
            return
        if not state.readable:
            try:
                readable = await self._service.may_follow(self._thread_id, self._actor)
            except GraphportError:
                readable = False
            if not readable:
                await self._ws.close(CLOSE_NOT_FOUND)
                raise _Closed from None
            state.readable = True
        state.sent.add(seq)
        await self._ws.send_text(dumps(envelope(seq, event)).decode())

    async def _send(self, body: Row) -> None:
        async with self._lock:
            await self._ws.send_text(dumps(body).decode())
