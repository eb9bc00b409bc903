"""JSON responses encoded once with orjson (no response-model revalidation on the hot path)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from graphport.serialization import dumps


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
