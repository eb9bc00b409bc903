"""The command envelope of ``POST /threads/{id}/commands`` (and of WebSocket frames), as the
official server answers it.

A command is ``{"id": int, "method": str, "params": {...}}``. The answer is HTTP 200 with
``{"type": "success", "id", "result", "meta": {"applied_through_seq"}}`` or ``{"type":
"error", "id", "error": <code>, "message"}``; a body without an integer ``id`` or a string
``method`` is answered the same way with ``"id": null`` (HTTP 400 on the command route)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from graphport.protocols.thread_events.filters import EventFilter, FilterError

INVALID_ARGUMENT = "invalid_argument"
UNKNOWN_COMMAND = "unknown_command"
NO_SUCH_RUN = "no_such_run"
NO_SUCH_INTERRUPT = "no_such_interrupt"
NO_SUCH_SUBSCRIPTION = "no_such_subscription"
UNSUPPORTED = "unsupported"
UNKNOWN_ERROR = "unknown_error"
RESUME_GAP = "resume_gap"

METHODS = (
    "run.start",
    "input.respond",
    "agent.getTree",
    "subscription.subscribe",
    "subscription.unsubscribe",
    "subscription.reconnect",
)
_BAD_ENVELOPE = "Protocol commands must include an integer id and string method."
_NOT_JSON = "Protocol commands must be valid JSON."


class CommandError(Exception):
    """A command's refusal: ``code`` (one of the codes above), ``message``, and fields the
    error envelope carries beside them (``resume_gap``: ``since``, ``min_available_seq``)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class NotJson(CommandError):
    """A command that is not JSON (the command route answers 400 ``{"detail"}`` for it, as
    the official server does; a WebSocket, the error envelope)."""


@dataclass(frozen=True)
class Command:
    id: int
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def read_command(raw: bytes | str | Any) -> Command:
    """A command from a request body or a WebSocket text frame (bytes/str: JSON, else the
    parsed value). Raises ``CommandError`` (``invalid_argument``) for anything that is not
    an object with an integer ``id`` and a string ``method`` (its answer has ``id`` null),
    or whose ``params`` is not an object."""
    value = raw
    if isinstance(raw, bytes | str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise NotJson(INVALID_ARGUMENT, _NOT_JSON) from None
    if not isinstance(value, dict):
        raise CommandError(INVALID_ARGUMENT, _BAD_ENVELOPE)
    command_id, method = value.get("id"), value.get("method")
    if isinstance(command_id, bool) or not isinstance(command_id, int):
        raise CommandError(INVALID_ARGUMENT, _BAD_ENVELOPE)
    if not isinstance(method, str):
        raise CommandError(INVALID_ARGUMENT, _BAD_ENVELOPE)
    params = value.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CommandError(INVALID_ARGUMENT, f"{method} params must be an object.")
    return Command(command_id, method, params)


def success(command_id: int, result: dict[str, Any], applied_through_seq: int) -> dict[str, Any]:
    """The answer to a command that did what it asked."""
    return {
        "type": "success",
        "id": command_id,
        "result": result,
        "meta": {"applied_through_seq": applied_through_seq},
    }


def failure(command_id: int | None, error: CommandError) -> dict[str, Any]:
    """The answer to a command refused (``command_id`` None: it could not be read)."""
    return {
        "type": "error",
        "id": command_id,
        "error": error.code,
        "message": error.message,
        **error.extra,
    }


def unknown(method: str) -> CommandError:
    return CommandError(UNKNOWN_COMMAND, f"Unknown protocol command: {method}")


def unknown_subscription(subscription_id: Any) -> CommandError:
    return CommandError(NO_SUCH_SUBSCRIPTION, f"Unknown subscription: {subscription_id}")


def read_subscription(method: str, params: dict[str, Any]) -> tuple[EventFilter, int]:
    """What ``subscription.subscribe`` / ``subscription.reconnect`` ask for: the filter, and
    the ``since`` cursor (0 for a subscribe). Raises ``CommandError`` (``invalid_argument``)
    with the official server's texts."""
    try:
        found = EventFilter.read(params)
    except FilterError:
        raise CommandError(INVALID_ARGUMENT, f"{method} received an unsupported channel.") from None
    if method != "subscription.reconnect":
        return found, 0
    since = params.get("since")
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise CommandError(INVALID_ARGUMENT, "subscription.reconnect requires since.")
    return found, since
