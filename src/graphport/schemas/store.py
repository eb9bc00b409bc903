"""Store requests, named as in the API."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from graphport.schemas.common import Json, RequestModel


def _check_labels(namespace: list[str]) -> list[str]:
    for label in namespace:
        if not label:
            raise ValueError("namespace labels must not be empty")
        if "." in label:
            raise ValueError(f"namespace label {label!r} must not contain '.'")
    return namespace


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
    ttl: float | None = Field(default=None, gt=0)  # minutes


class StoreDeleteRequest(_Namespaced):
    namespace: list[str] = Field(default_factory=list)
    key: str = Field(min_length=1)


class StoreSearchRequest(_Namespaced):
    namespace_prefix: list[str] | None = None
    filter: Json | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreListNamespacesRequest(_Namespaced):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
