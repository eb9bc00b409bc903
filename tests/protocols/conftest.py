"""Fixtures of the custom-auth protocol tests: SDK clients per user (``users``), a raw
client without credentials (``raw``) and the URL (``server_url``) of the custom-auth server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import clients
from tests.server import ServerProcess


@pytest.fixture
async def users(auth_server: ServerProcess) -> AsyncIterator[dict[str, LangGraphClient]]:
    async with clients(auth_server.url) as made:
        yield made


@pytest.fixture
async def raw(auth_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=auth_server.url, timeout=30) as made:
        yield made


@pytest.fixture
def server_url(auth_server: ServerProcess) -> str:
    return auth_server.url
