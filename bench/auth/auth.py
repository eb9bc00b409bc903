"""A typical multi-tenant auth file: a bearer token per user, threads owned by their
creator and filtered by owner everywhere."""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer user-"):
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
    return authorization.removeprefix("Bearer ")


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str]:
    if ctx.action in ("create", "create_run"):
        value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}
