"""Server-sent events exactly as the official SDKs parse them: CRLF lines, one JSON data
line per event, heartbeat comments while idle, no buffering by proxies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graphport.execution.broker import END, Event, Subscriber

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
_HEARTBEAT = b": heartbeat\r\n\r\n"
_MAX_BATCH = 256  # events written in one chunk when they queue up

OnClose = Callable[[bool], Awaitable[None]]


def frame(event: Event, *, with_id: bool) -> bytes:
    head = b"event: " + event.event.encode() + b"\r\ndata: " + event.data + b"\r\n"
    if with_id:
        head += b"id: " + str(event.id).encode() + b"\r\n"
    return head + b"\r\n"


def stream_headers(location: str | None, content_location: str | None) -> dict[str, str]:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if location:
        headers["Location"] = location
    if content_location:
        headers["Content-Location"] = content_location
    return headers


class SSEResponse(Response):
    """Streams a broker subscription; notices the client leaving at once (not only at the
    next write) and always runs ``on_close`` so nothing is left behind."""

    media_type = "text/event-stream"

    def __init__(
        self,
        subscriber: Subscriber,
        *,
        with_ids: bool,
        on_close: OnClose,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(content=None, headers=headers, media_type=self.media_type)
        # a stream has no length: drop the content-length the base class computed
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._subscriber = subscriber
        self._with_ids = with_ids
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        left = asyncio.Event()
        watcher = asyncio.create_task(self._watch(receive, left))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._pump(send, left)
        except OSError:
            left.set()  # the connection broke while writing
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._on_close(left.is_set())

    async def _watch(self, receive: Receive, left: asyncio.Event) -> None:
        while True:
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.disconnect":
                left.set()
                self._subscriber.queue.put_nowait(END)
                return

    async def _pump(self, send: Send, left: asyncio.Event) -> None:
        queue = self._subscriber.queue
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    event = await queue.get()
            except TimeoutError:
                await send({"type": "http.response.body", "body": _HEARTBEAT, "more_body": True})
                continue
            chunks = []
            while event is not END:
                self._subscriber.taken(event)
                chunks.append(frame(event, with_id=self._with_ids))
                if queue.empty() or len(chunks) >= _MAX_BATCH:
                    break
                event = queue.get_nowait()
            if left.is_set():
                return
            if chunks:
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
            if event is END:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return


class ProducedSSE(SSEResponse):
    """An SSE response whose events an async iterator makes (a protocol that translates a
    run's events, such as A2A's ``message/stream``). The iterator runs in a task this
    response owns: cancelled and awaited when the stream ends or the client leaves."""

    def __init__(
        self,
        events: AsyncIterator[Event],
        *,
        on_close: OnClose | None = None,
        headers: dict[str, str] | None = None,
        with_ids: bool = False,
    ) -> None:
        super().__init__(
            Subscriber(), with_ids=with_ids, on_close=on_close or _nothing, headers=headers
        )
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        producer = asyncio.create_task(self._produce())
        try:
            await super().__call__(scope, receive, send)
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

    async def _produce(self) -> None:
        """Events are offered as a broker offers them (ids 1, 2, ...; a client reading too
        slowly is cut off past ``MAX_QUEUED_BYTES``). A failing iterator ends the stream."""
        try:
            async for event in self._events:
                self._subscriber.offer(event)
        except Exception:
            logger.exception("An event stream failed; it ends here")
        finally:
            self._subscriber.give(END)
            await _close(self._events)


async def _close(events: AsyncIterator[Event]) -> None:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        await closer()


async def _nothing(_left: bool) -> None:
    return None
