"""Crons: scheduled runs on a new thread each time, or on one thread."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from graphport.auth.actor import SYSTEM, Actor
from graphport.auth.filters import AuthFilter
from graphport.auth.handlers import Authorizer
from graphport.db.engine import Database
from graphport.errors import GraphportError, InvalidInput, NotFound
from graphport.execution.listener import CRON_CHANGED
from graphport.graphs.registry import GraphRegistry
from graphport.repositories import crons as repo
from graphport.repositories import runs as run_repo
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
from graphport.services.run_access import run_assistant_scope
from graphport.services.runs import RunService

logger = logging.getLogger(__name__)

Row = dict[str, Any]
CRON_FIELDS = get_args(CronSelectField)


# croniter's shorthands, each a five-field schedule (@reboot has no meaning here)
_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
# croniter extensions that are not cron: hashed (H) and random (R) values
_NOT_CRON = re.compile(r"^[HR](?:$|[/(])", re.IGNORECASE)


def next_run(schedule: str, timezone: str, after: datetime | None = None) -> datetime:
    """The next firing after ``after`` (now), computed in the cron's timezone, as UTC.
    InvalidInput (422) when the schedule never fires (``0 0 31 2 *``) or is not valid."""
    zone = ZoneInfo(timezone)
    start = (after or datetime.now(UTC)).astimezone(zone)
    try:
        fired: datetime = croniter(schedule, start).get_next(datetime)
        return fired.astimezone(UTC)
    except (ValueError, OverflowError):  # croniter's errors are ValueErrors
        raise InvalidInput(f"Cron schedule {schedule!r} never fires") from None


def _check_schedule(schedule: str) -> None:
    """Standard five-field cron (minute hour day-of-month month day-of-week) or an @-alias
    of one: croniter's seconds and year fields would fire every second or be ignored."""
    fields = schedule.split()
    if len(fields) == 1 and fields[0].lower() in _ALIASES:
        return
    if len(fields) != 5:
        raise InvalidInput(
            f"Invalid cron schedule {schedule!r}: give 5 fields (minute hour day-of-month "
            "month day-of-week) or one of " + ", ".join(sorted(_ALIASES))
        )
    if any(_NOT_CRON.match(part) for field in fields for part in field.split(",")):
        raise InvalidInput(f"Invalid cron schedule {schedule!r}: H and R are not cron syntax")
    if not croniter.is_valid(schedule):
        raise InvalidInput(f"Invalid cron schedule {schedule!r}")


def _validated(schedule: str | None, timezone: str | None) -> None:
    if schedule is not None:
        _check_schedule(schedule)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, too long
            raise InvalidInput(f"Unknown timezone {timezone!r}") from None


def _payload(body: Any) -> Row:
    return {k: getattr(body, k) for k in RUN_FIELDS if getattr(body, k, None) is not None}


def _with_cron_id(payload: Row, cron_id: UUID) -> Row:
    """The payload with ``config.configurable.cron_id``, as the official server stores it
    (its runs carry it; firing sets it again, whatever a patch did to the config)."""
    config = dict(payload.get("config") or {})
    config["configurable"] = {**(config.get("configurable") or {}), "cron_id": str(cron_id)}
    return {**payload, "config": config}


def run_request(
    payload: Row, *, on_thread: bool, on_run_completed: str | None
) -> RunCreateStateful | RunCreateStateless:
    """The run a cron fires: on its thread, or stateless (a new thread each time)."""
    if on_thread:
        return RunCreateStateful.model_validate(payload)
    return RunCreateStateless.model_validate(
        {**payload, "on_completion": on_run_completed or "delete"}
    )


