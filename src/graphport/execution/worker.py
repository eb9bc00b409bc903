"""Drive one claimed run through its graph and record how it ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot

from graphport.db.engine import Database, pool_exhausted
from graphport.execution.completions import RunOutcome
from graphport.execution.control import RunControl
from graphport.execution.events import RunEvents
from graphport.execution.inputs import interrupt_nodes, run_config, run_context, run_input
from graphport.execution.stream_modes import StreamTranslator
from graphport.execution.thread_runs import failed_end, is_thread_run, stream_thread_run
from graphport.graphs.outputs import OutputShape
from graphport.graphs.registry import AnyPregel, GraphRegistry
from graphport.graphs.state_format import thread_interrupts, thread_status
from graphport.graphs.updates import check_update, start_state, update_writes
from graphport.repositories import checkpoints as checkpoint_repo
from graphport.repositories import run_results as result_repo
from graphport.repositories import runs as run_repo
from graphport.repositories import threads as thread_repo
from graphport.serialization import dumps
from graphport.tracing import OFF, Tracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass
class WorkerDeps:
    db: Database
    registry: GraphRegistry
    checkpointer: BaseCheckpointSaver[Any]
    events: RunEvents
    origin: str
    timeout_seconds: float | None
    tracing: Tracing = OFF
    # A temporary run's checkpoints (a stateless run whose thread is deleted at its end):
    # kept in this process, never written to Postgres to be deleted at once. The official
    # server runs them with no checkpointer at all; this one lets the run's worker read its
    # final state and interrupts (the API reads Postgres: an empty state while it runs).
    scratch: BaseCheckpointSaver[Any] | None = None


def temporary(run: Row) -> bool:
    """A stateless run whose thread goes when it ends (``on_completion: "delete"``)."""
    return bool(run["kwargs"].get("temporary"))


def error_json(exc: BaseException) -> Row:
    return {"error": type(exc).__name__, "message": str(exc)}


_RECORD_TRIES = 3  # each waits up to the pool timeout for a connection
_RECORD_BACKOFF_SECONDS = 0.5
_HIDDEN_TAG = "langsmith:hidden"  # events the official server leaves out of ``events`` streams


@dataclass(frozen=True)
class _Driven:
    """What a run that got its graph learnt: the graph's output channels, and its final
    state when that is known without reading the checkpoint back (else None)."""

    shape: OutputShape
    values: Any = None


class RunWorker:
    def __init__(self, deps: WorkerDeps) -> None:
        self._deps = deps

    async def execute(self, run: Row, control: RunControl, span: Span | None = None) -> RunOutcome:
        """Run the graph; the outcome is recorded before this returns, and the run's streams
        close after that (a client that sees the stream end finds the run finished).

        Only the graph is cancellable (``control``): recording the end never is. A
        CancelledError without a cancel request (shutdown) propagates: the caller requeues.
        ``span``: the run's, with tracing on; its nodes, models and tools trace under it.
        """
        run_id: UUID = run["run_id"]
        status, error, driven = "success", None, None
        pending = await self._pending_commands(run)
        try:
            async with asyncio.timeout(self._deps.timeout_seconds):
                driven = await control.drive(self._drive(run, span))
        except TimeoutError as exc:
            status, error = "timeout", error_json(exc) | {"message": "Run timed out"}
        except asyncio.CancelledError:
            action = control.cancelled_by_request()
            if action is None:
                raise
            status = "rollback" if action == "rollback" else "interrupted"
        except Exception as exc:  # the graph failed: the run records the error
            logger.info("run %s failed: %s: %s", run_id, type(exc).__name__, exc)
            status, error = "error", error_json(exc)
        if status == "interrupted" and control.action == "rollback":
            status = "rollback"  # a rollback came while the interrupt stopped the graph
        events = self._deps.events
        try:
            if is_thread_run(run) and status != "success":
                await failed_end(run, error, events)
            elif error is not None and await self._streamed(run):
                await events.publish(run_id, run["thread_id"], "error", error)
            await events.flush()
            return await self._finish(run, status, error, driven, pending)
        finally:
            await events.close(run_id, run["thread_id"])
            if (scratch := self._scratch(run)) is not None:
                await scratch.adelete_thread(str(run["thread_id"]))

    def _scratch(self, run: Row) -> BaseCheckpointSaver[Any] | None:
        """The in-process saver holding a temporary run's checkpoints; None: the run's
        checkpoints are in Postgres."""
        return self._deps.scratch if temporary(run) else None

    def _saver(self, run: Row) -> BaseCheckpointSaver[Any]:
        """Where the run's checkpoints go: Postgres, or this process for a temporary run."""
        scratch = self._scratch(run)
        return scratch if scratch is not None else self._deps.checkpointer

    async def _drive(self, run: Row, span: Span | None) -> _Driven:
        """Run the graph. Its output and ``values``/``updates`` streams carry its output
        schema's channels, as LangGraph's ``invoke`` and the official server give them (not
        the whole state); beside ``events``, the whole state, as on the official server."""
        kwargs = run["kwargs"]
        config = run_config(run)
        deps = self._deps
        if traced := deps.tracing.graph_callbacks(span):
            config["callbacks"] = traced
        resume = run["attempt"] > 1 and await self._has_own_checkpoint(run)
        async with deps.registry.graph(
            run["graph_id"],
            config,
            checkpointer=self._saver(run),
            access_context="threads.create_run",
            context=kwargs.get("context"),
        ) as graph:
            shape = OutputShape.of(graph)
            options: Row = {
                "context": run_context(graph, kwargs.get("context")),
                "interrupt_before": interrupt_nodes(kwargs.get("interrupt_before")),
                "interrupt_after": interrupt_nodes(kwargs.get("interrupt_after")),
            }
            if kwargs.get("durability"):
                options["durability"] = kwargs["durability"]
            graph_input = run_input(run, resume_from_checkpoint=resume)
            if isinstance(graph_input, Command) and graph_input.update:
                await self._check_update(graph, run, graph_input)
            if is_thread_run(run):
                await stream_thread_run(graph, run, graph_input, config, options, deps.events)
                return _Driven(shape)
            if await self._streamed(run):
                last = await self._stream(graph, run, graph_input, config, options)
                return _Driven(shape, _completed_values(shape, kwargs, last))
            output = await graph.ainvoke(graph_input, config, **options)
            return _Driven(shape, _completed_values(shape, kwargs, output))

    async def _streamed(self, run: Row) -> bool:
        """Whether the run produces stream events: a resumable or observable one always
        (a join may come at any time), another while someone streams it or its thread."""
        kwargs = run["kwargs"]
        if kwargs.get("resumable") or kwargs.get("observable"):
            return True
        return await self._deps.events.wants(run["run_id"], run["thread_id"])

    async def _check_update(self, graph: AnyPregel, run: Row, command: Command[Any]) -> None:
        """Fail the run, before LangGraph stores its update, when the graph would refuse it
        on the state the run really starts from (a run queued before it changed that
        state). LangGraph stores a Command's writes before applying them, and when applying
        fails there, the store may land after the run has ended and been cleaned up."""
        start_id = run_config(run)["configurable"].get("checkpoint_id")
        start = await start_state(self._saver(run), str(run["thread_id"]), start_id)
        check_update(graph, update_writes(command.update), start)

    async def _stream(
        self, graph: AnyPregel, run: Row, graph_input: Any, config: RunnableConfig, options: Row
    ) -> Any:
        """Run with the requested stream modes, publishing every event. Returns what
        ``ainvoke`` would have (the last root ``values``, ``__interrupt__`` added when the
        graph stopped at one) when ``values`` are streamed, else None: a run that streams
        its values needs no read of its checkpoint to learn its final state."""
        run_id, thread_id = run["run_id"], run["thread_id"]
        translator = StreamTranslator(run["kwargs"].get("stream_mode") or ["values"])
        subgraphs = bool(run["kwargs"].get("subgraphs"))
        events = self._deps.events
        await events.publish(
            run_id, thread_id, "metadata", {"run_id": str(run_id), "attempt": run["attempt"]}
        )
        if translator.wants_events():
            await self._stream_events(graph, run, graph_input, config, options, translator)
            return None
        modes = translator.langgraph_modes() or ["values"]
        # interrupts show in ``updates`` only (as for ainvoke): asked for, not published
        unasked = ["updates"] if "values" in modes and "updates" not in modes else []
        last: Any = None
        interrupts: list[Any] = []
        chunks: AsyncIterator[Any] = graph.astream(
            graph_input,
            config,
            stream_mode=cast(Any, [*modes, *unasked]),
            subgraphs=subgraphs,
            output_keys=graph.output_channels,  # astream's default is every channel
            **options,
        )
        async for chunk in chunks:
            namespace, (mode, data) = (chunk[0], chunk[1:]) if subgraphs else ((), chunk)
            if not namespace:
                if mode == "values":
                    last = data
                elif mode == "updates" and isinstance(data, dict) and "__interrupt__" in data:
                    interrupts.extend(data["__interrupt__"])
            if unasked and mode == "updates":
                continue
            for name, published in translator.translate_chunk(chunk, subgraphs=subgraphs):
                await events.publish(run_id, thread_id, name, published)
        if "values" not in modes or not isinstance(last, dict):
            return None
        return {**last, "__interrupt__": interrupts} if interrupts else last

    async def _stream_events(
        self,
        graph: AnyPregel,
        run: Row,
        graph_input: Any,
        config: RunnableConfig,
        options: Row,
        translator: StreamTranslator,
    ) -> None:
        """``events`` (with any other modes) as the official server streams them: the root
        run's ``on_chain_stream`` chunks come out as their own modes only, events tagged
        hidden not at all, and every channel is streamed (no output schema applied)."""
        run_id, thread_id = run["run_id"], run["thread_id"]
        subgraphs = bool(run["kwargs"].get("subgraphs"))
        events = self._deps.events
        async for event in graph.astream_events(
            graph_input,
            config,
            version="v2",
            stream_mode=cast(Any, translator.langgraph_modes() or ["values"]),
            subgraphs=subgraphs,
            **options,
        ):
            if _HIDDEN_TAG in (event.get("tags") or ()):
                continue
            if event["event"] != "on_chain_stream" or event.get("parent_ids"):
                await events.publish(run_id, thread_id, "events", event)
                continue
            for name, data in translator.translate_chunk(
                event["data"]["chunk"], subgraphs=subgraphs
            ):
                if name.split("|")[0] != "values" or "values" in translator.requested:
                    await events.publish(run_id, thread_id, name, data)

    async def _pending_commands(self, run: Row) -> checkpoint_repo.PendingCommands | None:
        """For a run with a command: what is pending on the checkpoint it starts from, before
        it adds its own (taken back if it fails before applying them)."""
        if not run["kwargs"].get("command") or self._scratch(run) is not None:
            return None
        start = run_config(run)["configurable"].get("checkpoint_id")
        async with self._deps.db.transaction() as conn:
            return await checkpoint_repo.get_pending_commands(
                conn, thread_id=run["thread_id"], checkpoint_id=start
            )

    async def _has_own_checkpoint(self, run: Row) -> bool:
        if self._scratch(run) is not None:
            return False  # a temporary run's checkpoints died with its process
        async with self._deps.db.transaction() as conn:
            return await checkpoint_repo.has_run_checkpoint(
                conn, thread_id=run["thread_id"], run_id=run["run_id"]
            )

    async def _finish(
        self,
        run: Row,
        status: str,
        error: Row | None,
        driven: _Driven | None,
        pending: checkpoint_repo.PendingCommands | None,
    ) -> RunOutcome:
        await self._discard(run, status, pending)
        shape, snapshot = (driven.shape if driven is not None else None), None
        if driven is not None and driven.values is not None:
            values: Any = driven.values  # ran to its end: nothing pending, nothing interrupted
        else:
            read = await self._safe_snapshot(run)
            if read is not None:
                snapshot, shape = read
            values = snapshot.values if snapshot is not None else thread_repo.UNCHANGED
        if status in ("error", "timeout"):
            thread_state, interrupts = "error", {}
        elif snapshot is not None:
            thread_state, interrupts = thread_status(snapshot), thread_interrupts(snapshot)
        else:
            thread_state, interrupts = "idle", {}
        stored = values
        if values is not thread_repo.UNCHANGED:
            # Encoded once: the thread row, the wait response and the webhook reuse the bytes
            # (a long conversation's values are the biggest thing a run writes).
            stored = orjson.Fragment(dumps(values))
        known = values is not thread_repo.UNCHANGED
        outcome = RunOutcome(
            run["run_id"],
            "interrupted" if status == "rollback" else status,
            values=stored if known else None,
            output=_wait_values(values, stored, shape, interrupts) if shape and known else None,
            error=error,
            interrupts=interrupts or None,
        )
        ended = {"values": stored, "status": thread_state, "interrupts": interrupts, "error": error}
        more_queued = await self._record(run, status, ended, outcome)
        return replace(outcome, more_queued=more_queued)

    async def _discard(
        self, run: Row, status: str, pending: checkpoint_repo.PendingCommands | None
    ) -> None:
        """A rolled back run's checkpoints go; a failed run's command is not applied later."""
        rolled_back = status == "rollback"
        if not rolled_back and status not in ("error", "timeout"):
            return
        if self._scratch(run) is not None:
            return  # a temporary run: nothing of it is in Postgres
        run_id, thread_id = run["run_id"], run["thread_id"]
        async with self._deps.db.transaction() as conn:
            if rolled_back:
                await checkpoint_repo.delete_run_checkpoints(
                    conn, thread_id=thread_id, run_id=run_id
                )
            if pending is not None:
                await checkpoint_repo.delete_unapplied_command(
                    conn, thread_id=thread_id, run_id=run_id, before=pending
                )

    async def _record(self, run: Row, status: str, ended: Row, outcome: RunOutcome) -> bool:
        """Write the run's end and the thread's new state (``ended``: the thread's
        ``values``, ``status``, ``interrupts``, ``error``); whether runs are queued behind.
        The thread row first, then the run: every writer locks in this order. Other
        processes learn of the end from the database (a trigger sends RUN_DONE)."""
        for attempt in range(1, _RECORD_TRIES + 1):
            try:
                return await self._record_once(run, status, ended, outcome)
            except Exception as exc:  # overload is no reason to turn a run's end into an error
                if attempt == _RECORD_TRIES or not pool_exhausted(exc):
                    raise
                logger.warning(
                    "recording run %s waits: no database connection is free", run["run_id"]
                )
                await asyncio.sleep(_RECORD_BACKOFF_SECONDS * attempt)  # PostgreSQL refused one
        raise AssertionError("unreachable")

    async def _record_once(self, run: Row, status: str, ended: Row, outcome: RunOutcome) -> bool:
        run_id, thread_id = run["run_id"], run["thread_id"]
        db = self._deps.db
        if temporary(run):
            # its rows go: a waiter in another process reads how it ended from here
            async with db.statement(relaxed=True) as raw:
                await result_repo.end_temporary_run(
                    raw,
                    run_id=run_id,
                    thread_id=thread_id,
                    status=outcome.status,
                    output=outcome.output,
                    error=outcome.error,
                    interrupts=outcome.interrupts,
                )
            return False
        if status == "rollback":
            async with db.relaxed_transaction() as conn:
                queued = await thread_repo.record_run_end(conn, thread_id=thread_id, **ended)
                await run_repo.delete_run(conn, run_id=run_id)
                return queued
        # the common end: one statement, no transaction round trips
        async with db.statement(relaxed=True) as raw:
            return await thread_repo.finish_run(
                raw, thread_id=thread_id, run=(run_id, status), **ended
            )

    async def _safe_snapshot(self, run: Row) -> tuple[StateSnapshot, OutputShape] | None:
        """The thread's state after the run (see ``_read_state``) and the graph's output
        channels; None when it cannot be read (a bad graph factory...): the run's outcome
        still counts. One warning line."""
        deps = self._deps
        config = run_config(run)
        config["configurable"] = {"thread_id": str(run["thread_id"]), "checkpoint_ns": ""}
        try:
            async with deps.registry.graph(
                run["graph_id"],
                config,
                checkpointer=self._saver(run),
                access_context="threads.read",
            ) as graph:
                snapshot = await self._read_state(graph, config, run)
                return snapshot, OutputShape.of(graph)
        except Exception as exc:  # state unreadable: the run outcome still counts
            logger.warning(
                "reading the final state of run %s failed: %s: %s",
                run["run_id"],
                type(exc).__name__,
                exc,
            )
            return None

    async def _read_state(
        self, graph: AnyPregel, config: RunnableConfig, run: Row
    ) -> StateSnapshot:
        """The latest state; when the graph refuses the writes pending on the thread's head
        (a failed step's finished tasks, updates left by earlier runs), the state its
        checkpoint stored, as thread reads show it."""
        try:
            return await graph.aget_state(config)
        except Exception as exc:
            stored = await self._saver(run).aget_tuple(config)
            if stored is None:
                raise
            logger.warning(
                "run %s: the graph refuses the thread's pending writes (%s: %s); its state "
                "is read from its stored checkpoint",
                run["run_id"],
                type(exc).__name__,
                exc,
            )
            return await graph.aget_state(stored.config)


def _completed_values(shape: OutputShape, kwargs: Row, output: Any) -> Any:
    """``ainvoke``'s output is the thread's final state when the graph ran to its end and
    outputs its whole state; otherwise None (the caller reads the checkpoint)."""
    if kwargs.get("interrupt_before") or kwargs.get("interrupt_after"):
        return None
    if not isinstance(output, dict) or "__interrupt__" in output:
        return None
    return output if shape.whole else None


def _wait_values(values: Any, stored: Any, shape: OutputShape, interrupts: Row) -> Any:
    """What wait and join answer (before ``__interrupt__`` is added): the graph's output
    read from its final state ``values``; ``stored`` (their encoded bytes) when that is the
    whole state and nothing is to be added to it."""
    if shape.whole and not interrupts:
        return stored
    return shape.select(values)
