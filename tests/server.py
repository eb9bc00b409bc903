"""Start and stop a real graphport server process for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
TEST_CONFIG = FIXTURES / "langgraph.json"

_LOGS: list[Path] = []  # the server logs this process wrote: see remove_logs()


def remove_logs() -> None:
    """Delete the server logs this process wrote (tests: at the end of a session that
    passed; a failed one keeps them for reading)."""
    while _LOGS:
        _LOGS.pop().unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``graphport <command>`` on 127.0.0.1; stopped by its own PID only."""

    def __init__(
        self,
        *,
        database_uri: str | None,
        config: Path = TEST_CONFIG,
        data_dir: Path | None = None,
        command: str = "serve",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.data_dir = data_dir
        self.command = command
        self.extra_args = extra_args or []
        self.env = {**os.environ, **(extra_env or {})}
        self.env.pop("DATABASE_URI", None)
        if database_uri:
            self.env["DATABASE_URI"] = database_uri
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.launch()
        self.wait_ready(timeout)
        return self

    def launch(self) -> ServerProcess:
        """Start the process without waiting for it (``wait_ready`` then waits)."""
        args = [sys.executable, "-m", "graphport.cli", self.command, "--config", str(self.config)]
        args += ["--port", str(self.port), *self.extra_args]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"graphport-test-{self.port}.log"
        _LOGS.append(self.log_path)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/ok", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def create_database(admin_uri: str, prefix: str = "graphport_test") -> str:
    """A new empty database on the server ``admin_uri`` points at; returns its URI."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin_uri)._replace(path=f"/{name}"))


def drop_database(admin_uri: str, uri: str) -> None:
    import psycopg

    name = urlsplit(uri).path.lstrip("/")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
