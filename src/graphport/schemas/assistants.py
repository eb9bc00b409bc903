"""Assistant requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from graphport.schemas.common import (
    INT4_MAX,
    SELECTABLE,
    IfExists,
    Json,
    Limit,
    Offset,
    RequestModel,
    ResponseModel,
    SortOrder,
    checked_config,
)

AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
AssistantSelectField = Literal[
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "created_at",
    "updated_at",
    "metadata",
    "version",
]


class _WithConfig(RequestModel):
    @field_validator("config", check_fields=False)
    @classmethod
    def _config(cls, value: Json | None) -> Json | None:
        return checked_config(value)


class AssistantCreate(_WithConfig):
    graph_id: str = Field(min_length=1)
    assistant_id: UUID | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    if_exists: IfExists = "raise"
    name: str | None = None
    description: str | None = None


class AssistantPatch(_WithConfig):
    graph_id: str | None = Field(default=None, min_length=1)
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    name: str | None = None
    description: str | None = None


class AssistantFilters(RequestModel):
    metadata: Json | None = None
    graph_id: str | None = None
    name: str | None = None
    description: str | None = None


class AssistantSearchRequest(AssistantFilters):
    limit: int = Limit
    offset: int = Offset
    sort_by: AssistantSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[AssistantSelectField] | None = None


class AssistantCountRequest(AssistantFilters):
    pass


class AssistantVersionsSearchRequest(RequestModel):
    metadata: Json | None = None
    limit: int = Limit
    offset: int = Offset


class AssistantVersionChange(RequestModel):
    version: int | None = Field(default=None, ge=1, le=INT4_MAX)


class Assistant(ResponseModel):
    """A versioned configuration of a graph (``config.configurable`` mirrors ``context``)."""

    assistant_id: UUID
    graph_id: str
    config: Json
    context: Json
    created_at: datetime
    updated_at: datetime
    metadata: Json
    version: int
    name: str
    description: str | None


class AssistantSelection(Assistant):
    """An assistant as search returns it: every field, or only those ``select`` names."""

    model_config = SELECTABLE


class AssistantVersion(ResponseModel):
    assistant_id: UUID
    graph_id: str
    config: Json
    context: Json
    created_at: datetime
    metadata: Json
    version: int
    name: str
    description: str | None


class SubgraphSchema(ResponseModel):
    """A graph's JSON schemas; a part that cannot be expressed is ``null``."""

    input_schema: Json | None
    output_schema: Json | None
    state_schema: Json | None
    config_schema: Json | None
    context_schema: Json | None


class GraphSchema(SubgraphSchema):
    graph_id: str


Subgraphs = dict[str, SubgraphSchema]
"""Schemas of each subgraph, keyed by its namespace (``parent|child``)."""


class DrawnNode(ResponseModel):
    """``id`` is the node's name (an index for anonymous nodes); ``type`` is ``runnable``,
    ``schema`` or ``unknown`` and ``data`` names it; both are absent for a node without data."""

    id: str | int
    type: str | None = None
    data: str | Json | None = None
    metadata: Json | None = None


class DrawnEdge(ResponseModel):
    source: str | int
    target: str | int
    data: Any = None
    conditional: bool | None = None


class GraphDrawing(ResponseModel):
    """The graph's nodes and edges; ``xray`` inlines subgraph nodes as ``parent:child``."""

    nodes: list[DrawnNode]
    edges: list[DrawnEdge]
