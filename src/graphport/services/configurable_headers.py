"""Which request headers reach a graph's ``config["configurable"]``: langgraph.json
``http.configurable_headers``, read as the official server reads it.

- Without the setting no header does, but LangSmith's tracing ones (below).
- A header is passed when its name matches an ``includes`` pattern and no ``excludes``
  pattern; ``*`` is the only wildcard, names compare lower-cased.
- ``authorization``, ``x-api-key``, ``x-service-key`` and ``x-tenant-id`` never are, even
  when a pattern names them: they are credentials.
- ``langsmith-trace`` always is, with the ``langsmith-metadata`` (a JSON object),
  ``langsmith-tags`` (a list) and ``langsmith-project`` entries of ``baggage``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from graphport.http_config import HeaderPatterns

logger = logging.getLogger(__name__)

Headers = Mapping[str, str]

CREDENTIALS = frozenset({"authorization", "x-api-key", "x-service-key", "x-tenant-id"})
TRACE = "langsmith-trace"
_METADATA, _TAGS, _PROJECT = "langsmith-metadata", "langsmith-tags", "langsmith-project"


def _pattern(text: str) -> re.Pattern[str]:
    """A literal name with ``*`` wildcards (no other regex syntax: no costly patterns)."""
    return re.compile(".*".join(re.escape(part) for part in text.lower().split("*")), re.S)


class HeaderSelection:
    """Picks the configurable headers of a request (see the module docstring)."""

    def __init__(self, patterns: HeaderPatterns | None = None) -> None:
        self._includes = [_pattern(p) for p in (patterns.includes or [])] if patterns else []
        self._excludes = [_pattern(p) for p in (patterns.excludes or [])] if patterns else []
        self._decided: dict[str, bool] = {}

    def select(self, headers: Headers | None) -> dict[str, Any]:
        """``{name: value}`` of the headers passed (names lower-cased), plus the tracing
        entries; ``{}`` when there are none."""
        picked: dict[str, Any] = {}
        for name, value in (headers or {}).items():
            name = name.lower()
            if name == TRACE:
                picked[name] = value
                picked.update(_baggage(headers or {}))
            elif self._wanted(name):
                picked[name] = value
        return picked

    def apply(self, config: dict[str, Any], headers: Headers | None) -> dict[str, Any]:
        """``config`` with the picked headers over its ``configurable`` keys."""
        picked = self.select(headers)
        if not picked:
            return config
        return {**config, "configurable": {**(config.get("configurable") or {}), **picked}}

    def _wanted(self, name: str) -> bool:
        decided = self._decided.get(name)
        if decided is None:
            decided = (
                name not in CREDENTIALS
                and not any(p.fullmatch(name) for p in self._excludes)
                and any(p.fullmatch(name) for p in self._includes)
            )
            if len(self._decided) < 1024:  # names are few; a flood of odd ones is not kept
                self._decided[name] = decided
        return decided


def _baggage(headers: Headers) -> dict[str, Any]:
    """The LangSmith entries of the W3C ``baggage`` header that goes with a trace."""
    baggage = next((v for k, v in headers.items() if k.lower() == "baggage"), "")
    found: dict[str, Any] = {}
    for item in baggage.split(","):
        key, sep, raw = item.strip().partition("=")
        if not sep:
            continue
        if key == _METADATA and _METADATA not in found:
            try:
                metadata = orjson.loads(unquote(raw))
            except orjson.JSONDecodeError:
                metadata = None
            if isinstance(metadata, dict):
                found[key] = metadata
            else:
                logger.warning("ignoring a langsmith-metadata baggage entry: not a JSON object")
        elif key == _TAGS:
            found[key] = unquote(raw).split(",")
        elif key == _PROJECT:
            found[key] = unquote(raw)
    return found
