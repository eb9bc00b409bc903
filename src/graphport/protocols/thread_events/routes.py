"""Thread event streaming routes: ``POST /threads/{thread_id}/commands`` (one command, JSON)
and ``POST /threads/{thread_id}/stream/events`` (SSE), with the official server's answers:
a command that is not JSON is a 400 ``{"detail"}``, one that cannot be read a 400 error
envelope, a refused one a 200 error envelope;
a stream body that is not JSON or asks for no or unknown channels is a 400 ``{"detail"}``;
``GET`` on the stream is 405."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import orjson
from fastapi import APIRouter, Request, Response, WebSocket

from graphport.api.deps import CurrentActor, RequestHeaders, ThreadEvents
from graphport.api.responses import errors, hand_read_body, json_response
from graphport.api.sse import ProducedSSE, stream_headers
from graphport.auth.actor import ANONYMOUS
from graphport.auth.middleware import ACTOR_KEY
from graphport.errors import BadRequest
from graphport.execution.broker import END, PROTOCOL_EVENT, Event
from graphport.protocols.thread_events.commands import (
    CommandError,
    NotJson,
    failure,
    read_command,
    success,
)
from graphport.protocols.thread_events.events import envelope
from graphport.protocols.thread_events.filters import EventFilter, FilterError, read_since
from graphport.protocols.thread_events.service import ThreadStream
from graphport.protocols.thread_events.socket import ThreadSocket
from graphport.serialization import dumps

router = APIRouter(tags=["Thread Streams"])

_COMMAND_BODY = hand_read_body(
    {
        "type": "object",
        "required": ["id", "method"],
        "properties": {
            "id": {"type": "integer"},
            "method": {"type": "string"},
            "params": {"type": "object"},
        },
    }
)
_STREAM_BODY = hand_read_body(
    {
        "type": "object",
        "required": ["channels"],
        "properties": {
            "channels": {"type": "array", "items": {"type": "string"}},
            "namespaces": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string"}},
            },
            "depth": {"type": "integer", "minimum": 0},
            "since": {"type": "integer", "minimum": 0},
        },
    }
)
_ENVELOPE = {"application/json": {"schema": {"type": "object"}}}


@router.post(
    "/threads/{thread_id}/commands",
    summary="Thread event streaming command",
    response_model=None,
    responses={
        200: {"description": "The command's success or error envelope", "content": _ENVELOPE},
        400: {"description": "Not a command (error envelope, id null)", "content": _ENVELOPE},
        **errors(413, 422),
    },
    openapi_extra=_COMMAND_BODY,
)
async def thread_command(
    thread_id: UUID,
    request: Request,
    service: ThreadEvents,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> Response:
    """One command: ``run.start``, ``input.respond``, ``agent.getTree``,
    ``subscription.subscribe|unsubscribe|reconnect``."""
    try:
        command = read_command(await request.body())
    except NotJson:
        raise BadRequest("Invalid JSON body") from None
    except CommandError as exc:
        return json_response(failure(None, exc), status_code=400)
    try:
        result = await service.command(thread_id, command, actor=actor, headers=headers)
    except CommandError as exc:
        return json_response(failure(command.id, exc))
    return json_response(success(command.id, result, 0))


@router.post(
    "/threads/{thread_id}/stream/events",
    summary="Thread event stream",
    response_class=ProducedSSE,
    status_code=200,
    responses={
        200: {"description": "SSE: the thread's events", "content": {"text/event-stream": {}}},
        **errors(400, 404, 413, 422),
    },
    openapi_extra=_STREAM_BODY,
)
async def thread_event_stream(
    thread_id: UUID, request: Request, service: ThreadEvents, actor: CurrentActor
) -> ProducedSSE:
    """The thread's events on the channels (namespaces, depth) asked for: those kept after
    ``since`` (all, without it), then live, until the client leaves. The thread need not
    exist yet: the stream waits for it, as on the official server."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("Invalid JSON body") from None
    try:
        keep = EventFilter.read(body)
        since = read_since(body)
    except FilterError as exc:
        raise BadRequest(str(exc)) from None
    stream = await service.open_stream(thread_id, since=since, actor=actor)
    return ProducedSSE(
        _events(stream, keep),
        on_close=stream.handle.on_close,
        headers=stream_headers(None, None),
        with_ids=True,
    )


@router.websocket("/threads/{thread_id}/stream/events")
async def thread_event_socket(websocket: WebSocket, thread_id: UUID) -> None:
    """Commands and events in-band (see ``socket.ThreadSocket``)."""
    context = websocket.app.state.context
    actor = websocket.scope.get(ACTOR_KEY) or ANONYMOUS
    socket = ThreadSocket(websocket, context.thread_events, thread_id, actor, websocket.headers)
    await socket.serve()


async def _events(stream: ThreadStream, keep: EventFilter) -> AsyncIterator[Event]:
    """The stream's events on its channels. One opened before its thread existed (or on a
    thread hidden from the caller) waits; at the first event it checks again, and ends,
    sending nothing, when the caller may still not read the thread."""
    subscriber = stream.handle.subscriber
    readable = stream.readable
    while (event := await subscriber.queue.get()) is not END:
        subscriber.taken(event)
        if event.event != PROTOCOL_EVENT:
            continue  # the thread's end (deleted) comes as an error, then END
        if not readable and not (readable := await stream.check()):
            return
        data = orjson.loads(event.data)
        if keep.matches(data):
            yield Event(event.id, str(data.get("method")), dumps(envelope(event.id, data)))
