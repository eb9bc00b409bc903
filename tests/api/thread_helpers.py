"""Build threads with state through the API (supersteps), as a client would."""

from __future__ import annotations

from typing import Any

from langgraph_sdk.client import LangGraphClient

HUMAN = "hello there"
AI = "general kenobi"


async def seeded_thread(
    client: LangGraphClient, *, metadata: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """A chat thread with two checkpoints of updates: a human turn, then the AI reply."""
    thread: dict[str, Any] = await client.threads.create(
        graph_id="chat",
        metadata=metadata,
        supersteps=[
            {
                "updates": [
                    {
                        "values": {"messages": [{"type": "human", "content": HUMAN}]},
                        "as_node": "__start__",
                    }
                ]
            },
            {
                "updates": [
                    {"values": {"messages": [{"type": "ai", "content": AI}]}, "as_node": "respond"}
                ]
            },
        ],
        **kwargs,
    )
    return thread
