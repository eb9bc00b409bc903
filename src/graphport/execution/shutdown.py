"""Shutting the run engine down on SIGTERM: stop taking runs at once, serve whoever waits
on a run until it ends or the grace period does, then requeue what is left and tell them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from uuid import UUID

from graphport.errors import ShuttingDown
from graphport.execution.broker import Broker
from graphport.execution.completions import Completions
from graphport.execution.executor import Executor

logger = logging.getLogger(__name__)

# Key of the drain in the ASGI lifespan state, where the server's signal handler finds it.
DRAIN_STATE_KEY = "graphport.drain"
_POLL_SECONDS = 0.1


class ShutdownDrain:
    """``begin()`` at SIGTERM, ``finish()`` when the app stops (it begins if nobody did).

    While draining, this process claims no runs; runs already running carry on. The drain
    ends when nothing runs here and nobody waits on a run here (``/wait``, ``/join``, run
    streams), or when the grace period is over: then the runs still running are stopped and
    requeued (they resume from their last checkpoint), waiters fail with ``ShuttingDown``
    (503) and every open stream gets a final ``error`` event.
    """

    def __init__(
        self,
        executor: Executor,
        completions: Completions,
        broker: Broker,
        *,
        grace_seconds: float,
    ) -> None:
        self._executor = executor
        self._completions = completions
        self._broker = broker
        self._grace = grace_seconds
        self._task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        """Stop claiming now and drain in the background. Idempotent."""
        if self._task is None:
            self._executor.stop_claiming()
            self._task = asyncio.create_task(self._drain(), name="shutdown-drain")

    async def finish(self) -> None:
        """Begin if needed and wait until the drain is over."""
        self.begin()
        assert self._task is not None
        await self._task

    async def _drain(self) -> None:
        deadline = time.monotonic() + self._grace
        if self._busy():
            logger.info("shutting down: no new runs; waiting up to %gs for runs", self._grace)
        # Polled: "idle" spans the executor, the waiters and the broker, and it is checked
        # for a few seconds once per process life.
        while self._busy() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(_POLL_SECONDS)
        requeued = set(await self._executor.drain(0))
        if requeued:
            logger.warning("shutting down: requeued %d unfinished runs", len(requeued))
        self._completions.close(lambda run_id: ShuttingDown(_message(run_id, requeued)))
        self._broker.end_all(lambda run_id: _stream_error(run_id, requeued))

    def _busy(self) -> bool:
        _, used = self._executor.slots()
        return used > 0 or self._completions.waiting() > 0 or self._broker.run_streams() > 0


def _message(run_id: UUID | None, requeued: set[UUID]) -> str:
    if run_id is None:
        return "The server is shutting down; join the thread's stream again when it is back"
    if run_id in requeued:
        return (
            f"The server is shutting down; run {run_id} was requeued and will resume "
            "when a server is back"
        )
    return (
        f"The server is shutting down; run {run_id} has not ended and will run "
        "when a server is back"
    )


def _stream_error(run_id: UUID | None, requeued: set[UUID]) -> dict[str, Any]:
    return {"error": "ServerShuttingDown", "message": _message(run_id, requeued)}
