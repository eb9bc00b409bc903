"""A background job run every N seconds, owned by the app: started and stopped explicitly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from graphport.db.engine import log_background_failure

logger = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, name: str, interval_seconds: float, job: Callable[[], Awaitable[object]]):
        self.name = name
        self.interval = interval_seconds
        self._job = job
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run_once(self) -> None:
        try:
            await self._job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed sweep must not end the loop; the next retries
            log_background_failure(logger, exc, self.name)

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)
