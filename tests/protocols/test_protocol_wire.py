"""The protocols' HTTP edges: a client that leaves before its body arrived costs nothing."""

from __future__ import annotations

import asyncio
import socket
import struct

from tests.server import ServerProcess


def _abort_mid_body(port: int, path: str) -> None:
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) + 50}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + body)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST


async def test_a_client_leaving_mid_body_is_no_server_error(server: ServerProcess) -> None:
    assert server.log_path is not None
    before = server.log_path.read_text(errors="replace")
    for path in ("/mcp", "/a2a/chat"):
        for _ in range(5):
            await asyncio.to_thread(_abort_mid_body, server.port, path)
    await asyncio.sleep(0.5)
    added = server.log_path.read_text(errors="replace")[len(before) :]
    assert "ClientDisconnect" not in added and "Traceback" not in added, added[-2000:]
