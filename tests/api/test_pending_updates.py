"""A run with only ``command.update`` leaves its update pending on the thread's latest
checkpoint (LangGraph writes no checkpoint when no node runs). A later state update must
keep it: applied before the new values, once, in every form of update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError

KEEP = "KEEP-ME"


async def _with_pending_update(client: LangGraphClient) -> str:
    """A ``slow`` thread after one run, then a command-only run appending ``KEEP``."""
    thread_id = str((await client.threads.create())["thread_id"])
    await client.runs.wait(thread_id, "slow", input={"log": ["a"], "delay": 0})
    out = await client.runs.wait(thread_id, "slow", command={"update": {"log": [KEEP]}})
    assert out["log"][-1] == KEEP
    return thread_id


async def _log(client: LangGraphClient, thread_id: str) -> list[str]:
    """The latest ``log``, after checking the thread row holds the same values and the
    history is one line (no checkpoint forked off)."""
    state: dict[str, Any] = dict(await client.threads.get_state(thread_id))
    assert (await client.threads.get(thread_id))["values"] == state["values"]
    history: list[Any] = await client.threads.get_history(thread_id, limit=100)
    assert history[0]["checkpoint_id"] == state["checkpoint_id"]
    parents = [s["parent_checkpoint_id"] for s in history]
    assert parents == [s["checkpoint_id"] for s in history[1:]] + [None], "history forked"
    log: list[str] = state["values"]["log"]
    return log


@pytest.mark.parametrize("as_node", ["after", "step", None])
async def test_a_state_update_applies_a_pending_command_update_first(
    client: LangGraphClient, as_node: str | None
) -> None:
    thread_id = await _with_pending_update(client)
    before = await _log(client, thread_id)
    await client.threads.update_state(thread_id, {"log": ["U"]}, as_node=as_node)
    assert await _log(client, thread_id) == [*before, "U"]
    # kept once: the next run starts from the update, not from the pending write again
    out = await client.runs.wait(thread_id, "slow", input={"log": ["b"]})
    assert out["log"].count(KEEP) == 1
    assert out["log"][: len(before) + 2] == [*before, "U", "b"]


async def test_an_update_naming_the_latest_checkpoint_keeps_it_too(
    client: LangGraphClient,
) -> None:
    thread_id = await _with_pending_update(client)
    head = await client.threads.get_state(thread_id)
    await client.threads.update_state(
        thread_id, {"log": ["U"]}, as_node="after", checkpoint_id=head["checkpoint_id"]
    )
    assert await _log(client, thread_id) == [*head["values"]["log"], "U"]


async def test_a_copy_keeps_a_pending_command_update(client: LangGraphClient) -> None:
    thread_id = await _with_pending_update(client)
    before = await _log(client, thread_id)
    written = await client.threads.update_state(thread_id, None, as_node="__copy__")
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint_id"] == written["checkpoint"]["checkpoint_id"]
    assert await _log(client, thread_id) == before
    # and the thread's copy (a new thread) holds it as well
    copied = await client.threads.copy(thread_id)
    assert (await client.threads.get_state(copied["thread_id"]))["values"]["log"] == before


async def test_updates_racing_on_a_pending_update_keep_it_once(client: LangGraphClient) -> None:
    thread_id = await _with_pending_update(client)
    before = await _log(client, thread_id)
    entries = [f"u{i}" for i in range(8)]
    await asyncio.gather(
        *(client.threads.update_state(thread_id, {"log": [e]}, as_node="after") for e in entries)
    )
    log = await _log(client, thread_id)
    assert log[: len(before)] == before
    assert sorted(log[len(before) :]) == sorted(entries)


async def test_a_pending_update_next_to_an_interrupt_is_a_409_not_a_loss(
    client: LangGraphClient,
) -> None:
    """Applying it would clear the interrupted task, dropping it would lose it: 409 for
    updates and copies. Updating as __end__ (no values) applies it and clears the tasks;
    resuming applies it too."""
    for way_out in ("end", "resume"):
        thread_id = str((await client.threads.create())["thread_id"])
        await client.runs.wait(thread_id, "interrupting", input={"log": ["a"]})
        await client.runs.wait(thread_id, "interrupting", command={"update": {"log": [KEEP]}})
        state = await client.threads.get_state(thread_id)
        assert state["next"] == ["child"]
        assert state["values"]["log"] == ["a", "prepared", KEEP]
        for values, as_node in (({"log": ["U"]}, "prepare"), (None, "__copy__")):
            with pytest.raises(ConflictError, match="command update pending"):
                await client.threads.update_state(thread_id, values, as_node=as_node)
            assert await client.threads.get_state(thread_id) == state
        if way_out == "end":
            await client.threads.update_state(thread_id, None, as_node="__end__")
            after = await client.threads.get_state(thread_id)
            assert (after["next"], after["values"]["log"]) == ([], ["a", "prepared", KEEP])
        else:
            out = await client.runs.wait(thread_id, "interrupting", command={"resume": "yes"})
            # (the subgraph returns the log it was given, which the parent adds again)
            assert out["log"][:3] == ["a", "prepared", KEEP]
            assert out["log"][-1] == "answer:yes"
