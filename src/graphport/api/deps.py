"""Dependencies as ``Annotated`` aliases: routers never reach for globals. Each is a
coroutine: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from graphport.auth.actor import ANONYMOUS, Actor
from graphport.auth.middleware import ACTOR_KEY
from graphport.context import AppContext
from graphport.errors import Unauthorized
from graphport.protocols.a2a.service import A2AService
from graphport.protocols.mcp.service import MCPService
from graphport.protocols.thread_events.service import ThreadEventsService
from graphport.services.assistants import AssistantService
from graphport.services.crons import CronService
from graphport.services.run_waits import Departure
from graphport.services.runs import RunService
from graphport.services.store import StoreService
from graphport.services.streams import StreamService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def context_dependency(request: Request) -> AppContext:
    return get_context(request)


async def get_actor(request: Request) -> Actor:
    """The caller, as the authentication middleware found them (anonymous without auth)."""
    actor: Actor | None = request.scope.get(ACTOR_KEY)
    if actor is not None:
        return actor
    if get_context(request).auth is not None:
        raise Unauthorized("Unauthorized")  # never anonymous when auth is configured
    return ANONYMOUS


def departure_of(request: Request) -> Departure:
    """Returns when the client closes the connection. The body is read by then, so the
    next ASGI message is the disconnect (a GET's empty body may come first)."""

    async def departed() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return departed


async def get_headers(request: Request) -> Mapping[str, str]:
    """The request's headers, for the services that hand some to graphs (lower-case names)."""
    return request.headers


async def get_assistant_service(request: Request) -> AssistantService:
    return get_context(request).assistants


async def get_thread_service(request: Request) -> ThreadService:
    return get_context(request).threads


async def get_thread_state_service(request: Request) -> ThreadStateService:
    return get_context(request).thread_state


async def get_run_service(request: Request) -> RunService:
    return get_context(request).runs


async def get_stream_service(request: Request) -> StreamService:
    return get_context(request).streams


async def get_store_service(request: Request) -> StoreService:
    return get_context(request).store


async def get_cron_service(request: Request) -> CronService:
    return get_context(request).crons


async def get_a2a_service(request: Request) -> A2AService:
    return get_context(request).a2a


async def get_mcp_service(request: Request) -> MCPService:
    return get_context(request).mcp


async def get_thread_events_service(request: Request) -> ThreadEventsService:
    return get_context(request).thread_events


CurrentActor = Annotated[Actor, Depends(get_actor)]
RequestHeaders = Annotated[Mapping[str, str], Depends(get_headers)]
Context = Annotated[AppContext, Depends(context_dependency)]
Assistants = Annotated[AssistantService, Depends(get_assistant_service)]
Threads = Annotated[ThreadService, Depends(get_thread_service)]
ThreadState = Annotated[ThreadStateService, Depends(get_thread_state_service)]
Runs = Annotated[RunService, Depends(get_run_service)]
Streams = Annotated[StreamService, Depends(get_stream_service)]
Store = Annotated[StoreService, Depends(get_store_service)]
Crons = Annotated[CronService, Depends(get_cron_service)]
A2A = Annotated[A2AService, Depends(get_a2a_service)]
MCP = Annotated[MCPService, Depends(get_mcp_service)]
ThreadEvents = Annotated[ThreadEventsService, Depends(get_thread_events_service)]
