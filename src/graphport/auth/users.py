"""The user an authenticator returned, in one shape: attributes and items, JSON-serialisable."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from langgraph_sdk.auth.types import StudioUser

from graphport.serialization import dumps

Row = dict[str, Any]

STUDIO_USERNAME = "langgraph-studio-user"
_CORE = ("identity", "display_name", "is_authenticated", "permissions")
_MISSING = object()


class InvalidUser(Exception):
    """The authenticator returned something that is not a user (a bug in the auth file)."""


class AuthUser:
    """A user as handlers and graphs see it (``langgraph_sdk.auth.types.BaseUser``):
    ``user.identity`` and ``user["identity"]`` both work, extra fields too."""

    __slots__ = ("_data",)

    def __init__(self, data: Row) -> None:
        self._data = data

    @property
    def identity(self) -> str:
        return str(self._data["identity"])

    @property
    def display_name(self) -> str:
        return str(self._data.get("display_name") or self.identity)

    @property
    def is_authenticated(self) -> bool:
        return bool(self._data.get("is_authenticated", True))

    @property
    def permissions(self) -> Sequence[str]:
        return list(self._data.get("permissions") or [])

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def model_dump(self) -> Row:
        """Its JSON form (what serialisation and pydantic-minded code call)."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"AuthUser(identity={self.identity!r})"


def studio_user() -> StudioUser:
    return StudioUser(STUDIO_USERNAME)


def user_json(user: Any) -> Row:
    """What authenticate returned, as a JSON object with at least identity and permissions.
    Raises ``InvalidUser`` when it has no string identity."""
    if isinstance(user, str):
        data: Row = {"identity": user}
    elif isinstance(user, StudioUser):
        data = {"identity": user.identity, "kind": "StudioUser"}
    elif isinstance(user, Mapping):
        data = dict(user)
    else:
        data = _object_fields(user)
    identity = data.get("identity")
    if not isinstance(identity, str) or not identity:
        raise InvalidUser(
            f"authenticate returned {type(user).__name__} without a non-empty string 'identity'"
        )
    permissions = data.get("permissions") or []
    if isinstance(permissions, str) or not isinstance(permissions, Sequence):
        raise InvalidUser("the user's 'permissions' must be a list of strings")
    data["permissions"] = [str(p) for p in permissions]
    data.setdefault("display_name", identity)
    data.setdefault("is_authenticated", not isinstance(user, StudioUser))
    # stored with runs and crons: make sure it survives JSON (unknown values become text)
    try:
        encoded = orjson.dumps(data, default=str)
    except TypeError:  # huge integers, lone surrogates, deep nesting: normalised as any value
        encoded = dumps(data)
    parsed: Row = orjson.loads(encoded)
    return parsed


def _object_fields(user: Any) -> Row:
    if dataclasses.is_dataclass(user) and not isinstance(user, type):
        data: Row = dataclasses.asdict(user)
    elif callable(getattr(user, "model_dump", None)):
        data = dict(user.model_dump())
    else:
        data = {}
    for name in _CORE:
        value = getattr(user, name, _MISSING)
        if name not in data and value is not _MISSING:
            data[name] = value
    return data


def user_for_graph(data: Row) -> Any:
    """The object a graph reads from ``configurable["langgraph_auth_user"]``."""
    if data.get("kind") == "StudioUser":
        return StudioUser(str(data["identity"]), bool(data.get("is_authenticated", False)))
    return AuthUser(data)
