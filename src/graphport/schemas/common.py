"""Pieces shared by every request model, and the bounds every number must stay within.

The bounds are what storage and Python can hold (Postgres int4, ``timedelta``, ``datetime``
up to year 9999) with room to spare; a value outside them is a 422, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from graphport.schemas.unknown import note_unknown_fields

SortOrder = Literal["asc", "desc"]
IfExists = Literal["raise", "do_nothing"]
Json = dict[str, Any]

INT4_MAX = 2**31 - 1
"""Largest offset, version, depth or recursion limit (Postgres ``integer``)."""
_CENTURY_MINUTES = 36525 * 24 * 60  # 100 years of 365.25 days
MAX_TTL_MINUTES = float(_CENTURY_MINUTES)
"""Longest time to live: 100 years, in minutes."""
MIN_TTL_MINUTES = 1 / 60
"""Shortest time to live: one second, in minutes."""
MAX_AFTER_SECONDS = float(_CENTURY_MINUTES * 60)
"""Longest delay before a run starts: 100 years, in seconds."""
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)
"""Dates (a cron's ``end_time``) must fall in [EARLIEST_TIME, LATEST_TIME)."""


def _closed_schema(schema: JsonDict) -> None:
    # extra fields are taken only to be dropped: the document names the fields that count
    schema.pop("additionalProperties", None)


class RequestModel(BaseModel):
    """A request body (or an object inside one). A field no API version defines is dropped
    and noted (``schemas/unknown.py``: logged once, counted in ``/metrics``), as the
    official server ignores it: a newer SDK's optional field must not fail every call. A
    known field with a wrong type or value is still a 422."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_closed_schema)

    @model_validator(mode="after")
    def _drop_unknown_fields(self) -> Self:
        unknown = self.__pydantic_extra__
        if unknown:
            note_unknown_fields(type(self).__name__, unknown)
            self.__pydantic_fields_set__.difference_update(unknown)
            unknown.clear()  # never stored, never passed on
        return self


class ResponseModel(BaseModel):
    """A response shape, for the OpenAPI document only (handlers return JSON directly, never
    validated against it). It names every field the server sends: no others are allowed."""

    model_config = ConfigDict(extra="forbid")


def _nothing_required(schema: JsonDict) -> None:
    schema.pop("required", None)


SELECTABLE = ConfigDict(extra="forbid", json_schema_extra=_nothing_required)
"""Config of a response model for list items that honour ``select``: the same fields and
types as the full model, none of them required (``select`` may pick any subset)."""


Limit = Field(default=10, ge=1, le=1000)
Offset = Field(default=0, ge=0, le=INT4_MAX)


def bounded_time(value: datetime | None) -> datetime | None:
    """A date as UTC (a date without a zone is UTC), within [EARLIEST_TIME, LATEST_TIME)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
        raise ValueError("date out of range") from None
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValueError(
            f"date must be from {EARLIEST_TIME:%Y-%m-%d} to before {LATEST_TIME:%Y-%m-%d} (UTC)"
        )
    return value


INTERNAL_PREFIX = "__pregel_"
CHECKPOINT_KEYS = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")
"""The ``configurable`` keys LangGraph starts a run from (and looks checkpoints up by)."""


def checkpoint_key_problems(configurable: Json) -> list[str]:
    """What is wrong with the checkpoint keys present in ``configurable``, one message per
    key: ``checkpoint_id`` null or a non-empty string, ``checkpoint_ns`` a string,
    ``checkpoint_map`` an object of non-empty checkpoint ids by namespace. Any other value
    fails every run later (a type error, a storage error, or the checkpoint not looked up)."""
    problems = []
    if "checkpoint_id" in configurable:
        value = configurable["checkpoint_id"]
        if value is not None and not (isinstance(value, str) and value):
            problems.append("checkpoint_id must be a non-empty string or null")
    if "checkpoint_ns" in configurable and not isinstance(configurable["checkpoint_ns"], str):
        problems.append("checkpoint_ns must be a string")
    if "checkpoint_map" in configurable:
        mapped = configurable["checkpoint_map"]
        if not isinstance(mapped, dict) or not all(
            isinstance(v, str) and v for v in mapped.values()
        ):
            problems.append("checkpoint_map must be an object of checkpoint ids by namespace")
    return problems


class _ConfigShape(BaseModel):
    """The keys of a RunnableConfig that LangGraph reads, with the types it needs; other
    keys pass through untouched (``run_id`` and the ids in ``configurable`` are the run's
    own: the server sets them)."""

    model_config = ConfigDict(extra="allow")

    tags: list[StrictStr] | None = None
    metadata: Json | None = None
    configurable: Json | None = None
    run_name: StrictStr | None = None
    recursion_limit: StrictInt | None = Field(default=None, ge=1, le=INT4_MAX)
    max_concurrency: StrictInt | None = Field(default=None, ge=1, le=INT4_MAX)
    callbacks: Any = None

    @field_validator("callbacks", mode="after")
    @classmethod
    def _no_callbacks(cls, value: Any) -> Any:
        # LangChain calls each handler's methods: JSON cannot carry one
        if value is not None and value != []:
            raise ValueError("callback handlers cannot be sent over HTTP: give null or none")
        return value

    @field_validator("configurable", mode="after")
    @classmethod
    def _langgraph_keys(cls, value: Json | None) -> Json | None:
        # LangGraph passes its own machinery (the checkpointer, the task's send and read,
        # ...) under these keys: a value from a client would replace it and break the run
        if internal := sorted(k for k in value or {} if k.startswith(INTERNAL_PREFIX)):
            raise ValueError(f"keys starting with {INTERNAL_PREFIX!r} are LangGraph's: {internal}")
        if problems := checkpoint_key_problems(value or {}):
            raise ValueError("; ".join(problems))
        return value


def checked_config(value: Json | None) -> Json | None:
    """``value`` unchanged when it is a config LangGraph can take, else ValueError (422)."""
    if value is not None:
        try:
            _ConfigShape.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"config.{'.'.join(str(p) for p in e['loc'])}: "
                + e["msg"].removeprefix("Value error, ")
                for e in exc.errors()
            )
            raise ValueError(problems) from None
    return value
