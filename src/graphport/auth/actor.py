"""Who is calling, and the handlers that decide what they may do: services take an
``Actor`` and ask it before they read or write anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph_sdk.auth.types import AuthContext

from graphport.auth.filters import AuthFilter
from graphport.auth.handlers import Authorizer
from graphport.auth.users import user_for_graph

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """``user`` is what handlers see as ``ctx.user``; ``user_data`` its JSON form (stored
    with runs and crons). No authorizer: everything is allowed (no auth configured, or the
    server itself acting, e.g. a cron firing)."""

    user: Any = None
    user_data: Row | None = None
    authorizer: Authorizer | None = None

    @classmethod
    def signed_in(cls, data: Row, authorizer: Authorizer | None) -> Actor:
        """The actor for a stored or just-authenticated user (its JSON form)."""
        return cls(user_for_graph(data), data, authorizer)

    @property
    def permissions(self) -> list[str]:
        return list((self.user_data or {}).get("permissions") or [])

    @property
    def identity(self) -> str | None:
        return None if self.user_data is None else str(self.user_data["identity"])

    async def authorize(self, resource: str, action: str, value: Row) -> AuthFilter | None:
        """Run the handler for ``resource.action``; it may change ``value`` in place.
        Returns the filter the resource must match, or None."""
        if self.authorizer is None:
            return None
        ctx = AuthContext(
            permissions=self.permissions,
            user=self.user,
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        return await self.authorizer.authorize(ctx, value)

    def configurable(self) -> Row:
        """What a run started by this actor carries in ``config["configurable"]``, as the
        official server sets it: the user (its JSON form; None without custom auth), its
        identity ("" without) and its permissions ([] without)."""
        return {
            "langgraph_auth_user": self.user_data,
            "langgraph_auth_user_id": self.identity or "",
            "langgraph_auth_permissions": self.permissions,
        }

    def with_identity(self, config: Row) -> Row:
        """``config`` with the caller in ``configurable`` (as stored with a run), replacing
        anything a client sent under the ``langgraph_auth_*`` keys. ``user_id`` is what the
        run or its assistant set, else the caller's identity, else "", as on the official
        server: graphs that must trust who the caller is read ``langgraph_auth_user_id``."""
        configurable = {**(config.get("configurable") or {}), **self.configurable()}
        configurable["user_id"] = configurable.get("user_id") or self.identity or ""
        return {**config, "configurable": configurable}

    def for_graph(self, config: Row) -> Row:
        """``config`` with the caller in ``configurable``, as graph factories read it."""
        merged = self.with_identity(config)
        return {**merged, "configurable": graph_configurable(merged["configurable"])}


ANONYMOUS = Actor()  # the caller when no custom auth is configured
SYSTEM = Actor()  # the server acting on its own account: cleanups, a caller's own cancel


def graph_configurable(configurable: Row) -> Row:
    """The stored user (JSON) turned back into an object graphs can read attributes of."""
    data = configurable.get("langgraph_auth_user")
    if isinstance(data, dict) and "identity" in data:
        return {**configurable, "langgraph_auth_user": user_for_graph(data)}
    return configurable
