"""JSON encoding shared by responses, SSE events, webhooks and every JSON(B) value written to
Postgres (our tables, LangGraph's checkpoints and store), and the normalisation of values that
JSON, JSONB or msgpack cannot hold as they are.

``dumps`` never raises and what it writes always reads back (README, "Values"):

- NUL (U+0000) becomes U+FFFD: JSONB refuses ``\\u0000``, so storage, streams and responses
  agree on the replacement (a cheap byte check; the official server does the same).
- Lone surrogates become U+FFFD (they are not Unicode text; orjson and Postgres refuse them).
- Integers outside [-2**63, 2**64 - 1] become floats, as when they are parsed; beyond the float
  range, null.
- NaN and +-Infinity become null (orjson's rule).
- Containers nested deeper than ``MAX_DEPTH`` are replaced by the string ``TOO_DEEP``.

The fast path is one ``orjson.dumps``; only a value it refuses pays for a Python walk.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from langchain_core.messages import BaseMessage
from langgraph.types import Send
from langgraph_sdk.auth.types import StudioUser
from pydantic import BaseModel

logger = logging.getLogger(__name__)

# orjson refuses 255 nested containers and msgpack 256; stay well under both so that what
# the server wraps around a value (responses, events, checkpoints) still fits.
MAX_DEPTH = 200
TOO_DEEP = "[too deep]"

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_NUL_ESCAPE = b"\\u0000"
# a \u0000 escape, not an escaped backslash followed by "u0000": an even run of backslashes
_NUL_ESCAPES = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
_REPLACEMENT = "\ufffd".encode()
_NATIVE_KEYS = (bool, float, type(None), datetime, date, time, UUID)


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
    """``value`` as JSON (UTF-8 bytes), normalised as the module docstring says. Never raises."""
    try:
        out = orjson.dumps(value, default=json_default, option=orjson.OPT_NON_STR_KEYS)
    except Exception:  # surrogates, big ints, too deep, a failing model_dump: walk it
        out = _dumps_plain(value)
    return replace_nul_escapes(out) if _NUL_ESCAPE in out else out


def json_values(value: Any) -> Any:
    """``value`` as the JSON values ``dumps`` writes (LangChain messages as dicts, ...)."""
    return orjson.loads(dumps(value))


def dumps_text(value: Any) -> str:
    """``dumps`` as text, for drivers that take JSON as ``str`` (SQLAlchemy, psycopg)."""
    return dumps(value).decode()


def replace_nul_escapes(document: bytes) -> bytes:
    """Replace every ``\\u0000`` escape of a JSON document by U+FFFD (UTF-8)."""
    return _NUL_ESCAPES.sub(rb"\1" + _REPLACEMENT, document)


def loads_stored(document: bytes | str) -> Any:
    """Decode JSON read back from Postgres: orjson when it can (fast; integers beyond 64 bits
    come back as floats, as ``dumps`` writes them), else the standard library (numbers
    beyond the float range, nesting over 1024); a document nested too deep for either is
    ``TOO_DEEP``. Never raises on what Postgres returns."""
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(document)
    except RecursionError:
        logger.warning("a stored JSON value is nested too deep to decode")
        return TOO_DEEP


def _dumps_plain(value: Any) -> bytes:
    try:
        return orjson.dumps(_plain(value, 1), option=orjson.OPT_NON_STR_KEYS)
    except Exception:  # _plain leaves nothing orjson refuses; never fail a caller anyway
        logger.exception("a value could not be encoded as JSON even after normalising")
        return b"null"


def _plain(value: Any, depth: int) -> Any:
    """``value`` as plain JSON data: dicts, lists, text, numbers, normalised."""
    if isinstance(value, str):
        return text(value)
    if value is None or isinstance(value, (bool, float, datetime, date, time, UUID)):
        return value
    if isinstance(value, int):
        return number(value)
    if depth > MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in value]
    try:
        converted = json_default(value)
    except Exception:  # a model_dump that fails: its repr still says what it was
        converted = object.__repr__(value)
    return _plain(converted, depth + 1)


def _key(key: Any) -> Any:
    if isinstance(key, str):
        return text(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key if _INT_MIN <= key <= _INT_MAX else str(key)
    return key if isinstance(key, _NATIVE_KEYS) else text(str(key))


def text(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD (valid pairs are joined)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def number(value: int) -> int | float | None:
    """An integer JSON/JSONB/msgpack round-trip: as is within 64 bits, else a float (null
    beyond the float range)."""
    if _INT_MIN <= value <= _INT_MAX:
        return value
    try:
        return float(value)
    except OverflowError:
        return None


def normalise(value: Any, depth: int = 1) -> Any:
    """``value`` with what msgpack or JSON refuses replaced, keeping every type it can (dicts,
    lists, tuples, pydantic models such as messages, dataclasses such as interrupts, sends): for
    checkpoints, which must come back as the objects the graph wrote. Unchanged parts stay
    the same objects; other types are left as they are."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, (dict, list, tuple, BaseModel, Send)) or _is_dataclass(value):
        return TOO_DEEP if depth > MAX_DEPTH else _normalise_container(value, depth + 1)
    return value


def _is_dataclass(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _normalise_container(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        pairs = [(normalise(k, depth), normalise(v, depth)) for k, v in value.items()]
        same = all(a is k and b is v for (a, b), (k, v) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if isinstance(value, (list, tuple)):
        parts = [normalise(v, depth) for v in value]
        if all(a is b for a, b in zip(parts, value, strict=True)):
            return value
        if isinstance(value, list):
            return parts
        return value._make(parts) if hasattr(value, "_make") else tuple(parts)
    if isinstance(value, Send):
        arg = normalise(value.arg, depth)
        return value if arg is value.arg else Send(value.node, arg, timeout=value.timeout)
    if isinstance(value, BaseModel):
        fields = dict(value.__dict__)
    else:
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    changes = {k: new for k, v in fields.items() if (new := normalise(v, depth)) is not v}
    if not changes:
        return value
    if isinstance(value, BaseModel):
        return value.model_copy(update=changes)
    try:
        return dataclasses.replace(value, **changes)
    except (TypeError, ValueError):  # fields the constructor does not take: keep it whole
        return value
