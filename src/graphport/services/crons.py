"""Crons: scheduled runs on a new thread each time, or on one thread."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from graphport.db.engine import Database
from graphport.errors import InvalidInput, NotFound
from graphport.graphs.registry import GraphRegistry
from graphport.repositories import assistants as assistant_repo
from graphport.repositories import crons as repo
from graphport.repositories import threads as thread_repo
from graphport.schemas.crons import (
    RUN_FIELDS,
    CronCountRequest,
    CronCreate,
    CronFilters,
    CronPatch,
    CronSearch,
    CronSelectField,
    ThreadCronCreate,
)
from graphport.schemas.runs import RunCreateStateful, RunCreateStateless
from graphport.services.assistants import Page, select_fields
from graphport.services.runs import RunService

Row = dict[str, Any]
CRON_FIELDS = get_args(CronSelectField)


def next_run(schedule: str, timezone: str, after: datetime | None = None) -> datetime:
    """The next firing after ``after`` (now), computed in the cron's timezone, as UTC."""
    zone = ZoneInfo(timezone)
    start = (after or datetime.now(UTC)).astimezone(zone)
    fired: datetime = croniter(schedule, start).get_next(datetime)
    return fired.astimezone(UTC)


def _validated(schedule: str | None, timezone: str | None) -> None:
    if schedule is not None and not croniter.is_valid(schedule):
        raise InvalidInput(f"Invalid cron schedule {schedule!r}")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"Unknown timezone {timezone!r}") from None


def _payload(body: Any) -> Row:
    return {k: getattr(body, k) for k in RUN_FIELDS if getattr(body, k, None) is not None}


class CronService:
    def __init__(self, db: Database, registry: GraphRegistry, runs: RunService) -> None:
        self._db = db
        self._registry = registry
        self._runs = runs
        self.changed = asyncio.Event()  # set when a schedule changes: the scheduler re-plans

    def _assistant_id(self, raw: str) -> UUID:
        resolved = self._registry.resolve_assistant_id(raw)
        if resolved is None:
            raise InvalidInput(f"Assistant or graph {raw!r} not found")
        return resolved

    async def create(self, thread_id: UUID | None, body: CronCreate | ThreadCronCreate) -> Row:
        timezone = body.timezone or "UTC"
        _validated(body.schedule, timezone)
        assistant_id = self._assistant_id(body.assistant_id)
        first = next_run(body.schedule, timezone)
        values: Row = {
            "cron_id": uuid4(),
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "schedule": body.schedule,
            "timezone": timezone,
            "payload": {"assistant_id": body.assistant_id, **_payload(body)},
            "metadata": body.metadata or {},
            "end_time": body.end_time,
            "enabled": body.enabled,
            "on_run_completed": getattr(body, "on_run_completed", None),
            "next_run_date": None if body.end_time and first > body.end_time else first,
        }
        async with self._db.transaction() as conn:
            if await assistant_repo.get_assistant(conn, assistant_id=assistant_id) is None:
                raise NotFound(f"Assistant {assistant_id} not found")
            if thread_id is not None and not await thread_repo.get_thread(
                conn, thread_id=thread_id
            ):
                raise NotFound(f"Thread {thread_id} not found")
            created = await repo.create_cron(conn, values=values)
        self.changed.set()
        return created

    async def get(self, cron_id: UUID) -> Row:
        async with self._db.transaction() as conn:
            found = await repo.get_cron(conn, cron_id=cron_id)
        if found is None:
            raise NotFound(f"Cron {cron_id} not found")
        return found

    async def update(self, cron_id: UUID, body: CronPatch) -> Row:
        _validated(body.schedule, body.timezone)
        async with self._db.transaction() as conn:
            current = await repo.get_cron(conn, cron_id=cron_id, for_update=True)
            if current is None:
                raise NotFound(f"Cron {cron_id} not found")
            values: Row = {}
            for field in ("schedule", "timezone", "enabled", "on_run_completed"):
                if getattr(body, field) is not None:
                    values[field] = getattr(body, field)
            if "end_time" in body.model_fields_set:
                values["end_time"] = body.end_time
            run_fields = _payload(body)
            if run_fields:
                values["payload"] = {**current["payload"], **run_fields}
            if body.metadata is not None:
                values["metadata"] = body.metadata
            merged = {**current, **values}
            following = next_run(merged["schedule"], merged["timezone"])
            ended = merged["end_time"] is not None and following > merged["end_time"]
            values["next_run_date"] = None if ended else following
            updated = await repo.update_cron(conn, cron_id=cron_id, values=values)
        self.changed.set()
        return updated

    async def delete(self, cron_id: UUID) -> None:
        async with self._db.transaction() as conn:
            if not await repo.delete_cron(conn, cron_id=cron_id):
                raise NotFound(f"Cron {cron_id} not found")

    def _filters(self, body: CronFilters) -> Row:
        return {
            "assistant_id": self._assistant_id(body.assistant_id) if body.assistant_id else None,
            "thread_id": body.thread_id,
            "metadata": body.metadata,
            "enabled": body.enabled,
        }

    async def search(self, body: CronSearch) -> Page:
        filters = self._filters(body)
        async with self._db.transaction() as conn:
            rows, total = await repo.search_crons(
                conn,
                filters=filters,
                sort_by=body.sort_by or "created_at",
                descending=(body.sort_order or "desc") == "desc",
                limit=body.limit,
                offset=body.offset,
            )
            if total is None:
                total = await repo.count_crons(conn, filters=filters)
        return Page.of(
            [select_fields(r, body.select or CRON_FIELDS) for r in rows], total, body.offset
        )

    async def count(self, body: CronCountRequest) -> int:
        async with self._db.transaction() as conn:
            return await repo.count_crons(conn, filters=self._filters(body))

    async def fire_due(self, *, batch: int = 100) -> int:
        """Start the runs of every cron whose time has come; advance each to its next time.

        The claim skips rows another scheduler holds, so several processes never double-fire.
        """
        async with self._db.transaction() as conn:
            due = await repo.claim_due_crons(conn, limit=batch)
            for row in due:
                following = next_run(row["schedule"], row["timezone"])
                ended = row["end_time"] is not None and following > row["end_time"]
                await repo.update_cron(
                    conn,
                    cron_id=row["cron_id"],
                    values={"next_run_date": None if ended else following},
                )
        for row in due:
            await self._start_run(row)
        return len(due)

    async def _start_run(self, row: Row) -> None:
        payload = dict(row["payload"])
        payload["metadata"] = {**(payload.get("metadata") or {}), "cron_id": str(row["cron_id"])}
        payload["assistant_id"] = str(row["assistant_id"])
        if row["thread_id"] is None:
            stateless = RunCreateStateless.model_validate(
                {**payload, "on_completion": row["on_run_completed"] or "delete"}
            )
            await self._runs.create(None, stateless)
        else:
            stateful = RunCreateStateful.model_validate(payload)
            await self._runs.create(row["thread_id"], stateful)

    async def next_due(self) -> datetime | None:
        async with self._db.transaction() as conn:
            due: datetime | None = await repo.next_due(conn)
        return due
