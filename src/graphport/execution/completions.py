"""Waiting for runs to end: in-process futures, resolved locally or on a remote notice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``values``: the thread's final values (its whole state), and
    ``output``: the graph's output (its output schema's channels, what wait and join answer),
    when the worker knew them."""

    run_id: UUID
    status: str
    values: Any = None
    error: dict[str, Any] | None = None
    known: bool = True  # False: ended in another process; read the database for details
    more_queued: bool = False  # runs were waiting on the same thread when this one ended
    interrupts: dict[str, Any] | None = None  # pending interrupts by task id, as on the thread
    output: Any = None


class Completions:
    def __init__(self) -> None:
        self._waiters: dict[UUID, set[asyncio.Future[RunOutcome]]] = {}
        self._closed: Callable[[UUID], Exception] | None = None

    def expect(self, run_id: UUID) -> asyncio.Future[RunOutcome]:
        """Register interest before the run can end, so the end is never missed. After
        ``close`` the future fails at once with the shutdown error."""
        future: asyncio.Future[RunOutcome] = asyncio.get_running_loop().create_future()
        if self._closed is not None:
            future.set_exception(self._closed(run_id))
            return future
        self._waiters.setdefault(run_id, set()).add(future)
        return future

    def forget(self, run_id: UUID, future: asyncio.Future[RunOutcome]) -> None:
        waiters = self._waiters.get(run_id)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                del self._waiters[run_id]
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()  # read: a shutdown error nobody awaited is not worth a warning

    def resolve(self, outcome: RunOutcome) -> None:
        for future in self._waiters.pop(outcome.run_id, ()):
            if not future.done():
                future.set_result(outcome)

    def resolve_remote(self, run_id: UUID) -> None:
        if run_id in self._waiters:
            self.resolve(RunOutcome(run_id, status="", known=False))

    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def close(self, error_for: Callable[[UUID], Exception]) -> None:
        """Shutdown: every waiter's future fails with ``error_for(run_id)``, now and later."""
        self._closed = error_for
        waiters, self._waiters = self._waiters, {}
        for run_id, futures in waiters.items():
            for future in futures:
                if not future.done():
                    future.set_exception(error_for(run_id))
