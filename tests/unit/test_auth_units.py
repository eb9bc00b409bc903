"""The custom-auth building blocks: filters, users, handler dispatch, loading."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import Auth
from langgraph_sdk.auth.types import AuthContext, StudioUser
from sqlalchemy.dialects import postgresql

from graphport.auth.actor import Actor
from graphport.auth.filters import Condition, InvalidFilter, parse_filter, satisfying
from graphport.auth.handlers import Authorizer, HandlerFailed
from graphport.auth.loader import load_auth
from graphport.auth.users import AuthUser, InvalidUser, user_json
from graphport.config import load_config
from graphport.db.tables import thread
from graphport.errors import AuthRejected, ConfigError, Forbidden
from graphport.repositories.filters import auth_conditions


def test_filters_parse_plain_eq_and_contains() -> None:
    parsed = parse_filter({"owner": "a", "n": {"$eq": 3}, "tags": {"$contains": ["x", "y"]}})
    assert parsed == (
        Condition("owner", "$eq", "a"),
        Condition("n", "$eq", 3),
        Condition("tags", "$contains", ["x", "y"]),
    )
    for bad in ({"k": {"$ne": 1}}, {"k": {}}, {"": "x"}):
        with pytest.raises(InvalidFilter):
            parse_filter(bad)


def test_filters_compile_to_jsonb_operators() -> None:
    scope = parse_filter({"owner": "a", "tags": {"$contains": "x"}, "doc": {"$eq": {"k": 1}}})
    compiled = [
        str(c.compile(dialect=postgresql.dialect()))
        for c in auth_conditions(thread.c.metadata, scope)
    ]
    assert compiled[0].startswith("thread.metadata @>")
    assert compiled[1].startswith("thread.metadata @>")  # {"tags": ["x"]}: GIN-indexed
    assert "->" in compiled[2] and " = " in compiled[2]


def test_satisfying_makes_metadata_match_the_filter() -> None:
    scope = parse_filter({"tenant": "acme", "tags": {"$contains": ["a", "b"]}})
    assert satisfying(scope, {}) == {"tenant": "acme", "tags": ["a", "b"]}
    assert satisfying(None, {"tenant": "globex"}) == {"tenant": "globex"}
    # the filter has the last word; lists keep what they held
    asked = {"tenant": "globex", "tags": ["b", "c"], "other": 1}
    assert satisfying(scope, asked) == {"tenant": "acme", "tags": ["b", "c", "a"], "other": 1}
    assert satisfying(scope, {"tags": "a"})["tags"] == ["a", "b"]


@dataclasses.dataclass
class _Member:
    identity: str
    permissions: list[str]
    team: str


def test_users_are_normalised_to_json() -> None:
    assert user_json("ada") == {
        "identity": "ada",
        "permissions": [],
        "display_name": "ada",
        "is_authenticated": True,
    }
    from_object = user_json(_Member("bo", ["read"], "blue"))
    assert from_object["team"] == "blue" and from_object["permissions"] == ["read"]
    odd = user_json({"identity": "cy", "since": object()})
    assert isinstance(odd["since"], str)  # still JSON
    assert user_json(StudioUser("s"))["kind"] == "StudioUser"
    for bad in (
        {"name": "no identity"},
        {"identity": ""},
        42,
        {"identity": "x", "permissions": "r"},
    ):
        with pytest.raises(InvalidUser):
            user_json(bad)
    user = AuthUser(user_json({"identity": "dee", "team": "red"}))
    assert (user.identity, user["team"], user.team, "team" in user) == ("dee", "red", "red", True)
    assert json.loads(json.dumps(user.model_dump()))["identity"] == "dee"


def _ctx(resource: str, action: str, permissions: list[str] | None = None) -> AuthContext:
    return AuthContext(
        permissions=permissions or [],
        user=AuthUser(user_json("ada")),
        resource=resource,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
    )


async def test_the_most_specific_handler_wins() -> None:
    auth = Auth()
    calls: list[str] = []

    def recorder(name: str, result: Any) -> Any:
        async def handler(ctx: AuthContext, value: dict[str, Any]) -> Any:
            calls.append(name)
            return result

        return handler

    auth.on(recorder("global", False))
    auth.on.threads(recorder("threads", {"owner": "ada"}))
    auth.on.threads.create(recorder("threads.create", None))
    auth.on(actions="search")(recorder("*.search", True))
    authorizer = Authorizer(auth)
    assert await authorizer.authorize(_ctx("threads", "create"), {}) is None
    assert await authorizer.authorize(_ctx("threads", "read"), {}) == parse_filter({"owner": "ada"})
    assert await authorizer.authorize(_ctx("crons", "search"), {}) is None
    with pytest.raises(Forbidden):
        await authorizer.authorize(_ctx("crons", "read"), {})
    assert calls == ["threads.create", "threads", "*.search", "global"]


async def test_handler_answers_map_to_statuses() -> None:
    auth = Auth()

    @auth.on.threads.read
    async def teapot(ctx: AuthContext, value: dict[str, Any]) -> None:
        raise Auth.exceptions.HTTPException(418, "short and stout", headers={"X-Why": "tea"})

    @auth.on.threads.search
    async def nonsense(ctx: AuthContext, value: dict[str, Any]) -> Any:
        return "yes please"

    @auth.on.threads.delete
    async def bad_filter(ctx: AuthContext, value: dict[str, Any]) -> Any:
        return {"owner": {"$regex": ".*"}}

    authorizer = Authorizer(auth)
    with pytest.raises(AuthRejected) as rejected:
        await authorizer.authorize(_ctx("threads", "read"), {})
    assert (rejected.value.status_code, rejected.value.detail) == (418, "short and stout")
    assert rejected.value.headers == {"X-Why": "tea"}
    for action in ("search", "delete"):
        with pytest.raises(HandlerFailed):
            await authorizer.authorize(_ctx("threads", action), {})


async def test_an_actor_without_handlers_allows_everything() -> None:
    assert await Actor().authorize("threads", "delete", {}) is None
    # without custom auth the keys are there, empty (as on the official server)
    assert Actor().configurable() == {
        "langgraph_auth_user": None,
        "langgraph_auth_user_id": "",
        "langgraph_auth_permissions": [],
    }
    assert Actor().with_identity({"configurable": {"user_id": "u"}})["configurable"] == {
        "langgraph_auth_user": None,
        "langgraph_auth_user_id": "",
        "langgraph_auth_permissions": [],
        "user_id": "u",
    }
    data = user_json({"identity": "ada", "permissions": ["p"]})
    actor = Actor(AuthUser(data), data)
    assert actor.configurable()["langgraph_auth_user_id"] == "ada"
    # user_id defaults to the caller; a client's own value stays (as the official server)
    assert actor.with_identity({})["configurable"]["user_id"] == "ada"
    own = actor.with_identity({"configurable": {"user_id": "eve", "langgraph_auth_user_id": "eve"}})
    assert (own["configurable"]["user_id"], own["configurable"]["langgraph_auth_user_id"]) == (
        "eve",
        "ada",
    )
    assert actor.for_graph({})["configurable"]["langgraph_auth_user"].identity == "ada"


AUTH_SOURCE = """
from langgraph_sdk import Auth
auth = Auth()

