"""Load the ``auth`` section of langgraph.json; any problem stops startup (fail closed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth

from graphport.auth.authenticate import Authenticator
from graphport.auth.handlers import Authorizer
from graphport.config import LanggraphConfig
from graphport.errors import ConfigError
from graphport.graphs.registry import load_attribute

logger = logging.getLogger(__name__)

_KNOWN_KEYS = {"path", "disable_studio_auth", "openapi"}


@dataclass(frozen=True)
class AuthSetup:
    authenticator: Authenticator | None
    authorizer: Authorizer
    studio: bool


def load_auth(config: LanggraphConfig, *, dev_mode: bool) -> AuthSetup | None:
    """None when langgraph.json configures no custom auth. Studio's ``x-auth-scheme:
    langsmith`` is honoured only by ``graphport dev``: in production a header must not
    replace a credential."""
    section: dict[str, Any] | None = config.auth
    if not section or not section.get("path"):
        if section:
            raise ConfigError("auth: 'path' (./auth.py:auth) is required")
        return None
    unknown = sorted(set(section) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"auth: unknown key(s) {', '.join(unknown)}")
    if "openapi" in section:
        logger.warning("auth.openapi is not used by graphport; /docs shows no security schemes")
    path = str(section["path"])
    auth = load_attribute(config.base_dir, "auth", path)
    if not isinstance(auth, Auth):
        raise ConfigError(f"auth: {path} is a {type(auth).__name__}, not a langgraph_sdk.Auth")
    function = auth._authenticate_handler
    try:
        authenticator = Authenticator(function) if function is not None else None
    except TypeError as exc:
        raise ConfigError(f"auth: {exc}") from None
    studio = dev_mode and not bool(section.get("disable_studio_auth", False))
    return AuthSetup(authenticator, Authorizer(auth), studio)
