"""A real browser against a live server: a React page on ``useStream`` from
``@langchain/langgraph-sdk/react``, bundled with esbuild from npm packages (no CDN), served on
a port of its own (another origin than the API's: CORS is exercised) and driven in headless
Chromium through playwright-core (drive.mjs). Skips when no chromium binary is found."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node import npm_ci, require_node, run_node
from tests.server import FIXTURES, ServerProcess, create_database, drop_database

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (``.ci/run`` installs it), or ``CHROMIUM_PATH``."""
    require_node()
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not found:
        pytest.skip(
            "no chromium binary: install it (apt-get install chromium) or set CHROMIUM_PATH"
        )
    npm_ci(HERE)
    return found


@pytest.fixture(scope="module")
def chat_server(chromium: str, database_uri: str) -> Iterator[ServerProcess]:
    """A server on the browser fixture's graph, with a database of its own."""
    uri = create_database(database_uri)
    process = ServerProcess(database_uri=uri, config=FIXTURES / "browser" / "langgraph.json")
    yield process.start()
    process.stop()
    drop_database(database_uri, uri)


def test_chat_page_streams_interrupts_and_reloads(
    chromium: str, chat_server: ServerProcess, tmp_path: Path
) -> None:
    output = run_node(
        HERE / "drive.mjs", chat_server.url, str(tmp_path / "site"), chromium, timeout=180
    )
    assert "ok: browser scenario passed" in output, output
    summary = json.loads(output.split("SUMMARY ", 1)[1].splitlines()[0])
    requests = Counter(
        f"{r['method']} {'page' if r['origin'] == summary['pageOrigin'] else 'api'} {r['path']}"
        f" {r.get('status')} {r.get('end')}"
        for r in summary["requests"]
    )
    print(f"{len(summary['requests'])} requests:")
    for line, count in requests.items():
        print(f"  {count} x {line}")
    print(f"console: {summary['console']}; page errors: {summary['pageErrors']}")