@auth.authenticate
async def authenticate(authorization, headers, body, path_params, request):
    seen = [authorization, headers.get(b"x-k").decode(), body, path_params, await request.json()]
    return {"identity": "x", "seen": seen}

not_auth = object()
"""


def _config(tmp_path: Path, auth: dict[str, Any], source: str = AUTH_SOURCE) -> Any:
    """A langgraph.json in a folder of its own (modules are cached by file path)."""
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    (folder / "auth.py").write_text(source)
    path = folder / "langgraph.json"
    path.write_text(json.dumps({"graphs": {}, "auth": auth}))
    return load_config(path)


def test_loading_fails_closed(tmp_path: Path) -> None:
    for auth, message in (
        ({"path": "./auth.py:not_auth"}, "not a langgraph_sdk.Auth"),
        ({"path": "./missing.py:auth"}, "missing.py"),
        ({"path": "./auth.py:auth", "cache": {}}, "unknown key"),
        ({"disable_studio_auth": True}, "'path'"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_auth(_config(tmp_path, auth), dev_mode=True)
    with pytest.raises(ConfigError, match="importing"):
        load_auth(
            _config(tmp_path, {"path": "./auth.py:auth"}, "raise SystemError('x')"), dev_mode=True
        )
    sync = "from langgraph_sdk import Auth\nauth = Auth()\n@auth.authenticate\ndef f(): ...\n"
    with pytest.raises(ConfigError, match="must be async"):
        load_auth(_config(tmp_path, {"path": "./auth.py:auth"}, sync), dev_mode=True)


def test_studio_sign_in_only_in_dev_and_not_when_disabled(tmp_path: Path) -> None:
    config = _config(tmp_path, {"path": "./auth.py:auth"})
    assert load_auth(config, dev_mode=True).studio  # type: ignore[union-attr]
    assert not load_auth(config, dev_mode=False).studio  # type: ignore[union-attr]
    disabled = _config(tmp_path, {"path": "./auth.py:auth", "disable_studio_auth": True})
    assert not load_auth(disabled, dev_mode=True).studio  # type: ignore[union-attr]
    assert load_auth(load_config(_no_auth(tmp_path)), dev_mode=True) is None


def _no_auth(tmp_path: Path) -> Path:
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"graphs": {}}))
    return path


async def test_authenticate_gets_the_arguments_it_names(tmp_path: Path) -> None:
    setup = load_auth(_config(tmp_path, {"path": "./auth.py:auth"}), dev_mode=False)
    assert setup is not None and setup.authenticator is not None
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/threads/search",
        "headers": [(b"authorization", b"Bearer t"), (b"x-k", b"v")],
        "query_string": b"",
    }
    user = await setup.authenticator(scope, b'{"limit": 1}')
    assert user["seen"] == ["Bearer t", "v", {"limit": 1}, {}, {"limit": 1}]


def test_a_create_run_handler_may_adjust_the_request() -> None:
    from graphport.schemas.runs import RunCreateStateful
    from graphport.services.run_access import _with_handler_changes

    body = RunCreateStateful.model_validate({"assistant_id": "agent", "input": {"x": 1}})
    same = body.model_dump(exclude_none=True, mode="json")
    assert _with_handler_changes(body, same) is body
    changed = {**same, "config": {"configurable": {"tier": "gold"}}}
    assert _with_handler_changes(body, changed).config == {"configurable": {"tier": "gold"}}
    with pytest.raises(HandlerFailed):
        _with_handler_changes(body, {**same, "not_a_field": 1})
