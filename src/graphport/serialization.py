"""JSON encoding shared by responses and JSONB columns."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from langchain_core.messages import BaseMessage
from langgraph_sdk.auth.types import StudioUser
from pydantic import BaseModel


def json_default(value: Any) -> Any:
    """Encode what orjson does not know natively; never fail on an odd value."""
    if isinstance(value, BaseMessage):
        # Same output as model_dump (fields in order, nested values encoded by orjson),
        # ten times faster: messages are most of a conversation's state.
        extra = value.__pydantic_extra__
        return {**value.__dict__, **extra} if extra else value.__dict__
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if callable(getattr(value, "model_dump", None)):  # e.g. the auth user graphs receive
        return value.model_dump()
    if isinstance(value, StudioUser):
        return {"identity": value.identity, "kind": "StudioUser"}
    return repr(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=json_default, option=orjson.OPT_NON_STR_KEYS)
