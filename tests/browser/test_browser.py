"""A real browser against a live server: React pages on ``useStream``, bundled with esbuild
from npm packages (no CDN), served on a port of their own (another origin than the API's: CORS
is exercised) and driven in headless Chromium through playwright-core (drive.mjs). One page uses
``@langchain/langgraph-sdk/react`` (runs/stream, as agent-chat-ui does), the other
``@langchain/react`` (the thread event protocol, over SSE and over the WebSocket). Skips when no
chromium binary is found."""

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
    assert [page["name"] for page in summary["pages"]] == [
        "useStream (langgraph-sdk/react), runs/stream",
        "useStream (@langchain/react), thread events over SSE",
        "useStream (@langchain/react), thread events over WebSocket",
    ]
    for page in summary["pages"]:
        requests = Counter(
            f"{r['method']} {'page' if r['origin'] == summary['pageOrigin'] else 'api'}"
            f" {r['path']} {r.get('status')} {r.get('end')}"
            for r in page["requests"]
        )
        print(f"{page['name']}: {page['ms']} ms, {len(page['requests'])} requests:")
        for line, count in requests.items():
            print(f"  {count} x {line}")
        for socket in page["sockets"]:
            print(f"  WebSocket {socket}")
        print(f"  console: {page['console']}; page errors: {page['pageErrors']}")
