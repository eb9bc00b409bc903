"""A counting proxy for the PostgreSQL wire protocol (benchmarks only).

Sits between a server and PostgreSQL and counts what the clients send: statements executed
(each Execute, each statement of a simple Query; BEGIN/COMMIT/ROLLBACK apart), round trips
(each Sync or simple Query: the client then waits for the answer) and transactions
(BEGIN), by driver: asyncpg is graphport's own SQL, psycopg the checkpointer's and the
store's. A transaction psycopg runs in autocommit is not counted (it sends no BEGIN).
The proxy answers SSL and GSS encryption requests with "no": the traffic stays readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


def transaction_control(sql: str) -> bool:
    """BEGIN, COMMIT or ROLLBACK (not counted as statements: as transactions)."""
    head = sql.lstrip().split(None, 1)[0].upper().rstrip(";") if sql.strip() else ""
    return head in ("BEGIN", "COMMIT", "ROLLBACK", "START", "END")


@dataclass
class Counts:
    """Totals since the proxy started (or since ``reset``)."""

    statements: Counter[str] = field(default_factory=Counter)  # by driver
    transactions: Counter[str] = field(default_factory=Counter)  # BEGINs, by driver
    round_trips: Counter[str] = field(default_factory=Counter)  # by driver
    texts: Counter[str] = field(default_factory=Counter)  # "driver: first 100 chars of SQL"

    def reset(self) -> None:
        for counter in (self.statements, self.transactions, self.round_trips, self.texts):
            counter.clear()


class _ClientStream:
    """Parses one connection's client-to-server messages."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.started = False  # past the untyped startup messages
        # asyncpg (graphport's own SQL) names client_encoding at startup; libpq (psycopg:
        # the checkpointer and the store) does not
        self.driver = "psycopg"
        self.buffer = b""
        self.prepared: dict[bytes, str] = {}  # statement name -> SQL
        self.portals: dict[bytes, str] = {}  # portal name -> SQL

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """(bytes to forward to the server, bytes to answer the client directly)."""
        self.buffer += data
        forward, answer = bytearray(), bytearray()
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    break
                length, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    break
                message, self.buffer = self.buffer[:length], self.buffer[length:]
                if code in (_SSL_REQUEST, _GSS_REQUEST):
                    answer += b"N"  # no encryption: the client goes on in the clear
                    continue
                self.started = True
                if b"client_encoding" in message:
                    self.driver = "asyncpg"
                forward += message
                continue
            if len(self.buffer) < 5:
                break
            kind = self.buffer[:1]
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < length + 1:
                break
            body = self.buffer[5 : length + 1]
            forward += self.buffer[: length + 1]
            self.buffer = self.buffer[length + 1 :]
            self._message(kind, body)
        return bytes(forward), bytes(answer)

    def _message(self, kind: bytes, body: bytes) -> None:
        counts = self.counts
        if kind == b"Q":
            sql = body.split(b"\0", 1)[0].decode(errors="replace")
            for part in (p for p in sql.split(";") if p.strip()):
                self._executed(part)
            counts.round_trips[self.driver] += 1
        elif kind == b"P":
            name, rest = body.split(b"\0", 1)
            self.prepared[name] = rest.split(b"\0", 1)[0].decode(errors="replace")
        elif kind == b"B":
            portal, rest = body.split(b"\0", 1)
            statement = rest.split(b"\0", 1)[0]
            self.portals[portal] = self.prepared.get(statement, "?")
        elif kind == b"E":
            portal = body.split(b"\0", 1)[0]
            self._executed(self.portals.get(portal, "?"))
        elif kind == b"S":
            counts.round_trips[self.driver] += 1

    def _executed(self, sql: str) -> None:
        if transaction_control(sql):
            if sql.split()[0].upper() in ("BEGIN", "START"):
                self.counts.transactions[self.driver] += 1
            return
        self.counts.statements[self.driver] += 1
        self.counts.texts[f"{self.driver}: {' '.join(sql.split())[:100]}"] += 1


class WireCounter:
    """``async with WireCounter(uri) as proxy``: ``proxy.uri`` reaches the same database
    through the proxy (TCP on 127.0.0.1); ``proxy.counts`` is what went through."""

    def __init__(self, uri: str) -> None:
        self.target = uri
        self.counts = Counts()
        self.uri = ""
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> WireCounter:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self.target)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}" if parts.password else user
        self.uri = urlunsplit(("postgresql", f"{auth}@127.0.0.1:{port}", parts.path, "", ""))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.target)
        host = dict(parse_qsl(parts.query)).get("host") or parts.hostname or "127.0.0.1"
        port = parts.port or 5432
        if host.startswith("/"):
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream_reader, upstream_writer = await self._connect()
        parser = _ClientStream(self.counts)

        async def up() -> None:
            while data := await reader.read(65536):
                forward, answer = parser.feed(data)
                if answer:
                    writer.write(answer)
                if forward:
                    upstream_writer.write(forward)
                    await upstream_writer.drain()
            upstream_writer.close()

        async def down() -> None:
            while data := await upstream_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(up(), down())
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream_writer):
                with contextlib.suppress(Exception):
                    w.close()
            self._tasks.discard(task)
