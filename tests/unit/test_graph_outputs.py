"""OutputShape: a graph's output read from its whole state, as LangGraph reads it."""

from __future__ import annotations

from graphport.graphs.outputs import OutputShape
from tests.fixtures.graphs import schemas


def test_a_graph_without_an_output_schema_outputs_its_whole_state() -> None:
    shape = OutputShape(["a", "b"], ["b", "a"])
    assert shape.whole
    state = {"a": 1, "b": 2}
    assert shape.select(state) is state


def test_the_output_keeps_the_output_channels_that_have_values() -> None:
    shape = OutputShape.of(schemas.graph)
    assert not shape.whole
    assert shape.select({"question": "q", "scratch": []}) == {}
    assert shape.select({"question": "q", "answer": "A"}) == {"answer": "A"}
    assert shape.select(None) is None


def test_a_single_channel_output_is_its_value() -> None:
    assert OutputShape("__root__", ["__root__", "x"]).select({"__root__": 3, "x": 1}) == 3
