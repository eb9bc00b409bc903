"""Streaming routes: create-and-stream, join a run's stream, join a thread's stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, get_args
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query

from graphport.api.deps import CurrentActor, RequestHeaders, Streams
from graphport.api.parsing import StrictRoute
from graphport.api.responses import (
    EVENT_STREAM,
    RUN_CREATE_ERRORS,
    STATELESS_RUN_ERRORS,
    errors,
)
from graphport.api.sse import SSEResponse, stream_headers
from graphport.errors import InvalidInput
from graphport.execution.broker import THREAD_MODES
from graphport.schemas.runs import RunCreateStateful, RunCreateStateless, StreamMode
from graphport.services.streams import StreamHandle

router = APIRouter(tags=["Thread Runs"], route_class=StrictRoute)
stateless = APIRouter(prefix="/runs", tags=["Stateless Runs"], route_class=StrictRoute)
threads = APIRouter(tags=["Thread Runs"], route_class=StrictRoute)  # a thread's, not a run's

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
Modes = Annotated[list[str] | None, Query()]
# a join may also ask for the ``metadata`` event, as the official server allows
_RUN_MODES = {*get_args(StreamMode), "metadata"}


def _split(raw: list[str] | None) -> list[str]:
    """Repeated and comma-separated values alike; the SDK sends an empty one for "all"."""
    return [m.strip() for value in raw or [] for m in value.split(",") if m.strip()]


def _modes(raw: list[str] | None) -> list[str] | None:
    """Run stream modes to keep (None: all)."""
    modes = _split(raw)
    unknown = sorted(set(modes) - _RUN_MODES)
    if unknown:
        raise InvalidInput(f"unknown stream mode(s): {', '.join(unknown)}")
    return modes or None


def _thread_modes(*raw: list[str] | None) -> list[str] | None:
    """Thread stream modes (``lifecycle``, ``run_modes``, ``state_update``; None: the
    default, ``run_modes``). 422 for any other, with the official server's message."""
    modes = [m for values in raw for m in _split(values)]
    for mode in modes:
        if mode not in THREAD_MODES:
            raise InvalidInput(f"Invalid stream mode: {mode}")
    return modes or None


# Joining a run the caller cannot see gives a stream with one error event, not a 404.
JOIN = {**EVENT_STREAM, **errors(422)}


def _response(handle: StreamHandle) -> SSEResponse:
    return SSEResponse(
        handle.subscriber,
        with_ids=handle.with_ids,
        on_close=handle.on_close,
        headers=stream_headers(handle.location, handle.content_location),
    )


@router.post(
    "/threads/{thread_id}/runs/stream",
    response_class=SSEResponse,
    status_code=200,
    responses={**EVENT_STREAM, **RUN_CREATE_ERRORS},
)
async def stream_run(
    thread_id: UUID,
    body: RunCreateStateful,
    streams: Streams,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> SSEResponse:
    return _response(await streams.stream_new_run(thread_id, body, actor=actor, headers=headers))


@stateless.post(
    "/stream",
    response_class=SSEResponse,
    status_code=200,
    responses={**EVENT_STREAM, **STATELESS_RUN_ERRORS},
)
async def stream_stateless_run(
    body: RunCreateStateless, streams: Streams, actor: CurrentActor, headers: RequestHeaders
) -> SSEResponse:
    return _response(await streams.stream_new_run(None, body, actor=actor, headers=headers))


@dataclass
class JoinOptions:
    """Query and headers of a run join: where to resume, which modes, leave = cancel?"""

    last_event_id: str | None
    modes: list[str] | None
    cancel_on_disconnect: bool


def join_options(
    last_event_id: LastEventId = None,
    stream_mode: Modes = None,
    cancel_on_disconnect: Annotated[bool, Query()] = False,
) -> JoinOptions:
    return JoinOptions(last_event_id, _modes(stream_mode), cancel_on_disconnect)


Join = Annotated[JoinOptions, Depends(join_options)]


@router.get(
    "/threads/{thread_id}/runs/{run_id}/stream",
    response_class=SSEResponse,
    status_code=200,
    responses=JOIN,
)
async def join_run_stream(
    thread_id: UUID, run_id: UUID, streams: Streams, actor: CurrentActor, options: Join
) -> SSEResponse:
    return _response(await streams.join_run(thread_id, run_id, **vars(options), actor=actor))


@stateless.get("/{run_id}/stream", response_class=SSEResponse, status_code=200, responses=JOIN)
async def join_stateless_run_stream(
    run_id: UUID, streams: Streams, actor: CurrentActor, options: Join
) -> SSEResponse:
    return _response(await streams.join_run(None, run_id, **vars(options), actor=actor))


@threads.get(
    "/threads/{thread_id}/stream",
    response_class=SSEResponse,
    status_code=200,
    responses={**EVENT_STREAM, **errors(404, 422)},
)
async def join_thread_stream(
    thread_id: UUID,
    streams: Streams,
    actor: CurrentActor,
    last_event_id: LastEventId = None,
    stream_modes: Modes = None,
    stream_mode: Annotated[
        list[str] | None, Query(description="As ``stream_modes`` (the SDK's name for it).")
    ] = None,
) -> SSEResponse:
    modes = _thread_modes(stream_modes, stream_mode)
    handle = await streams.join_thread(
        thread_id, last_event_id=last_event_id, modes=modes, actor=actor
    )
    return _response(handle)
