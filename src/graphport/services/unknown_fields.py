"""Counting and logging request fields no API version defines (``schemas/unknown.py``
notes them; the request is served without them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from graphport.schemas.unknown import UnknownField

logger = logging.getLogger(__name__)

MAX_FIELD_NAMES = 100
"""Distinct field names counted by name; later ones are counted as ``OTHER``, so that
clients cannot grow the metric's label set (or the log) without bound."""
OTHER = "other"
MAX_NAME_CHARS = 100
"""Longest field name kept whole; a longer one is cut (and marked) before it is counted,
labelled or logged, so one request cannot put megabytes into the metrics or the log."""


def short_name(name: str) -> str:
    """``name``, or its first ``MAX_NAME_CHARS`` characters and a mark of how many went."""
    if len(name) <= MAX_NAME_CHARS:
        return name
    return f"{name[:MAX_NAME_CHARS]}…(+{len(name) - MAX_NAME_CHARS} chars)"


class UnknownFieldCounter:
    """Per process: each (route, model, field) is logged once at WARNING; every request
    that carried a field counts once in ``graphport_unknown_request_fields_total``
    (labels ``method``, ``route``, ``field``) and in ``snapshot()``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "graphport_unknown_request_fields",
            "Requests that carried a field no API version defines (ignored), by field",
            ["method", "route", "field"],
            registry=registry,
        )
        self._names: set[str] = set()
        self._logged: set[tuple[str, str, str, str]] = set()
        self._counts: dict[tuple[str, str, str], int] = {}

    def record(self, method: str, route: str, fields: Iterable[UnknownField]) -> None:
        """Count and (the first time) log the unknown ``fields`` of one request."""
        counted: set[str] = set()
        for model, whole in dict.fromkeys(fields):
            name = short_name(whole)
            label = self._label(name)
            self._log_once(method, route, model, name, label)
            if label not in counted:
                counted.add(label)
                self._counter.labels(method, route, label).inc()
                key = (method, route, label)
                self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> list[dict[str, Any]]:
        """``[{"method", "route", "field", "count"}, ...]`` in order of first notice."""
        return [
            {"method": method, "route": route, "field": field, "count": count}
            for (method, route, field), count in self._counts.items()
        ]

    def _label(self, name: str) -> str:
        if name in self._names:
            return name
        if len(self._names) >= MAX_FIELD_NAMES:
            return OTHER
        self._names.add(name)
        return name

    def _log_once(self, method: str, route: str, model: str, name: str, label: str) -> None:
        key = (method, route, model, label)
        if key in self._logged:
            return
        self._logged.add(key)
        if label == OTHER:
            logger.warning(
                "%s %s: ignored field %r of %s, which no API version defines; past %d "
                "distinct names, further ones are counted as %r and not logged",
                method,
                route,
                name,
                model,
                MAX_FIELD_NAMES,
                OTHER,
            )
        else:
            logger.warning(
                "%s %s: ignored field %r of %s, which no API version defines (a newer "
                "client?); logged once",
                method,
                route,
                name,
                model,
            )
