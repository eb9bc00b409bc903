"""The agent card: how an A2A client discovers an assistant (A2A 0.3 ``AgentCard``)."""

from __future__ import annotations

from typing import Any

from a2a.compat.v0_3.types import AgentCapabilities, AgentCard, AgentSkill

from graphport.services.system import package_version

PROTOCOL_VERSION = "0.3.0"
MODES = ["text/plain", "application/json"]


def agent_card(assistant: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """The card of ``assistant`` (its name, description and graph), its endpoint under
    ``base_url`` (the server's, as the client reached it: no trailing slash)."""
    assistant_id = str(assistant["assistant_id"])
    name = str(assistant.get("name") or assistant["graph_id"])
    description = str(assistant.get("description") or f"{name} assistant")
    skill = AgentSkill(
        id=f"{assistant_id}-main",
        name=f"{name} capabilities",
        description=description,
        tags=["assistant", "langgraph", str(assistant["graph_id"])],
        examples=[],
        input_modes=MODES,
        output_modes=MODES,
    )
    card = AgentCard(
        name=name,
        description=description,
        url=f"{base_url}/a2a/{assistant_id}",
        version=package_version("graphport") or "0",
        protocol_version=PROTOCOL_VERSION,
        preferred_transport="JSONRPC",
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=False, state_transition_history=False
        ),
        default_input_modes=MODES,
        default_output_modes=MODES,
        skills=[skill],
    )
    dumped: dict[str, Any] = card.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped
