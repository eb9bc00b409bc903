"""The ``a2a-sdk`` client (1.x, which speaks A2A 0.3 to a 0.3 agent card) against a live
server: discovery, streamed and blocking sends, an interrupt answered, get and cancel."""

from __future__ import annotations

from typing import Any

import httpx
from a2a.client import create_client
from a2a.client.client import ClientConfig
from a2a.types import a2a_pb2 as pb
from langgraph_sdk.client import LangGraphClient

from tests.server import ServerProcess


def _message(text: str = "", **fields: Any) -> pb.SendMessageRequest:
    parts = [pb.Part(text=text)] if text else []
    return pb.SendMessageRequest(
        message=pb.Message(message_id=f"m-{text}", role=pb.ROLE_USER, parts=parts, **fields)
    )


async def _collect(client: Any, request: pb.SendMessageRequest) -> list[Any]:
    return [item async for item in client.send_message(request)]


async def test_the_sdk_client_streams_a_reply(server: ServerProcess) -> None:
    client = await create_client(f"{server.url}/a2a/agent_echoes")
    try:
        items = await _collect(client, _message("hello"))
    finally:
        await client.close()
    kinds = [item.WhichOneof("payload") for item in items]
    assert kinds[0] == "task" and kinds[-1] == "status_update"
    replies = [
        i.artifact_update.artifact.parts[0].text for i in items if i.HasField("artifact_update")
    ]
    assert replies == ["echo: hello", "topic: none"]
    assert items[-1].status_update.status.state == pb.TASK_STATE_COMPLETED


async def test_the_sdk_client_answers_an_interrupt_then_gets_and_cancels(
    server: ServerProcess, client: LangGraphClient
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        config = ClientConfig(streaming=False, httpx_client=http)
        asks = await create_client(f"{server.url}/a2a/agent_asks", client_config=config)
        [asked] = await _collect(asks, _message("start"))
        task = asked.task
        assert task.status.state == pb.TASK_STATE_INPUT_REQUIRED
        answer = _message("go on", context_id=task.context_id, task_id=task.id)
        [answered] = await _collect(asks, answer)
        assert answered.task.status.state == pb.TASK_STATE_COMPLETED
        assert answered.task.history[-1].parts[0].text == "you said go on"
        got = await asks.get_task(pb.GetTaskRequest(id=task.id))
        assert got.id == task.id

        lingers = await create_client(f"{server.url}/a2a/agent_lingers", client_config=config)
        started = _message("wait")
        started.configuration.return_immediately = True  # a2a 1.x: blocking=false on the wire
        [pending] = await _collect(lingers, started)
        cancelled = await lingers.cancel_task(pb.CancelTaskRequest(id=pending.task.id))
        assert cancelled.status.state == pb.TASK_STATE_CANCELED
        thread_id, run_id = pending.task.id.split(":")
        assert (await client.runs.get(thread_id, run_id))["status"] == "interrupted"
