"""Dependencies as ``Annotated`` aliases: routers never reach for globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from graphport.context import AppContext
from graphport.services.assistants import AssistantService


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def get_assistant_service(request: Request) -> AssistantService:
    return get_context(request).assistants


Context = Annotated[AppContext, Depends(get_context)]
Assistants = Annotated[AssistantService, Depends(get_assistant_service)]
