"""A2A messages and LangChain messages, both ways.

An A2A message's text parts become one human message each (its ``messageId`` the first's
id), file parts LangChain content blocks of one message, data parts (JSON objects) keys of
the graph's input beside ``messages``, as on the official server. The graph's messages come
back as A2A messages: human ones from the ``user``, AI ones from the ``agent``; tool and
system messages stay inside the graph."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from typing import Any
from uuid import uuid4

from a2a.compat.v0_3.types import (
    DataPart,
    FilePart,
    FileWithBytes,
    Message,
    Part,
    Role,
    TextPart,
)

from graphport.protocols.jsonrpc import INVALID_PARAMS, RpcError

Row = dict[str, Any]

_USER_TYPES = {"human", "user"}
_AGENT_TYPES = {"ai", "assistant"}
_MEDIA = ("image", "audio", "video")


def graph_input(message: Message) -> Row:
    """The graph input for ``message``: ``{"messages": [...], **data}``. Raises
    ``RpcError`` (-32602) when it carries nothing a graph can take."""
    role = "human" if message.role == Role.user else "ai"
    texts: list[str] = []
    blocks: list[Row] = []
    data: Row = {}
    for part in message.parts:
        inner = part.root
        if isinstance(inner, TextPart):
            texts.append(inner.text)
            blocks.append({"type": "text", "text": inner.text})
        elif isinstance(inner, FilePart):
            blocks.append(_file_block(inner))
        elif isinstance(inner, DataPart):
            if "messages" in inner.data:  # the user speaks in text parts, not as the agent
                raise RpcError(
                    INVALID_PARAMS, "A data part may not carry 'messages': send text parts"
                )
            data.update(inner.data)
    result: Row = {}
    if len(blocks) > len(texts):  # files: one message of content blocks, in order
        result["messages"] = [{"type": role, "content": blocks, "id": message.message_id}]
    elif texts:
        result["messages"] = [
            {"type": role, "content": text, "id": message.message_id if i == 0 else str(uuid4())}
            for i, text in enumerate(texts)
        ]
    result.update({k: v for k, v in data.items() if k not in result})
    if not result:
        raise RpcError(INVALID_PARAMS, "Message must contain at least one text, file or data part")
    return result


def resume_value(message: Message) -> tuple[bool, Any]:
    """``(True, value)`` when a data part carries ``{"resume": value}`` (an answer to an
    interrupt), else ``(False, None)``. Raises ``RpcError`` for more than one."""
    found = [
        p.root.data["resume"]
        for p in message.parts
        if isinstance(p.root, DataPart) and "resume" in p.root.data
    ]
    if len(found) > 1:
        raise RpcError(INVALID_PARAMS, "Only one data part may carry 'resume'")
    return (True, found[0]) if found else (False, None)


def message_text(message: Message) -> str | None:
    texts = [p.root.text for p in message.parts if isinstance(p.root, TextPart)]
    return "\n".join(texts) if texts else None


def _file_block(part: FilePart) -> Row:
    file = part.file
    mime = file.mime_type or "application/octet-stream"
    top = mime.split("/", 1)[0]
    block: Row = {"type": top if top in _MEDIA else "file", "mime_type": mime}
    if isinstance(file, FileWithBytes):
        try:
            base64.b64decode(file.bytes, validate=True)
        except (binascii.Error, ValueError):
            raise RpcError(INVALID_PARAMS, "A file part's bytes must be base64") from None
        block["base64"] = file.bytes
    else:
        block["url"] = file.uri
    if file.name:
        block["extras"] = {"filename": file.name}
    return block


def a2a_messages(
    messages: Any, *, task_id: str, context_id: str, earlier: Collection[str] = ()
) -> list[Message]:
    """The user and agent messages among a graph's (serialised) ``messages``; those whose
    ids are in ``earlier`` (sent before this task) carry no ``taskId``."""
    if not isinstance(messages, list):
        return []
    found: list[Message] = []
    for raw in messages:
        if not isinstance(raw, dict):
            continue
        kind = str(raw.get("type") or raw.get("role") or "").lower()
        if kind in _USER_TYPES:
            role = Role.user
        elif kind in _AGENT_TYPES:
            role = Role.agent
        else:
            continue
        parts = content_parts(raw.get("content"))
        if not parts:
            continue
        message_id = str(raw.get("id") or uuid4())
        found.append(
            Message(
                role=role,
                parts=parts,
                message_id=message_id,
                task_id=None if message_id in earlier else task_id,
                context_id=context_id,
            )
        )
    return found


def content_parts(content: Any) -> list[Part]:
    """A LangChain message's content as A2A parts: text as text parts, other blocks
    (images, files, tool calls' data) as data parts."""
    if isinstance(content, str):
        return [Part(root=TextPart(text=content))] if content else []
    if not isinstance(content, list):
        return [] if content is None else [Part(root=DataPart(data={"value": content}))]
    parts: list[Part] = []
    for block in content:
        if isinstance(block, str):
            if block:
                parts.append(Part(root=TextPart(text=block)))
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(Part(root=TextPart(text=str(block.get("text") or ""))))
        elif isinstance(block, dict):
            parts.append(Part(root=DataPart(data=block)))
    return parts


def last_agent_message(messages: list[Message], task_id: str) -> Message | None:
    """The agent's last reply in task ``task_id``."""
    return next(
        (m for m in reversed(messages) if m.role == Role.agent and m.task_id == task_id), None
    )


def agent_text(text: str, *, task_id: str, context_id: str) -> Message:
    """A status message from the agent (a failure's reason)."""
    return Message(
        role=Role.agent,
        parts=[Part(root=TextPart(text=text))],
        message_id=str(uuid4()),
        task_id=task_id,
        context_id=context_id,
    )
