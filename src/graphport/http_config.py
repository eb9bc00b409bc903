"""The ``http`` section of langgraph.json, with the keys the official server documents.

Every key graphport implements is read; the ones it cannot honour are refused at startup
with a message saying so, never ignored. Unknown keys are refused too (the official server
ignores them silently, so a typo there disables nothing)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Accepted and without effect: graphport serves no generative-UI routes.
ABSENT_FEATURES = ("disable_ui",)

_UNSUPPORTED = {
    "mount_prefix": "graphport serves its routes at the root; put a reverse proxy in "
    "front that strips the prefix (or run uvicorn with --root-path)",
}


class CorsConfig(BaseModel):
    """``http.cors``: a key left out keeps graphport's default (any origin, any method and
    header, ``Location``/``Content-Location``/``X-Pagination-*`` exposed, 600 s preflight
    cache). Given, a list replaces the default list."""

    model_config = ConfigDict(extra="forbid")

    allow_origins: list[str] | None = None
    allow_origin_regex: str | None = None
    allow_methods: list[str] | None = None
    allow_headers: list[str] | None = None
    allow_credentials: bool = False
    expose_headers: list[str] | None = None
    max_age: int = Field(default=600, ge=0)

    @field_validator("allow_origin_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class HeaderPatterns(BaseModel):
    """Header name patterns (``*`` is the only wildcard; names compare lower-cased).
    ``include``/``exclude`` are accepted for ``includes``/``excludes``, as officially."""

    model_config = ConfigDict(extra="forbid")

    includes: list[str] | None = None
    excludes: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _singular_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        for plural in ("includes", "excludes"):
            singular = value.pop(plural[:-1], None)
            if not value.get(plural) and singular is not None:
                value[plural] = singular
        return value


class HttpConfig(BaseModel):
    """``http``: a custom app beside the API, CORS, route groups to leave out, which
    request headers a run's ``config.configurable`` receives."""

    model_config = ConfigDict(extra="forbid")

    app: str | None = None
    cors: CorsConfig | None = None
    disable_assistants: bool = False
    disable_threads: bool = False
    disable_runs: bool = False
    disable_store: bool = False
    disable_meta: bool = False
    disable_webhooks: bool = False
    disable_mcp: bool = False
    disable_a2a: bool = False
    disable_ui: bool = False
    configurable_headers: HeaderPatterns | None = None
    logging_headers: HeaderPatterns | None = None
    enable_custom_route_auth: bool = False
    middleware_order: Literal["auth_first", "middleware_first"] = "middleware_first"

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for key, why in _UNSUPPORTED.items():
            if key in value:
                raise ValueError(f"{key} is not supported by graphport: {why}")
        unknown = sorted(str(k) for k in value if k not in cls.model_fields)
        if unknown:
            known = ", ".join(cls.model_fields)
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known keys: {known}")
        if value.get("middleware_order") is None:
            value = {k: v for k, v in value.items() if k != "middleware_order"}
        return value

    @field_validator("logging_headers")
    @classmethod
    def _no_logged_headers(cls, value: HeaderPatterns | None) -> HeaderPatterns | None:
        # graphport's logs carry no request headers: excludes hold, includes cannot
        if value is not None and value.includes:
            raise ValueError(
                "includes is not supported: graphport logs no request headers "
                "(excludes are accepted: nothing is logged)"
            )
        return value

    @field_validator("app")
    @classmethod
    def _app_spec(cls, value: str | None) -> str | None:
        if value is not None:
            location, sep, attr = value.rpartition(":")
            if not sep or not location or not attr:
                raise ValueError(
                    f"{value!r} must look like './file.py:app' or 'package.module:app'"
                )
        return value
