"""Calling a graph factory the way users write them: with the run's config, a
``ServerRuntime`` (langgraph_sdk.runtime), both, or nothing."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph_sdk.runtime import _ExecutionRuntime, _ReadRuntime

AccessContext = Literal["threads.create_run", "threads.update", "threads.read", "assistants.read"]


def _wants_runtime(param: inspect.Parameter) -> bool:
    annotation = param.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return "ServerRuntime" in str(text) or (
        param.name == "runtime" and annotation is inspect.Parameter.empty
    )


def server_runtime(access_context: AccessContext, context: Any, store: Any, user: Any) -> Any:
    """What the factory sees: an execution runtime (with the run's context) for runs,
    a read runtime otherwise; both carry the caller when custom auth is on."""
    if access_context == "threads.create_run":
        return _ExecutionRuntime(
            access_context=access_context, store=store, context=context, user=user
        )
    return _ReadRuntime(access_context=access_context, store=store, user=user)


def call_factory(
    factory: Callable[..., Any],
    config: RunnableConfig,
    *,
    access_context: AccessContext,
    context: Any = None,
    store: Any = None,
) -> Any:
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return factory()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if _wants_runtime(param):
            user = (config.get("configurable") or {}).get("langgraph_auth_user")
            value = server_runtime(access_context, context, store, user)
        else:
            value = config
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return factory(*args, **kwargs)
