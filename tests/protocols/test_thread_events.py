"""Thread event streaming ("protocol v2") against a live server: the official SDK's
``client.threads.stream`` over SSE, and raw HTTP for the wire shapes of the official
server's recorded traffic (tests/fixtures/protocol_v2)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.server import ServerProcess

HUMAN = {"messages": [{"type": "human", "content": "hi"}]}


async def _command(
    http: httpx.AsyncClient, thread_id: str, method: str, params: Any, command_id: int = 1
) -> tuple[int, dict[str, Any]]:
    body = {"id": command_id, "method": method, "params": params}
    response = await http.post(f"/threads/{thread_id}/commands", json=body)
    return response.status_code, response.json()


async def _events(
    http: httpx.AsyncClient, thread_id: str, body: dict[str, Any], *, until: str = "completed"
) -> list[dict[str, Any]]:
    """The stream's events until a root lifecycle event ``until`` (20 s at most)."""
    found: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(20),
        http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        event_name, seq = None, None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event_name = line.split(":", 1)[1].strip()
            elif line.startswith("id:"):
                seq = int(line.split(":", 1)[1])
            elif line.startswith("data:"):
                event = json.loads(line.split(":", 1)[1])
                assert event["method"] == event_name
                found.append(event)
            elif line == "" and found and seq is not None:
                assert found[-1]["seq"] == seq
                last = found[-1]
                if (
                    last["method"] == "lifecycle"
                    and not last["params"]["namespace"]
                    and last["params"]["data"]["event"] == until
                ):
                    return found
    return found


async def _run_to_end(http: httpx.AsyncClient, graph: str, graph_input: Any) -> str:
    thread_id = str(uuid.uuid4())
    status, answer = await _command(
        http, thread_id, "run.start", {"assistant_id": graph, "input": graph_input}
    )
    assert status == 200 and answer["type"] == "success", answer
    assert answer["meta"] == {"applied_through_seq": 0}
    uuid.UUID(answer["result"]["run_id"])
    return thread_id


async def test_the_sdk_streams_a_run_to_its_output(
    server: ServerProcess, client: LangGraphClient
) -> None:
    async with client.threads.stream(assistant_id="chat") as thread:
        started = await thread.run.start(input=HUMAN)
        output = await asyncio.wait_for(thread.output, 30)
    assert started["run_id"]
    texts = [m["content"] for m in output["messages"]]
    assert texts[0] == "hi" and "hello from the fake model" in json.dumps(texts[1])
    state = await client.threads.get_state(thread.thread_id)
    assert state["values"] == output


async def test_the_sdk_answers_an_interrupt(server: ServerProcess, client: LangGraphClient) -> None:
    async with client.threads.stream(assistant_id="agent_asks") as thread:
        await thread.run.start(input=HUMAN)
        for _ in range(200):
            if thread.interrupts:
                break
            await asyncio.sleep(0.05)
        [asked] = thread.interrupts
        assert asked["value"] == {"question": "proceed?"}
        await thread.run.respond("yes")
        output = await asyncio.wait_for(thread.output, 30)
    assert output["messages"][-1]["content"] == "you said yes"


