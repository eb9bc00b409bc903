"""A2A routes: ``POST /a2a/{assistant_id}`` (JSON-RPC 2.0) and the agent cards.

Protocol errors answer HTTP 200 with a JSON-RPC ``error``, as JSON-RPC over HTTP and the
official server do; only a request whose ``Accept`` refuses the answer's media type is a
400 (``application/json``, or ``text/event-stream`` for ``message/stream``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from graphport.api.deps import A2A, CurrentActor, RequestHeaders, departure_of
from graphport.api.responses import errors, hand_read_body, json_response
from graphport.api.sse import ProducedSSE, stream_headers
from graphport.auth.actor import Actor
from graphport.errors import BadRequest, NotFound
from graphport.execution.broker import Event
from graphport.protocols.a2a.card import agent_card
from graphport.protocols.a2a.requests import PUSH_NOT_SUPPORTED
from graphport.protocols.a2a.service import A2AService
from graphport.protocols.jsonrpc import (
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RpcError,
    RpcMessage,
    accepts,
    error_body,
    read_message,
    result_body,
)
from graphport.serialization import dumps
from graphport.services.run_waits import Departure

router = APIRouter(tags=["A2A"])

METHODS = ("message/send", "message/stream", "tasks/get", "tasks/cancel", "tasks/resubscribe")
STREAMED = ("message/stream", "tasks/resubscribe")
PUSH_CONFIG = (
    "tasks/pushNotificationConfig/set",
    "tasks/pushNotificationConfig/get",
    "tasks/pushNotificationConfig/list",
    "tasks/pushNotificationConfig/delete",
)
_RPC_BODY = hand_read_body(
    {
        "type": "object",
        "required": ["jsonrpc", "method"],
        "properties": {
            "jsonrpc": {"type": "string", "enum": ["2.0"]},
            "id": {"type": ["string", "integer", "null"]},
            "method": {"type": "string", "enum": list(METHODS)},
            "params": {"type": "object"},
        },
    }
)
_RPC_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A JSON-RPC response (a result or an error); ``message/stream``: SSE "
        "``message`` events, each a JSON-RPC response",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {}},
    },
    **errors(400, 413, 422, reasons={400: "The Accept header refuses the answer's media type."}),
}
_CARD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The A2A 0.3 agent card",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **errors(404, 422, reasons={404: "No such assistant, or its graph takes no messages."}),
}


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post(
    "/a2a/{assistant_id}",
    summary="A2A JSON-RPC",
    response_model=None,
    responses=_RPC_ANSWERS,
    openapi_extra=_RPC_BODY,
)
async def a2a_post(
    assistant_id: str,
    request: Request,
    service: A2A,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> Response:
    """Talk to an assistant over A2A 0.3: ``message/send``, ``message/stream``,
    ``tasks/get``, ``tasks/cancel``, ``tasks/resubscribe``."""
    try:
        message = read_message(await request.body())
    except RpcError as exc:
        return json_response(error_body(exc.request_id, exc))
    except ClientDisconnect:
        return Response(status_code=499)  # nobody reads it
    media = "text/event-stream" if message.method in STREAMED else "application/json"
    if not accepts(request.headers.get("accept"), media):
        raise BadRequest(f"The Accept header must include {media}")
    if message.is_response:
        return Response(status_code=202)  # a client's answer: nothing to do with it
    if not message.has_id:  # A2A defines no notifications: say so rather than run it unseen
        error = RpcError(INVALID_REQUEST, "Invalid request: A2A methods need an 'id'")
        return json_response(error_body(None, error))
    if message.method in STREAMED:
        return await _stream(service, assistant_id, message, actor, headers)
    try:
        departure = departure_of(request)
        result = await _call(service, assistant_id, message, actor, headers, departure)
    except RpcError as exc:
        return json_response(error_body(message.id, exc))
    return json_response(result_body(message.id, result))


async def _call(
    service: A2AService,
    assistant_id: str,
    message: RpcMessage,
    actor: Actor,
    headers: Any,
    departure: Departure,
) -> dict[str, Any]:
    if message.method == "message/send":
        return await service.send(
            assistant_id, message.params, actor=actor, headers=headers, departure=departure
        )
    if message.method == "tasks/get":
        return await service.get_task(assistant_id, message.params, actor=actor, headers=headers)
    if message.method == "tasks/cancel":
        return await service.cancel_task(assistant_id, message.params, actor=actor, headers=headers)
    if message.method in PUSH_CONFIG:
        raise RpcError(PUSH_NOT_SUPPORTED, "Push notifications are not supported")
    raise RpcError(METHOD_NOT_FOUND, f"Method not found: {message.method}")


async def _stream(
    service: A2AService, assistant_id: str, message: RpcMessage, actor: Actor, headers: Any
) -> Response:
    """SSE ``message`` events, each a JSON-RPC response to the request; an error before
    the run starts is the stream's only event (streaming clients read events, not JSON)."""
    start = service.stream if message.method == "message/stream" else service.resubscribe
    try:
        results = await start(assistant_id, message.params, actor=actor, headers=headers)
    except RpcError as exc:
        return ProducedSSE(_frames(message, None, exc), headers=stream_headers(None, None))
    return ProducedSSE(_frames(message, results, None), headers=stream_headers(None, None))


async def _frames(
    message: RpcMessage, results: AsyncIterator[dict[str, Any]] | None, error: RpcError | None
) -> AsyncIterator[Event]:
    n = 0
    try:
        if results is not None:
            async for result in results:
                n += 1
                yield Event(n, "message", dumps(result_body(message.id, result)))
    except RpcError as exc:
        error = exc
    if error is not None:
        yield Event(n + 1, "message", dumps(error_body(message.id, error)))


@router.get(
    "/a2a/{assistant_id}",
    summary="A2A agent card of an assistant",
    response_model=None,
    responses=_CARD,
)
@router.get("/a2a/{assistant_id}/.well-known/agent-card.json", include_in_schema=False)
@router.get("/a2a/{assistant_id}/.well-known/agent.json", include_in_schema=False)
async def assistant_card(
    assistant_id: str,
    request: Request,
    service: A2A,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> JSONResponse:
    """The agent card of the assistant at this endpoint (where A2A clients look for it)."""
    return await _card(request, service, assistant_id, actor, headers)


@router.get(
    "/.well-known/agent-card.json",
    summary="A2A agent card",
    response_model=None,
    responses={**_CARD, **errors(400, 404, 422)},
)
@router.get("/.well-known/agent.json", include_in_schema=False)
async def well_known_card(
    request: Request,
    service: A2A,
    actor: CurrentActor,
    headers: RequestHeaders,
    assistant_id: str | None = None,
) -> JSONResponse:
    """The agent card of ``?assistant_id=`` (an assistant id, or a graph's name)."""
    if not assistant_id:
        raise BadRequest("Missing query parameter: assistant_id")
    return await _card(request, service, assistant_id, actor, headers)


async def _card(
    request: Request, service: A2AService, raw_id: str, actor: Actor, headers: Any
) -> JSONResponse:
    try:
        agent = await service.agent(raw_id, actor=actor, headers=headers, to_run=False)
    except RpcError as exc:
        raise NotFound(exc.message) from None
    return JSONResponse(agent_card(agent.row, base_url=_base_url(request)))
