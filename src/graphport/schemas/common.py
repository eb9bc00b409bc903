"""Pieces shared by every request model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SortOrder = Literal["asc", "desc"]
IfExists = Literal["raise", "do_nothing"]
Json = dict[str, Any]


class RequestModel(BaseModel):
    """Unknown fields are a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


Limit = Field(default=10, ge=1, le=1000)
Offset = Field(default=0, ge=0)
