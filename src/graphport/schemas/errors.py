"""The one error body every 4xx (and 5xx) answer carries (response shapes: the handlers in
``graphport/errors.py`` write the bodies)."""

from __future__ import annotations

from graphport.schemas.common import ResponseModel


class ValidationIssue(ResponseModel):
    """One problem request validation found: where (``["body", "limit"]``), what, which kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(ResponseModel):
    """``detail`` is a message, or for a request that fails validation (422) the list of
    its problems."""

    detail: str | list[ValidationIssue]
