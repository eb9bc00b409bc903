"""``graphport serve --workers N``: N server processes on one listening socket.

Each worker is a whole graphport server (API, run executor, cron scheduler; with
``--no-workers``, the API only) on the shared PostgreSQL: runs are claimed with ``FOR UPDATE
SKIP LOCKED`` and each cron firing is taken by one process only, so the workers need nothing
from each other. The parent binds the socket, starts the workers, prints the banner once
they all listen, replaces a worker that dies, and on SIGTERM or SIGINT passes SIGTERM on, so
that each worker drains its runs as a single server does; a second signal makes them stop at
once.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from functools import partial
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from uvicorn.config import STARTUP_FAILURE

from graphport.logs import configure_logging
from graphport.serving import DrainingServer, ServeOptions, announce, exit_on_signals

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop


def run_worker(options: ServeOptions, sock: socket.socket, ready: Synchronized[int]) -> None:
    """A worker process: serve on the parent's socket; count itself in ``ready`` once it
    listens."""
    _stop_with_parent()
    exit_on_signals()
    configure_logging(options.log_level, json=options.log_json)
    server = DrainingServer(options.uvicorn_config(), on_started=partial(_count, ready))
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def _stop_with_parent() -> None:
    """Linux: a SIGTERM (a drain) when the parent dies without stopping us (``kill -9``),
    rather than serving on alone."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _count(ready: Synchronized[int]) -> None:
    with ready.get_lock():
        ready.value += 1


class Supervisor:
    def __init__(self, options: ServeOptions, workers: int) -> None:
        self._options = options
        self._workers = workers
        self._ready: Synchronized[int] = _spawn.Value("i", 0)
        self._processes: list[SpawnProcess] = []
        self._stop = threading.Event()
        self._signals = 0

    def run(self) -> int:
        """Serve until a signal; the exit status (``STARTUP_FAILURE`` when a worker could
        not start)."""
        sock = self._options.uvicorn_config().bind_socket()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        status = 0
        try:
            self._processes = [self._start(sock) for _ in range(self._workers)]
            logger.info("started %d worker processes", self._workers)
            status = self._watch(sock)
        finally:
            self._stop_workers(signal.SIGTERM)
            for process in self._processes:
                process.join()
            sock.close()
        return status

    def _start(self, sock: socket.socket) -> SpawnProcess:
        process = _spawn.Process(
            target=run_worker, args=(self._options, sock, self._ready), name="graphport-worker"
        )
        process.start()
        return process

    def _watch(self, sock: socket.socket) -> int:
        announced = False
        while not self._stop.wait(_POLL_SECONDS):
            if not announced and self._ready.value >= self._workers:
                announce(self._options)
                announced = True
            for index, process in enumerate(self._processes):
                if process.exitcode is None:
                    continue
                if not announced:  # it could not start: the others would fail alike
                    logger.error("a worker process could not start (exit %s)", process.exitcode)
                    return STARTUP_FAILURE
                logger.warning(
                    "worker process %s exited (%s); starting another", process.pid, process.exitcode
                )
                self._processes[index] = self._start(sock)
        return 0

    def _on_signal(self, sig: int, _frame: Any) -> None:
        self._signals += 1
        self._stop.set()
        if self._signals > 1:  # asked twice: the workers stop without waiting
            self._stop_workers(signal.SIGINT)

    def _stop_workers(self, sig: int) -> None:
        for process in self._processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, sig)
