"""Human in the loop as the official clients drive it: ``runs.wait`` and ``join`` carry the
interrupts a run stopped at (``__interrupt__``), and a resume sent with an input beside its
command (agent-chat-ui's body) resumes the run: the command wins."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from langgraph_sdk.client import LangGraphClient

QUESTION = {"question": "proceed?"}
# the child graph returns its whole state, which the parent's list reducer adds again
RESUMED = ["start", "prepared", "start", "prepared"]


async def _stopped(client: LangGraphClient) -> tuple[str, Any]:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "interrupting", input={"log": ["start"]})
    return thread_id, output


def _only_interrupt(output: Any) -> dict[str, Any]:
    [pending] = output["__interrupt__"]
    assert pending["value"] == QUESTION and isinstance(pending["id"], str)
    assert pending.pop("response_schema") is None  # as the official server's wait output
    return dict(pending)


async def test_wait_carries_the_interrupts_the_run_stopped_at(client: LangGraphClient) -> None:
    thread_id, output = await _stopped(client)
    assert output["log"] == ["start", "prepared"]
    pending = _only_interrupt(output)
    # the thread's own values never hold them
    thread = await client.threads.get(thread_id)
    assert "__interrupt__" not in thread["values"]
    assert thread["interrupts"] and [pending] in thread["interrupts"].values()


async def test_join_and_stateless_wait_carry_them_too(client: LangGraphClient) -> None:
    thread_id, _ = await _stopped(client)
    run = (await client.runs.list(thread_id))[0]
    joined = await client.runs.join(thread_id, run["run_id"])
    _only_interrupt(joined)
    stateless = await client.runs.wait(None, "interrupting", input={"log": ["s"]})
    _only_interrupt(stateless)


async def test_a_finished_run_has_no_interrupt_key(client: LangGraphClient) -> None:
    thread_id, _ = await _stopped(client)
    resumed = await client.runs.wait(thread_id, "interrupting", command={"resume": "yes"})
    assert resumed == {"log": [*RESUMED, "answer:yes"]}


async def test_agent_chat_uis_resume_body_resumes_the_run(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id, _ = await _stopped(client)
    head = (await client.threads.get_state(thread_id))["checkpoint"]
    body = {  # what agent-chat-ui posts for its Respond button
        "input": {},
        "command": {"resume": "yes"},
        "checkpoint": head,
        "assistant_id": "interrupting",
        "stream_mode": ["values"],
    }
    async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        assert response.status_code == 200
        raw = b"".join([chunk async for chunk in response.aiter_bytes()])
    values = [
        orjson.loads(line.removeprefix(b"data: "))
        for line in raw.split(b"\r\n")
        if line.startswith(b"data: {")
    ]
    assert values[-1]["log"] == [*RESUMED, "answer:yes"]
    state = await client.threads.get_state(thread_id)
    assert state["next"] == [] and state["values"]["log"][-1] == "answer:yes"


async def test_a_non_empty_input_beside_a_command_is_ignored(client: LangGraphClient) -> None:
    thread_id, _ = await _stopped(client)
    # the SDK refuses both at once: the raw body, as adapters send it
    output = await client.http.post(
        f"/threads/{thread_id}/runs/wait",
        json={
            "assistant_id": "interrupting",
            "input": {"log": ["ignored"]},
            "command": {"resume": "ok"},
        },
    )
    assert output == {"log": [*RESUMED, "answer:ok"]}


async def test_a_functional_graph_stopped_at_an_interrupt_answers_it(
    client: LangGraphClient,
) -> None:
    # its output is None until it returns: wait, join and stateless wait answer only the
    # interrupt, as the official server does (not null)
    thread_id = (await client.threads.create())["thread_id"]
    waited = await client.runs.wait(thread_id, "asks", input={"n": 1})
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "asks", input={"n": 1})
    joined = await client.runs.join(thread_id, run["run_id"])
    stateless = await client.runs.wait(None, "asks", input={"n": 1})
    for output in (waited, joined, stateless):
        assert list(output) == ["__interrupt__"]
        [pending] = output["__interrupt__"]
        assert (pending["value"], pending["response_schema"]) == ({"q": "?"}, None)
