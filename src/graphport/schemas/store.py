"""Store requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from graphport.schemas.common import (
    INT4_MAX,
    MAX_TTL_MINUTES,
    MIN_TTL_MINUTES,
    Json,
    Offset,
    RequestModel,
    ResponseModel,
)

# The operators LangGraph's AsyncPostgresStore compiles (anything else raises there).
EQUALITY_OPERATORS = frozenset({"$eq", "$ne"})
RANGE_OPERATORS = frozenset({"$gt", "$gte", "$lt", "$lte"})


def _check_labels(namespace: list[str]) -> list[str]:
    for label in namespace:
        if not label:
            raise ValueError("namespace labels must not be empty")
        if "." in label:
            raise ValueError(f"namespace label {label!r} must not contain '.'")
    return namespace


def check_filter(value: Json | None) -> Json | None:
    """A search filter: ``{field: value}`` (equality) or ``{field: {op: value, ...}}`` with
    ``$eq``/``$ne`` (any JSON) and ``$gt``/``$gte``/``$lt``/``$lte`` (a number or a string:
    the store compares the field's text). Anything else is a ValueError (422)."""
    for key, condition in (value or {}).items():
        if not isinstance(condition, dict):
            continue
        if not condition:
            raise ValueError(f"filter on {key!r}: an operator object must not be empty")
        for op, operand in condition.items():
            if op in EQUALITY_OPERATORS:
                continue
            if op not in RANGE_OPERATORS:
                known = ", ".join(sorted(EQUALITY_OPERATORS | RANGE_OPERATORS))
                raise ValueError(f"filter on {key!r}: unsupported operator {op!r} (use {known})")
            if isinstance(operand, bool) or not isinstance(operand, int | float | str):
                raise ValueError(f"filter on {key!r}: {op} needs a number or a string")
    return value


class _Namespaced(RequestModel):
    @field_validator("namespace", "namespace_prefix", "prefix", "suffix", check_fields=False)
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return _check_labels(value) if isinstance(value, list) else value


class StorePutRequest(_Namespaced):
    namespace: list[str]
    key: str = Field(min_length=1)
    value: Json
    index: bool | list[str] | None = None  # False: not indexed; a list: these fields
    # minutes, one second to 100 years
    ttl: float | None = Field(
        default=None, ge=MIN_TTL_MINUTES, le=MAX_TTL_MINUTES, allow_inf_nan=False
    )

    @field_validator("index", mode="after")
    @classmethod
    def _distinct_fields(cls, value: bool | list[str] | None) -> bool | list[str] | None:
        """A field named twice would be embedded twice in one statement (a 500)."""
        return list(dict.fromkeys(value)) if isinstance(value, list) else value


class StoreDeleteRequest(_Namespaced):
    namespace: list[str] = Field(default_factory=list)
    key: str = Field(min_length=1)


class StoreSearchRequest(_Namespaced):
    namespace_prefix: list[str] | None = None
    filter: Json | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Offset
    query: str | None = None
    refresh_ttl: bool | None = None

    @field_validator("filter", mode="after")
    @classmethod
    def _filter(cls, value: Json | None) -> Json | None:
        return check_filter(value)


class StoreListNamespacesRequest(_Namespaced):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1, le=INT4_MAX)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Offset


class Item(ResponseModel):
    """A stored document: ``value`` under ``key`` in ``namespace``."""

    namespace: list[str]
    key: str
    value: Json
    created_at: datetime
    updated_at: datetime


class SearchItem(Item):
    score: float | None = Field(description="Similarity to ``query`` (null without one).")


class SearchItemsResponse(ResponseModel):
    items: list[SearchItem]


class ListNamespaceResponse(ResponseModel):
    namespaces: list[list[str]]
