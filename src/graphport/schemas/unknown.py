"""Request fields no API version defines: ``RequestModel`` drops them and notes them here,
for the route that validated the body to report (log once, count in ``/metrics``).

The official server ignores what it does not know, so an optional field a newer SDK
release adds must not fail every call; the note says a client sends something new."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

UnknownField = tuple[str, str]
"""(model, field): ``("RunCreateStateful", "new_option")``."""

# A list per request being validated; None outside one (a service validating a model).
_noted: ContextVar[list[UnknownField] | None] = ContextVar("graphport_unknown_fields", default=None)


def note_unknown_fields(model: str, names: Iterable[str]) -> None:
    """Note ``names`` as unknown fields of ``model`` for the request being validated."""
    noted = _noted.get()
    if noted is not None:
        noted.extend((model, name) for name in names)


@contextmanager
def collect_unknown_fields() -> Iterator[list[UnknownField]]:
    """The unknown fields noted while the block runs (each once, in order of notice)."""
    noted: list[UnknownField] = []
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)
