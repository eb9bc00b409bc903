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
    """A Redis URI to use; raises ``RuntimeError`` when there is none to start."""
    configured = os.environ.get("REDIS_URI")
    if configured:
        yield configured
        return
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("tests need Redis: set REDIS_URI or install redis-server")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--protected-mode", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_ready(uri, proc)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
