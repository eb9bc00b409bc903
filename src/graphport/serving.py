"""Running the app under uvicorn, with a shutdown that starts draining the run engine at
the signal itself, and a short banner once the server listens.

uvicorn's own order on SIGTERM is: stop listening, wait for open requests (up to its
graceful timeout), cancel what is left, and only then run the app's lifespan shutdown. The
executor would go on claiming runs while uvicorn waits, and clients waiting on runs would be
cut at uvicorn's timeout with a bare text 500. Here the signal also begins the app's
``ShutdownDrain`` (found in the lifespan state), and uvicorn's timeout is the grace period
plus a margin, so every waiting client gets its answer before uvicorn cancels anything.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload

from graphport.execution.shutdown import DRAIN_STATE_KEY
from graphport.logs import logging_config

logger = logging.getLogger("graphport")

# Beyond the grace period: stopping the last runs, requeueing them, answering their clients.
DRAIN_MARGIN_SECONDS = 5.0
STUDIO_URL = "https://smith.langchain.com/studio/?baseUrl={url}"


@dataclass(frozen=True)
class ServeOptions:
    """What a server process needs to start (picklable: worker processes get it too)."""

    host: str
    port: int
    grace_seconds: float
    log_level: str = "INFO"
    log_json: bool = False
    reload_dirs: tuple[str, ...] | None = None  # restart on code changes under them
    role: str = "all"  # GRAPHPORT_ROLE: a worker serves its health port, not the API

    @property
    def app_factory(self) -> str:
        if self.role == "worker":
            return "graphport.worker_app:create_worker_app"
        return "graphport.app:create_app"

    def uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app_factory,
            factory=True,
            host=self.host,
            port=self.port,
            reload=self.reload_dirs is not None,
            reload_dirs=list(self.reload_dirs or ()),
            log_config=logging_config(self.log_level, json=self.log_json),
            log_level=self.log_level.lower(),
            timeout_graceful_shutdown=math.ceil(self.grace_seconds + DRAIN_MARGIN_SECONDS),
        )


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose exit signal also begins the app's drain, and that calls
    ``on_started`` once it listens (a picklable callable: ``--reload`` and ``--workers``
    run the server in a child process)."""

    _loop: asyncio.AbstractEventLoop | None = None

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit and self.on_started is not None:
            self.on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        lifespan = getattr(self, "lifespan", None)
        drain: Any = getattr(lifespan, "state", {}).get(DRAIN_STATE_KEY)
        if drain is not None and self._loop is not None:
            # a signal handler runs between two steps of the loop: schedule, don't run
            self._loop.call_soon_threadsafe(drain.begin)


def serve(options: ServeOptions) -> None:
    """Serve the app (``options.app_factory``) in this process until a signal (with
    ``reload_dirs``, in a child process restarted on code changes)."""
    config = options.uvicorn_config()
    server = DrainingServer(config, on_started=partial(announce, options))
    if config.should_reload:
        # the reloader runs the server in a child process; it stops it with SIGTERM
        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        return
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def exit_on_signals() -> None:
    """uvicorn re-raises SIGTERM and SIGINT (Ctrl+C) after its graceful shutdown; make them
    a normal exit so cleanups (the embedded Postgres) run, instead of the process dying on
    the signal or ending on a KeyboardInterrupt traceback."""

    def handle(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def base_url(host: str, port: int) -> str:
    """The URL to reach a server listening on ``host``: a wildcard address is reached on
    the loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(options: ServeOptions) -> dict[str, str]:
    url = base_url(options.host, options.port)
    return {"api": url, "docs": f"{url}/docs", "studio": STUDIO_URL.format(url=url)}


def announce(options: ServeOptions) -> None:
    """The ready banner: plain lines on stderr, or one log record under ``LOG_JSON``."""
    if options.role == "worker":
        health = f"{base_url(options.host, options.port)}/ok"
        if options.log_json:
            logger.info("graphport worker ready", extra={"health_url": health})
        else:
            print(f"\ngraphport worker is ready (health: {health})\n", file=sys.stderr, flush=True)
        return
    urls = banner(options)
    if options.log_json:
        logger.info("graphport ready", extra={f"{k}_url": v for k, v in urls.items()})
        return
    lines = [
        "",
        "graphport is ready (Ctrl+C to stop)",
        f"  API:       {urls['api']}",
        f"  API docs:  {urls['docs']}",
        f"  Studio UI: {urls['studio']}",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
