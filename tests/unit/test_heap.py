"""The garbage collector settings a server process takes once it has started (heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from graphport.heap import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_freezes_what_lives_and_raises_the_young_threshold() -> None:
    kept = [[i] for i in range(1000)]  # alive at "startup"
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    # later cycles are still collected
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_is_idempotent() -> None:
    settle_heap()
    settle_heap()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
