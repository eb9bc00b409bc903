"""Stream events on their way to Redis: a worker's ``publish`` hands an event over and goes
on with its graph; one task sends whatever piled up meanwhile in one round trip (a Lua
script), in order. ``flush`` waits until everything handed over so far is in Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Batch = list[tuple[str, str, str, bytes]]  # (run, thread, event, data)
Send = Callable[[Batch], Awaitable[None]]

MAX_BATCH = 500  # events per round trip
# bytes per round trip (and so per pub/sub message): far below what Redis lets a subscriber
# connection hold (8 MiB for a minute by default), a bigger event goes alone
MAX_BATCH_BYTES = 1024 * 1024
MAX_WAITING = 10_000  # events handed over but not sent: past it, publishers wait


class Outbox:
    def __init__(self, send: Send) -> None:
        self._send = send  # must not raise (it logs what it loses)
        self._waiting: Batch = []
        self._handed = 0  # events handed over so far
        self._sent = 0  # events sent (or given up on) so far
        self._ready = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-broker-outbox")

    async def stop(self) -> None:
        """Send what is waiting, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.flush()
        self._closing = True  # redis-py may turn a cancel into a connection error
        self._ready.set()
        while not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=1)
        self._task = None

    async def put(self, run: str, thread: str, event: str, data: bytes) -> None:
        self._waiting.append((run, thread, event, data))
        self._handed += 1
        self._ready.set()
        if len(self._waiting) > MAX_WAITING:  # Redis is slow: the graph waits for it
            await self.flush()

    async def flush(self) -> None:
        """Return once every event handed over before the call was sent."""
        target = self._handed
        if self._sent >= target:
            return
        async with self._progress:
            await self._progress.wait_for(lambda: self._sent >= target)

    async def _run(self) -> None:
        while not self._closing:
            await self._ready.wait()
            self._ready.clear()
            while self._waiting:
                batch = self._take()
                await self._send(batch)
                self._sent += len(batch)
                async with self._progress:
                    self._progress.notify_all()

    def _take(self) -> Batch:
        """The next batch: at least one event, then up to the bounds."""
        size, count = len(self._waiting[0][3]), 1
        for item in self._waiting[1:MAX_BATCH]:
            size += len(item[3])
            if size > MAX_BATCH_BYTES:
                break
            count += 1
        batch = self._waiting[:count]
        del self._waiting[:count]
        return batch
