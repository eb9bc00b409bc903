"""One run's cancel switch. A cancel reaches a run only while it drives its graph, and only
once: recording how the run ended is never interrupted by a cancel (a second cancel landing
there would abandon the run half-recorded). Shutdown is a separate, explicit path."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class RunControl:
    __slots__ = ("action", "_task", "_driving", "_cancelled")

    def __init__(self, action: str | None = None) -> None:
        self.action = action  # "interrupt" | "rollback" once a cancel was asked
        self._task: asyncio.Task[Any] | None = None
        self._driving = False
        self._cancelled = False

    def request(self, action: str) -> None:
        """Ask the run to stop. Only the first request cancels the run's task (when the
        graph is being driven, else the run stops before its graph starts); a later
        ``rollback`` still turns an ``interrupt`` into a rollback until the worker records
        the run's end: its caller was told the run is rolled back."""
        if self.action is not None:
            if action == "rollback":
                self.action = action
            return
        self.action = action
        if self._driving and self._task is not None:
            self._cancelled = True
            self._task.cancel()

    async def drive(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` (the graph) as the only part of the run a cancel may interrupt.
        Raises CancelledError at once when a cancel came before it started."""
        if self.action is not None:
            work.close()
            raise asyncio.CancelledError
        self._task = asyncio.current_task()
        self._driving = True
        try:
            return await work
        finally:
            self._driving = False

    def cancelled_by_request(self) -> str | None:
        """After a CancelledError: the cancel's action, or None when it was a shutdown.
        Takes back the task's cancel request, so later awaits are not cancelled again."""
        if self._cancelled and self._task is not None:
            self._task.uncancel()
            self._cancelled = False
        return self.action
