"""The garbage collector settings a server process takes once it has started (heap.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest

from graphport import heap
from graphport.heap import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class _Holder:
    """A reference cycle holding a large buffer, as a graph's run may leave behind."""

    def __init__(self) -> None:
        self.me = self
        self.buffer = bytearray(200_000)


@pytest.mark.usefixtures("restored_gc")
async def test_settle_heap_freezes_what_lives_and_raises_the_young_threshold() -> None:
    kept = [[i] for i in range(1000)]  # alive at "startup"
    async with AsyncExitStack() as stack:
        settle_heap(stack)
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD


@pytest.mark.usefixtures("restored_gc")
async def test_cycles_go_within_the_sweep_whatever_the_allocation_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Too few allocations to set off a young collection: the sweep collects the cycles."""
    monkeypatch.setattr(heap, "SWEEP_SECONDS", 0.05)
    async with AsyncExitStack() as stack:
        settle_heap(stack)
        await asyncio.sleep(0.01)  # past the sweep's first pass
        left = []
        for _ in range(20):
            holder = _Holder()
            left.append(weakref.ref(holder))
            del holder
        for _ in range(100):
            if all(ref() is None for ref in left):
                break
            await asyncio.sleep(0.02)
        assert all(ref() is None for ref in left)
    # stopped with the stack
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "garbage-sweep"]
