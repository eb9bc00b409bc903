"""Unknown request fields in isolation: dropped by every request model (nested ones too),
noted only while a request is validated, and counted with a bounded label set. The live
server tests are tests/api/test_forward_compat.py."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from graphport.schemas.runs import RunCreateStateful
from graphport.schemas.unknown import collect_unknown_fields
from graphport.services.unknown_fields import (
    MAX_FIELD_NAMES,
    MAX_NAME_CHARS,
    OTHER,
    UnknownFieldCounter,
    short_name,
)

ROUTE = "/threads/{thread_id}/runs"


def test_models_drop_unknown_fields_at_every_level() -> None:
    body = {
        "assistant_id": "a",
        "later": 1,
        "checkpoint": {"checkpoint_id": "c", "deeper": 2},
        "command": {"goto": {"node": "n", "deepest": 3}},
        "config": {"free": "form"},
    }
    with collect_unknown_fields() as noted:
        run = RunCreateStateful.model_validate(body)
    assert noted == [
        ("SendPayload", "deepest"),
        ("CheckpointConfig", "deeper"),
        ("RunCreateStateful", "later"),
    ]
    dumped = run.model_dump(exclude_none=True)
    assert "later" not in dumped and "later" not in run.model_fields_set
    assert dumped["checkpoint"] == {"checkpoint_id": "c", "checkpoint_ns": ""}
    assert dumped["command"] == {"goto": {"node": "n"}}
    assert dumped["config"] == {"free": "form"}  # free-form: every key kept


def test_nothing_is_noted_outside_a_request() -> None:
    with collect_unknown_fields() as noted:
        pass
    RunCreateStateful.model_validate({"assistant_id": "a", "later": 1})
    assert noted == []


def test_each_field_is_logged_once_and_counted_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counter = UnknownFieldCounter(CollectorRegistry())
    with caplog.at_level(logging.WARNING, logger="graphport.services.unknown_fields"):
        for _ in range(3):
            # the same field twice in one request (two nested objects) counts once
            counter.record("POST", ROUTE, [("A", "x"), ("B", "x"), ("A", "y")])
    assert counter.snapshot() == [
        {"method": "POST", "route": ROUTE, "field": "x", "count": 3},
        {"method": "POST", "route": ROUTE, "field": "y", "count": 3},
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 3  # (A, x), (B, x), (A, y): once each
    assert logged[0].startswith(f"POST {ROUTE}: ignored field 'x' of A")


def test_past_the_cap_names_fold_into_other(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    counter = UnknownFieldCounter(registry)
    with caplog.at_level(logging.WARNING, logger="graphport.services.unknown_fields"):
        for n in range(MAX_FIELD_NAMES + 50):
            counter.record("POST", ROUTE, [("A", f"f{n}")])
        counter.record("POST", ROUTE, [("A", "f0")])  # a name already counted keeps its label
    fields = {entry["field"]: entry["count"] for entry in counter.snapshot()}
    assert len(fields) == MAX_FIELD_NAMES + 1
    assert fields[OTHER] == 50 and fields["f0"] == 2
    assert len(caplog.records) == MAX_FIELD_NAMES + 1  # "other" is logged once
    samples = [
        sample
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "graphport_unknown_request_fields_total"
    ]
    assert len(samples) == MAX_FIELD_NAMES + 1


def test_long_names_are_cut_before_they_are_counted_or_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counter = UnknownFieldCounter(CollectorRegistry())
    name = "n" + "x" * 1_000_000
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            counter.record("POST", ROUTE, [("RunCreateStateful", name)])
    [entry] = counter.snapshot()
    assert entry["count"] == 3 and len(entry["field"]) < MAX_NAME_CHARS + 30
    assert entry["field"] == short_name(name) and entry["field"].endswith("…(+999901 chars)")
    assert len(caplog.records) == 1 and len(caplog.text) < 1_000
