"""A2A over JSON-RPC against a live server: send, continue, interrupt and resume, stream,
get, cancel, every error code and the agent card."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from a2a.compat.v0_3.types import AgentCard, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from langgraph_sdk.client import LangGraphClient

from tests.protocols.a2a_helpers import (
    EVENTS,
    JSON,
    data,
    error,
    result,
    rpc,
    stream,
    text,
    user_message,
)


async def _assistant(client: LangGraphClient, graph: str) -> str:
    found = await client.assistants.search(graph_id=graph, metadata={"created_by": "system"})
    return str(found[0]["assistant_id"])


def _texts(message: dict[str, Any]) -> list[str]:
    return [p["text"] for p in message["parts"] if p["kind"] == "text"]


async def test_send_runs_on_a_new_thread_and_answers_a_completed_task(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "chat")
    sent = user_message(text("hello there"))
    task = await result(http, assistant, "message/send", {"message": sent})
    Task.model_validate(task)  # the A2A 0.3 shape
    thread_id, run_id = task["id"].split(":")
    assert task["kind"] == "task" and task["contextId"] == thread_id
    assert task["status"]["state"] == "completed"
    assert [(m["role"], _texts(m)) for m in task["history"]] == [
        ("user", ["hello there"]),
        ("agent", ["hello from the fake model"]),
    ]
    assert task["history"][0]["messageId"] == sent["messageId"]
    assert all(m["taskId"] == task["id"] and m["contextId"] == thread_id for m in task["history"])
    [artifact] = task["artifacts"]
    assert artifact["name"] == "Assistant Response"
    assert artifact["parts"] == [{"kind": "text", "text": "hello from the fake model"}]
    # it is an ordinary run on an ordinary thread
    run = await client.runs.get(thread_id, run_id)
    assert run["status"] == "success" and str(run["assistant_id"]) == assistant
    assert run["metadata"]["a2a_message_id"] == sent["messageId"]
    state = await client.threads.get_state(thread_id)
    assert [m["content"] for m in state["values"]["messages"]] == [
        "hello there",
        "hello from the fake model",
    ]


async def test_a_graph_name_reaches_its_default_assistant(http: httpx.AsyncClient) -> None:
    task = await result(http, "chat", "message/send", {"message": user_message()})
    assert task["status"]["state"] == "completed"


async def test_context_continues_and_data_parts_become_input_keys(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_echoes")
    first = await result(http, assistant, "message/send", {"message": user_message(text("one"))})
    context = first["contextId"]
    second = await result(
        http,
        assistant,
        "message/send",
        {"message": user_message(text("two"), data({"topic": "cats"}), contextId=context)},
    )
    assert second["contextId"] == context and second["id"] != first["id"]
    assert [_texts(m) for m in second["history"]] == [
        ["one"],
        ["echo: one"],
        ["topic: none"],
        ["two"],
        ["echo: two"],
        ["topic: cats"],
    ]
    # earlier turns are the context's, not this task's
    assert [m.get("taskId") for m in second["history"]] == [None] * 3 + [second["id"]] * 3
    # the artifact is the agent's last reply; historyLength trims the history
    assert second["artifacts"][0]["parts"] == [{"kind": "text", "text": "topic: cats"}]
    # a stream on the context sends only this task's replies
    streamed = await stream(
        http, assistant, {"message": user_message(text("four"), contextId=context)}
    )
    replies = [f["result"]["artifact"]["parts"][0]["text"] for f in streamed[2:-1]]
    assert replies == ["echo: four", "topic: cats"]
    trimmed = await result(
        http,
        assistant,
        "message/send",
        {
            "message": user_message(text("three"), contextId=context),
            "configuration": {"historyLength": 2},
        },
    )
    assert [_texts(m) for m in trimmed["history"]] == [["echo: three"], ["topic: cats"]]
    # a context that does not exist yet is created with that id
    fresh = str(uuid.uuid4())
    made = await result(http, assistant, "message/send", {"message": user_message(contextId=fresh)})
    assert made["contextId"] == fresh
    assert (await client.threads.get(fresh))["thread_id"] == fresh


async def test_interrupt_asks_for_input_and_an_answer_resumes(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_asks")
    asked = await result(http, assistant, "message/send", {"message": user_message()})
    assert asked["status"]["state"] == "input-required"
    [artifact] = asked["artifacts"]
    assert artifact["name"] == "Interrupt"
    [part] = artifact["parts"]
    assert part["kind"] == "data" and part["data"]["value"] == {"question": "proceed?"}
    assert len(part["data"]["id"]) == 32
    context = asked["contextId"]
    # tasks/get agrees while it waits
    got = await result(http, assistant, "tasks/get", {"id": asked["id"]})
    assert got["status"]["state"] == "input-required"
    # the answer: a data part {"resume": ...} on the context
    answered = await result(
        http,
        assistant,
        "message/send",
        {"message": user_message(data({"resume": "yes"}), contextId=context, taskId=asked["id"])},
    )
    assert answered["status"]["state"] == "completed"
    assert _texts(answered["history"][-1]) == ["you said yes"]
    # the answer continues the same task, which tasks/get now finds completed
    assert answered["id"] == asked["id"]
    assert answered["artifacts"][0]["parts"][0]["text"] == "you said yes"
    got = await result(http, assistant, "tasks/get", {"id": asked["id"]})
    assert got["status"]["state"] == "completed"
    assert _texts(got["history"][-1]) == ["you said yes"]
    # the run that answered is the task's, not a task of its own
    thread_id, first_run = asked["id"].split(":")
    runs = await client.runs.list(thread_id)
    assert [r["metadata"].get("a2a_task_id") for r in runs] == [asked["id"], None]
    later = f"{thread_id}:{runs[0]['run_id']}"
    assert (await error(http, assistant, "tasks/get", {"id": later}))["code"] == -32001
    # nothing waits any more: another resume is refused
    refused = await error(
        http,
        assistant,
        "message/send",
        {"message": user_message(data({"resume": "again"}), contextId=context)},
    )
    assert refused["code"] == -32602 and "not awaiting input" in refused["message"]


async def test_text_naming_the_waiting_task_answers_it(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_asks")
    asked = await result(http, assistant, "message/send", {"message": user_message()})
    context = asked["contextId"]
    answered = await result(
        http,
        assistant,
        "message/send",
        {"message": user_message(text("sure"), contextId=context, taskId=asked["id"])},
    )
    assert answered["status"]["state"] == "completed" and answered["id"] == asked["id"]
    assert _texts(answered["history"][-1]) == ["you said sure"]
    state = await client.threads.get_state(context)
    assert state["next"] == []


async def test_a_task_id_alone_finds_its_context(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_asks")
    asked = await result(http, assistant, "message/send", {"message": user_message()})
    answered = await result(
        http,
        assistant,
        "message/send",
        {"message": user_message(text("fine"), taskId=asked["id"])},
    )
    assert answered["contextId"] == asked["contextId"] and answered["id"] == asked["id"]
    assert answered["status"]["state"] == "completed"
    assert _texts(answered["history"][-1]) == ["you said fine"]
    # a task that is not this assistant's, or not in the context named, is refused
    for task_id in ("nonexistent", f"{uuid.uuid4()}:{uuid.uuid4()}"):
        unknown = await error(
            http, assistant, "message/send", {"message": user_message(taskId=task_id)}
        )
        assert unknown["code"] == -32001, task_id
    elsewhere = user_message(taskId=asked["id"], contextId=str(uuid.uuid4()))
    assert (await error(http, assistant, "message/send", {"message": elsewhere}))["code"] == -32602


async def test_cancel_a_task_waiting_for_input(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_asks")
    asked = await result(http, assistant, "message/send", {"message": user_message()})
    cancelled = await result(http, assistant, "tasks/cancel", {"id": asked["id"]})
    assert cancelled["status"]["state"] == "canceled"
    got = await result(http, assistant, "tasks/get", {"id": asked["id"]})
    assert got["status"]["state"] == "canceled"
    assert (await error(http, assistant, "tasks/cancel", {"id": asked["id"]}))["code"] == -32002
    # nothing waits on the context any more: a new message starts afresh
    context = asked["contextId"]
    assert (await client.threads.get(context))["status"] == "idle"
    again = await result(
        http, assistant, "message/send", {"message": user_message(contextId=context)}
    )
    assert again["status"]["state"] == "input-required"


async def test_one_answer_wins(http: httpx.AsyncClient, client: LangGraphClient) -> None:
    """Concurrent answers to one wait: exactly one continues the task, the others are
    told it no longer waits; nothing runs twice."""
    assistant = await _assistant(client, "agent_asks")
    asked = await result(http, assistant, "message/send", {"message": user_message()})
    context = asked["contextId"]
    answers = [
        user_message(data({"resume": f"v{i}"}), contextId=context)
        if i % 2
        else user_message(text(f"v{i}"), taskId=asked["id"])
        for i in range(10)
    ]
    replies = await asyncio.gather(
        *(rpc(http, assistant, "message/send", {"message": m}) for m in answers)
    )
    won = [r["result"] for r in replies if "result" in r]
    lost = [r["error"] for r in replies if "error" in r]
    assert len(won) == 1 and won[0]["status"]["state"] == "completed", replies
    assert {e["code"] for e in lost} == {-32602}
    assert all("not awaiting input" in e["message"] for e in lost)
    got = await result(http, assistant, "tasks/get", {"id": asked["id"]})
    assert got["status"]["state"] == "completed"
    assert _texts(got["history"][-1]) == _texts(won[0]["history"][-1])
    runs = await client.runs.list(context)
    assert len(runs) == 2  # the question and the one answer


async def test_answers_go_to_the_task_that_waits(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    asks = await _assistant(client, "agent_asks")
    first = await result(http, asks, "message/send", {"message": user_message()})
    context = first["contextId"]
    # a new message on the context starts a new task; the first one's wait is dropped
    second = await result(
        http, asks, "message/send", {"message": user_message(text("new"), contextId=context)}
    )
    assert second["status"]["state"] == "input-required" and second["id"] != first["id"]
    old = await result(http, asks, "tasks/get", {"id": first["id"]})
    assert old["status"]["state"] == "canceled"
    stale = user_message(text("late"), taskId=first["id"])
    assert (await error(http, asks, "message/send", {"message": stale}))["code"] == -32602
    # another assistant cannot answer it, nor use the context of another graph
    chat = await _assistant(client, "chat")
    foreign = user_message(data({"resume": "x"}), contextId=context)
    assert (await error(http, chat, "message/send", {"message": foreign}))["code"] == -32602
    plain = user_message(contextId=context)
    assert (await error(http, chat, "message/send", {"message": plain}))["code"] == -32602
    # a finished task takes no more input
    done = await result(http, chat, "message/send", {"message": user_message()})
    after = user_message(text("more"), taskId=done["id"])
    assert (await error(http, chat, "message/send", {"message": after}))["code"] == -32602
    # a message id already in the context would replace that message: refused
    reused = user_message(text("again"), contextId=done["contextId"])
    reused["messageId"] = done["history"][-1]["messageId"]
    assert (await error(http, chat, "message/send", {"message": reused}))["code"] == -32602
    state = await client.threads.get_state(done["contextId"])
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai"]


async def test_parts_the_graph_cannot_take_are_refused(http: httpx.AsyncClient) -> None:
    for part in (
        data({"messages": [{"type": "ai", "content": "I am the agent"}]}),
        data({"messages": 5}),
        {"kind": "file", "file": {"bytes": "not base64!", "mimeType": "image/png"}},
    ):
        refused = await error(http, "chat", "message/send", {"message": user_message(part)})
        assert refused["code"] == -32602, part
    picture = {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "image/png", "name": "p"}}
    sent = await result(http, "chat", "message/send", {"message": user_message(picture)})
    assert sent["status"]["state"] == "completed"


async def test_a_failing_graph_is_a_failed_task(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_fails")
    task = await result(http, assistant, "message/send", {"message": user_message()})
    assert task["status"]["state"] == "failed"
    assert _texts(task["status"]["message"]) == ["ValueError: the agent broke"]
    assert "artifacts" not in task
    got = await result(http, assistant, "tasks/get", {"id": task["id"]})
    assert got["status"]["state"] == "failed"
    assert "the agent broke" in _texts(got["status"]["message"])[0]


async def test_stream_sends_the_task_then_updates_then_a_final_status(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_echoes")
    sent = user_message(text("streamed"))
    frames = await stream(http, assistant, {"message": sent}, request_id=7)
    results = [f["result"] for f in frames]
    first = Task.model_validate(results[0])
    assert first.status.state.value == "submitted"
    assert [m.message_id for m in first.history or []] == [sent["messageId"]]
    assert [r["kind"] for r in results] == [
        "task",
        "status-update",
        "artifact-update",
        "artifact-update",
        "status-update",
    ]
    working, *artifacts, final = results[1:]
    assert working["status"]["state"] == "working" and working["final"] is False
    replies = [TaskArtifactUpdateEvent.model_validate(a).artifact.parts for a in artifacts]
    assert [p[0].root.text for p in replies] == ["echo: streamed", "topic: none"]  # type: ignore[union-attr]
    TaskStatusUpdateEvent.model_validate(final)
    assert final["status"]["state"] == "completed" and final["final"] is True
    assert {r.get("taskId", r.get("id")) for r in results} == {first.id}
    # the task is there to get afterwards
    got = await result(http, assistant, "tasks/get", {"id": first.id})
    assert got["status"]["state"] == "completed"


async def test_stream_of_an_interrupt_and_of_a_failure(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    asks = await _assistant(client, "agent_asks")
    results = [f["result"] for f in await stream(http, asks, {"message": user_message()})]
    assert [r["kind"] for r in results] == [
        "task",
        "status-update",
        "artifact-update",
        "status-update",
    ]
    assert results[2]["artifact"]["name"] == "Interrupt"
    assert results[-1]["status"]["state"] == "input-required" and results[-1]["final"] is True

    context, task_id = results[0]["contextId"], results[0]["id"]
    answer = user_message(data({"resume": "ok"}), contextId=context)
    resumed = [f["result"] for f in await stream(http, asks, {"message": answer})]
    assert {r.get("taskId", r.get("id")) for r in resumed} == {task_id}
    assert resumed[-1]["status"]["state"] == "completed"
    assert resumed[-2]["artifact"]["parts"][0]["text"] == "you said ok"

    fails = await _assistant(client, "agent_fails")
    results = [f["result"] for f in await stream(http, fails, {"message": user_message()})]
    final = results[-1]
    assert final["final"] is True and final["status"]["state"] == "failed"
    assert "the agent broke" in _texts(final["status"]["message"])[0]


async def test_stream_errors_are_events_of_the_stream(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    plain = await _assistant(client, "interrupting")  # no messages key
    [frame] = await stream(http, plain, {"message": user_message()}, request_id="e")
    assert frame["error"]["code"] == -32602 and "messages" in frame["error"]["message"]
    [frame] = await stream(http, "chat", {"nope": 1}, request_id="e")
    assert frame["error"]["code"] == -32602


async def test_non_blocking_send_then_get_then_cancel(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_lingers")
    params = {"message": user_message(), "configuration": {"blocking": False}}
    started = await result(http, assistant, "message/send", params)
    assert started["status"]["state"] in ("submitted", "working")
    thread_id, run_id = started["id"].split(":")
    for _ in range(100):
        got = await result(http, assistant, "tasks/get", {"id": started["id"]})
        if got["status"]["state"] == "working":
            break
        await asyncio.sleep(0.05)
    assert got["status"]["state"] == "working"
    cancelled = await result(http, assistant, "tasks/cancel", {"id": started["id"]})
    assert cancelled["status"]["state"] == "canceled"
    assert (await client.runs.get(thread_id, run_id))["status"] == "interrupted"
    again = await error(http, assistant, "tasks/cancel", {"id": started["id"]})
    assert again["code"] == -32002
    got = await result(http, assistant, "tasks/get", {"id": started["id"]})
    assert got["status"]["state"] == "canceled"


async def test_resubscribe_follows_a_task_to_its_end(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    lingers = await _assistant(client, "agent_lingers")
    params = {"message": user_message(), "configuration": {"blocking": False}}
    started = await result(http, lingers, "message/send", params)

    async def follow() -> list[dict[str, Any]]:
        frames = await stream(
            http, lingers, {"id": started["id"]}, method="tasks/resubscribe", request_id=4
        )
        return [f["result"] for f in frames]

    following = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    await result(http, lingers, "tasks/cancel", {"id": started["id"]})
    results = await following
    assert results[0]["kind"] == "task" and results[0]["id"] == started["id"]
    assert results[-1]["kind"] == "status-update" and results[-1]["final"] is True
    assert results[-1]["status"]["state"] == "canceled"
    # a task that ended: the task, then its final status at once
    chat = await _assistant(client, "chat")
    done = await result(http, chat, "message/send", {"message": user_message()})
    frames = await stream(http, chat, {"id": done["id"]}, method="tasks/resubscribe")
    assert [f["result"]["kind"] for f in frames] == ["task", "status-update"]
    assert frames[-1]["result"]["status"]["state"] == "completed"
    [missing] = await stream(http, chat, {"id": "nope"}, method="tasks/resubscribe")
    assert missing["error"]["code"] == -32001
    for method in ("tasks/pushNotificationConfig/set", "tasks/pushNotificationConfig/get"):
        assert (await error(http, chat, method, {"id": done["id"]}))["code"] == -32003


async def test_concurrent_cancels_of_one_task_cancel_it_once(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "agent_lingers")
    params = {"message": user_message(), "configuration": {"blocking": False}}
    started = await result(http, assistant, "message/send", params)
    answers = await asyncio.gather(
        *(rpc(http, assistant, "tasks/cancel", {"id": started["id"]}) for _ in range(8))
    )
    done = [a["result"] for a in answers if "result" in a]
    refused = [a["error"]["code"] for a in answers if "error" in a]
    assert done and all(t["status"]["state"] == "canceled" for t in done)
    assert set(refused) <= {-32002}


async def test_concurrent_sends_on_one_context_all_run(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "chat")
    context = str(uuid.uuid4())
    params = [{"message": user_message(text(f"m{i}"), contextId=context)} for i in range(8)]
    tasks = await asyncio.gather(*(result(http, assistant, "message/send", p) for p in params))
    assert {t["status"]["state"] for t in tasks} == {"completed"}
    assert len({t["id"] for t in tasks}) == 8
    state = await client.threads.get_state(context)
    sent = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert sorted(sent) == sorted(f"m{i}" for i in range(8))


async def test_tasks_get_answers_each_task_as_its_run_left_it(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "chat")
    first = await result(http, assistant, "message/send", {"message": user_message(text("a"))})
    context = first["contextId"]
    await result(
        http, assistant, "message/send", {"message": user_message(text("b"), contextId=context)}
    )
    got = await result(http, assistant, "tasks/get", {"id": first["id"]})
    assert [_texts(m) for m in got["history"]] == [["a"], ["hello from the fake model"]]
    assert (
        await result(http, assistant, "tasks/get", {"id": first["id"], "historyLength": 0})
    ).get("history", []) == []
    negative = await error(http, assistant, "tasks/get", {"id": first["id"], "historyLength": -1})
    assert negative["code"] == -32602
    config = {"historyLength": -1}
    sent = {"message": user_message(), "configuration": config}
    assert (await error(http, assistant, "message/send", sent))["code"] == -32602
    # another assistant's task is not this one's
    other = await _assistant(client, "agent_echoes")
    missing = await error(http, other, "tasks/get", {"id": first["id"]})
    assert missing["code"] == -32001


async def test_protocol_errors_are_json_rpc_errors_with_status_200(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    assistant = await _assistant(client, "chat")
    url = f"/a2a/{assistant}"

    async def raw(body: bytes | str, headers: dict[str, str] = JSON) -> dict[str, Any]:
        response = await http.post(
            url, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    parse = await raw(b"{not json")
    assert parse["error"]["code"] == -32700 and parse["id"] is None
    for body in ("[]", "[1]", "3", '"x"', "null"):
        assert (await raw(body))["error"]["code"] == -32600, body
    wrong = await raw('{"jsonrpc": "1.0", "id": 5, "method": "tasks/get"}')
    assert wrong["error"]["code"] == -32600 and wrong["id"] == 5
    bad_id = await raw('{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tasks/get"}')
    assert bad_id["error"]["code"] == -32600 and bad_id["id"] is None
    no_id = await raw('{"jsonrpc": "2.0", "method": "message/send", "params": {}}')
    assert no_id["error"]["code"] == -32600
    assert (await raw('{"jsonrpc": "2.0", "id": 1, "method": 5}'))["error"]["code"] == -32601
    assert (await error(http, assistant, "tasks/list", {}))["code"] == -32601
    for params in ({}, {"message": "hi"}, {"message": {"role": "user"}}, [1]):
        assert (await error(http, assistant, "message/send", params))["code"] == -32602, params
    # metadata a client sends cannot claim another task
    claimed = {"message": user_message(metadata={"a2a_task_id": "x:y"})}
    own = await result(http, assistant, "message/send", claimed)
    assert own["id"] != "x:y"
    # what this agent cannot do is said, not ignored
    push = {"url": "https://example.invalid/hook"}
    pushed = {"message": user_message(), "configuration": {"pushNotificationConfig": push}}
    assert (await error(http, assistant, "message/send", pushed))["code"] == -32003
    images = {"message": user_message(), "configuration": {"acceptedOutputModes": ["image/png"]}}
    assert (await error(http, assistant, "message/send", images))["code"] == -32005
    texts = {"message": user_message(), "configuration": {"acceptedOutputModes": ["text/*"]}}
    assert (await result(http, assistant, "message/send", texts))["status"]["state"] == "completed"
    empty = await error(http, assistant, "message/send", {"message": user_message(parts=[])})
    assert empty["code"] == -32602
    agent_role = user_message(role="agent")
    assert (await error(http, assistant, "message/send", {"message": agent_role}))["code"] == -32602
    bad_context = user_message(contextId="not-a-uuid")
    assert (await error(http, assistant, "message/send", {"message": bad_context}))[
        "code"
    ] == -32602
    for task_id in ("garbage", f"{uuid.uuid4()}:{uuid.uuid4()}", "a:b"):
        assert (await error(http, assistant, "tasks/get", {"id": task_id}))["code"] == -32001
        assert (await error(http, assistant, "tasks/cancel", {"id": task_id}))["code"] == -32001
    assert (await error(http, assistant, "tasks/get", {}))["code"] == -32602
    # unknown assistants, and one whose graph has no messages
    for unknown in (str(uuid.uuid4()), "no-such-graph"):
        missing = await error(http, unknown, "message/send", {"message": user_message()})
        assert missing["code"] == -32602 and "not found" in missing["message"]
    no_messages = await error(http, "interrupting", "message/send", {"message": user_message()})
    assert no_messages["code"] == -32602 and "'messages'" in no_messages["message"]
    # ids that cannot come back exactly are refused
    for raw_id in ("100000000000000000000000000000", "true", "[1]"):
        body = '{"jsonrpc": "2.0", "id": ' + raw_id + ', "method": "tasks/get"}'
        assert (await raw(body))["error"]["code"] == -32600, raw_id
    # ids of every kind come back as sent
    for request_id in ("abc", 0, 3.5, None, 2**63 - 1):
        answer = await rpc(http, assistant, "tasks/get", {"id": "x"}, request_id=request_id)
        assert answer["id"] == request_id


async def test_wrong_accept_is_400(http: httpx.AsyncClient) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}}
    for accept in ("text/html", "text/event-stream", ""):
        response = await http.post("/a2a/chat", json=body, headers={"Accept": accept})
        assert response.status_code == 400, accept
        assert "application/json" in response.json()["detail"]
    streamed = {**body, "method": "message/stream"}
    response = await http.post("/a2a/chat", json=streamed, headers=JSON)
    assert response.status_code == 400 and "text/event-stream" in response.json()["detail"]
    for accept in ("*/*", "application/*", "application/json; q=0.9, text/plain"):
        response = await http.post("/a2a/chat", json=body, headers={"Accept": accept})
        assert response.status_code == 200, accept
    response = await http.post("/a2a/chat", json=streamed, headers=EVENTS)
    assert response.status_code == 200


async def test_agent_card_describes_the_assistant(
    http: httpx.AsyncClient, client: LangGraphClient
) -> None:
    made = await client.assistants.create(
        "chat", name="Helpful Agent", description="Answers questions."
    )
    assistant = str(made["assistant_id"])
    base = str(http.base_url).rstrip("/")
    for path, params in (
        ("/.well-known/agent-card.json", {"assistant_id": assistant}),
        (f"/a2a/{assistant}/.well-known/agent-card.json", None),
        (f"/a2a/{assistant}", None),
    ):
        response = await http.get(path, params=params)
        assert response.status_code == 200, path
        card = AgentCard.model_validate(response.json())
        assert card.name == "Helpful Agent" and card.description == "Answers questions."
        assert card.url == f"{base}/a2a/{assistant}"
        assert card.capabilities.streaming is True
        assert card.protocol_version == "0.3.0" and card.preferred_transport == "JSONRPC"
        [skill] = card.skills
        assert "chat" in skill.tags and skill.description == "Answers questions."
    missing = await http.get("/.well-known/agent-card.json")
    assert missing.status_code == 400 and "assistant_id" in missing.json()["detail"]
    unknown = await http.get("/.well-known/agent-card.json", params={"assistant_id": "nope"})
    assert unknown.status_code == 404
    no_messages = await http.get(
        "/.well-known/agent-card.json", params={"assistant_id": "interrupting"}
    )
    assert no_messages.status_code == 404 and "messages" in no_messages.json()["detail"]
