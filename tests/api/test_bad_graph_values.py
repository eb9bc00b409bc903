"""A graph that returns values JSON, JSONB or msgpack cannot hold as they are (NUL, lone
surrogates, huge integers, NaN, deep nesting) must not fail its run nor poison its thread:
the run succeeds, and every read of the thread, its state, its history, a second run and
the streamed output show the normalised values (README, "Values").

The graph is tests/fixtures/graphs/odd_values.py; ``kind`` picks what its node returns.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

TOO_DEEP = "[too deep]"
FFFD = "\ufffd"
BIG = float(2**70)


def deep_end(value: Any) -> tuple[int, Any]:
    """How many {"d": ...} dicts lead to the end of a nested value, and what ends it."""
    levels = 0
    while isinstance(value, dict) and "d" in value:
        value, levels = value["d"], levels + 1
    return levels, value


def check_deep(data: Any) -> None:
    levels, end = deep_end(data)
    assert end == TOO_DEEP  # cut, not lost: the placeholder says so
    assert 190 <= levels <= 200  # MAX_DEPTH, less what wraps the value where it was cut


def check_nul(values: dict[str, Any]) -> None:
    assert values["messages"][-1]["content"] == f"page1{FFFD}page2"
    assert values["text"] == f"page1{FFFD}page2"
    assert values["data"] == {"s": f"a{FFFD}b", f"k{FFFD}": "v"}


def check_surrogate(values: dict[str, Any]) -> None:
    assert values["messages"][-1]["content"] == f"x{FFFD}y"
    assert values["text"] == FFFD
    assert values["data"] == {"s": FFFD, FFFD: 1}


def check_bigint(values: dict[str, Any]) -> None:
    assert values["count"] == BIG
    assert values["data"] == {"n": BIG, "neg": float(-(2**63) - 1), "huge": None}


def check_nan(values: dict[str, Any]) -> None:
    assert values["data"] == {"nan": None, "inf": None, "ninf": None}


def check_deep_data(values: dict[str, Any]) -> None:
    check_deep(values["data"])


OUTPUT_CHECKS = {
    "nul": check_nul,
    "surrogate": check_surrogate,
    "bigint": check_bigint,
    "nan": check_nan,
    "deep": check_deep_data,
    "deeper": check_deep_data,
}


def check_state(kind: str, values: dict[str, Any]) -> None:
    """The checkpointed values. A message is checkpointed by LangGraph's msgpack encoder,
    which itself writes lone surrogates in strings as "?" (documented in the README)."""
    if kind == "surrogate":
        assert values["messages"][-1]["content"] == "x?y"
        values = {**values, "messages": [{"content": f"x{FFFD}y"}]}
    OUTPUT_CHECKS[kind](values)


async def reads_back(client: LangGraphClient, http: httpx.AsyncClient, thread_id: str) -> Any:
    """Every read of the thread answers; returns the state's values."""
    thread = await client.threads.get(thread_id)
    state = await client.threads.get_state(thread_id)
    history = await client.threads.get_history(thread_id)
    assert history and history[0]["checkpoint"] == state["checkpoint"]
    found = await client.threads.search(metadata={"graph_id": "odd_values"}, limit=5)
    assert found
    for path in (f"/threads/{thread_id}/history", f"/threads/{thread_id}/state"):
        assert (await http.get(path)).status_code == 200
    assert thread["values"] is not None
    return state["values"]


@pytest.mark.parametrize("kind", ["nul", "surrogate", "bigint", "nan", "deep", "deeper"])
async def test_odd_output_does_not_fail_the_run_nor_poison_the_thread(
    client: LangGraphClient, http: httpx.AsyncClient, kind: str
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "odd_values", input={"kind": kind})
    assert "__error__" not in output, output
    OUTPUT_CHECKS[kind](output)
    (run,) = await client.runs.list(thread_id)
    assert run["status"] == "success"
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "idle"
    OUTPUT_CHECKS[kind](thread["values"])
    check_state(kind, await reads_back(client, http, thread_id))

    # the thread is not poisoned: the next run on it succeeds and keeps the values
    again = await client.runs.wait(thread_id, "odd_values", input={"kind": "none"})
    assert "__error__" not in again, again
    assert [r["status"] for r in await client.runs.list(thread_id)] == ["success", "success"]
    assert (await client.threads.get(thread_id))["status"] == "idle"
    check_state(kind, await reads_back(client, http, thread_id))


@pytest.mark.parametrize("kind", ["nul", "surrogate", "bigint", "nan", "deep", "deeper"])
async def test_odd_output_streams(client: LangGraphClient, kind: str) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    events: dict[str, list[Any]] = {}
    async for part in client.runs.stream(
        thread_id,
        "odd_values",
        input={"kind": kind},
        stream_mode=["values", "updates", "messages-tuple", "debug", "events"],
    ):
        events.setdefault(part.event, []).append(part.data)
    assert "error" not in events, events["error"]
    OUTPUT_CHECKS[kind](events["values"][-1])
    OUTPUT_CHECKS[kind](events["updates"][-1]["produce"])
    (run,) = await client.runs.list(thread_id)
    assert run["status"] == "success"
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_a_send_carrying_a_huge_integer(client: LangGraphClient) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "odd_values", input={"kind": "send"})
    assert "__error__" not in output, output
    check_bigint(output)
    assert (await client.threads.get(thread_id))["status"] == "idle"
    check_bigint((await client.threads.get_state(thread_id))["values"])


async def test_odd_interrupt_value_and_resume(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "odd_values", input={"kind": "interrupt"})
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    expected = {"q": f"a{FFFD}b", "n": BIG, "u": FFFD}
    ((interrupt,),) = thread["interrupts"].values()
    assert interrupt["value"] == expected
    state = await client.threads.get_state(thread_id)
    assert state["tasks"][0]["interrupts"][0]["value"] == expected
    await reads_back(client, http, thread_id)

    resumed = await client.runs.wait(thread_id, "odd_values", command={"resume": "a\x00b"})
    assert resumed["answer"] == f"a{FFFD}b"
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_odd_values_a_graph_puts_in_the_store_read_back(
    client: LangGraphClient, tag: str
) -> None:
    output = await client.runs.wait(None, "odd_values", input={"kind": "store", "tag": tag})
    assert output["text"] == "stored"
    item = await client.store.get_item(["odd", tag], "item")
    assert item is not None
    value = item["value"]
    assert (value["n"], value["s"], value["u"]) == (BIG, f"a{FFFD}b", f"x{FFFD}")
    check_deep(value["deep"])
    found = await client.store.search_items(["odd", tag])
    assert [i["value"]["s"] for i in found["items"]] == [f"a{FFFD}b"]
    assert (await client.store.search_items([], limit=5))["items"] is not None
    assert ["odd", tag] in (await client.store.list_namespaces(prefix=["odd"]))["namespaces"]
