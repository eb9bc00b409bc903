"""JSON responses encoded once with orjson (no response-model revalidation on the hot path),
and the response declarations routes share in the OpenAPI document.

Response models (``response_model=``, ``"model"``) document shapes only: a handler that
returns a ``Response`` is never validated against them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from graphport.schemas.runs import Empty
from graphport.serialization import dumps

Responses = dict[int | str, dict[str, Any]]

ERROR_SCHEMA_REF = "#/components/schemas/ErrorResponse"

# What each error status means, wherever it is declared. Every error body is ErrorResponse.
_ERRORS = {
    400: "Bad request.",
    404: "Not found: a resource the request names does not exist (or is hidden from the "
    "caller by custom auth).",
    409: "Conflict with the current state: the resource exists already, or a thread is busy.",
    413: "Request body too large (GRAPHPORT_MAX_BODY_BYTES).",
    422: "Invalid request: ``detail`` says which field is wrong and why (request validation "
    "also lists its problems in ``errors``), or which value is refused.",
    500: "Internal error.",
    503: "The server is shutting down before the run ended (the run resumes on the next "
    "server); try again.",
}
BODY = (413, 422)
"""What every operation with a request body may answer besides its own errors."""


def errors(*statuses: int, reasons: dict[int, str] | None = None) -> Responses:
    """``{"detail": ...}`` answers (ErrorResponse) for ``statuses``; ``reasons`` replaces
    the common description of a status for one operation. Written as content, not
    ``"model"``: FastAPI would put a model under a stream route's ``text/event-stream``."""
    why = {**_ERRORS, **(reasons or {})}
    return {
        status: {
            "description": why[status],
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
        }
        for status in statuses
    }


def _header(description: str, *, required: bool = True, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": kind}}


PAGINATED: Responses = {
    200: {
        "headers": {
            "X-Pagination-Total": _header("How many match in all.", kind="integer"),
            "X-Pagination-Next": _header(
                "The offset of the next page, when more may follow.",
                required=False,
                kind="integer",
            ),
        }
    }
}
"""The headers of a search answer (its items are the 200's body)."""
_RUN_AT = _header("The run: ``/threads/{thread_id}/runs/{run_id}``.")
RUN_CREATED: Responses = {200: {"headers": {"Content-Location": _RUN_AT}}}
RUN_WAITED: Responses = {
    200: {
        "headers": {
            "Location": _header("Where to join the run (``.../join``)."),
            "Content-Location": _RUN_AT,
        }
    }
}


# Groups several operations share.
_RUN_CREATE_REASONS = {
    404: "No such thread (without if_not_exists=create), assistant, or checkpoint.",
    409: "The thread is busy and multitask_strategy is reject.",
    422: "Invalid request, or a run that cannot start: an unknown graph, webhook, node or "
    "state key.",
}
RUN_CREATE_ERRORS = errors(404, 409, *BODY, reasons=_RUN_CREATE_REASONS)
"""Creating a run on a thread: background, wait and stream alike."""
STATELESS_RUN_ERRORS = errors(404, *BODY, reasons=_RUN_CREATE_REASONS)
"""Creating a run on a thread of its own (no thread to be busy)."""
STATE_ERRORS = errors(
    404,
    409,
    422,
    reasons={
        404: "No such thread (or checkpoint).",
        # reading replays stored writes through the graph's reducers
        409: "The thread's state holds writes its graph refuses: it cannot be read.",
    },
)
"""Reading a thread's state or history."""
CRON_WRITE_ERRORS = errors(
    404,
    *BODY,
    reasons={
        404: "No such assistant (or thread, or checkpoint the run names).",
        422: "Invalid request, or runs that could not start: a schedule that never fires, "
        "an unknown timezone, graph, webhook or node.",
    },
)
"""Creating or changing a cron: its runs are checked as a new run's would be."""
CANCELLED: Responses = {
    200: {"model": Empty, "description": "With ``wait=true``: the run has ended."},
    202: {"model": Empty, "description": "The run is asked to stop (pending runs end at once)."},
}


STREAM_EVENT = {
    "title": "StreamEvent",
    "type": "object",
    "description": "One server-sent event (lines end with CRLF; an idle stream gets a "
    "``: heartbeat`` comment every few seconds).",
    "properties": {
        "event": {
            "type": "string",
            "description": "``metadata`` first, then the stream mode (``values``, "
            "``updates``, ``messages/partial``, ...; ``mode|ns:task`` from subgraphs), or "
            "``error``.",
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "One JSON value.",
        },
        "id": {
            "type": "string",
            "description": "Resumable runs and thread streams only: resume after it with "
            "``Last-Event-ID``.",
        },
    },
    "required": ["event", "data"],
}
"""A component schema of its own (``openapi.py`` adds it): no model describes it."""
_EVENT_REF = {"$ref": "#/components/schemas/StreamEvent"}
EVENT_STREAM: Responses = {
    200: {
        "description": "An event stream: the run's events until it ends (a thread's stream "
        "stays open). Joining a run the caller cannot see gives one ``error`` event.",
        "content": {
            "text/event-stream": {
                "itemSchema": _EVENT_REF,
                # beside itemSchema, schema covers the whole stream: its events, in order
                "schema": {"type": "array", "items": _EVENT_REF},
            }
        },
    }
}


def hand_read_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting the JSON body of an operation that reads its body
    itself (a protocol's envelope, not a request model): ``schema`` is its JSON schema."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def json_response(
    content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        dumps(content), status_code=status_code, headers=headers, media_type="application/json"
    )


def pagination_headers(total: int, next_offset: int | None) -> dict[str, str]:
    headers = {"X-Pagination-Total": str(total)}
    if next_offset is not None:
        headers["X-Pagination-Next"] = str(next_offset)
    return headers
