"""The one error body every 4xx (and 5xx) answer carries (response shapes: documentation
only, ``errors.py`` writes the bodies)."""

from __future__ import annotations

from pydantic import BaseModel


class ValidationIssue(BaseModel):
    """One problem request validation found: where (``["body", "limit"]``), what, which kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """``detail`` is a message, or for a request that fails validation (422) the list of
    its problems."""

    detail: str | list[ValidationIssue]
