"""A real Redis for tests: ``REDIS_URI`` when set (as in CI), else a ``redis-server`` started
here on a free port, keeping nothing on disk; stopped by its own PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.server import free_port


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def redis_uri() -> Iterator[str]:
    """A Redis URI to use: ``REDIS_URI``, else a server started here. Raises
    ``RuntimeError`` when there is none to start."""
    configured = os.environ.get("REDIS_URI")
    if configured:
        yield configured
        return
    with RedisServer() as server:
        yield server.uri


class RedisServer:
    """A ``redis-server`` of the test's own on a free port (restartable on that port)."""

    def __init__(self) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("tests need Redis: set REDIS_URI or install redis-server")
        self.port = free_port()
        self.uri = f"redis://127.0.0.1:{self.port}/0"
        self._args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._args += ["--appendonly", "no", "--protected-mode", "no"]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self._proc = subprocess.Popen(
            self._args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_ready(self.uri, self._proc)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _wait_ready(uri: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    client = redis.Redis.from_url(uri)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 15 s")
    finally:
        client.close()
