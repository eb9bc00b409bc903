"""The ``graphport`` command: dev | serve | migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graphport.errors import ConfigError

DEFAULT_PORT = 2024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphport", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (
        ("dev", "run the server for local development (embedded Postgres by default)"),
        ("serve", "run the server (uses DATABASE_URI, or the embedded Postgres)"),
    ):
        cmd = commands.add_parser(name, help=help_text)
        _add_common(cmd)
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
        cmd.add_argument("--no-migrate", action="store_true", help="skip migrations at startup")
        if name == "dev":
            cmd.add_argument("--reload", action="store_true", help="restart when code changes")

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    _add_common(migrate)
    return parser


def _add_common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--config", type=Path, default=Path("langgraph.json"))
    cmd.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="embedded Postgres data directory (default: .graphport/ beside the config)",
    )


def _export(args: argparse.Namespace) -> None:
    """Hand flags to the server process (and --reload children) through its settings."""
    os.environ["GRAPHPORT_CONFIG"] = str(args.config.resolve())
    if args.data_dir is not None:
        os.environ["GRAPHPORT_DATA_DIR"] = str(args.data_dir.resolve())
    if args.command == "dev":
        os.environ["GRAPHPORT_DEV"] = "true"  # e.g. Studio's local sign-in
    if getattr(args, "no_migrate", False):
        os.environ["GRAPHPORT_MIGRATE"] = "false"


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"graphport: cannot listen on {host}:{port}: {exc.strerror}") from None


@contextmanager
def _database() -> Iterator[None]:
    """Start the embedded Postgres here (so --reload restarts keep one server) unless
    DATABASE_URI is set, and stop it when the command ends."""
    from graphport.db.embedded import EmbeddedPostgres
    from graphport.settings import Settings

    settings = Settings()
    if settings.database_uri:
        yield
        return
    embedded = EmbeddedPostgres(settings.resolved_data_dir())
    os.environ["DATABASE_URI"] = embedded.start()
    try:
        yield
    finally:
        embedded.stop()


def _exit_on_sigterm() -> None:
    """uvicorn re-raises SIGTERM after its graceful shutdown; make that a normal exit so
    cleanups (the embedded Postgres) run instead of the process dying on the signal."""

    def handle(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handle)


def _validate_config() -> None:
    from graphport.api.custom_app import load_custom_app
    from graphport.auth.loader import load_auth
    from graphport.config import load_config
    from graphport.graphs.registry import GraphRegistry
    from graphport.settings import Settings

    settings = Settings()
    config = load_config(settings.config_path)
    GraphRegistry.from_config(config)
    load_auth(config, dev_mode=settings.dev_mode)
    load_custom_app(config)


def _serve(args: argparse.Namespace) -> None:
    _check_port_free(args.host, args.port)
    _validate_config()
    _exit_on_sigterm()
    reload = bool(getattr(args, "reload", False))
    with _database():
        _run_uvicorn(args, reload)


def _run_uvicorn(args: argparse.Namespace, reload: bool) -> None:
    from graphport.serving import serve
    from graphport.settings import Settings

    serve(
        host=args.host,
        port=args.port,
        reload_dirs=[str(args.config.resolve().parent)] if reload else None,
        grace_seconds=Settings().bg_job_shutdown_grace_period_secs,
    )


def _migrate() -> None:
    from graphport.db.engine import Database
    from graphport.db.migrate import run_migrations
    from graphport.settings import Settings

    async def run() -> None:
        db = Database(Settings().database_uri or "", pool_size=1)
        await db.start()
        try:
            await run_migrations(db.engine)
        finally:
            await db.stop()

    with _database():
        asyncio.run(run())
    print("graphport: migrations applied")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _export(args)
    try:
        if args.command == "migrate":
            _migrate()
        else:
            _serve(args)
    except ConfigError as exc:
        print(f"graphport: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
