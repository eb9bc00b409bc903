"""langgraph.json parsing and graph loading, with clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from uuid import UUID

import pytest

from graphport.config import load_config
from graphport.db.urls import psycopg_conninfo, sqlalchemy_url
from graphport.errors import ConfigError
from graphport.graphs.registry import GraphRegistry, system_assistant_id

GRAPH_SOURCE = """
from typing_extensions import TypedDict
from langgraph.graph import START, StateGraph

class State(TypedDict):
    x: int

builder = StateGraph(State)
builder.add_node("inc", lambda s: {"x": s["x"] + 1})
builder.add_edge(START, "inc")
graph = builder.compile()
not_a_graph = 42
"""


def _write(tmp_path: Path, config: dict[str, object], source: str = GRAPH_SOURCE) -> Path:
    (tmp_path / "agent.py").write_text(source)
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def test_system_assistant_id_is_the_official_uuid5() -> None:
    assert system_assistant_id("agent") == UUID("fe096781-5601-53d2-b2f6-0d3403f7e9ca")


def test_loads_file_graph_and_keeps_unknown_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"graphs": {"agent": "./agent.py:graph"}, "python_version": "3.11", "ui": {"x": 1}},
    )
    config = load_config(path)
    assert config.model_extra == {"python_version": "3.11", "ui": {"x": 1}}
    registry = GraphRegistry.from_config(config)
    assert registry.ids() == ["agent"]


async def test_loaded_graph_runs(tmp_path: Path) -> None:
    registry = GraphRegistry.from_config(
        load_config(_write(tmp_path, {"graphs": {"agent": {"path": "./agent.py:graph"}}}))
    )
    async with registry.graph("agent") as graph:
        assert await graph.ainvoke({"x": 1}) == {"x": 2}


def test_module_path_graph_with_dependencies(tmp_path: Path) -> None:
    package = tmp_path / "src" / "mypkg_for_graphport_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "agent.py").write_text(GRAPH_SOURCE)
    path = tmp_path / "langgraph.json"
    path.write_text(
        json.dumps(
            {"dependencies": ["./src"], "graphs": {"g": "mypkg_for_graphport_test.agent:graph"}}
        )
    )
    assert GraphRegistry.from_config(load_config(path)).ids() == ["g"]


def test_env_dict_and_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GRAPHPORT_T_FILE=from-file\n")
    path = _write(tmp_path, {"graphs": {}, "env": ".env"})
    GraphRegistry.from_config(load_config(path))
    assert os.environ.pop("GRAPHPORT_T_FILE") == "from-file"
    path = _write(tmp_path, {"graphs": {}, "env": {"GRAPHPORT_T_DICT": 5}})
    GraphRegistry.from_config(load_config(path))
    assert os.environ.pop("GRAPHPORT_T_DICT") == "5"


@pytest.mark.parametrize(
    ("graphs", "source", "message"),
    [
        ({"bad": "./agent.py"}, GRAPH_SOURCE, "must look like"),
        ({"bad": "./missing.py:graph"}, GRAPH_SOURCE, "not found"),
        ({"bad": "./agent.py:nothing"}, GRAPH_SOURCE, "has no attribute 'nothing'"),
        ({"bad": "./agent.py:not_a_graph"}, GRAPH_SOURCE, "is a int"),
        ({"bad": "./agent.py:graph"}, "raise RuntimeError('kaboom')", "RuntimeError: kaboom"),
        ({"bad": "no_such_module_xyz:graph"}, GRAPH_SOURCE, "ModuleNotFoundError"),
    ],
)
def test_bad_graphs_name_the_graph_and_problem(
    tmp_path: Path, graphs: dict[str, str], source: str, message: str
) -> None:
    path = _write(tmp_path, {"graphs": graphs}, source)
    with pytest.raises(ConfigError) as caught:
        GraphRegistry.from_config(load_config(path))
    assert "'bad'" in str(caught.value) or "missing.py" in str(caught.value)
    assert message in str(caught.value)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_config(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"graphs": ["a"]}))
    with pytest.raises(ConfigError, match="graphs"):
        load_config(wrong)


def test_database_urls_derive_from_one_uri() -> None:
    uri = "postgresql://u:p@db:5433/app?sslmode=require"
    assert sqlalchemy_url(uri) == "postgresql+asyncpg://u:p@db:5433/app?ssl=require"
    assert psycopg_conninfo(uri) == uri
    socket_uri = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert sqlalchemy_url(socket_uri) == "postgresql+asyncpg://postgres:@/postgres?host=%2Ftmp%2Fpg"
    assert psycopg_conninfo("postgres://u@h/d") == "postgresql://u@h/d"
    with pytest.raises(ValueError):
        sqlalchemy_url("mysql://u@h/d")
