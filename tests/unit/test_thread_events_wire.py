"""The thread event streaming wire layer against the official server's recorded traffic
(tests/fixtures/protocol_v2): command envelopes, stream request bodies, event filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphport.protocols.thread_events.commands import (
    CommandError,
    failure,
    read_command,
    success,
    unknown,
)
from graphport.protocols.thread_events.filters import EventFilter, FilterError, read_since

CAPTURES = Path(__file__).parent.parent / "fixtures" / "protocol_v2"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CAPTURES / name).read_text().splitlines() if line]


EVENTS = _lines("sse_events.jsonl")
ERRORS = _lines("errors.jsonl")


def _answer(request: Any) -> dict[str, Any]:
    try:
        command = read_command(json.dumps(request))
    except CommandError as exc:
        return failure(None, exc)
    return failure(command.id, unknown(command.method))


def test_command_envelopes_answer_as_the_official_server() -> None:
    recorded = [e for e in ERRORS if isinstance(e["request"], dict) and "method" in e["request"]]
    bad = [e for e in recorded if "id" not in e["request"]]
    assert bad, "the captures hold a command without an id"
    for entry in bad:
        assert entry["status"] == 400
        assert _answer(entry["request"]) == entry["response"]
    unknowns = [e for e in recorded if e["response"].get("error") == "unknown_command"]
    assert len(unknowns) >= 2
    for entry in unknowns:
        assert _answer(entry["request"]) == entry["response"]
    for raw in (b"not json", b"[]", b'{"id": "1", "method": "x"}', b'{"id": true, "method": "x"}'):
        with pytest.raises(CommandError) as refused:
            read_command(raw)
        assert failure(None, refused.value)["error"] == "invalid_argument"
    with pytest.raises(CommandError):
        read_command(b'{"id": 1, "method": "run.start", "params": [1]}')
    assert read_command(b'{"id": 1, "method": "m"}').params == {}
    reply = success(6, {"subscription_id": "s", "replayed_events": 0}, 0)
    assert reply == {
        "type": "success",
        "id": 6,
        "result": {"subscription_id": "s", "replayed_events": 0},
        "meta": {"applied_through_seq": 0},
    }
    gap = CommandError("resume_gap", "too old", since=3, min_available_seq=10)
    assert failure(1, gap) == {
        "type": "error",
        "id": 1,
        "error": "resume_gap",
        "message": "too old",
        "since": 3,
        "min_available_seq": 10,
    }


def test_stream_bodies_are_refused_as_the_official_server_refuses_them() -> None:
    recorded = [
        (e["request"]["stream/events"], json.loads(e["response"])["detail"])
        for e in ERRORS
        if isinstance(e["request"], dict)
        and isinstance(e["request"].get("stream/events"), dict)
        and e["status"] == 400
    ]
    assert len(recorded) >= 3
    for body, detail in recorded:
        with pytest.raises(FilterError) as refused:
            EventFilter.read(body)
        assert str(refused.value) == detail
    for body in (
        {"channels": ["values"], "namespaces": "x"},
        {"channels": ["values"], "namespaces": [[1]]},
        {"channels": ["values"], "depth": -1},
        {"channels": ["values"], "depth": True},
        {"channels": ["custom:"]},
        {"channels": [7]},
    ):
        with pytest.raises(FilterError):
            EventFilter.read(body)
    assert read_since({"since": 4}) == 4
    with pytest.raises(FilterError):
        read_since({"since": -1})


def _seqs(body: dict[str, Any]) -> list[int]:
    keep = EventFilter.read(body)
    return [e["seq"] for e in EVENTS if keep.matches(e)]


def test_channels_pick_their_events() -> None:
    by_method: dict[str, list[int]] = {}
    for event in EVENTS:
        by_method.setdefault(event["method"], []).append(event["seq"])
    assert _seqs({"channels": ["lifecycle", "input"]}) == sorted(
        by_method["lifecycle"] + by_method["input.requested"]
    )
    assert _seqs({"channels": ["values"]}) == by_method["values"]
    assert _seqs({"channels": ["custom"]}) == by_method["custom"]
    assert _seqs({"channels": ["custom:progress"]}) == by_method["custom"]
    assert _seqs({"channels": ["custom:other"]}) == []
    assert _seqs({"channels": ["messages", "updates"]}) == sorted(
        by_method["messages"] + by_method["updates"]
    )


def test_namespaces_match_by_prefix_and_depth() -> None:
    sub = [e["seq"] for e in EVENTS if e["params"]["namespace"]]
    root = [e["seq"] for e in EVENTS if not e["params"]["namespace"]]
    every = {"channels": ["values", "custom", "updates", "lifecycle", "messages", "input"]}
    assert _seqs(every) == [e["seq"] for e in EVENTS]
    assert _seqs({**every, "depth": 0}) == root
    assert _seqs({**every, "namespaces": [[]], "depth": 1}) == [e["seq"] for e in EVENTS]
    assert _seqs({**every, "namespaces": [["run_subgraph"]]}) == sub  # any task of the node
    task = EVENTS[sub[0] - 1]["params"]["namespace"][0]
    assert _seqs({**every, "namespaces": [[task]]}) == sub
    assert _seqs({**every, "namespaces": [["run_subgraph:other"]]}) == []
    assert _seqs({**every, "namespaces": [["elsewhere"]]}) == []
