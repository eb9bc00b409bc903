"""The OpenAPI document: FastAPI's, built from the routes' declarations, plus what a route
cannot declare itself: the schemas its error and event-stream entries reference
(ErrorResponse, StreamEvent), and the 401/403 every protected operation answers when
langgraph.json configures custom auth.

Whether auth is configured is known once the lifespan has loaded langgraph.json (not when
``create_app`` runs), so the document is built on its first request, after startup.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from graphport.api.custom_app import CustomApp
from graphport.api.responses import STREAM_EVENT, errors
from graphport.auth.middleware import PUBLIC_PATHS
from graphport.http_config import HttpConfig
from graphport.schemas.errors import ErrorResponse

Document = dict[str, Any]

_AUTH_ERRORS = {
    str(status): entry
    for status, entry in errors(
        401,
        403,
        reasons={
            401: "Custom auth: no credentials, or the authenticate function refused them "
            "(it may answer other statuses, with its own detail and headers).",
            403: "Custom auth: an authorization handler refused the request.",
        },
    ).items()
}
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head", "trace"})


def install_openapi(app: FastAPI, http: HttpConfig, custom: CustomApp | None = None) -> None:
    """Serve ``build_document`` at ``/openapi.json`` (and ``/docs``), built once started."""

    def document() -> Document:
        if app.openapi_schema is not None:
            return app.openapi_schema
        built = build_document(app, http, custom)
        if getattr(app.state, "context", None) is not None:  # started: auth is known
            app.openapi_schema = built
        return built

    app.openapi = document  # type: ignore[method-assign]


def build_document(
    app: FastAPI, http: HttpConfig | None = None, custom: CustomApp | None = None
) -> Document:
    """The OpenAPI 3.1 document of ``app``'s routes, with the shared component schemas, and
    the auth statuses when the started app has custom auth; the custom app's operations
    added; without the ``webhook`` fields when ``http.disable_webhooks`` (as officially)."""
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_error_schemas())
    components["StreamEvent"] = STREAM_EVENT
    context = getattr(app.state, "context", None)
    authenticated = context is not None and context.auth is not None
    if authenticated:
        add_auth_errors(schema)
    if http is not None and http.disable_webhooks:
        for component in components.values():
            component.get("properties", {}).pop("webhook", None)
    if custom is not None:
        custom.add_operations(schema, add_auth_errors if authenticated else _unchanged)
    return schema


def _unchanged(_: Document) -> None:
    return None


def add_auth_errors(schema: Document) -> None:
    """401 and 403 on every operation but the public ones (``PUBLIC_PATHS``)."""
    for path, item in schema.get("paths", {}).items():
        if path in PUBLIC_PATHS:
            continue
        for method, operation in item.items():
            if method in _METHODS:
                operation.setdefault("responses", {}).update(_AUTH_ERRORS)


def _error_schemas() -> dict[str, Any]:
    """ErrorResponse and the models it uses, as component schemas."""
    _, top = models_json_schema(
        [(ErrorResponse, "serialization")], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs
