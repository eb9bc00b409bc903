"""Where a running graph's stream events go. The stream broker implements this; a run
nobody streams skips the work of producing events at all."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID


class RunEvents(Protocol):
    def wants(self, run_id: UUID) -> bool:
        """True when someone streams this run now (or it keeps its events for later)."""
        ...

    async def publish(self, run_id: UUID, event: str, data: Any) -> None: ...

    async def close(self, run_id: UUID) -> None:
        """The run ended: no more events."""
        ...


class NoEvents:
    def wants(self, run_id: UUID) -> bool:
        return False

    async def publish(self, run_id: UUID, event: str, data: Any) -> None:
        return None

    async def close(self, run_id: UUID) -> None:
        return None
