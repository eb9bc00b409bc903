"""The cron scheduler: sleeps until the next cron is due (or a cron changes), then fires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from graphport.db.engine import log_background_failure
from graphport.services.crons import CronService

logger = logging.getLogger(__name__)

_MAX_SLEEP = 30.0  # a safety net: other processes' cron changes arrive as notices


class CronScheduler:
    def __init__(self, crons: CronService) -> None:
        self._crons = crons
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="cron-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            self._crons.changed.clear()  # before reading: a change from now on wakes us
            try:
                await self._crons.fire_due()
                due = await self._crons.next_due()
            except Exception as exc:  # keep scheduling; the next pass retries
                log_background_failure(logger, exc, "firing crons")
                due = None
            wait = _MAX_SLEEP
            if due is not None:
                until = (due - datetime.now(UTC)).total_seconds() + 0.05  # due, not just before
                wait = max(0.0, min(until, _MAX_SLEEP))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._crons.changed.wait()
