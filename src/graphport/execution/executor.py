"""The executor: claims runs from the Postgres queue into N concurrent slots and owns
every task it starts (drained on stop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from graphport.db.engine import Database, log_background_failure
from graphport.execution.completions import Completions, RunOutcome
from graphport.execution.control import RunControl
from graphport.execution.listener import (
    CANCEL_RUN,
    CRON_CHANGED,
    NEW_RUN,
    RUN_DONE,
    THREAD_DELETED,
    PgListener,
)
from graphport.execution.thread_runs import failed_end, is_thread_run
from graphport.execution.worker import RunWorker, WorkerDeps
from graphport.logs import log_context
from graphport.repositories import run_results as result_repo
from graphport.repositories import runs as run_repo
from graphport.scheduling.periodic import PeriodicTask
from graphport.tracing import ended

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger(__name__)

Row = dict[str, Any]

_IDLE_RECHECK_SECONDS = 5.0  # safety net: notices are the wake-up, this only covers losses
HEARTBEAT_SECONDS = 5.0
_LOOP_EXIT_SECONDS = 1.0  # how long a stopping claim loop may take to finish its step
STALE_AFTER_SECONDS = 60.0
RESULTS_KEPT_SECONDS = 300.0  # stateless runs' outcomes, for waiters elsewhere


class Executor:
    def __init__(
        self,
        deps: WorkerDeps,
        completions: Completions,
        *,
        slots: int,
        max_attempts: int,
        on_finished: Sequence[Callable[[Row, RunOutcome, float], None]] = (),
        sweeps: bool = True,
    ) -> None:
        """``slots`` 0: this process only queues runs (it never claims nor reserves one);
        ``sweeps`` False: it leaves the runs of dead workers to other processes."""
        self._deps = deps
        self._db: Database = deps.db
        self._completions = completions
        self._slots = slots
        self._max_attempts = max_attempts
        self._on_finished = on_finished
        # A positive 63-bit id: the advisory lock that proves this worker is alive.
        self.worker_id = secrets.randbits(62) + 1
        self._wake = asyncio.Event()
        # Set when work may be waiting in the queue; cleared when a claim finds none.
        self._maybe_pending = True
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        # Runs this worker holds (claimed or reserved, started or about to be): a cancel
        # that comes before the task exists is kept here, not lost.
        self._controls: dict[UUID, RunControl] = {}
        self._stopping = False
        self._reserved = 0
        self._next_due: datetime | None = None  # earliest known scheduled run
        self._due_checked_at = 0.0
        self._loop_task: asyncio.Task[None] | None = None
        self._worker = RunWorker(deps)
        self._listener: PgListener | None = None
        self._heartbeat = PeriodicTask("run-heartbeat", HEARTBEAT_SECONDS, self._beat)
        self._sweeper = PeriodicTask("orphan-run-sweeper", HEARTBEAT_SECONDS * 2, self.sweep)
        self._sweeps = sweeps
        self._cron_watchers: list[Callable[[], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, listen_uri: str | None) -> None:
        if listen_uri is not None:
            self._listener = PgListener(
                listen_uri, worker_id=self.worker_id, handler=self._on_notice
            )
            await self._listener.start()
        if self._sweeps:
            await self.sweep()  # runs a dead process left behind start again now
            self._sweeper.start()
        if self._slots > 0:
            self._loop_task = asyncio.create_task(self._claim_loop(), name="run-claim-loop")
            self._heartbeat.start()

    async def stop(self, grace_seconds: float) -> None:
        """Stop claiming; let running runs finish within the grace period, requeue the rest."""
        await self.drain(grace_seconds)
        await self._heartbeat.stop()
        await self._sweeper.stop()
        if self._listener is not None:
            await self._listener.stop()

    def stop_claiming(self) -> None:
        """Take no new runs from now on (shutdown); running ones carry on. Idempotent.
        The claim loop ends after its current step (a claim under way is not cut)."""
        self._stopping = True
        self._wake.set()

    async def drain(self, grace_seconds: float) -> list[UUID]:
        """Stop claiming, give the running runs ``grace_seconds`` to end, then stop the rest
        and requeue them (they resume from their last checkpoint wherever they are claimed
        next). Returns the requeued run ids; their waiters are not told (the caller's job)."""
        self.stop_claiming()
        if self._loop_task is not None:
            # its idle wait may have missed the wake-up: then cut it short
            await asyncio.wait([self._loop_task], timeout=_LOOP_EXIT_SECONDS)
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace_seconds)
        requeued: list[UUID] = []
        while self._tasks:  # a run started from a slot reserved before the stop counts too
            requeued += self._tasks
            stopping = list(self._tasks.values())
            for task in stopping:
                task.cancel()
            await asyncio.gather(*stopping, return_exceptions=True)
        if requeued:
            async with self._db.transaction() as conn:
                await run_repo.requeue_runs(conn, run_ids=requeued)
                # other processes may take them at once
                await run_repo.notify(conn, channel=NEW_RUN, payload=f"{self._deps.origin}:")
        return requeued

    # -- signals -----------------------------------------------------------------------------

    def wake(self, due: datetime | None = None) -> None:
        """New work: now, or (``due``) a scheduled run becomes due then."""
        if due is not None:
            self._next_due = due if self._next_due is None else min(self._next_due, due)
        self._maybe_pending = True
        self._wake.set()

    def has_free_slot(self) -> bool:
        return not self._stopping and len(self._tasks) + self._reserved < self._slots

    def slots(self) -> tuple[int, int]:
        """(slots, slots in use) of this worker."""
        return self._slots, len(self._tasks) + self._reserved

    def reserve_slot(self, run_id: UUID) -> bool:
        """Hold a slot for a run the caller inserts as already running (no claim round
        trip). The caller then calls ``start_reserved`` or ``release_slot``."""
        if not self.has_free_slot():
            return False
        self._reserved += 1
        self._controls[run_id] = RunControl()
        return True

    def claimed_now(self) -> Row:
        """Column values of a run claimed at insert time by this worker."""
        return {"status": "running", "worker_id": self.worker_id, "attempt": 1}

    def release_slot(self, run_id: UUID) -> None:
        self._reserved -= 1
        self._controls.pop(run_id, None)

    def start_reserved(self, run: Row) -> None:
        self._reserved -= 1
        self._start(run)

    def cancel_local(self, run_id: UUID, action: str) -> bool:
        """Stop a run this worker holds (idempotent: only the first cancel counts)."""
        control = self._controls.get(run_id)
        if control is None:
            return False
        control.request(action)
        return True

    def ended_elsewhere(self, run_ids: Iterable[UUID]) -> None:
        """Runs that ended without a worker of this process recording it (cancelled or
        deleted while pending, failed by the sweeper, or ended in another process): release
        whoever waits on them here and close their streams. Idempotent."""
        for run_id in run_ids:
            control = self._controls.get(run_id)
            if control is not None:
                # Ours, ended or deleted under it (its thread deleted, the sweeper of another
                # process): stop the graph (a no-op once it is done). The worker records
                # the end, then closes and resolves.
                control.request("interrupt")
                continue
            self._completions.resolve_remote(run_id)
            self._deps.events.end(run_id)

    async def announce_ended(self, runs: Iterable[Row], error: Row | None = None) -> None:
        """Runs this process ended without their worker (cancelled or rolled back while
        queued, failed by the sweeper): those started over thread event streaming get the
        terminal ``failed`` lifecycle event their worker would have sent (``error`` None:
        cancelled). Call before ``ended_elsewhere``."""
        events = self._deps.events
        ended = [run for run in runs if is_thread_run(run)]
        for run in ended:
            await failed_end(run, error, events)
        if ended:
            await events.flush()

    def watch_crons(self, changed: Callable[[], None]) -> None:
        """Call ``changed`` when any process creates or reschedules a cron (the cron
        scheduler re-plans)."""
        self._cron_watchers.append(changed)

    def _on_notice(self, channel: str, payload: str) -> None:
        if channel == CRON_CHANGED:
            for changed in self._cron_watchers:
                changed()
            return
        if channel == RUN_DONE:  # sent by the database for every run that ends
            self.ended_elsewhere([UUID(payload)])
            return
        if channel == THREAD_DELETED:  # sent by the database for every thread deleted
            self._deps.events.end_thread(UUID(payload))
            return
        origin, _, rest = payload.partition(":")
        if origin == self._deps.origin:
            return  # our own notice, already handled in-process
        if channel == NEW_RUN:
            self.wake(datetime.fromtimestamp(float(rest), UTC) if rest else None)
        elif channel == CANCEL_RUN:
            run_id, _, action = rest.partition(":")
            self.cancel_local(UUID(run_id), action or "interrupt")

    # -- the claim loop ----------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping:
            if not self.has_free_slot():
                await self._wait_for_wake(None)
                continue
            try:
                run = await self._claim()
            except Exception as exc:  # database hiccup: back off, keep the loop alive
                log_background_failure(logger, exc, "claiming a run")
                await asyncio.sleep(1)
                continue
            if run is not None:
                self._start(run)
                continue
            self._maybe_pending = False
            await self._wait_for_wake(await self._idle_timeout())

    async def _claim(self) -> Row | None:
        for _ in range(3):
            run: Row | None = None
            try:
                async with self._db.relaxed_transaction() as conn:
                    run = await run_repo.claim_next_run(conn, worker_id=self.worker_id)
                    if run is not None:  # before the commit: a cancel may follow it at once
                        self._controls[run["run_id"]] = RunControl(run["cancel_action"])
                return run
            except Exception as exc:
                if run is not None:
                    self._controls.pop(run["run_id"], None)
                # Two claims raced on one thread; the unique index let only one win.
                if "uq_run_one_running_per_thread" not in str(exc):
                    raise
        return None

    async def _idle_timeout(self) -> float:
        """How long to sleep: until the next scheduled run, at most the recheck period. The
        database is asked only now and then; local and notified schedules arrive as hints."""
        now = time.monotonic()
        if now - self._due_checked_at >= _IDLE_RECHECK_SECONDS:
            self._due_checked_at = now
            async with self._db.transaction() as conn:
                self._next_due = await run_repo.next_available_at(conn)
        if self._next_due is None:
            return _IDLE_RECHECK_SECONDS
        seconds = (self._next_due - datetime.now(UTC)).total_seconds()
        if seconds <= 0:
            self._next_due = None
        return max(0.0, min(seconds, _IDLE_RECHECK_SECONDS))

    async def _wait_for_wake(self, at_most_seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most_seconds):
                await self._wake.wait()

    def _start(self, run: Row) -> None:
        run_id = run["run_id"]
        task = asyncio.create_task(self._execute(run), name=f"run-{run_id}")
        self._tasks[run_id] = task

    async def _execute(self, run: Row) -> None:
        # the run's task is its own context: every record logged while it runs names it,
        # and with tracing on, its span (its end's line included)
        with (
            log_context(run_id=str(run["run_id"]), thread_id=str(run["thread_id"])),
            self._deps.tracing.run_span(run) as span,
        ):
            await self._execute_run(run, span)

    async def _execute_run(self, run: Row, span: Span | None) -> None:
        run_id = run["run_id"]
        started = time.monotonic()
        control = self._controls.setdefault(run_id, RunControl(run.get("cancel_action")))
        try:
            outcome: RunOutcome = await self._worker.execute(run, control, span)
        except asyncio.CancelledError:
            self._tasks.pop(run_id, None)
            self._controls.pop(run_id, None)
            return  # shutdown: stop() requeues it
        except Exception as exc:
            logger.exception("run %s could not be recorded", run_id)
            outcome = await self._record_failure(run_id, exc)
        # no await from here to the resolve: a RUN_DONE notice of this end finds it resolved
        self._tasks.pop(run_id, None)
        self._controls.pop(run_id, None)
        if self._maybe_pending or outcome.more_queued:
            self._maybe_pending = True
            self._wake.set()  # a slot is free and a queued run may be claimable now
        self._completions.resolve(outcome)
        elapsed = time.monotonic() - started
        ended(span, outcome.status, outcome.error)
        logger.info("run %s ended: %s in %.3fs", run_id, outcome.status, elapsed)
        for listener in self._on_finished:
            listener(run, outcome, elapsed)

    async def _record_failure(self, run_id: UUID, exc: Exception) -> RunOutcome:
        """The run's end could not be written: end it as an error so nobody waits forever."""
        error = {"error": type(exc).__name__, "message": f"Recording the run failed: {exc}"}
        try:
            async with self._db.transaction() as conn:
                await run_repo.fail_runs(conn, run_ids=[run_id], error=error)
        except Exception:  # the database is gone; the sweeper retries the run later
            logger.exception("marking run %s as failed did not work either", run_id)
        return RunOutcome(run_id, "error", error=error)

    # -- liveness ----------------------------------------------------------------------------

    async def _beat(self) -> None:
        if self._tasks:
            async with self._db.relaxed_transaction() as conn:
                await run_repo.heartbeat(conn, run_ids=list(self._tasks), worker_id=self.worker_id)

    async def sweep(self) -> None:
        """Requeue runs whose worker died (or fail them once out of attempts); a run that
        was being cancelled is not run again."""
        lost = {"error": "WorkerLost", "message": "The run's worker stopped too often"}
        async with self._db.transaction() as conn:
            orphans = await run_repo.find_orphaned_runs(conn, stale_seconds=STALE_AFTER_SECONDS)
            cancelled = [r for r in orphans if r["cancel_action"]]
            live = [r for r in orphans if not r["cancel_action"]]
            retry = [r["run_id"] for r in live if r["attempt"] < self._max_attempts]
            failed = [r for r in live if r["attempt"] >= self._max_attempts]
            if cancelled:
                await run_repo.end_cancelled(conn, run_ids=[r["run_id"] for r in cancelled])
            await result_repo.delete_old_results(conn, older_than_seconds=RESULTS_KEPT_SECONDS)
            await run_repo.requeue_runs(conn, run_ids=retry)
            if failed:
                await run_repo.fail_runs(conn, run_ids=[r["run_id"] for r in failed], error=lost)
        await self.announce_ended(cancelled)
        await self.announce_ended(failed, lost)
        self.ended_elsewhere(r["run_id"] for r in cancelled + failed)
        if retry:
            logger.warning("requeued %d runs of a stopped worker", len(retry))
            self.wake()
