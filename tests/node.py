"""Node scripts in tests: npm packages installed from a committed lock file (once per lock),
scripts run with a timeout, and a clear skip when node is not installed."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

STAMP = ".graphport-lock.sha256"


def require_node() -> str:
    """The node executable; skips the test when there is none."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the JS SDK and browser tests need Node.js 20+")
    return node


def npm_ci(folder: Path) -> None:
    """``npm ci`` in ``folder`` unless its node_modules were installed from the same
    package-lock.json (and node version) already; fails the test with npm's output."""
    require_node()
    lock = folder / "package-lock.json"
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256(lock.read_bytes() + node_version.encode()).hexdigest()
    stamp = folder / "node_modules" / STAMP
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # xdist workers: one install at a time
        if stamp.exists() and stamp.read_text() == digest:
            return
        args = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        output, code = _run(args, cwd=folder, timeout=600)
        if code != 0:
            pytest.fail(f"npm ci failed in {folder} (exit {code}):\n{output}")
        stamp.write_text(digest)


def run_node(script: Path, *args: str, timeout: float) -> str:
    """Run ``node script args...`` in the script's folder; returns its output (stdout and
    stderr). A non-zero exit or a timeout fails the test with that output."""
    output, code = _run([require_node(), str(script), *args], cwd=script.parent, timeout=timeout)
    if code != 0:
        pytest.fail(f"node {script.name} exited with {code}:\n{output}")
    return output


def _run(args: list[str], *, cwd: Path, timeout: float) -> tuple[str, int]:
    # A session of its own: on a timeout the whole group (node and any browser it
    # started) is killed, and nothing else.
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return f"{output}\n(killed after {timeout} s)", -1
    return output, proc.returncode
