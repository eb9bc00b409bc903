"""Filters returned by ``@auth.on`` handlers, checked once: ``{"key": value}``,
``{"key": {"$eq": value}}`` and ``{"key": {"$contains": value-or-list}}``, ANDed.

Repositories compile them to JSONB conditions on the resource's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Operator = Literal["$eq", "$contains"]
_OPERATORS = ("$eq", "$contains")


class InvalidFilter(Exception):
    """A handler returned a filter graphport cannot apply (a bug in the auth file)."""


@dataclass(frozen=True, slots=True)
class Condition:
    key: str
    op: Operator
    value: Any


AuthFilter = tuple[Condition, ...]


def parse_filter(raw: dict[Any, Any]) -> AuthFilter:
    conditions: list[Condition] = []
    for key, spec in raw.items():
        if not isinstance(key, str) or not key:
            raise InvalidFilter(f"filter keys must be non-empty strings, got {key!r}")
        if not isinstance(spec, dict):
            conditions.append(Condition(key, "$eq", spec))
            continue
        if not spec:
            raise InvalidFilter(f"filter on {key!r} names no operator")
        for op, value in spec.items():
            if op not in _OPERATORS:
                raise InvalidFilter(f"filter on {key!r} uses {op!r}; supported: $eq, $contains")
            conditions.append(Condition(key, op, value))
    return tuple(conditions)


def satisfying(scope: AuthFilter | None, metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` made to satisfy ``scope``: what a thread the server creates on a
    caller's behalf (a run with ``if_not_exists=create``, a stateless run) carries, so that
    its creator sees it afterwards and a client's metadata cannot hand it to someone else.
    An ``$eq`` key takes the filter's value; a ``$contains`` key keeps its list and gains
    the values it lacks (a value that is not a list is replaced)."""
    stamped = dict(metadata)
    for cond in scope or ():
        if cond.op == "$eq":
            stamped[cond.key] = cond.value
        else:
            wanted = cond.value if isinstance(cond.value, list) else [cond.value]
            current = stamped.get(cond.key)
            held = list(current) if isinstance(current, list) else []
            held.extend(v for v in wanted if v not in held)
            stamped[cond.key] = held
    return stamped
