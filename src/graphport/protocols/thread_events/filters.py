"""What a thread event stream (an SSE connection or a WebSocket subscription) asks for:
channels, namespaces and depth, as the official server reads them.

Channels: ``values updates messages tools custom lifecycle input tasks checkpoints`` and
``custom:<name>`` (a ``custom`` event whose ``data.name`` is ``name``); the ``input``
channel carries ``input.requested`` events. A namespace filter matches an event's namespace
by prefix, a segment without ``:`` matching any task of that node (``node`` matches
``node:<task_id>``); ``depth`` bounds how many segments below the prefix are included. No
namespaces: every namespace (below the root by at most ``depth`` when given)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CHANNELS = frozenset(
    {
        "values",
        "updates",
        "messages",
        "tools",
        "custom",
        "lifecycle",
        "input",
        "tasks",
        "checkpoints",
    }
)
CUSTOM_PREFIX = "custom:"
ALLOWED_TEXT = (
    "values, updates, messages, tools, custom, lifecycle, input, tasks, or any `custom:<name>`"
)


class FilterError(ValueError):
    """A stream request the server refuses (400 on ``stream/events``, ``invalid_argument``
    over commands); its text is the official server's."""


def unsupported_channels(channels: Sequence[Any]) -> list[str]:
    return [
        str(c)
        for c in channels
        if not isinstance(c, str)
        or not (c in CHANNELS or (c.startswith(CUSTOM_PREFIX) and len(c) > len(CUSTOM_PREFIX)))
    ]


@dataclass(frozen=True)
class EventFilter:
    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None

    @classmethod
    def read(cls, body: Any) -> EventFilter:
        """The filter of a ``stream/events`` body or a subscription's params. Raises
        ``FilterError``."""
        if not isinstance(body, dict):
            raise FilterError("channels is required and must be a non-empty array")
        channels = body.get("channels")
        if not isinstance(channels, list) or not channels:
            raise FilterError("channels is required and must be a non-empty array")
        if bad := unsupported_channels(channels):
            raise FilterError(
                f"channels contains unsupported entries: {', '.join(bad)}. Allowed: {ALLOWED_TEXT}."
            )
        return cls(
            frozenset(channels),
            _namespaces(body.get("namespaces")),
            _count("depth", body.get("depth")),
        )

    def matches(self, event: dict[str, Any]) -> bool:
        """Whether an event (``{"method", "params": {"namespace", "data"}}``) belongs to
        this stream."""
        params = event.get("params") or {}
        return self._channel(event.get("method"), params.get("data")) and self._namespace(
            params.get("namespace") or []
        )

    def _channel(self, method: Any, data: Any) -> bool:
        if not isinstance(method, str):
            return False
        channel = "input" if method.startswith("input.") else method
        if channel in self.channels:
            return True
        if channel == "custom" and isinstance(data, dict):
            return f"{CUSTOM_PREFIX}{data.get('name')}" in self.channels
        return False

    def _namespace(self, namespace: Sequence[str]) -> bool:
        prefixes = self.namespaces
        if prefixes is None:
            prefixes = ((),) if self.depth is not None else None
        if prefixes is None:
            return True
        return any(self._under(prefix, namespace) for prefix in prefixes)

    def _under(self, prefix: tuple[str, ...], namespace: Sequence[str]) -> bool:
        if len(namespace) < len(prefix):
            return False
        for wanted, segment in zip(prefix, namespace, strict=False):
            if wanted != segment and (":" in wanted or segment.split(":", 1)[0] != wanted):
                return False
        return self.depth is None or len(namespace) - len(prefix) <= self.depth


def _namespaces(raw: Any) -> tuple[tuple[str, ...], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(ns, list) and all(isinstance(s, str) for s in ns) for ns in raw
    ):
        raise FilterError("namespaces must be an array of arrays of strings")
    return tuple(tuple(ns) for ns in raw)


def _count(name: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise FilterError(f"{name} must be an integer >= 0")
    return raw


def read_since(body: dict[str, Any]) -> int | None:
    """The ``since`` cursor of a ``stream/events`` body (events with ``seq <= since`` are
    skipped)."""
    return _count("since", body.get("since"))
