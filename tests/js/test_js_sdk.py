"""The official JS SDK against a live server: ``@langchain/langgraph-sdk`` at the registry's
``latest`` (1.15.0) and at 2.0.0, installed side by side under npm aliases (package.json).
The checks, in sdk_check.mjs, assert values, order and statuses; node's output is the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.node import npm_ci, run_node
from tests.server import ServerProcess

HERE = Path(__file__).parent
PINNED = json.loads((HERE / "package.json").read_text())["dependencies"]


@pytest.fixture(scope="session")
def js_packages() -> None:
    npm_ci(HERE)


@pytest.mark.parametrize("package", ["sdk-latest", "sdk-2"])
def test_js_sdk(js_packages: None, server: ServerProcess, package: str) -> None:
    installed = json.loads((HERE / "node_modules" / package / "package.json").read_text())
    assert f"npm:{installed['name']}@{installed['version']}" == PINNED[package]
    output = run_node(HERE / "sdk_check.mjs", server.url, package, timeout=180)
    assert f"ok {package}: all checks passed" in output, output
