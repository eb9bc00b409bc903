"""Run and thread streams: what a client subscribes to, and what happens when it leaves."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from graphport.auth.actor import SYSTEM, Actor
from graphport.db.engine import Database
from graphport.errors import AuthRejected, Forbidden, GraphportError, NotFound
from graphport.execution.broker import Broker, Subscriber, ended_stream, not_found_error
from graphport.repositories import runs as run_repo
from graphport.repositories import threads as thread_repo
from graphport.services.runs import RunCreate, RunService

OnClose = Callable[[bool], Awaitable[None]]


@dataclass
class StreamHandle:
    subscriber: Subscriber
    with_ids: bool
    on_close: OnClose
    location: str | None = None
    content_location: str | None = None
    run_id: UUID | None = field(default=None, kw_only=True)  # a new run's (stream_new_run)
    thread_id: UUID | None = field(default=None, kw_only=True)


class StreamService:
    def __init__(self, db: Database, runs: RunService, broker: Broker) -> None:
        self._db = db
        self._runs = runs
        self._broker = broker

    async def stream_new_run(
        self,
        thread_id: UUID | None,
        body: RunCreate,
        *,
        actor: Actor,
        headers: Mapping[str, str] | None = None,
    ) -> StreamHandle:
        """Create a run and subscribe to its events; ``headers``: as ``RunService.create``."""
        created = await self._runs.create(
            thread_id, body, actor=actor, headers=headers, streamed=True
        )
        run_id, run_thread = created["run_id"], created["thread_id"]
        # Subscribed before the run's task gets to run (or, in another process, from its
        # first events held for early joins): no event is missed.
        try:
            subscriber = await self._broker.subscribe_run(
                run_id, run_thread, last_event_id=None, modes=None, live=True, from_start=True
            )
        except Exception:  # the broker is away (a 503): the caller will retry, so the run
            # it got no stream of must not run on beside the retry's
            with contextlib.suppress(GraphportError):
                await self._runs.cancels.cancel(
                    run_thread, run_id, wait=False, action="interrupt", actor=SYSTEM
                )
            raise
        cancel = body.on_disconnect == "cancel"
        base = f"/threads/{run_thread}/runs/{run_id}"
        stream_at = f"{base}/stream" if thread_id is not None else f"/runs/{run_id}/stream"
        return StreamHandle(
            subscriber,
            with_ids=body.stream_resumable,
            # the caller asked for this cancel when creating the run: it is theirs to end
            on_close=self._closer(subscriber, run_thread, run_id, cancel, SYSTEM),
            location=stream_at,
            content_location=base,
            run_id=run_id,
            thread_id=run_thread,
        )

    async def join_run(
        self,
        thread_id: UUID | None,
        run_id: UUID,
        *,
        last_event_id: str | None,
        modes: Sequence[str] | None,
        cancel_on_disconnect: bool,
        actor: Actor,
    ) -> StreamHandle:
        value = {"thread_id": thread_id, "run_id": run_id}
        scope = await actor.authorize("threads", "read", value)
        where = _join_headers(thread_id, run_id)
        async with self._db.transaction() as conn:
            run = await run_repo.get_run(conn, run_id=run_id, thread_id=thread_id, scope=scope)
        if run is None:  # also when the caller may not see it: indistinguishable
            subscriber = ended_stream(not_found_error(f"Run {run_id} not found"))
            return StreamHandle(
                subscriber, False, _nothing, location=where[0], content_location=where[1]
            )
        resumable = bool(run["kwargs"].get("resumable"))
        subscriber = await self._broker.subscribe_run(
            run_id,
            run["thread_id"],
            last_event_id=last_event_id,
            modes=modes,
            live=run["status"] in run_repo.IN_FLIGHT,
        )
        return StreamHandle(
            subscriber,
            with_ids=resumable,
            on_close=self._closer(
                subscriber, run["thread_id"], run_id, cancel_on_disconnect, actor
            ),
            location=where[0],
            content_location=where[1],
        )

    async def join_thread(
        self,
        thread_id: UUID,
        *,
        last_event_id: str | None,
        modes: Sequence[str] | None,
        actor: Actor,
    ) -> StreamHandle:
        """The thread's events from now on (after ``last_event_id`` when given), until the
        client leaves, the thread is deleted (a final ``error`` event) or the server stops.
        Raises ``NotFound``."""
        scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        # Subscribed before the thread is read: a delete committed after that read is
        # announced after the subscription, so it ends this stream; none is missed.
        subscriber = await self._broker.subscribe_thread(
            thread_id, last_event_id=last_event_id, modes=modes
        )
        try:
            async with self._db.transaction() as conn:
                found = await thread_repo.get_thread(conn, thread_id=thread_id, scope=scope)
            if found is None:
                raise NotFound(f"Thread {thread_id} not found")
        except BaseException:
            self._broker.unsubscribe(subscriber)
            raise

        async def close(_left: bool) -> None:
            self._broker.unsubscribe(subscriber)

        return StreamHandle(subscriber, with_ids=True, on_close=close)

    def _closer(
        self,
        subscriber: Subscriber,
        thread_id: UUID,
        run_id: UUID,
        cancel_on_leave: bool,
        actor: Actor,
    ) -> OnClose:
        async def close(left: bool) -> None:
            self._broker.unsubscribe(subscriber)
            if left and cancel_on_leave:
                # already finished (404), or the caller may only read it (403): nothing to do
                with contextlib.suppress(NotFound, Forbidden, AuthRejected):
                    await self._runs.cancels.cancel(
                        thread_id, run_id, wait=False, action="interrupt", actor=actor
                    )

        return close


def _join_headers(thread_id: UUID | None, run_id: UUID) -> tuple[str, str]:
    """A join's ``Location`` (this stream) and ``Content-Location`` (the run), as the
    official server sets them."""
    if thread_id is None:
        return f"/runs/{run_id}/stream", f"/runs/{run_id}"
    base = f"/threads/{thread_id}/runs/{run_id}"
    return f"{base}/stream", base


async def _nothing(_left: bool) -> None:
    return None
