"""JSON-RPC 2.0 envelopes shared by A2A and MCP: reading a request body, answering results
and errors. Error codes are the specification's; A2A adds its own in the -32001.. range."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from graphport.api.parsing import BodyRejected, parse_body

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

RequestId = str | int | float | None
M = TypeVar("M", bound=BaseModel)


class RpcError(Exception):
    """A JSON-RPC error: answered in-band as ``{"error": {"code", "message"[, "data"]}}``."""

    def __init__(
        self, code: int, message: str, data: Any = None, *, request_id: RequestId = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.request_id = request_id  # when read before the request was understood

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass(frozen=True)
class RpcMessage:
    """One JSON-RPC message: a request (``id`` and ``method``), a notification (``method``
    only) or a response sent to the server (``id`` with ``result`` or ``error``)."""

    id: RequestId
    method: str | None
    params: Any = field(default=None)
    has_id: bool = False
    is_response: bool = False


def read_message(body: bytes, *, strict_ids: bool = False) -> RpcMessage:
    """Parse one JSON-RPC 2.0 message from a request body.

    Raises ``RpcError``: -32700 for a body that is not JSON, -32600 for anything that is not
    a single JSON-RPC 2.0 object (a batch included) or an ``id`` that cannot be echoed
    exactly (not a string, a number or null; an integer beyond 64 bits, which JSON readers
    turn into a float); with ``strict_ids`` (MCP) only strings and integers. -32601 for a
    ``method`` that is not a string (as the A2A TCK expects). The error carries the
    request's id where one could be read."""
    try:
        value = parse_body(body)
    except BodyRejected as exc:
        raise RpcError(PARSE_ERROR, f"Parse error: {exc.msg}") from None
    if isinstance(value, list):
        raise RpcError(INVALID_REQUEST, "Invalid request: batches are not supported")
    if not isinstance(value, dict):
        raise RpcError(INVALID_REQUEST, "Invalid request: expected a JSON object")
    raw_id = value.get("id")
    if not _echoable(raw_id, "id" in value, strict=strict_ids):
        kinds = "a string or an integer" if strict_ids else "a string, a number or null"
        raise RpcError(INVALID_REQUEST, f"Invalid request: 'id' must be {kinds} (64-bit at most)")
    if value.get("jsonrpc") != "2.0":
        raise RpcError(
            INVALID_REQUEST, "Invalid request: 'jsonrpc' must be \"2.0\"", request_id=raw_id
        )
    method = value.get("method")
    is_response = "method" not in value and ("result" in value or "error" in value)
    if method is None and not is_response:
        raise RpcError(INVALID_REQUEST, "Invalid request: 'method' is missing", request_id=raw_id)
    if method is not None and not isinstance(method, str):
        raise RpcError(
            METHOD_NOT_FOUND, "Method not found: 'method' must be a string", request_id=raw_id
        )
    return RpcMessage(
        id=raw_id,
        method=method,
        params=value.get("params"),
        has_id="id" in value,
        is_response=is_response,
    )


def _echoable(raw_id: Any, present: bool, *, strict: bool) -> bool:
    if isinstance(raw_id, bool):
        return False
    if isinstance(raw_id, str):
        return True
    if isinstance(raw_id, int):
        return -(2**63) <= raw_id < 2**64
    if raw_id is None:
        return not (strict and present)
    return isinstance(raw_id, float) and not strict and abs(raw_id) < 2**63


def result_body(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_body(request_id: RequestId, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.body()}


def accepts(accept: str | None, media_type: str) -> bool:
    """Whether an ``Accept`` header admits ``media_type`` (``*/*`` and ``type/*`` count).
    No header at all admits nothing: these protocols require clients to send one."""
    if not accept:
        return False
    wanted = media_type.lower()
    top = wanted.split("/", 1)[0]
    for item in accept.split(","):
        candidate = item.split(";", 1)[0].strip().lower()
        if candidate in ("*/*", wanted, f"{top}/*"):
            return True
    return False


def parse_params(model: type[M], params: Any) -> M:
    """A method's ``params`` (absent: ``{}``) read with the protocol's typed model.
    Raises ``RpcError`` -32602 naming each problem."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "Invalid params: expected an object")
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise RpcError(INVALID_PARAMS, f"Invalid params: {problems}") from None


def dump_model(model: BaseModel) -> dict[str, Any]:
    """A protocol model as its wire JSON: field aliases (``contextId``), no nulls."""
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped
