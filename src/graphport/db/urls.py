"""One ``DATABASE_URI`` in; the driver URLs derived from it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SCHEMES = ("postgresql", "postgres")


def _split(uri: str) -> tuple[str, str, str, str, str]:
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in _SCHEMES:
        raise ValueError(f"DATABASE_URI must be a postgresql:// URL, got scheme {parts.scheme!r}")
    return ("postgresql", parts.netloc, parts.path, parts.query, parts.fragment)


def psycopg_conninfo(uri: str) -> str:
    """The plain libpq URL (psycopg: checkpointer and store pools)."""
    return urlunsplit(_split(uri))


def sqlalchemy_url(uri: str) -> str:
    """The SQLAlchemy asyncpg URL; libpq-only query options are translated or dropped."""
    scheme, netloc, path, query, fragment = _split(uri)
    params = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "sslmode":
            params.append(("ssl", value))
        elif key in {"host", "port", "user", "password", "ssl", "application_name"}:
            params.append((key, value))
    return urlunsplit((f"{scheme}+asyncpg", netloc, path, urlencode(params), fragment))
