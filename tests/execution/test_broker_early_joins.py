"""A join that comes in a run's first moments sees the run from its start: the broker holds
the events of a run's first ``EARLY_JOIN_SECONDS`` (bounded) and replays them to a join
without ``Last-Event-ID``, before the live ones, each once."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from graphport.execution import broker as broker_module
from graphport.execution.broker import END, LocalBroker, Subscriber


def _drain(subscriber: Subscriber) -> list[str]:
    """The subscriber's events so far: ``name:n`` (``n`` from the data), ``END``."""
    found = []
    while not subscriber.queue.empty():
        event = subscriber.queue.get_nowait()
        found.append("END" if event is END else f"{event.event}:{json.loads(event.data)['n']}")
    return found


def _join(broker: LocalBroker, run_id: uuid.UUID, **kwargs: object) -> Subscriber:
    options: dict[str, object] = {"last_event_id": None, "modes": None, **kwargs}
    joined = broker.subscribe_run(run_id, **options)  # type: ignore[arg-type]
    assert joined is not None
    return joined


async def _publish(
    broker: LocalBroker, run_id: uuid.UUID, thread_id: uuid.UUID, *names: str
) -> None:
    for n, name in enumerate(names, start=1):
        await broker.publish(run_id, thread_id, name, {"n": n})


async def test_a_join_after_the_runs_first_events_gets_them_then_the_live_ones() -> None:
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    await _publish(broker, run_id, thread_id, "metadata", "values")

    joined = _join(broker, run_id)
    assert _drain(joined) == ["metadata:1", "values:2"]
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    await broker.close(run_id, thread_id)
    assert _drain(joined) == ["values:3", "END"]


async def test_a_join_right_after_a_fast_run_ended_gets_its_events() -> None:
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    await _publish(broker, run_id, thread_id, "metadata", "values", "error")
    await broker.close(run_id, thread_id)

    assert _drain(_join(broker, run_id)) == ["metadata:1", "values:2", "error:3", "END"]
    filtered = _join(broker, run_id, modes=["values"])
    assert _drain(filtered) == ["values:2", "error:3", "END"]  # the join's modes apply
    assert broker.open_streams() == 0


async def test_every_early_join_gets_each_event_once_in_order() -> None:
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    await _publish(broker, run_id, thread_id, "metadata", "values")
    first = _join(broker, run_id)
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    second = _join(broker, run_id)
    await broker.publish(run_id, thread_id, "values", {"n": 4})
    await broker.close(run_id, thread_id)
    third = _join(broker, run_id)

    every = ["metadata:1", "values:2", "values:3", "values:4", "END"]
    assert _drain(first) == every
    assert _drain(second) == every
    assert _drain(third) == every


async def test_a_run_streamed_from_its_start_holds_nothing() -> None:
    """Its stream was there when it started (the request that created it streams it): a
    join afterwards gets only what follows, as on the official server."""
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    streamed = _join(broker, run_id)
    await _publish(broker, run_id, thread_id, "metadata", "values")
    assert broker._runs[run_id].events == []  # nothing held
    later = _join(broker, run_id)
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    await broker.close(run_id, thread_id)

    assert _drain(streamed) == ["metadata:1", "values:2", "values:3", "END"]
    assert _drain(later) == ["values:3", "END"]
    assert broker.subscribe_run(run_id, last_event_id=None, modes=None) is None


async def test_after_the_window_a_join_gets_only_live_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker_module, "EARLY_JOIN_SECONDS", 0.05)
    broker = LocalBroker()
    thread_id, run_id, ended = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for each in (run_id, ended):
        broker.prepare(each, thread_id, resumable=False)
        await _publish(broker, each, thread_id, "metadata", "values")
    await broker.close(ended, thread_id)
    assert broker.wants(run_id, thread_id)
    await asyncio.sleep(0.1)

    assert not broker.wants(run_id, thread_id)  # nobody streams it, nobody may still join
    late = _join(broker, run_id)
    assert _drain(late) == []
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    assert _drain(late) == ["values:3"]
    broker.sweep()
    assert broker.subscribe_run(ended, last_event_id=None, modes=None) is None  # dropped
    assert broker._runs[run_id].events == []  # nothing held any more


async def test_the_window_starts_at_the_runs_first_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run queued for a while holds its events from when it starts."""
    monkeypatch.setattr(broker_module, "EARLY_JOIN_SECONDS", 0.05)
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    await asyncio.sleep(0.1)
    assert broker.wants(run_id, thread_id)  # a join may still come before it starts
    await _publish(broker, run_id, thread_id, "metadata")
    assert _drain(_join(broker, run_id)) == ["metadata:1"]


@pytest.mark.parametrize(("bound", "value"), [("EARLY_JOIN_EVENTS", 3), ("EARLY_JOIN_BYTES", 25)])
async def test_past_its_bound_a_run_holds_no_events_for_good(
    monkeypatch: pytest.MonkeyPatch, bound: str, value: int
) -> None:
    monkeypatch.setattr(broker_module, bound, value)
    broker = LocalBroker()
    thread_id, run_id, small = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    broker.prepare(small, thread_id, resumable=False)
    await _publish(broker, small, thread_id, "metadata", "values", "values")  # 3 x 7 bytes
    assert _drain(_join(broker, small)) == ["metadata:1", "values:2", "values:3"]

    broker.prepare(run_id, thread_id, resumable=False)
    await _publish(broker, run_id, thread_id, "metadata", "values", "values", "values")
    assert broker._runs[run_id].events == []  # what it held went
    assert _drain(_join(broker, run_id)) == []
    await broker.publish(run_id, thread_id, "values", {"n": 5})
    assert _drain(_join(broker, run_id)) == []
    await broker.close(run_id, thread_id)
    assert broker.subscribe_run(run_id, last_event_id=None, modes=None) is None


async def test_last_event_id_replays_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``Last-Event-ID`` a resumable run replays what follows it, whenever; a run that
    is not resumable replays nothing, even in its first moments."""
    monkeypatch.setattr(broker_module, "EARLY_JOIN_SECONDS", 0.05)
    broker = LocalBroker()
    thread_id, plain, resumable = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    broker.prepare(plain, thread_id, resumable=False)
    broker.prepare(resumable, thread_id, resumable=True)
    for run_id in (plain, resumable):
        await _publish(broker, run_id, thread_id, "metadata", "values", "values")

    assert _drain(_join(broker, plain, last_event_id="-1")) == []
    assert _drain(_join(broker, resumable, last_event_id="1")) == ["values:2", "values:3"]
    assert _drain(_join(broker, resumable)) == ["metadata:1", "values:2", "values:3"]
    await asyncio.sleep(0.1)
    await broker.close(resumable, thread_id)
    broker.sweep()
    assert _drain(_join(broker, resumable)) == ["END"]  # past the window: no replay
    every = ["metadata:1", "values:2", "values:3", "END"]
    assert _drain(_join(broker, resumable, last_event_id="-1")) == every  # still kept
