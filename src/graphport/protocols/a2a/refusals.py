"""The services' refusals (``GraphportError``) as the JSON-RPC errors A2A clients get."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from graphport.errors import AuthRejected, Forbidden, GraphportError
from graphport.protocols.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, RpcError

T = TypeVar("T")


def refused(exc: GraphportError) -> RpcError:
    """403 -> -32602 ``Access denied: ...`` (as the official server answers), 5xx ->
    -32603, any other refusal -> -32602 with its detail."""
    if isinstance(exc, Forbidden | AuthRejected) and exc.status_code == 403:
        return RpcError(INVALID_PARAMS, f"Access denied: {exc.detail}")
    if exc.status_code >= 500:
        return RpcError(INTERNAL_ERROR, exc.detail)
    return RpcError(INVALID_PARAMS, exc.detail)


async def answered(work: Awaitable[T]) -> T:
    """Await a service call, its refusals raised as ``RpcError``."""
    try:
        return await work
    except GraphportError as exc:
        raise refused(exc) from None
