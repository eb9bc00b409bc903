"""The FastAPI application: ``create_app(settings)`` and the lifespan that owns every resource."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from langgraph.checkpoint.memory import InMemorySaver

from graphport.api.custom_app import CustomApp, load_custom_app
from graphport.api.docs import install_docs
from graphport.api.middleware import RequestGuard
from graphport.api.openapi import install_openapi
from graphport.api.request_id import RequestIdMiddleware
from graphport.api.routing import add_cors, include_routes
from graphport.auth.loader import load_auth
from graphport.auth.middleware import AuthenticationMiddleware, is_public
from graphport.config import LanggraphConfig, ThreadTTLConfig, load_config
from graphport.context import AppContext
from graphport.db.checkpointer import Checkpointer
from graphport.db.embedded import EmbeddedPostgres
from graphport.db.engine import Database
from graphport.db.migrate import run_migrations
from graphport.db.store import Store
from graphport.errors import install_error_handlers
from graphport.execution.broker import Broker
from graphport.execution.completions import Completions
from graphport.execution.executor import Executor
from graphport.execution.local_broker import LocalBroker
from graphport.execution.redis_broker import RedisBroker
from graphport.execution.shutdown import DRAIN_STATE_KEY, ShutdownDrain
from graphport.execution.webhooks import WebhookSender
from graphport.execution.worker import WorkerDeps
from graphport.graphs.registry import GraphRegistry
from graphport.heap import settle_heap
from graphport.protocols.a2a.service import A2AService
from graphport.protocols.mcp.service import MCPService
from graphport.protocols.thread_events.service import ThreadEventsService
from graphport.roles import broker_warning, run_slots, runs_background_work
from graphport.roles import describe as describe_role
from graphport.scheduling.crons import CronScheduler
from graphport.scheduling.periodic import PeriodicTask
from graphport.services.assistants import AssistantService
from graphport.services.configurable_headers import HeaderSelection
from graphport.services.crons import CronService
from graphport.services.metrics import MetricsService, Timings
from graphport.services.run_checks import RunChecks
from graphport.services.runs import RunService
from graphport.services.store import StoreService
from graphport.services.streams import StreamService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService
from graphport.services.webhooks import WebhookPolicy
from graphport.settings import Settings
from graphport.tracing import OFF, Tracing, app_options

logger = logging.getLogger(__name__)


async def build_context(
    settings: Settings,
    config: LanggraphConfig,
    stack: AsyncExitStack,
    timings: Timings,
    tracing: Tracing = OFF,
) -> AppContext:
    """Build resources in order; ``stack`` tears them down in reverse. What runs in the
    background depends on the role (graphport.roles)."""
    logger.info("graphport %s", describe_role(settings))
    if (warning := broker_warning(settings)) is not None:
        logger.warning(warning)
    registry = GraphRegistry.from_config(config)
    auth = load_auth(config, dev_mode=settings.dev_mode)
    uri = settings.database_uri
    if uri is None:
        embedded = EmbeddedPostgres(settings.resolved_data_dir())
        uri = embedded.start()
        stack.callback(embedded.stop)
    size, timeout = settings.db_pool_size, settings.db_pool_timeout_secs
    db = Database(uri, pool_size=size, pool_timeout=timeout)
    await db.start()
    stack.push_async_callback(db.stop)
    if settings.run_migrations:
        await run_migrations(db.engine)
    checkpointer = Checkpointer(uri, pool_size=size, pool_timeout=timeout)
    await checkpointer.start(setup=settings.run_migrations)
    stack.push_async_callback(checkpointer.stop)

    memory = Store(checkpointer.pool, config.store, config.base_dir)
    await memory.start(setup=settings.run_migrations)
    registry.attach_store(memory.store)

    headers = HeaderSelection(config.http.configurable_headers)
    assistant_service = AssistantService(db, registry, headers)
    await assistant_service.ensure_system_assistants()
    broker = await _start_broker(settings, stack)
    thread_state = ThreadStateService(db, registry, checkpointer.saver, broker, headers)
    broker_sweeper = PeriodicTask("stream-retention-sweeper", 30, broker.sweep)
    broker_sweeper.start()
    stack.push_async_callback(broker_sweeper.stop)
    runs, executor, drain = await _start_run_engine(
        settings, config, db, registry, checkpointer, uri, broker, timings, stack, tracing
    )

    ttl = config.checkpointer.ttl
    threads = ThreadService(
        db, thread_state, runs, default_ttl_minutes=ttl.default_ttl if ttl else None
    )
    authorizer = auth.authorizer if auth else None
    crons = CronService(db, registry, runs, authorizer, fired=timings.cron_fired)
    if runs_background_work(settings):
        _start_background_work(config, memory, threads, crons, executor, stack)
    streams = StreamService(db, runs, broker)
    return AppContext(
        settings=settings,
        config=config,
        db=db,
        checkpointer=checkpointer,
        registry=registry,
        assistants=assistant_service,
        threads=threads,
        thread_state=thread_state,
        runs=runs,
        streams=streams,
        metrics=MetricsService(db, checkpointer, executor, broker, timings),
        store=StoreService(memory.store, has_index=memory.has_index),
        crons=crons,
        a2a=A2AService(assistant_service, threads, thread_state, runs, streams),
        mcp=MCPService(assistant_service, runs),
        thread_events=ThreadEventsService(runs, threads, streams, broker),
        auth=auth,
        drain=drain,
    )


async def _start_run_engine(
    settings: Settings,
    config: LanggraphConfig,
    db: Database,
    registry: GraphRegistry,
    checkpointer: Checkpointer,
    uri: str,
    broker: Broker,
    timings: Timings,
    stack: AsyncExitStack,
    tracing: Tracing,
) -> tuple[RunService, Executor, ShutdownDrain]:
    origin = secrets.token_hex(8)
    policy = WebhookPolicy.from_config(config.webhooks)
    finished: list[Callable[[dict[str, Any], Any, float], None]] = [timings.run_finished]
    if not config.http.disable_webhooks:  # else a run's webhook is checked, never called
        webhooks = WebhookSender(policy, sent=timings.webhook_sent)
        await webhooks.start()
        stack.push_async_callback(webhooks.stop)
        finished.insert(0, webhooks.on_finished)
    completions = Completions()
    deps = WorkerDeps(
        db=db,
        registry=registry,
        checkpointer=checkpointer.saver,
        events=broker,
        origin=origin,
        timeout_seconds=settings.bg_job_timeout_secs,
        tracing=tracing,
        scratch=InMemorySaver(serde=checkpointer.saver.serde),
    )
    executor = Executor(
        deps,
        completions,
        slots=run_slots(settings),
        max_attempts=settings.bg_job_max_retries + 1,
        on_finished=tuple(finished),
        sweeps=runs_background_work(settings),
    )
    await executor.start(listen_uri=uri)
    stack.push_async_callback(executor.stop, 0)  # after the drain, which had the grace period
    drain = ShutdownDrain(
        executor, completions, broker, grace_seconds=settings.bg_job_shutdown_grace_period_secs
    )
    stack.push_async_callback(drain.finish)
    checks = RunChecks(db, registry, policy, checkpointer.saver)
    headers = HeaderSelection(config.http.configurable_headers)
    runs = RunService(
        db,
        registry,
        executor,
        completions,
        checks,
        broker,
        origin=origin,
        headers=headers,
        tracing=tracing,
    )
    return runs, executor, drain


async def _start_broker(settings: Settings, stack: AsyncExitStack) -> Broker:
    """Redis when ``REDIS_URI`` is set (streams across processes), else in-process. It
    stops after the run engine, whose last runs still publish."""
    broker: Broker
    retention = settings.stream_retention_secs
    if settings.redis_uri:
        broker = RedisBroker(settings.redis_uri, retention_seconds=retention)
    else:
        broker = LocalBroker(retention_seconds=retention)
    await broker.start()
    stack.push_async_callback(broker.stop)
    return broker


def _start_background_work(
    config: LanggraphConfig,
    memory: Store,
    threads: ThreadService,
    crons: CronService,
    executor: Executor,
    stack: AsyncExitStack,
) -> None:
    """The cron scheduler and the TTL sweepers of threads and store items (their intervals
    from langgraph.json, in minutes); ``stack`` stops them."""
    store_minutes = float(
        ((config.store or {}).get("ttl") or {}).get("sweep_interval_minutes") or 5
    )
    ttl = config.checkpointer.ttl or ThreadTTLConfig()
    for task in (
        PeriodicTask("store-ttl-sweeper", store_minutes * 60, memory.store.sweep_ttl),
        PeriodicTask("thread-ttl-sweeper", ttl.sweep_interval_minutes * 60, threads.delete_expired),
    ):
        task.start()
        stack.push_async_callback(task.stop)
    scheduler = CronScheduler(crons)
    executor.watch_crons(crons.changed.set)  # crons created by other processes
    scheduler.start()
    stack.push_async_callback(scheduler.stop)


def _observer(timings: Timings) -> Callable[[str, str, int, float], None]:
    def observe(method: str, route: str, status: int, seconds: float) -> None:
        timings.http.labels(method, route, str(status)).observe(seconds)

    return observe


def create_app(settings: Settings | None = None) -> FastAPI:
    """An app that builds its resources when it starts, not when it is created."""
    resolved = settings or Settings()
    config = load_config(resolved.config_path)  # the routes depend on its ``http``
    user_app = load_custom_app(config)
    custom = CustomApp(user_app, config.http) if user_app is not None else None
    timings = Timings()
    tracing = Tracing.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            stack.callback(tracing.shutdown)  # last: flushes the spans of everything else
            context = await build_context(resolved, config, stack, timings, tracing)
            app.state.context = context
            # in the lifespan state, the server's SIGTERM handler starts the drain at once
            state: dict[str, Any] = {DRAIN_STATE_KEY: context.drain}
            if custom is not None:
                state.update(await stack.enter_async_context(custom.lifespan()))
            settle_heap(stack)  # startup's objects leave the garbage collector's walks
            logger.info("graphport ready: graphs %s", ", ".join(context.registry.ids()))
            yield state

    app = FastAPI(
        **app_options(),
        title="graphport",
        description="An open server for LangGraph graphs (LangGraph Platform API).",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves them, without a CDN
        redoc_url=None,
        openapi_url=None if config.http.disable_meta else "/openapi.json",
    )
    install_error_handlers(app)
    if not config.http.disable_meta:
        install_openapi(app, config.http, custom)
        install_docs(app)
    include_routes(app, config.http)
    if custom is not None:
        custom.mount(app)
    if custom is not None:
        custom.add_inner_middleware(app)
    app.add_middleware(
        AuthenticationMiddleware, public=custom.public(is_public) if custom else is_public
    )
    # inside CORS: its 500s carry CORS headers
    app.add_middleware(RequestGuard, observe=_observer(timings), max_bytes=resolved.max_body_bytes)
    private_network = resolved.dev_mode or resolved.allow_private_network
    add_cors(app, config.http.cors, private_network=private_network)
    if custom is not None:
        custom.add_outer_middleware(app)
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has its id
    tracing.instrument(app)  # a span per request, when tracing is on
    return app
