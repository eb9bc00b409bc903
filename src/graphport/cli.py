"""graphport serves LangGraph graphs over the LangGraph Platform (Agent Server) HTTP API,
so the official SDKs, LangGraph Studio and agent-chat-ui work against it.

Run it beside your langgraph.json:
  graphport dev      local development: an embedded PostgreSQL unless DATABASE_URI is set
  graphport serve    production: set DATABASE_URI (or pass --embedded-postgres)
  graphport worker   runs, crons and sweepers without the API, beside serve --no-workers
  graphport migrate  apply the database migrations and exit

Environment: DATABASE_URI, LOG_LEVEL, LOG_JSON and more (see the README).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from graphport.errors import ConfigError

if TYPE_CHECKING:
    from graphport.serving import ServeOptions

DEV_PORT = 2024  # as `langgraph dev`
SERVE_PORT = 8000  # as the official server's container
WORKER_PORT = 8001  # the worker's health port
NO_DATABASE = (
    "serve needs a database: set DATABASE_URI to your PostgreSQL "
    "(postgresql://user:password@host:5432/dbname), or pass --embedded-postgres"
)
NO_WORKER_DATABASE = (
    "worker needs a database: set DATABASE_URI to the PostgreSQL of your API "
    "(postgresql://user:password@host:5432/dbname)"
)

ENVIRONMENT = (
    "environment: DATABASE_URI (PostgreSQL URL), LOG_LEVEL (default INFO), "
    "LOG_JSON (default false: text logs), N_JOBS_PER_WORKER (default 32); "
    "the README lists them all"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphport",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = _command(commands, "dev", "run the server for local development")
    _add_server_options(dev, port=DEV_PORT)
    dev.add_argument("--reload", action="store_true", help="restart when code changes")

    serve = _command(commands, "serve", "run the server in production")
    _add_server_options(serve, port=SERVE_PORT)
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="server processes sharing the port; each runs N_JOBS_PER_WORKER runs at once",
    )
    serve.add_argument(
        "--embedded-postgres",
        action="store_true",
        help="without DATABASE_URI, run an embedded PostgreSQL in --data-dir",
    )
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="the API only: runs are queued for graphport worker processes, crons too",
    )

    worker = _command(commands, "worker", "execute runs and crons, with no API")
    _add_config(worker)
    worker.add_argument(
        "--host",
        default="127.0.0.1",
        help="address of the health port (0.0.0.0: every interface, as in a container)",
    )
    worker.add_argument(
        "--port", type=_port, default=WORKER_PORT, help="health port: GET /ok and /metrics"
    )
    worker.add_argument("--no-migrate", action="store_true", help="skip migrations at startup")

    migrate = _command(commands, "migrate", "apply database migrations and exit")
    _add_common(migrate)
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=f"graphport {name}: {summary}.",
        epilog=ENVIRONMENT,
        formatter_class=_DefaultsFormatter,
    )


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for flags (off) and options without one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _add_server_options(cmd: argparse.ArgumentParser, *, port: int) -> None:
    _add_common(cmd)
    cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (0.0.0.0: every interface, as in a container)",
    )
    cmd.add_argument("--port", type=_port, default=port, help="port to listen on")
    cmd.add_argument("--no-migrate", action="store_true", help="skip migrations at startup")


def _add_config(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--config", type=Path, default=Path("langgraph.json"), help="your langgraph.json"
    )


def _add_common(cmd: argparse.ArgumentParser) -> None:
    _add_config(cmd)
    cmd.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="embedded PostgreSQL data directory (default: .graphport/ beside the config)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be 1 to 65535, not {value}")
    return value


def _version() -> str:
    try:
        return version("graphport")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _export(args: argparse.Namespace) -> None:
    """Hand flags to the server process (and --reload children) through its settings."""
    os.environ["GRAPHPORT_CONFIG"] = str(args.config.resolve())
    if getattr(args, "data_dir", None) is not None:
        os.environ["GRAPHPORT_DATA_DIR"] = str(args.data_dir.resolve())
    # the command sets the role (a GRAPHPORT_ROLE left in the environment does not count)
    os.environ["GRAPHPORT_ROLE"] = _role(args)
    # dev mode (Studio's local sign-in past custom auth, browsers' private-network access)
    # is the dev command's alone: serve turns off a GRAPHPORT_DEV left in the environment
    os.environ["GRAPHPORT_DEV"] = "true" if args.command == "dev" else "false"
    if getattr(args, "no_migrate", False):
        os.environ["GRAPHPORT_MIGRATE"] = "false"


def _role(args: argparse.Namespace) -> str:
    if args.command == "worker":
        return "worker"
    return "api" if getattr(args, "no_workers", False) else "all"


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
    """Start the embedded Postgres here (so --reload restarts and --workers share one
    server) unless DATABASE_URI is set, and stop it when the command ends."""
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


def _check_database(uri: str) -> None:
    """One line, not uvicorn's traceback of a failed startup, when DATABASE_URI cannot be
    used (no server there, a database that does not exist, a refused login)."""
    from graphport.db.engine import Database

    async def probe() -> None:
        db = Database(uri, pool_size=1)
        await db.start()
        try:
            await db.ping()
        finally:
            await db.stop()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any driver or network failure: say its first line
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise ConfigError(f"cannot use the database in DATABASE_URI: {reason}") from None


def _check_redis(uri: str | None) -> None:
    """One line, not a startup traceback, when REDIS_URI is set but cannot be used."""
    if not uri:
        return
    import redis

    try:
        with redis.Redis.from_url(uri, socket_connect_timeout=5, socket_timeout=5) as client:
            client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot use the Redis in REDIS_URI: {reason}") from None


def _serve(args: argparse.Namespace) -> None:
    from graphport.serving import exit_on_signals, serve
    from graphport.settings import Settings

    settings = Settings()
    _validate_config()  # a broken langgraph.json first: it is wrong wherever it runs
    if not (settings.database_uri or args.command == "dev" or args.embedded_postgres):
        raise ConfigError(NO_DATABASE)  # before anything is started
    _check_port_free(args.host, args.port)
    if settings.database_uri:
        _check_database(settings.database_uri)
    _check_redis(settings.redis_uri)
    exit_on_signals()
    options = _options(args)
    workers = getattr(args, "workers", 1)
    with _database():
        if workers == 1:
            serve(options)
            return
        from graphport.roles import broker_warning
        from graphport.supervisor import Supervisor

        if (warning := broker_warning(settings, workers)) is not None:
            logging.getLogger("graphport").warning(warning)

        status = Supervisor(options, workers).run()
    if status:
        raise SystemExit(status)


def _options(args: argparse.Namespace) -> ServeOptions:
    from graphport.serving import ServeOptions
    from graphport.settings import Settings

    settings = Settings()
    reload = bool(getattr(args, "reload", False))
    return ServeOptions(
        host=args.host,
        port=args.port,
        grace_seconds=settings.bg_job_shutdown_grace_period_secs,
        log_level=settings.log_level,
        log_json=settings.log_json,
        reload_dirs=(str(args.config.resolve().parent),) if reload else None,
        role=settings.role,
    )


def _worker(args: argparse.Namespace) -> None:
    """Runs, crons and sweepers on DATABASE_URI, with a health port; checked as serve is."""
    from graphport.serving import exit_on_signals, serve
    from graphport.settings import Settings

    settings = Settings()
    _validate_config()
    if not settings.database_uri:
        raise ConfigError(NO_WORKER_DATABASE)
    if settings.n_jobs_per_worker < 1:
        raise ConfigError("worker needs N_JOBS_PER_WORKER of 1 or more, not 0")
    _check_port_free(args.host, args.port)
    _check_database(settings.database_uri)
    _check_redis(settings.redis_uri)
    exit_on_signals()
    serve(_options(args))


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
    from graphport.logs import configure_logging
    from graphport.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        )
        print(f"graphport: invalid environment: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, json=settings.log_json)
    _export(args)
    try:
        if args.command == "migrate":
            _migrate()
        elif args.command == "worker":
            _worker(args)
        else:
            _serve(args)
    except ConfigError as exc:
        print(f"graphport: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
