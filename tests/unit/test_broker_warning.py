"""Processes sharing a database without Redis are warned that streams miss events."""

from __future__ import annotations

import pytest

from graphport.roles import broker_warning
from graphport.settings import Settings


@pytest.mark.parametrize(
    ("role", "processes", "redis", "warned"),
    [
        ("all", 1, None, False),  # one process: in-process streams are complete
        ("all", 2, None, True),  # serve --workers 2
        ("api", 1, None, True),
        ("worker", 1, None, True),
        ("api", 1, "redis://127.0.0.1:6379/0", False),
        ("all", 4, "redis://127.0.0.1:6379/0", False),
    ],
)
def test_who_is_warned(role: str, processes: int, redis: str | None, warned: bool) -> None:
    settings = Settings(GRAPHPORT_ROLE=role, REDIS_URI=redis)
    warning = broker_warning(settings, processes)
    assert (warning is not None) == warned
    if warning:
        assert "REDIS_URI" in warning
