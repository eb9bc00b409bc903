"""The langgraph.json model: the official format, read once at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from graphport.errors import ConfigError
from graphport.http_config import HttpConfig


class GraphSpec(BaseModel):
    """One entry of ``graphs``: ``"./file.py:attr"`` or ``{"path": ..., "description": ...}``."""

    model_config = ConfigDict(extra="allow")

    path: str
    description: str | None = None


class ThreadTTLConfig(BaseModel):
    """``checkpointer.ttl``: threads expire ``default_ttl`` minutes after their last update."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["delete"] = "delete"
    default_ttl: float | None = Field(default=None, gt=0)
    sweep_interval_minutes: float = Field(default=5, gt=0)


class CheckpointerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    ttl: ThreadTTLConfig | None = None


class LanggraphConfig(BaseModel):
    """Keys later features read (auth, store) are kept as given; ``http`` is checked here."""

    model_config = ConfigDict(extra="allow")

    graphs: dict[str, GraphSpec] = Field(default_factory=dict)
    dependencies: list[str] = Field(default_factory=list)
    env: dict[str, str] | str | None = None
    auth: dict[str, Any] | None = None
    store: dict[str, Any] | None = None
    checkpointer: CheckpointerConfig = Field(default_factory=CheckpointerConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    webhooks: dict[str, Any] | None = None
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("graphs", mode="before")
    @classmethod
    def _graph_strings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}

    @field_validator("checkpointer", "http", mode="before")
    @classmethod
    def _null_section(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_as_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


def load_config(path: Path) -> LanggraphConfig:
    """Read and validate langgraph.json; every problem names the file and the key."""
    path = path.resolve()
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    try:
        config = LanggraphConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {_message(e)}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    config.base_dir = path.parent
    return config


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")
