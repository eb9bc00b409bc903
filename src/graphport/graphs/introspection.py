"""What the API shows about a graph: its drawable structure, JSON schemas and subgraphs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

from langgraph.channels.base import BaseChannel
from langgraph.pregel import Pregel
from pydantic import create_model

logger = logging.getLogger(__name__)

AnyPregel = Pregel[Any, Any, Any, Any]
JsonSchema = dict[str, Any] | None


def unknown_state_keys(graph: AnyPregel, keys: Iterable[str]) -> list[str]:
    """Those of ``keys`` that are no state key (channel) of the graph: an update naming them
    would be dropped without a word."""
    return [k for k in keys if not isinstance(graph.channels.get(k), BaseChannel)]


async def drawable_graph(graph: AnyPregel, *, xray: bool | int) -> dict[str, Any]:
    """Nodes and edges as JSON; ``xray`` inlines subgraphs (an int bounds the depth)."""
    drawn = await graph.aget_graph(xray=xray)
    result: dict[str, Any] = drawn.to_json()
    return result


def graph_schemas(graph: AnyPregel) -> dict[str, JsonSchema]:
    """Input, output, state, config and context schemas; a part that fails is ``None``."""
    return {
        "input_schema": _safe("input", graph.get_input_jsonschema),
        "output_schema": _safe("output", graph.get_output_jsonschema),
        "state_schema": _safe("state", lambda: _state_jsonschema(graph)),
        "config_schema": _safe("config", lambda: _config_jsonschema(graph)),
        "context_schema": _safe("context", graph.get_context_jsonschema),
    }


# A model's JSON schema, by the model LangGraph made for a graph's input (it hands back the
# same class each time): A2A and MCP read it on every request, and it costs ~10 ms to build.
_INPUT_SCHEMAS: WeakKeyDictionary[type, JsonSchema] = WeakKeyDictionary()


def input_schema(graph: AnyPregel) -> JsonSchema:
    """The graph's input JSON schema (as in ``graph_schemas``), built once per input model.
    Callers must not change it."""
    try:
        model = graph.get_input_schema()
    except Exception:
        return _safe("input", graph.get_input_jsonschema)
    if model not in _INPUT_SCHEMAS:
        _INPUT_SCHEMAS[model] = _safe("input", graph.get_input_jsonschema)
    return _INPUT_SCHEMAS[model]


async def subgraph_schemas(
    graph: AnyPregel, *, namespace: str | None, recurse: bool
) -> dict[str, dict[str, JsonSchema]]:
    """Schemas of each subgraph keyed by its namespace (``parent|child``)."""
    found: dict[str, dict[str, JsonSchema]] = {}
    async for ns, subgraph in graph.aget_subgraphs(namespace=namespace, recurse=recurse):
        if isinstance(subgraph, Pregel):
            found[ns] = graph_schemas(subgraph)
    return found


def _state_jsonschema(graph: AnyPregel) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: (channel.ValueType, None)
        for name in graph.stream_channels_list
        if isinstance(channel := graph.channels.get(name), BaseChannel)
    }
    model = create_model(graph.get_name("State"), **fields)
    return model.model_json_schema()


def _config_jsonschema(graph: AnyPregel) -> dict[str, Any]:
    """The assistant-config form Studio renders: the context schema (what ``configurable``
    mirrors since LangGraph 0.6), or an empty schema when the graph has none."""
    return graph.get_context_jsonschema() or {}


def _safe(part: str, build: Any) -> JsonSchema:
    try:
        schema = build()
    except Exception as exc:  # a schema a type cannot express is reported missing, not a 500
        logger.warning("cannot build the %s schema: %s: %s", part, type(exc).__name__, exc)
        return None
    return schema if isinstance(schema, dict) else None
