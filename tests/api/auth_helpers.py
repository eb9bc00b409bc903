"""Clients of the custom-auth server (tests/fixtures/auth), one per user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

TOKENS = {
    "alice": "alice-token",
    "bob": "bob-token",
    "carol": "carol-token",
    "dave": "dave-token",  # acme, like alice; some of his fields are not JSON
}


@asynccontextmanager
async def clients(url: str) -> AsyncIterator[dict[str, LangGraphClient]]:
    made = {
        name: get_client(
            url=url, api_key=None, timeout=30, headers={"Authorization": f"Bearer {t}"}
        )
        for name, t in TOKENS.items()
    }
    try:
        yield made
    finally:
        for sdk in made.values():
            await sdk.http.client.aclose()


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


async def status(call: Awaitable[Any]) -> int:
    """The HTTP status the SDK call answers (200 when it succeeds)."""
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return 200
