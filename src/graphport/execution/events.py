"""Where a running graph's stream events go. The stream broker implements this; a run
nobody streams skips the work of producing events at all."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID


class RunEvents(Protocol):
    async def wants(self, run_id: UUID, thread_id: UUID) -> bool:
        """True when someone streams this run or its thread now (in any process), or it
        keeps its events."""
        ...

    async def publish(self, run_id: UUID, thread_id: UUID, event: str, data: Any) -> None: ...

    async def flush(self) -> None:
        """Return once every event published so far reached the broker (before a run's end
        is recorded: another process told of the end must find its events there)."""
        ...

    async def close(self, run_id: UUID, thread_id: UUID) -> None:
        """The run ended and its end is recorded: no more events."""
        ...

    def end(self, run_id: UUID) -> None:
        """The run ended without its worker here (cancelled while pending, deleted, ended
        in another process): close whatever streams of it are open here. Idempotent, and a
        stream opened on it afterwards ends at once."""
        ...

    def end_thread(self, thread_id: UUID) -> None:
        """The thread was deleted (here or in another process): its streams get a final
        ``error`` event and end, and so do its runs' streams. Idempotent."""
        ...
