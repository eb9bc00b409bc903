"""Assistants as MCP tools: their names, input schemas and arguments."""

from __future__ import annotations

import re
from typing import Any

Row = dict[str, Any]

MAX_NAME = 128  # MCP tool names: 1-128 of [A-Za-z0-9_.-]
_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
# The schemas LangChain messages bring into a graph's input schema: an LLM needs none of
# them to say what it wants, so ``messages`` is offered as one string.
LANGCHAIN_DEFS = frozenset(
    f"{kind}{suffix}"
    for kind in ("AI", "Human", "Chat", "System", "Function", "Tool")
    for suffix in ("Message", "MessageChunk")
) | {
    "ToolCall",
    "ToolCallChunk",
    "InvalidToolCall",
    "UsageMetadata",
    "InputTokenDetails",
    "OutputTokenDetails",
}
MESSAGES_PROPERTY: Row = {
    "type": "string",
    "title": "Messages",
    "description": "The user message to send to the agent (a list of messages is taken too).",
}


def tool_name(assistant_name: str) -> str:
    """The tool name of an assistant: its name, with what MCP names may not hold as ``_``."""
    return _INVALID.sub("_", assistant_name)[:MAX_NAME] or "_"


def input_schema(schema: Any) -> Row:
    """A graph's input JSON schema made a tool's: an object schema, ``messages`` (when its
    items are LangChain messages) as a string, the LangChain definitions left out."""
    found: Row = dict(schema) if isinstance(schema, dict) else {}
    found["type"] = "object"
    properties = found.get("properties")
    defs = found.get("$defs")
    if isinstance(properties, dict) and isinstance(defs, dict) and LANGCHAIN_DEFS & set(defs):
        properties = dict(properties)
        if _holds_messages(properties.get("messages")):
            properties["messages"] = MESSAGES_PROPERTY
        found["properties"] = properties
        kept = {k: v for k, v in defs.items() if k not in LANGCHAIN_DEFS}
        if _refers_to(found | {"$defs": kept}, LANGCHAIN_DEFS):
            kept = defs  # something else still needs them
        if kept:
            found["$defs"] = kept
        else:
            found.pop("$defs", None)
    return found


def _holds_messages(prop: Any) -> bool:
    return isinstance(prop, dict) and _refers_to(prop, LANGCHAIN_DEFS)


def _refers_to(value: Any, names: frozenset[str]) -> bool:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.removeprefix("#/$defs/") in names:
            return True
        return any(_refers_to(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, names) for v in value)
    return False


def run_input(arguments: Row, schema: Any) -> Row:
    """A tool call's arguments as the graph's input: a ``messages`` string is the user's
    message (when the graph's input has ``messages``)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    messages = arguments.get("messages")
    if isinstance(properties, dict) and "messages" in properties and isinstance(messages, str):
        return {**arguments, "messages": [{"type": "human", "content": messages}]}
    return arguments