async def test_a_stream_replays_the_thread_then_resumes_after_since(
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _run_to_end(http, "streaming", HUMAN)
    every = [
        "values",
        "updates",
        "messages",
        "custom",
        "lifecycle",
        "input",
        "tasks",
        "checkpoints",
    ]
    events = await _events(http, thread_id, {"channels": every})
    methods = [e["method"] for e in events]
    assert methods[0] == "lifecycle" and events[0]["params"]["data"] == {
        "event": "running",
        "graph_name": "streaming",
    }
    assert events[-1]["params"]["data"]["event"] == "completed"
    assert {"values", "updates", "messages", "custom", "checkpoints"} <= set(methods)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e["event_id"] for e in events}) == len(events)
    for event in events:
        assert event["type"] == "event"
        assert set(event["params"]) >= {"namespace", "timestamp", "data"}
        assert "interrupts" not in event["params"]
    deltas = [
        e["params"]["data"]["delta"]["text"]
        for e in events
        if e["method"] == "messages" and e["params"]["data"].get("event") == "content-block-delta"
    ]
    assert "".join(deltas) == "one two three"
    [custom] = [e for e in events if e["method"] == "custom"]
    assert custom["params"]["data"] == {"progress": "thinking"}
    # since: only what follows; the same event ids
    middle = seqs[len(seqs) // 2]
    rest = await _events(http, thread_id, {"channels": every, "since": middle})
    assert [e["seq"] for e in rest] == [s for s in seqs if s > middle]
    assert [e["event_id"] for e in rest] == [e["event_id"] for e in events if e["seq"] > middle]
    # a narrower filter: the same seqs, with gaps
    values = await _events(http, thread_id, {"channels": ["values", "lifecycle"]})
    assert [e["seq"] for e in values] == [
        e["seq"] for e in events if e["method"] in ("values", "lifecycle")
    ]


async def test_subgraph_events_carry_their_namespace(http: httpx.AsyncClient) -> None:
    thread_id = await _run_to_end(http, "nested", {"value": ""})
    body = {"channels": ["values", "lifecycle"]}
    events = await _events(http, thread_id, body)
    spaces = {tuple(e["params"]["namespace"]) for e in events}
    assert () in spaces and any(ns and ns[0].startswith("child:") for ns in spaces)
    started = [
        e
        for e in events
        if e["method"] == "lifecycle" and e["params"]["data"]["event"] == "started"
    ]
    assert started and all(e["params"]["namespace"] for e in started)
    # a subgraph's end as the official server words it: its node names it
    ended = [
        e
        for e in events
        if e["method"] == "lifecycle"
        and e["params"]["namespace"]
        and e["params"]["data"]["event"] == "completed"
    ]
    assert ended and all(
        e["params"]["data"]
        == {"event": "completed", "graph_name": e["params"]["namespace"][-1].split(":")[0]}
        for e in ended
    )
    root_only = await _events(http, thread_id, {**body, "depth": 0})
    assert root_only and all(not e["params"]["namespace"] for e in root_only)
    # the root (whose end ends the read) and the child's level, not the grandchild's
    levels = {**body, "namespaces": [[], ["child"]], "depth": 0}
    children = await _events(http, thread_id, levels)
    depths = {len(e["params"]["namespace"]) for e in children}
    assert depths == {0, 1}
    assert any(len(ns) == 2 for ns in spaces)  # the grandchild streamed, left out above


async def test_input_respond_and_the_resume_rule(http: httpx.AsyncClient) -> None:
    thread_id = await _run_to_end(http, "agent_asks", HUMAN)
    watched = await _events(
        http, thread_id, {"channels": ["input", "lifecycle"]}, until="interrupted"
    )
    asked = [e for e in watched if e["method"] == "input.requested"]
    assert [e["params"]["data"]["payload"] for e in asked] == [{"question": "proceed?"}]
    interrupt_id = asked[0]["params"]["data"]["interrupt_id"]
    status, wrong = await _command(
        http, thread_id, "input.respond", {"interrupt_id": "nope", "response": 1}
    )
    assert (status, wrong["error"]) == (200, "no_such_interrupt")
    status, answered = await _command(
        http, thread_id, "input.respond", {"interrupt_id": interrupt_id, "response": "ok"}, 2
    )
    assert (status, answered) == (
        200,
        {"type": "success", "id": 2, "result": {}, "meta": {"applied_through_seq": 0}},
    )
    after = await _events(http, thread_id, {"channels": ["values", "lifecycle"]})
    assert after[-1]["params"]["data"]["event"] == "completed"
    assert after[-2]["params"]["data"]["messages"][-1]["content"] == "you said ok"
    # run.start on a waiting thread answers with its input (the resume rule)
    second = await _run_to_end(http, "agent_asks", HUMAN)
    await _events(http, second, {"channels": ["lifecycle"]}, until="interrupted")
    status, started = await _command(
        http, second, "run.start", {"assistant_id": "agent_asks", "input": "sure"}
    )
    assert started["type"] == "success"
    done = await _events(http, second, {"channels": ["values", "lifecycle"]})
    assert done[-2]["params"]["data"]["messages"][-1]["content"] == "you said sure"


async def test_a_cancelled_run_ends_its_stream_events(http: httpx.AsyncClient) -> None:
    thread_id = str(uuid.uuid4())
    status, started = await _command(
        http, thread_id, "run.start", {"assistant_id": "agent_lingers", "input": HUMAN}
    )
    run_id = started["result"]["run_id"]
    await asyncio.sleep(0.3)
    cancelled = await http.post(f"/threads/{thread_id}/runs/{run_id}/cancel")
    assert cancelled.status_code in (200, 202, 204)
    events = await _events(http, thread_id, {"channels": ["lifecycle"]}, until="failed")
    assert events[-1]["params"]["data"]["event"] == "failed"
    assert events[-1]["params"]["data"]["error"] == "Run cancelled"


@pytest.mark.parametrize("action", ["interrupt", "rollback"])
async def test_a_run_cancelled_while_queued_ends_with_failed(
    http: httpx.AsyncClient, action: str
) -> None:
    """Its worker never ran it: the cancel sends the terminal event (the SDK waits on it)."""
    thread_id = str(uuid.uuid4())
    busy = await http.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": "agent_lingers", "input": HUMAN, "if_not_exists": "create"},
    )
    assert busy.status_code == 200
    status, queued = await _command(
        http, thread_id, "run.start", {"assistant_id": "agent_lingers", "input": None}
    )
    run_id = queued["result"]["run_id"]
    assert (await http.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"] == "pending"
    cancelled = await http.post(
        f"/threads/{thread_id}/runs/{run_id}/cancel", params={"action": action}
    )
    assert cancelled.status_code in (200, 202, 204)
    events = await _events(http, thread_id, {"channels": ["lifecycle"]}, until="failed")
    assert events[-1]["event_id"] == f"synth:{run_id}:lc||failed"
    assert events[-1]["params"]["data"] == {
        "event": "failed",
        "graph_name": "agent_lingers",
        "error": "Run cancelled",
    }
    await http.post(f"/threads/{thread_id}/runs/{busy.json()['run_id']}/cancel")


async def test_error_shapes_are_the_official_servers(http: httpx.AsyncClient) -> None:
    thread_id = await _run_to_end(http, "chat", HUMAN)
    url = f"/threads/{thread_id}/commands"
    no_id = await http.post(url, json={"method": "run.start", "params": {}})
    assert no_id.status_code == 400
    assert no_id.json() == {
        "type": "error",
        "id": None,
        "error": "invalid_argument",
        "message": "Protocol commands must include an integer id and string method.",
    }
    not_json = await http.post(url, content=b"{nope")
    assert (not_json.status_code, not_json.json()) == (400, {"detail": "Invalid JSON body"})
    cases = [
        ("nope.nope", {}, "unknown_command", "Unknown protocol command: nope.nope"),
        ("run.start", {}, "invalid_argument", "run.start requires an assistant_id."),
        ("agent.getTree", {}, "no_such_run", "No active run is bound to this thread."),
        ("subscription.subscribe", {"channels": ["bogus"]}, "invalid_argument", None),
        ("run.cancel", {}, "unknown_command", None),
    ]
    for method, params, code, message in cases:
        status, answer = await _command(http, thread_id, method, params, 7)
        assert status == 200 and answer["type"] == "error" and answer["id"] == 7
        assert answer["error"] == code, (method, answer)
        if message:
            assert answer["message"] == message
    status, bad = await _command(
        http, thread_id, "run.start", {"assistant_id": "does-not-exist", "input": {}}
    )
    assert bad["error"] == "unknown_error"
    assert bad["message"].startswith(
        "422: Invalid assistant: 'does-not-exist'. Must be either:\n- A valid assistant UUID,"
        " or\n- One of the registered graphs: "
    )
    status, subscribed = await _command(
        http, thread_id, "subscription.subscribe", {"channels": ["values"]}
    )
    assert subscribed["type"] == "success"
    assert set(subscribed["result"]) == {"subscription_id", "replayed_events"}
    fresh = str(uuid.uuid4())
    status, lonely = await _command(
        http, fresh, "input.respond", {"interrupt_id": "x", "namespace": [], "response": 1}
    )
    assert lonely["error"] == "no_such_run"
    stream = f"/threads/{thread_id}/stream/events"
    for body, detail in (
        (b"not json", "Invalid JSON body"),
        (b"{}", "channels is required and must be a non-empty array"),
        (b'{"channels": []}', "channels is required and must be a non-empty array"),
    ):
        refused = await http.post(stream, content=body)
        assert (refused.status_code, refused.json()) == (400, {"detail": detail})
    bogus = await http.post(stream, json={"channels": ["bogus"]})
    assert bogus.status_code == 400 and bogus.json()["detail"].startswith(
        "channels contains unsupported entries: bogus. Allowed: values,"
    )
    assert (await http.get(stream)).status_code == 405


async def test_a_stream_opened_before_its_thread_exists_waits_for_it(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    """As on the official server (PROTOCOL_V2.md: the SDKs open the stream first)."""
    thread_id = str(uuid.uuid4())
    body = {"channels": ["lifecycle"]}
    async with http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as events:
        assert events.status_code == 200
        status, started = await _command(
            http, thread_id, "run.start", {"assistant_id": "chat", "input": HUMAN}
        )
        assert started["type"] == "success"
        phases = []
        async for line in events.aiter_lines():
            if line.startswith("data:"):
                phases.append(json.loads(line[5:])["params"]["data"]["event"])
                if phases[-1] == "completed":
                    break
    assert phases[0] == "running" and phases[-1] == "completed"


async def test_the_sdk_over_a_websocket(server: ServerProcess, client: LangGraphClient) -> None:
    async with client.threads.stream(assistant_id="agent_asks", transport="websocket") as thread:
        await thread.run.start(input=HUMAN)
        for _ in range(200):
            if thread.interrupts:
                break
            await asyncio.sleep(0.05)
        assert [i["value"] for i in thread.interrupts] == [{"question": "proceed?"}]
        await thread.run.respond("over the socket")
        output = await asyncio.wait_for(thread.output, 30)
    assert output["messages"][-1]["content"] == "you said over the socket"


async def test_websocket_frames(server: ServerProcess) -> None:
    import websockets

    thread_id = str(uuid.uuid4())
    url = server.url.replace("http://", "ws://") + f"/threads/{thread_id}/stream/events"
    async with websockets.connect(url) as socket:

        async def ask(frame: Any) -> dict[str, Any]:
            await socket.send(frame if isinstance(frame, str) else json.dumps(frame))
            while True:  # replies come in order; events may come between
                answer = json.loads(await asyncio.wait_for(socket.recv(), 20))
                if answer["type"] != "event":
                    return dict(answer)

        bad = await ask("not json")
        assert bad == {
            "type": "error",
            "id": None,
            "error": "invalid_argument",
            "message": "Protocol commands must be valid JSON.",
        }
        tree = await ask({"id": 1, "method": "agent.getTree", "params": {}})
        assert tree["error"] == "no_such_run"
        # two subscriptions that both match lifecycle: each event comes once
        one = await ask(
            {"id": 2, "method": "subscription.subscribe", "params": {"channels": ["lifecycle"]}}
        )
        two = await ask(
            {
                "id": 3,
                "method": "subscription.subscribe",
                "params": {"channels": ["lifecycle", "values"]},
            }
        )
        assert one["result"]["replayed_events"] == 0 and two["type"] == "success"
        started = await ask(
            {"id": 4, "method": "run.start", "params": {"assistant_id": "chat", "input": HUMAN}}
        )
        assert started["type"] == "success"
        seen: list[dict[str, Any]] = []
        while not (
            seen
            and seen[-1]["method"] == "lifecycle"
            and seen[-1]["params"]["data"]["event"] == "completed"
        ):
            seen.append(json.loads(await asyncio.wait_for(socket.recv(), 20)))
        seqs = [e["seq"] for e in seen]
        assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
        assert {e["method"] for e in seen} == {"lifecycle", "values"}
        tree = await ask({"id": 5, "method": "agent.getTree", "params": {}})
        assert tree["result"]["tree"] == {
            "namespace": [],
            "status": "completed",
            "graph_name": "chat",
        }
        # a new subscription replays what this connection did not get yet
        more = await ask(
            {"id": 6, "method": "subscription.subscribe", "params": {"channels": ["messages"]}}
        )
        assert more["result"]["replayed_events"] > 0
        gone = await ask(
            {"id": 7, "method": "subscription.unsubscribe", "params": {"subscription_id": "x"}}
        )
        assert gone == {
            "type": "error",
            "id": 7,
            "error": "no_such_subscription",
            "message": "Unknown subscription: x",
            "meta": {"applied_through_seq": seen[-1]["seq"]},
        }
        dropped = await ask(
            {
                "id": 8,
                "method": "subscription.unsubscribe",
                "params": {"subscription_id": one["result"]["subscription_id"]},
            }
        )
        assert dropped["type"] == "success"


async def test_one_answer_per_interrupt(http: httpx.AsyncClient) -> None:
    thread_id = await _run_to_end(http, "agent_asks", HUMAN)
    watched = await _events(
        http, thread_id, {"channels": ["input", "lifecycle"]}, until="interrupted"
    )
    [asked] = [e for e in watched if e["method"] == "input.requested"]
    interrupt_id = asked["params"]["data"]["interrupt_id"]
    answers = await asyncio.gather(
        *(
            _command(
                http,
                thread_id,
                "input.respond",
                {"interrupt_id": interrupt_id, "response": f"r{i}"},
                i,
            )
            for i in range(5)
        )
    )
    kinds = sorted(a["type"] for _, a in answers)
    assert kinds == ["error"] * 4 + ["success"], answers
    assert {a["error"] for _, a in answers if a["type"] == "error"} <= {
        "no_such_interrupt",
        "no_such_run",
    }
    runs = (await http.get(f"/threads/{thread_id}/runs")).json()
    assert len(runs) == 2


async def test_answers_to_two_questions_at_once_are_both_applied(
    http: httpx.AsyncClient,
) -> None:
    """The second waits for the first answer's run, then answers its own question."""
    thread_id = await _run_to_end(http, "agent_asks_twice", HUMAN)
    watched = await _events(
        http, thread_id, {"channels": ["input", "lifecycle"]}, until="interrupted"
    )
    asked = {
        e["params"]["data"]["value"]["question"]: e["params"]["data"]["interrupt_id"]
        for e in watched
        if e["method"] == "input.requested"
    }
    assert set(asked) == {"left", "right"}
    answers = await asyncio.gather(
        *(
            _command(http, thread_id, "input.respond", {"interrupt_id": i, "response": q}, n)
            for n, (q, i) in enumerate(asked.items())
        )
    )
    assert [a["type"] for _, a in answers] == ["success", "success"], answers
    for _ in range(100):
        thread = (await http.get(f"/threads/{thread_id}")).json()
        if thread["status"] == "idle":
            break
        await asyncio.sleep(0.1)
    state = (await http.get(f"/threads/{thread_id}/state")).json()
    said = sorted(m["content"] for m in state["values"]["messages"] if m["type"] == "ai")
    assert said == ["left: left", "right: right"]


async def test_a_bad_answer_is_refused_as_such_and_the_question_still_waits(
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _run_to_end(http, "agent_asks", HUMAN)
    watched = await _events(
        http, thread_id, {"channels": ["input", "lifecycle"]}, until="interrupted"
    )
    [asked] = [e for e in watched if e["method"] == "input.requested"]
    interrupt_id = asked["params"]["data"]["interrupt_id"]
    assert asked["event_id"].endswith(f":input||{interrupt_id}")
    # the interrupt is input.requested, not an update (the official server sends {})
    updates = await _events(
        http, thread_id, {"channels": ["updates", "lifecycle"]}, until="interrupted"
    )
    steps = [e["params"]["data"] for e in updates if e["method"] == "updates"]
    assert steps and all("__interrupt__" not in step for step in steps)
    for extra in ({"update": "not a dict"}, {"goto": "nowhere"}):
        params = {"interrupt_id": interrupt_id, "response": "x", **extra}
        status, refused = await _command(http, thread_id, "input.respond", params)
        assert refused["type"] == "error", refused
        assert refused["error"] in ("invalid_argument", "unknown_error"), refused
        assert "answered already" not in refused["message"]
    status, answered = await _command(
        http, thread_id, "input.respond", {"interrupt_id": interrupt_id, "response": "ok"}
    )
    assert answered["type"] == "success", answered


async def test_binary_frames_are_refused_and_leave_nothing_open(
    http: httpx.AsyncClient, server: ServerProcess
) -> None:
    import websockets

    async def open_streams() -> float:
        text = (await http.get("/metrics", params={"format": "prometheus"})).text
        line = next(ln for ln in text.splitlines() if ln.startswith("graphport_open_streams"))
        return float(line.split()[-1])

    before = await open_streams()
    url = server.url.replace("http://", "ws://") + f"/threads/{uuid.uuid4()}/stream/events"
    for _ in range(3):
        async with websockets.connect(url) as socket:
            await socket.send(b"\x01")
            answer = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert (answer["type"], answer["id"], answer["error"]) == (
                "error",
                None,
                "invalid_argument",
            )
    for _ in range(50):
        if await open_streams() <= before:
            break
        await asyncio.sleep(0.1)
    assert await open_streams() <= before
