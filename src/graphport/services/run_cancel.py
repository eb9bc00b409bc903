"""Cancelling runs: pending ones end at once; running ones are asked to stop, here or (by
NOTIFY) in the process that runs them, and their worker records the end."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import Actor
from graphport.db.engine import Database
from graphport.errors import NotFound
from graphport.execution.completions import Completions
from graphport.execution.executor import Executor
from graphport.execution.listener import CANCEL_RUN
from graphport.repositories import checkpoints as checkpoint_repo
from graphport.repositories import runs as repo
from graphport.schemas.runs import RunsCancel

Row = dict[str, Any]


@dataclass(frozen=True)
class Stopped:
    """Runs a cancel ended while pending, and running runs asked to stop."""

    ended_runs: list[Row]  # the pending runs it ended, their rows
    running: list[UUID]
    action: str

    @property
    def ended(self) -> list[UUID]:
        return [r["run_id"] for r in self.ended_runs]


class RunCanceller:
    def __init__(
        self, db: Database, executor: Executor, completions: Completions, *, origin: str
    ) -> None:
        self._db = db
        self._executor = executor
        self._completions = completions
        self._origin = origin

    async def cancel(
        self, thread_id: UUID, run_id: UUID, *, wait: bool, action: str, actor: Actor
    ) -> None:
        value = {"thread_id": thread_id, "run_id": run_id, "action": action}
        scope = await actor.authorize("threads", "update", value)
        future = self._completions.expect(run_id) if wait else None
        try:
            async with self._db.transaction() as conn:
                rows = await repo.select_runs_to_cancel(
                    conn,
                    thread_id=thread_id,
                    run_ids=[run_id],
                    statuses=repo.IN_FLIGHT,
                    scope=scope,
                )
                if not rows:
                    raise NotFound(f"Run {run_id} not found or already finished")
                stopped = await self.cancel_rows(conn, rows, action)
            await self.signal(stopped)
            if future is not None and stopped.running:
                await future
        finally:
            if future is not None:
                self._completions.forget(run_id, future)

    async def stop_thread_runs(self, thread_id: UUID, *, wait_seconds: float = 5.0) -> None:
        """Interrupt every run in flight on a thread (before the thread is deleted), waiting
        a little for running ones so they write nothing after the thread is gone."""
        async with self._db.transaction() as conn:
            rows = await repo.in_flight_runs(conn, thread_id=thread_id)
            if not rows:
                return
            stopped = await self.cancel_rows(conn, rows, "interrupt")
        futures = [self._completions.expect(run_id) for run_id in stopped.running]
        await self.signal(stopped)
        try:
            if futures:
                await asyncio.wait(futures, timeout=wait_seconds)
        finally:
            for run_id, future in zip(stopped.running, futures, strict=True):
                self._completions.forget(run_id, future)

    async def stop_late_runs(self, conn: AsyncConnection, thread_id: UUID) -> Stopped | None:
        """In the transaction that deletes the thread, after ``stop_thread_runs``: lock the
        thread (no run can be created on it any more) and stop runs created meanwhile.
        The caller ``signal``s the result after its commit."""
        if await repo.lock_thread_for_run(conn, thread_id=thread_id) is None:
            return None
        rows = await repo.in_flight_runs(conn, thread_id=thread_id)
        return await self.cancel_rows(conn, rows, "interrupt") if rows else None

    async def cancel_many(self, body: RunsCancel, *, action: str, actor: Actor) -> None:
        statuses = repo.IN_FLIGHT if body.status in (None, "all") else (body.status or "",)
        value = {"thread_id": body.thread_id, "run_ids": body.run_ids, "action": action}
        scope = await actor.authorize("threads", "update", value)
        async with self._db.transaction() as conn:
            rows = await repo.select_runs_to_cancel(
                conn,
                thread_id=body.thread_id,
                run_ids=body.run_ids,
                statuses=statuses,
                scope=scope,
            )
            if not rows:
                raise NotFound("No runs matched")
            stopped = await self.cancel_rows(conn, rows, action)
        await self.signal(stopped)

    async def cancel_rows(self, conn: AsyncConnection, rows: list[Row], action: str) -> Stopped:
        """Pending runs end here; running ones are asked to stop (their worker records it).
        Statuses are re-checked in the updates: a run may have been claimed meanwhile."""
        action = "rollback" if action == "rollback" else "interrupt"
        ids = [r["run_id"] for r in rows]
        ended = await repo.end_pending(conn, run_ids=ids, delete_them=action == "rollback")
        running = await repo.request_cancel(
            conn, run_ids=[i for i in ids if i not in ended], action=action
        )
        for run_id in running:
            await repo.notify(conn, channel=CANCEL_RUN, payload=f"{self._origin}:{run_id}:{action}")
        if action == "rollback":
            for r in rows:
                if r["run_id"] in ended:
                    await checkpoint_repo.delete_run_checkpoints(
                        conn, thread_id=r["thread_id"], run_id=r["run_id"]
                    )
        ended_runs = [r for r in rows if r["run_id"] in ended]
        return Stopped(ended_runs=ended_runs, running=running, action=action)

    async def signal(self, stopped: Stopped) -> None:
        """After the commit: stop local running runs now; end the waits and streams of the
        pending runs we ended (other processes learn of them from the database's RUN_DONE),
        after the terminal lifecycle event of those started over thread event streaming."""
        for run_id in stopped.running:
            self._executor.cancel_local(run_id, stopped.action)
        if stopped.ended_runs:
            await self._executor.announce_ended(stopped.ended_runs)
            self._executor.ended_elsewhere(stopped.ended)
            self._executor.wake()  # a run queued behind an ended one may be first in line now
