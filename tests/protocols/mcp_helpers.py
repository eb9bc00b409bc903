"""The official ``mcp`` client over streamable HTTP, with the request headers a test needs
(credentials). ``mcp`` 2 takes an ``httpx2`` client; ``mcp`` 1 takes the headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from mcp import ClientSession


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """An initialized ``ClientSession`` on ``url`` (``.../mcp``)."""
    async with AsyncExitStack() as stack:
        try:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers or {}))
            streams = await stack.enter_async_context(streamable_http_client(url, http_client=http))
        except ImportError:  # mcp 1.x
            from mcp.client.streamable_http import streamablehttp_client

            streams = await stack.enter_async_context(
                streamablehttp_client(url, headers=headers or {})
            )
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await session.initialize()
        yield session
