"""Running the app under uvicorn, with a shutdown that starts draining the run engine at
the signal itself.

uvicorn's own order on SIGTERM is: stop listening, wait for open requests (up to its
graceful timeout), cancel what is left, and only then run the app's lifespan shutdown. The
executor would go on claiming runs while uvicorn waits, and clients waiting on runs would be
cut at uvicorn's timeout with a bare text 500. Here the signal also begins the app's
``ShutdownDrain`` (found in the lifespan state), and uvicorn's timeout is the grace period
plus a margin, so every waiting client gets its answer before uvicorn cancels anything.
"""

from __future__ import annotations

import asyncio
import math
import socket
import sys
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload

from graphport.execution.shutdown import DRAIN_STATE_KEY

# Beyond the grace period: stopping the last runs, requeueing them, answering their clients.
DRAIN_MARGIN_SECONDS = 5.0


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose exit signal also begins the app's drain."""

    _loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        lifespan = getattr(self, "lifespan", None)
        drain: Any = getattr(lifespan, "state", {}).get(DRAIN_STATE_KEY)
        if drain is not None and self._loop is not None:
            # a signal handler runs between two steps of the loop: schedule, don't run
            self._loop.call_soon_threadsafe(drain.begin)


def serve(*, host: str, port: int, reload_dirs: list[str] | None, grace_seconds: float) -> None:
    """Serve ``graphport.app:create_app`` until a signal; ``reload_dirs``: restart on code
    changes under them (``graphport dev --reload``)."""
    config = uvicorn.Config(
        "graphport.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload_dirs is not None,
        reload_dirs=reload_dirs,
        log_level="info",
        timeout_graceful_shutdown=math.ceil(grace_seconds + DRAIN_MARGIN_SECONDS),
    )
    server = DrainingServer(config)
    if config.should_reload:
        # the reloader runs the server in a child process; it stops it with SIGTERM
        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        return
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
