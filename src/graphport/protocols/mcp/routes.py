"""MCP's streamable HTTP transport at ``/mcp``, stateless (no ``Mcp-Session-Id``).

``POST`` carries one JSON-RPC message: a request is answered as JSON (or as one SSE event to
a client that accepts only ``text/event-stream``), a notification or a response with 202.
A body that is not one JSON-RPC message, an ``Accept`` that takes neither answer, or an
``MCP-Protocol-Version`` this server does not speak is a 400 ``{"detail": ...}`` (the
transport refuses it; MCP clients read the status). A browser page of another origin is
refused (403; ``trusted_origin``). ``GET`` is 405: this server opens no
stream of its own. ``DELETE`` ends no session (there are none): 404, as on the official server.
``/mcp/`` redirects to ``/mcp`` (Starlette's trailing-slash redirect)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from graphport.api.deps import MCP, Context, CurrentActor, RequestHeaders, departure_of
from graphport.api.responses import errors, hand_read_body, json_response
from graphport.http_config import CorsConfig
from graphport.protocols.jsonrpc import (
    INVALID_REQUEST,
    RpcError,
    accepts,
    error_body,
    read_message,
    result_body,
)
from graphport.protocols.mcp.service import PROTOCOL_VERSIONS
from graphport.serialization import dumps

router = APIRouter(tags=["MCP"])

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JSON-RPC response (as one SSE event to a client that accepts "
        "only text/event-stream)",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {}},
    },
    202: {"description": "A notification or a response, accepted"},
    **errors(
        400,
        403,
        413,
        reasons={
            400: "Not one JSON-RPC message, an Accept header that takes neither JSON nor "
            "SSE, or an MCP-Protocol-Version this server does not speak.",
            403: "A browser page of another origin (see trusted_origin).",
        },
    ),
}
_BODY = hand_read_body({"type": "object"})


def trusted_origin(origin: str | None, request: Request, cors: CorsConfig | None) -> bool:
    """Whether a browser's ``Origin`` may drive tools here, as MCP requires servers to check:
    a page whose name was rebound to this machine must not, and it looks same-origin (its
    ``Host`` is its own name), so only names the operator gave count. No ``Origin`` (not a
    browser), a loopback page calling a loopback server, or an origin ``http.cors`` names
    (``allow_origins``, ``*`` aside, or ``allow_origin_regex``)."""
    if origin is None:
        return True
    host = request.headers.get("host", "")
    parts = urlsplit(origin)
    if parts.hostname in _LOOPBACK and urlsplit(f"//{host}").hostname in _LOOPBACK:
        return True
    if cors is not None:
        if cors.allow_origins and origin in cors.allow_origins:
            return True
        if cors.allow_origin_regex and re.fullmatch(cors.allow_origin_regex, origin):
            return True
    return False


def _refused(error: RpcError) -> Response:
    return json_response({"detail": error.message}, status_code=400)


@router.post(
    "/mcp", summary="MCP JSON-RPC", response_model=None, responses=_ANSWERS, openapi_extra=_BODY
)
async def mcp_post(
    request: Request,
    service: MCP,
    context: Context,
    actor: CurrentActor,
    headers: RequestHeaders,
) -> Response:
    """One MCP message: ``initialize``, ``ping``, ``tools/list``, ``tools/call``,
    notifications."""
    if not trusted_origin(request.headers.get("origin"), request, context.config.http.cors):
        return json_response({"detail": "Origin not allowed for MCP"}, status_code=403)
    accept = request.headers.get("accept")
    wants_json = accepts(accept, "application/json")
    if not wants_json and not accepts(accept, "text/event-stream"):
        return _refused(
            RpcError(
                INVALID_REQUEST,
                "The Accept header must include application/json or text/event-stream",
            )
        )
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in PROTOCOL_VERSIONS:
        return _refused(RpcError(INVALID_REQUEST, f"Unsupported MCP-Protocol-Version: {version}"))
    try:
        message = read_message(await request.body(), strict_ids=True)
    except RpcError as exc:
        return _refused(exc)
    except ClientDisconnect:
        return Response(status_code=499)  # nobody reads it
    if message.is_response or not message.has_id or message.method is None:
        return Response(status_code=202)
    try:
        departure = departure_of(request)
        result = await service.call(
            message.method, message.params, actor=actor, headers=headers, departure=departure
        )
        body = result_body(message.id, result)
    except RpcError as exc:
        body = error_body(message.id, exc)
    if wants_json:
        return json_response(body)
    event = b"event: message\r\ndata: " + dumps(body) + b"\r\n\r\n"
    return Response(event, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/mcp", include_in_schema=False)
async def mcp_get() -> Response:
    return Response(status_code=405, headers={"Allow": "POST, DELETE"})


@router.delete("/mcp", include_in_schema=False)
async def mcp_delete() -> Response:
    return json_response(
        {"detail": "Session not found: this MCP server keeps no sessions"}, status_code=404
    )
