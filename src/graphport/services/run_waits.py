"""Waiting on a run for a client (``/wait``, ``/join``): its answer, and the client leaving
before the run ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from uuid import UUID

from graphport.auth.actor import Actor
from graphport.db.engine import Database
from graphport.errors import AuthRejected, Forbidden, GraphportError, NotFound
from graphport.execution.broker import not_found_error
from graphport.execution.completions import Completions, RunOutcome
from graphport.execution.inputs import run_config
from graphport.graphs.outputs import output_of
from graphport.graphs.registry import GraphRegistry
from graphport.repositories import run_results as result_repo
from graphport.repositories import runs as repo
from graphport.repositories import threads as thread_repo
from graphport.services.run_cancel import RunCanceller

T = TypeVar("T")
Row = dict[str, Any]

# Returns when the client has gone (its connection closed); never returns otherwise.
Departure = Callable[[], Coroutine[Any, Any, None]]


class ClientLeft(GraphportError):
    """The client went away before the run ended. Nobody reads this answer: 499, as in
    nginx logs, so access logs tell departures from failures."""

    status_code = 499


def wait_output(outcome: RunOutcome, values: Any, interrupts: Row | None = None) -> Any:
    """What wait/join return: the graph's final output (``values``: its output schema's
    channels), or ``{"__error__": ...}`` when it failed.
    A run stopped at interrupts (``interrupts``: by task id, as the thread holds them) adds
    them as ``"__interrupt__": [{"value", "id", "response_schema"}, ...]``, as the official
    server and LangGraph's own ``invoke`` output do; an output that is not an object (a
    functional graph's, None before it returned) gives way to ``{"__interrupt__": [...]}``,
    as on the official server."""
    if outcome.status in ("error", "timeout"):
        return {"__error__": outcome.error or {"error": "Error", "message": outcome.status}}
    pending = [
        {**item, "response_schema": item.get("response_schema")}
        for items in (interrupts or {}).values()
        for item in items
    ]
    if not pending:
        return values
    return {**(values if isinstance(values, dict) else {}), "__interrupt__": pending}


async def unless_departed(future: asyncio.Future[T], departure: Departure | None) -> T:
    """``await future``, unless the client leaves first (``departure`` returns or fails):
    then raise ``ClientLeft`` and leave ``future`` pending (the caller forgets it). The
    watch on the client is a task of this call, cancelled and awaited before it returns."""
    if departure is None:
        return await future
    watch = asyncio.create_task(departure(), name="client-departure")
    try:
        await asyncio.wait((future, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        await asyncio.wait((watch,))  # never raises the watch's own error
        if not watch.cancelled():
            watch.exception()  # a connection error is a departure too: read, not logged
    if future.done():
        return future.result()
    raise ClientLeft("The client disconnected before the run ended")


class RunWaiter:
    def __init__(
        self,
        db: Database,
        completions: Completions,
        cancels: RunCanceller,
        registry: GraphRegistry,
    ) -> None:
        self._db = db
        self._registry = registry
        self._completions = completions
        self._cancels = cancels

    async def join(
        self,
        thread_id: UUID,
        run_id: UUID,
        *,
        actor: Actor,
        departure: Departure | None = None,
        cancel_on_disconnect: bool = False,
    ) -> Any:
        """Await the run's end: its output (``wait_output``). Raises ``ClientLeft`` when
        ``departure`` returns first, after cancelling the run (as ``actor``) if
        ``cancel_on_disconnect``."""
        value = {"thread_id": thread_id, "run_id": run_id}
        scope = await actor.authorize("threads", "read", value)
        future = self._completions.expect(run_id)
        in_flight = False
        try:
            async with self._db.transaction() as conn:
                run = await repo.get_run(conn, run_id=run_id, thread_id=thread_id, scope=scope)
            if run is None:
                # the official server answers 200 here; clients read the error from the body
                return {"__error__": not_found_error(f"Run {run_id} not found")}
            if run["status"] not in repo.IN_FLIGHT:
                outcome = RunOutcome(run_id, run["status"], error=run["error"], known=False)
                return wait_output(outcome, *await self._thread_output(run))
            in_flight = True
        finally:
            if not in_flight:  # answered now: a waiter left behind would hold up shutdown
                self._completions.forget(run_id, future)
        leave_cancels = actor if cancel_on_disconnect else None
        return await self.output(run, future, departure, leave_cancels)

    async def output(
        self,
        run: Row,
        future: asyncio.Future[RunOutcome],
        departure: Departure | None,
        leave_cancels: Actor | None,
    ) -> Any:
        """The output of ``run`` once ``future`` (from ``Completions.expect``) resolves.
        A client leaving first is forgotten at once (it holds up nothing, a shutdown drain
        included) and ``ClientLeft`` raised; ``leave_cancels``: who cancels the run then
        (None: it runs on)."""
        try:
            outcome = await unless_departed(future, departure)
        except ClientLeft:
            self._completions.forget(run["run_id"], future)
            if leave_cancels is not None:
                await self._cancel(run, leave_cancels)
            raise
        finally:
            self._completions.forget(run["run_id"], future)
        if outcome.known:
            return wait_output(outcome, outcome.output, outcome.interrupts)
        async with self._db.transaction() as conn:
            stored = await repo.get_run(conn, run_id=run["run_id"])
            result = None if stored else await result_repo.get_result(conn, run_id=run["run_id"])
        if result is not None:  # a stateless run, ended in another process: its rows went
            ended = RunOutcome(run["run_id"], result["status"], error=result["error"])
            return wait_output(ended, result["output"], result["interrupts"])
        if stored is None:  # deleted meanwhile (with its thread, or rolled back while pending)
            return {"__error__": not_found_error(f"Run {run['run_id']} not found")}
        outcome = RunOutcome(run["run_id"], stored["status"], error=stored["error"])
        return wait_output(outcome, *await self._thread_output(run))

    async def _cancel(self, run: Row, actor: Actor) -> None:
        # ended meanwhile (404), or the caller may only read it (403): nothing to do
        with contextlib.suppress(NotFound, Forbidden, AuthRejected):
            await self._cancels.cancel(
                run["thread_id"], run["run_id"], wait=False, action="interrupt", actor=actor
            )

    async def _thread_output(self, run: Row) -> tuple[Any, Row | None]:
        """For a run that ended out of sight (before the call, in another process): the
        output of its graph for the thread's values, and the thread's pending interrupts
        (by task id); None, None when the thread is gone. (The official server answers a
        finished run's whole thread values here; its output is what its wait gave.)"""
        async with self._db.transaction() as conn:
            thread = await thread_repo.get_thread(conn, thread_id=run["thread_id"])
        if thread is None:
            return None, None
        config = run_config(run)
        output = await output_of(self._registry, run["graph_id"], config, thread["values"])
        return output, thread["interrupts"]
