"""Turn LangGraph stream chunks into the API's stream events (names and payloads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message

from graphport.graphs.state_format import checkpoint_of

Emitted = list[tuple[str, Any]]

# API mode -> the LangGraph mode that produces it ("events" comes from astream_events).
LANGGRAPH_MODE = {
    "values": "values",
    "updates": "updates",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
    "messages": "messages",
    "messages-tuple": "messages",
}


class StreamTranslator:
    """One per streamed run: remembers message ids and partial messages across chunks."""

    def __init__(self, requested: Sequence[str]) -> None:
        self.requested = set(requested) or {"values"}
        self._partial: dict[str, BaseMessageChunk | None] = {}

    def langgraph_modes(self) -> list[str]:
        return list(dict.fromkeys(LANGGRAPH_MODE[m] for m in self.requested if m in LANGGRAPH_MODE))

    def wants_events(self) -> bool:
        return "events" in self.requested

    def translate_chunk(self, chunk: Any, *, subgraphs: bool) -> Emitted:
        """A chunk as ``astream`` yields it for a list of modes."""
        if subgraphs:
            namespace, mode, data = chunk
        else:
            namespace, (mode, data) = (), chunk
        return self.translate(tuple(namespace), mode, data)

    def translate(self, namespace: tuple[str, ...], mode: str, data: Any) -> Emitted:
        suffix = "|" + "|".join(namespace) if namespace else ""
        if mode == "messages":
            return self._messages(data, suffix)
        if mode == "debug" and isinstance(data, dict) and data.get("type") == "checkpoint":
            data = {**data, "payload": _with_checkpoints(data.get("payload") or {})}
        elif mode == "checkpoints" and isinstance(data, dict):
            data = _with_checkpoints(data)
        return [(mode + suffix, data)]

    def _messages(self, data: Any, suffix: str) -> Emitted:
        message, metadata = data
        out: Emitted = []
        if "messages-tuple" in self.requested:
            out.append(("messages" + suffix, [message, metadata]))
        if "messages" not in self.requested or not isinstance(message, BaseMessage):
            return out
        message_id = message.id or ""
        if message_id not in self._partial:
            self._partial[message_id] = None
            out.append(("messages/metadata" + suffix, {message_id: {"metadata": metadata}}))
        if isinstance(message, BaseMessageChunk):
            previous = self._partial[message_id]
            merged = message if previous is None else previous + message
            self._partial[message_id] = merged
            out.append(("messages/partial" + suffix, [message_chunk_to_message(merged)]))
        else:
            out.append(("messages/complete" + suffix, [message]))
        return out


def _with_checkpoints(payload: dict[str, Any]) -> dict[str, Any]:
    """Studio's timeline reads ``checkpoint`` and ``parent_checkpoint`` beside the configs."""
    return {
        **payload,
        "checkpoint": checkpoint_of(payload.get("config")),
        "parent_checkpoint": checkpoint_of(payload.get("parent_config")),
    }