class CronService:
    def __init__(
        self,
        db: Database,
        registry: GraphRegistry,
        runs: RunService,
        authorizer: Authorizer | None = None,
        fired: Callable[[bool], None] | None = None,
    ) -> None:
        self._db = db
        self._registry = registry
        self._runs = runs
        self._authorizer = authorizer
        self._fired = fired  # told of each firing: its run started, or not
        self.changed = asyncio.Event()  # set when a schedule changes: the scheduler re-plans

    def _assistant_id(self, raw: str) -> UUID:
        resolved = self._registry.resolve_assistant_id(raw)
        if resolved is None:
            raise InvalidInput(f"Assistant or graph {raw!r} not found")
        return resolved

    async def create(
        self, thread_id: UUID | None, body: CronCreate | ThreadCronCreate, *, actor: Actor
    ) -> Row:
        timezone = body.timezone or "UTC"
        _validated(body.schedule, timezone)
        assistant_id = self._assistant_id(body.assistant_id)
        first = next_run(body.schedule, timezone)
        cron_id = uuid4()
        payload = {"assistant_id": body.assistant_id, **_payload(body)}
        asked: Row = {
            "payload": _with_cron_id(payload, cron_id),
            "schedule": body.schedule,
            "cron_id": cron_id,
            "thread_id": thread_id,
            "user_id": actor.identity,
            "end_time": body.end_time,
            "metadata": dict(body.metadata or {}),
        }
        await actor.authorize("crons", "create", asked)
        thread_scope = None
        if thread_id is not None:  # its runs will write to the thread: the caller must see it
            thread_scope = await actor.authorize("threads", "read", {"thread_id": thread_id})
        completed = getattr(body, "on_run_completed", None)
        assistant_scope = await self._check_runs(
            thread_id, assistant_id, asked["payload"], completed, actor
        )
        values: Row = {
            "cron_id": cron_id,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "user_id": actor.identity,
            "auth_user": actor.user_data,
            "schedule": body.schedule,
            "timezone": timezone,
            "payload": asked["payload"],
            "metadata": dict(asked.get("metadata") or {}),
            "end_time": body.end_time,
            "enabled": body.enabled,
            "on_run_completed": completed,
            "next_run_date": None if body.end_time and first > body.end_time else first,
        }
        async with self._db.transaction() as conn:
            # held until commit: deleting the assistant or the thread deletes this cron too
            has_assistant, has_thread = await repo.hold_parents(
                conn, assistant_id=assistant_id, thread_id=thread_id
            )
            if not has_assistant:
                raise NotFound(f"Assistant {assistant_id} not found")
            await self._runs.checks.visible_assistant(conn, assistant_id, assistant_scope)
            if thread_id is not None and not (
                has_thread
                and await thread_repo.get_thread(conn, thread_id=thread_id, scope=thread_scope)
            ):
                raise NotFound(f"Thread {thread_id} not found")
            created = await repo.create_cron(conn, values=values)
            await run_repo.notify(conn, channel=CRON_CHANGED, payload="")  # other processes
        self.changed.set()
        return created

    async def _check_runs(
        self,
        thread_id: UUID | None,
        assistant_id: UUID,
        payload: Row,
        on_run_completed: str | None,
        actor: Actor,
    ) -> AuthFilter | None:
        """Refuse a cron whose every firing would fail: a payload that is not a valid run,
        a webhook runs may not call, unknown nodes, an assistant the caller cannot see (404).
        Returns the caller's ``assistants.read`` filter."""
        system = assistant_id in self._registry.system_assistant_ids
        scope = await run_assistant_scope(actor, assistant_id, system=system)
        try:
            run = run_request(
                {**payload, "assistant_id": str(assistant_id)},
                on_thread=thread_id is not None,
                on_run_completed=on_run_completed,
            )
        except ValidationError as exc:
            raise InvalidInput(f"The cron's run is not valid: {exc}") from None
        await self._runs.checks.check(
            thread_id, assistant_id, run, actor=actor, assistant_scope=scope
        )
        return scope

    async def _check_patched_runs(
        self, cron_id: UUID, body: CronPatch, scope: AuthFilter | None, actor: Actor
    ) -> None:
        """The runs a patched cron will fire must pass the same checks as a new cron's."""
        async with self._db.transaction() as conn:
            current = await repo.get_cron(conn, cron_id=cron_id, scope=scope)
        if current is None:
            raise NotFound(f"Cron {cron_id} not found")
        await self._check_runs(
            current["thread_id"],
            current["assistant_id"],
            {**current["payload"], **_payload(body)},
            body.on_run_completed or current["on_run_completed"],
            actor,
        )

    async def get(self, cron_id: UUID, *, actor: Actor) -> Row:
        scope = await actor.authorize("crons", "read", {"cron_id": cron_id})
        async with self._db.transaction() as conn:
            found = await repo.get_cron(conn, cron_id=cron_id, scope=scope)
        if found is None:
            raise NotFound(f"Cron {cron_id} not found")
        return found

    async def update(self, cron_id: UUID, body: CronPatch, *, actor: Actor) -> Row:
        _validated(body.schedule, body.timezone)
        asked: Row = {"cron_id": cron_id, "payload": _payload(body) or None}
        asked["schedule"] = body.schedule
        if body.metadata is not None:
            asked["metadata"] = dict(body.metadata)
        scope = await actor.authorize("crons", "update", asked)
        if asked["payload"] or body.on_run_completed is not None:
            await self._check_patched_runs(cron_id, body, scope, actor)
        async with self._db.transaction() as conn:
            current = await repo.get_cron(conn, cron_id=cron_id, for_update=True, scope=scope)
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
                values["payload"] = _with_cron_id({**current["payload"], **run_fields}, cron_id)
            if asked.get("metadata") is not None:
                values["metadata"] = asked["metadata"]
            merged = {**current, **values}
            following = next_run(merged["schedule"], merged["timezone"])
            ended = merged["end_time"] is not None and following > merged["end_time"]
            values["next_run_date"] = None if ended else following
            updated = await repo.update_cron(conn, cron_id=cron_id, values=values)
            await run_repo.notify(conn, channel=CRON_CHANGED, payload="")  # other processes
        self.changed.set()
        return updated

    async def delete(self, cron_id: UUID, *, actor: Actor) -> None:
        scope = await actor.authorize("crons", "delete", {"cron_id": cron_id})
        async with self._db.transaction() as conn:
            if not await repo.delete_cron(conn, cron_id=cron_id, scope=scope):
                raise NotFound(f"Cron {cron_id} not found")

    async def _filters(self, body: CronFilters, actor: Actor) -> Row:
        """The search's own filters and the ``crons.search`` handler's, ANDed."""
        assistant_id = self._assistant_id(body.assistant_id) if body.assistant_id else None
        asked: Row = {"assistant_id": assistant_id, "thread_id": body.thread_id}
        if isinstance(body, CronSearch):
            asked.update(limit=body.limit, offset=body.offset)
        scope = await actor.authorize("crons", "search", asked)
        return {
            "assistant_id": assistant_id,
            "thread_id": body.thread_id,
            "metadata": body.metadata,
            "enabled": body.enabled,
            "scope": scope,
        }

    async def search(self, body: CronSearch, *, actor: Actor) -> Page:
        filters = await self._filters(body, actor)
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

    async def count(self, body: CronCountRequest, *, actor: Actor) -> int:
        filters = await self._filters(body, actor)
        async with self._db.transaction() as conn:
            return await repo.count_crons(conn, filters=filters)

    async def fire_due(self, *, batch: int = 100) -> int:
        """Start the runs of every cron whose time has come; advance each to its next time.

        The claim skips rows another scheduler holds, so several processes never double-fire.
        """
        async with self._db.transaction() as conn:
            due = await repo.claim_due_crons(conn, limit=batch)
            due = await self._drop_orphans(conn, due)
            for row in due:
                try:
                    following: datetime | None = next_run(row["schedule"], row["timezone"])
                except InvalidInput:  # stored before schedules were checked: it stops here
                    following = None
                ended = following is None or (
                    row["end_time"] is not None and following > row["end_time"]
                )
                await repo.update_cron(
                    conn,
                    cron_id=row["cron_id"],
                    values={"next_run_date": None if ended else following},
                )
        for row in due:
            started = False
            try:
                await self._start_run(row)
                started = True
            except GraphportError as exc:  # e.g. its creator may no longer run on the thread
                logger.warning("cron %s could not start a run: %s", row["cron_id"], exc.detail)
            except ValidationError as exc:  # a payload stored before its values were checked
                problems = "; ".join(e["msg"] for e in exc.errors())
                logger.warning("cron %s's run is not valid: %s", row["cron_id"], problems)
            except Exception:  # the other due crons still fire
                logger.exception("cron %s could not start a run", row["cron_id"])
            if self._fired is not None:
                self._fired(started)
        return len(due)

    @staticmethod
    async def _drop_orphans(conn: AsyncConnection, due: list[Row]) -> list[Row]:
        """The claimed crons whose assistant still exists; the others are deleted (crons
        stored before deleting an assistant deleted its crons), each logged once."""
        if not due:
            return due
        dropped = set(await repo.delete_orphans(conn, cron_ids=[r["cron_id"] for r in due]))
        for cron_id in dropped:
            logger.warning("cron %s deleted: its assistant no longer exists", cron_id)
        return [r for r in due if r["cron_id"] not in dropped]

    async def _start_run(self, row: Row) -> None:
        """The run goes out as its cron's creator: the graph sees that user, and
        ``configurable.cron_id``. Its metadata: the cron's, under the payload's (as on the
        official server), and ``cron_id``."""
        creator = SYSTEM
        if row["auth_user"]:
            creator = Actor.signed_in(row["auth_user"], self._authorizer)
        payload = dict(row["payload"])
        payload["metadata"] = {
            **(row["metadata"] or {}),
            **(payload.get("metadata") or {}),
            "cron_id": str(row["cron_id"]),
        }
        payload["assistant_id"] = str(row["assistant_id"])
        on_thread = row["thread_id"] is not None
        run = run_request(payload, on_thread=on_thread, on_run_completed=row["on_run_completed"])
        await self._runs.create(row["thread_id"], run, actor=creator, cron_id=row["cron_id"])

    async def next_due(self) -> datetime | None:
        async with self._db.transaction() as conn:
            due: datetime | None = await repo.next_due(conn)
        return due
