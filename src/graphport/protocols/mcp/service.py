"""MCP methods: ``initialize``, ``ping``, ``tools/list`` and ``tools/call``.

Every assistant the caller's ``assistants`` read handler lets them see is a tool named after
the assistant (the oldest, when two names collide), its input schema the graph's.
A call runs the assistant on a new thread as the caller (their ``threads`` ``create_run``
handler decides) and answers its output; a run that fails or is refused is a tool error
(``isError``), which the model can read, not a protocol error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import mcp.types as mcp
import orjson

from graphport.auth.actor import Actor
from graphport.errors import GraphportError
from graphport.protocols.jsonrpc import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    RpcError,
    dump_model,
    parse_params,
)
from graphport.protocols.mcp.tools import input_schema, run_input, tool_name
from graphport.schemas.assistants import AssistantSearchRequest
from graphport.schemas.common import INT4_MAX
from graphport.schemas.runs import RunCreateStateless
from graphport.serialization import dumps_text
from graphport.services.assistants import AssistantService
from graphport.services.run_waits import Departure
from graphport.services.runs import RunService
from graphport.services.system import package_version

Row = dict[str, Any]
Headers = Mapping[str, str] | None

# Revisions reachable through ``initialize``; another is answered with the latest.
PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_PROTOCOL_VERSION = PROTOCOL_VERSIONS[-1]
PAGE_SIZE = 100


def _page(limit: int, offset: int) -> AssistantSearchRequest:
    """Oldest first: a new assistant never takes the tool name an older one has."""
    return AssistantSearchRequest(
        limit=limit, offset=offset, sort_by="created_at", sort_order="asc"
    )


def _offset(cursor: Any) -> int:
    """The offset a ``nextCursor`` of ours stands for (absent: the first page)."""
    if cursor is None:
        return 0
    if isinstance(cursor, str) and cursor.isascii() and cursor.isdigit():
        offset = int(cursor)
        if offset <= INT4_MAX:
            return offset
    raise RpcError(INVALID_PARAMS, f"Invalid cursor: {cursor!r}")


def _tool_error(text: str) -> Row:
    content = [mcp.TextContent(type="text", text=text)]
    return dump_model(mcp.CallToolResult(content=content, isError=True))


class MCPService:
    def __init__(self, assistants: AssistantService, runs: RunService) -> None:
        self._assistants = assistants
        self._runs = runs

    async def call(
        self,
        method: str,
        params: Any,
        *,
        actor: Actor,
        headers: Headers,
        departure: Departure | None = None,
    ) -> Row:
        """The result of request ``method``. Raises ``RpcError``: -32601 for a method
        this server does not offer, -32602 for bad params or an unknown tool."""
        if method == "initialize":
            return self.initialize(params)
        if method == "ping":
            return {}
        if method == "tools/list":
            return await self.list_tools(params, actor=actor, headers=headers)
        if method == "tools/call":
            return await self.call_tool(params, actor=actor, headers=headers, departure=departure)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def initialize(self, params: Any) -> Row:
        """The client's protocol revision when this server speaks it, else the latest."""
        requested = params.get("protocolVersion") if isinstance(params, dict) else None
        version = requested if requested in PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        return dump_model(
            mcp.InitializeResult(
                protocolVersion=version,
                capabilities=mcp.ServerCapabilities(tools=mcp.ToolsCapability(listChanged=False)),
                serverInfo=mcp.Implementation(
                    name="graphport", version=package_version("graphport") or "0"
                ),
            )
        )

    async def list_tools(self, params: Any, *, actor: Actor, headers: Headers) -> Row:
        """One page of tools (``PAGE_SIZE`` assistants); ``nextCursor`` while more follow."""
        if params is not None and not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: expected an object")
        offset = _offset((params or {}).get("cursor"))
        page = await self._assistants.search(_page(PAGE_SIZE, offset), actor=actor)
        earlier = await self._names_before(offset, actor)
        tools: list[mcp.Tool] = []
        for assistant in page.items:
            name = tool_name(str(assistant["name"]))
            if name in earlier:
                continue  # another assistant listed first has this name
            earlier.add(name)
            if (tool := await self._tool(assistant, name, actor, headers)) is not None:
                tools.append(tool)
        next_cursor = str(page.next_offset) if page.next_offset is not None else None
        return dump_model(mcp.ListToolsResult(tools=tools, nextCursor=next_cursor))

    async def _names_before(self, offset: int, actor: Actor) -> set[str]:
        names: set[str] = set()
        if offset:
            async for assistant in self._visible(actor, stop=offset):
                names.add(tool_name(str(assistant["name"])))
        return names

    async def _visible(self, actor: Actor, *, stop: int | None = None) -> AsyncIterator[Row]:
        """The assistants the caller sees, in the order ``tools/list`` lists them."""
        offset = 0
        while stop is None or offset < stop:
            limit = PAGE_SIZE if stop is None else min(PAGE_SIZE, stop - offset)
            page = await self._assistants.search(_page(limit, offset), actor=actor)
            for assistant in page.items:
                yield assistant
            if page.next_offset is None:
                return
            offset = page.next_offset

    async def _tool(
        self, assistant: Row, name: str, actor: Actor, headers: Headers
    ) -> mcp.Tool | None:
        """The tool of an assistant; None when its graph cannot be loaded. A graph that
        cannot say its input schema takes any object."""
        try:
            schema = await self._assistants.input_schema_of(assistant, actor=actor, headers=headers)
        except GraphportError:
            return None
        return mcp.Tool(
            name=name,
            title=str(assistant["name"]),
            description=assistant.get("description")
            or f"Runs the {assistant['name']} assistant (graph {assistant['graph_id']})",
            inputSchema=input_schema(schema),
            annotations=mcp.ToolAnnotations(
                readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
            ),
        )

    async def call_tool(
        self, params: Any, *, actor: Actor, headers: Headers, departure: Departure | None = None
    ) -> Row:
        """Run the tool's assistant on a new thread and answer its output: as JSON text,
        and as ``structuredContent`` when it is an object. ``departure``: returns when the
        client left (the run goes on)."""
        parsed = parse_params(mcp.CallToolRequestParams, params)
        assistant = await self._find(parsed.name, actor)
        arguments = parsed.arguments or {}
        try:
            schema = await self._assistants.input_schema_of(assistant, actor=actor, headers=headers)
            body = RunCreateStateless(
                assistant_id=str(assistant["assistant_id"]),
                input=run_input(arguments, schema),
            )
            _, output = await self._runs.wait(
                None, body, actor=actor, headers=headers, departure=departure
            )
        except GraphportError as exc:
            return _tool_error(f"{exc.status_code}: {exc.detail}")
        if isinstance(output, dict) and "__error__" in output:
            error = output["__error__"]
            if isinstance(error, dict):
                return _tool_error(f"{error.get('error', 'Error')}: {error.get('message', '')}")
            return _tool_error(str(error))
        text = dumps_text(output)
        structured = _loads_object(text)
        return dump_model(
            mcp.CallToolResult(
                content=[mcp.TextContent(type="text", text=text)],
                structuredContent=structured,
                isError=False,
            )
        )

    async def _find(self, name: str, actor: Actor) -> Row:
        async for assistant in self._visible(actor):
            if tool_name(str(assistant["name"])) == name:
                return assistant  # the first listed, as tools/list shows it
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")


def _loads_object(text: str) -> Row | None:
    value = orjson.loads(text)
    return value if isinstance(value, dict) else None
