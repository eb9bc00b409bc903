"""The one error body every 4xx (and 5xx) answer carries (response shapes: the handlers in
``graphport/errors.py`` write the bodies)."""

from __future__ import annotations

from pydantic import Field

from graphport.schemas.common import ResponseModel


class ValidationIssue(ResponseModel):
    """One problem request validation found: where (``["body", "limit"]``), what, which kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(ResponseModel):
    """``detail`` is always a message, as on the official server: for a request that fails
    validation (422), each problem as ``where: why`` (``body.limit: Input should be less
    than or equal to 1000``), joined by ``"; "``; ``errors`` then lists them one by one."""

    detail: str
    errors: list[ValidationIssue] = Field(
        default_factory=list,
        description="Only on a 422 from request validation: every problem it found.",
    )
