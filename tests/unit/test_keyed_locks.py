"""The per-thread write queue: one holder per key, bounded waits, nothing left behind."""

from __future__ import annotations

import asyncio

import pytest

from graphport.errors import Conflict
from graphport.services.state_writes import KeyedLocks


async def test_holders_of_one_key_take_turns_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def hold(key: str) -> None:
        async with locks.hold(key, wait_seconds=5, busy="busy"):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0.01)
            inside[key] -= 1

    await asyncio.gather(*(hold(k) for k in "ab" * 10))
    assert most == {"a": 1, "b": 1}
    assert len(locks) == 0  # forgotten once no one holds nor waits


async def test_a_wait_past_its_bound_is_a_conflict_and_leaves_nothing() -> None:
    locks = KeyedLocks()
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("t", wait_seconds=1, busy="busy"):
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    with pytest.raises(Conflict, match="busy"):
        async with locks.hold("t", wait_seconds=0.05, busy="busy"):
            pytest.fail("entered a held lock")
    assert len(locks) == 1  # the holder's
    release.set()
    await task
    assert len(locks) == 0


async def test_an_error_inside_releases_the_key() -> None:
    locks = KeyedLocks()
    with pytest.raises(ValueError):
        async with locks.hold("t", wait_seconds=1, busy="busy"):
            raise ValueError("boom")
    assert len(locks) == 0
    async with locks.hold("t", wait_seconds=0.05, busy="busy"):
        pass


async def test_a_cancelled_waiter_leaves_nothing() -> None:
    locks = KeyedLocks()
    async with locks.hold("t", wait_seconds=1, busy="busy"):
        waiter = asyncio.create_task(locks.hold("t", wait_seconds=5, busy="busy").__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert len(locks) == 0
