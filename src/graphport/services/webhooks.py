"""Which webhook URLs runs may call (langgraph.json ``webhooks.url``)."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from graphport.errors import InvalidInput

MAX_URL_LENGTH = 4096
# a DNS name (after IDNA encoding): dot-separated labels of letters, digits, '-' and '_'
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")


def _valid_host(host: str) -> bool:
    """An IP address, or a host name that DNS could resolve (IDNA names included)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(ascii_host) <= 253 and _HOSTNAME.match(ascii_host) is not None


@dataclass(frozen=True)
class WebhookPolicy:
    """``allowed_domains`` (``*.example.com`` wildcards), ``require_https``,
    ``allowed_ports``; with nothing configured any http(s) URL is accepted."""

    allowed_domains: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()
    require_https: bool = False
    timeout_seconds: float = 10.0
    max_attempts: int = 3
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> WebhookPolicy:
        raw = raw or {}
        url = raw.get("url") or {}
        return cls(
            allowed_domains=tuple(url.get("allowed_domains") or ()),
            allowed_ports=tuple(int(p) for p in url.get("allowed_ports") or ()),
            require_https=bool(url.get("require_https", False)),
            timeout_seconds=float(raw.get("timeout_seconds", 10.0)),
            max_attempts=int(raw.get("max_attempts", 3)),
            headers={str(k): str(v) for k, v in (raw.get("headers") or {}).items()},
        )

    def check(self, url: str) -> None:
        """Raise InvalidInput (422) unless runs may call ``url``: an http(s) URL of at most
        ``MAX_URL_LENGTH`` characters that the sender can send, with a host name or address
        and a port in 1-65535, allowed by the configured domains, ports and scheme."""
        if len(url) > MAX_URL_LENGTH:
            raise InvalidInput(f"webhook is longer than {MAX_URL_LENGTH} characters")
        try:
            httpx.URL(url)  # what the sender will make of it: no control characters...
            parts = urlsplit(url)
            explicit_port = parts.port  # ValueError when not a number in 0-65535
        except (ValueError, httpx.InvalidURL) as exc:
            raise InvalidInput(f"webhook is not a valid URL ({exc}): {url!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"webhook must be an http(s) URL, got {url!r}")
        if not _valid_host(parts.hostname):
            raise InvalidInput(f"webhook host {parts.hostname!r} is not a host name or address")
        if explicit_port == 0:
            raise InvalidInput(f"webhook port must be in 1-65535, got {url!r}")
        if self.require_https and parts.scheme != "https":
            raise InvalidInput("webhook must use https")
        host = parts.hostname.lower()
        if self.allowed_domains and not any(
            fnmatch.fnmatch(host, pattern.lower()) for pattern in self.allowed_domains
        ):
            raise InvalidInput(f"webhook host {host!r} is not in webhooks.url.allowed_domains")
        port = explicit_port or (443 if parts.scheme == "https" else 80)
        if self.allowed_ports and port not in self.allowed_ports:
            raise InvalidInput(f"webhook port {port} is not in webhooks.url.allowed_ports")
