"""What ``GET /info`` reports; Studio gates features on ``version`` (an API-compatible semver)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from graphport.config import LanggraphConfig
from graphport.db.engine import Database
from graphport.errors import Unavailable

# The official API version whose behaviour graphport reproduces.
API_COMPATIBLE_VERSION = "0.16.7"


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def server_info(config: LanggraphConfig) -> dict[str, Any]:
    return {
        "version": API_COMPATIBLE_VERSION,
        "langgraph_py_version": package_version("langgraph"),
        "flags": {
            # off when langgraph.json's ``http`` leaves their routes out
            "assistants": not config.http.disable_assistants,
            "crons": not config.http.disable_runs,
            "langsmith": False,
            "langsmith_tracing_replicas": False,
            "strict_resume": True,
        },
        "host": {"kind": "self-hosted", "project_id": None, "host_revision_id": None},
        "metadata": {"server": "graphport", "graphport_version": package_version("graphport")},
    }


async def check_database(db: Database) -> None:
    try:
        await db.ping()
    except Exception as exc:  # any driver or network failure means "not healthy"
        raise Unavailable(f"Database check failed: {type(exc).__name__}") from exc
