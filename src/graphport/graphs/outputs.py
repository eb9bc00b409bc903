"""A graph's output as LangGraph gives it: the channels of its output schema, not its whole
state (``StateGraph(State, output_schema=Out)``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

if TYPE_CHECKING:
    from graphport.graphs.registry import AnyPregel, GraphRegistry

logger = logging.getLogger(__name__)

Channels = str | Sequence[str]


@dataclass(frozen=True)
class OutputShape:
    """Which channels a graph outputs (``output``) and which make up its state (``state``),
    each a channel name or a list of them, as on ``Pregel``."""

    output: Channels
    state: Channels

    @classmethod
    def of(cls, graph: AnyPregel) -> OutputShape:
        return cls(graph.output_channels, graph.stream_channels_asis)

    @property
    def whole(self) -> bool:
        """True when the output is the whole state (no output schema of its own)."""
        return _names(self.output) == _names(self.state)

    def select(self, values: Any) -> Any:
        """The output read from the whole state ``values`` (as thread states hold it): what
        ``invoke`` returns and ``values`` streams carry. Channels without a value are left
        out, as LangGraph leaves them out."""
        if self.whole or not isinstance(values, dict):
            return values
        if isinstance(self.output, str):
            return values.get(self.output)
        return {name: values[name] for name in self.output if name in values}


def _names(channels: Channels) -> frozenset[str]:
    return frozenset([channels] if isinstance(channels, str) else channels)


async def output_of(
    registry: GraphRegistry, graph_id: str, config: RunnableConfig, values: Any
) -> Any:
    """The output of graph ``graph_id`` for its whole state ``values`` (a factory is built
    with ``config``). When the graph cannot be had (unloaded, its factory fails), the
    values as they are, with a warning: an answer is worth more than a 500."""
    if not isinstance(values, dict):
        return values
    try:
        async with registry.graph(graph_id, config, access_context="threads.read") as graph:
            shape = OutputShape.of(graph)
    except Exception as exc:  # the whole state rather than no answer at all
        logger.warning(
            "graph %r: its output schema is unknown (%s: %s); answering its whole state",
            graph_id,
            type(exc).__name__,
            exc,
        )
        return values
    return shape.select(values)
