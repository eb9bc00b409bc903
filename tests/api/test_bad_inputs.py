"""Bad inputs never get a 5xx: every case of ``bad_inputs_corpus.CORPUS`` (NUL, lone
surrogates, huge numbers, NaN/Infinity, deep nesting, overflowing durations and limits, odd
ids, wrong types, unknown checkpoints and nodes, bad crons and webhooks, unsupported store
filters, non-JSON bodies) on every resource gets a 2xx or a 4xx ``{"detail": "..."}``.

A value that is accepted must stay readable: each 2xx is read back (the thread, its state
and history, the run, the assistant, the cron, the store item) and must read 2xx, and after
the whole corpus the searches and every thread that took an odd value must still read.

The corpus goes out once, concurrently, to a server of its own (accepted crons fire, runs
get cancelled); each case is then its own test, named after the case. Failures are sent
again one at a time afterwards, to name the exception the server logged for each.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.bad_inputs import CASE, CHAT_INPUT, BadInput
from tests.api.bad_inputs_corpus import CORPUS
from tests.fuzz.server_log import read_from, summary, unhandled_errors
from tests.server import ServerProcess, create_database, drop_database

CONCURRENCY = 8
PLAIN_TIMEOUT = 30.0
WAIT_TIMEOUT = 5.0  # a wait or a stream cut here is fine
EXPLAIN_SECONDS = 60.0  # for sending failed cases again to find their logged error
JSON = {"content-type": "application/json"}
CHAT_STATE = {"values": {"messages": [{"role": "user", "content": "hi"}]}, "as_node": "respond"}
# Placeholder -> (POST url, body, id field of the answer): resources made per case.
MADE_PER_CASE = {
    "{new_thread}": ("/threads", {}, "thread_id"),
    "{chat_thread}": (
        "/threads",
        {"metadata": {"graph_id": "chat"}, "supersteps": [{"updates": [CHAT_STATE]}]},
        "thread_id",
    ),
    "{new_assistant}": ("/assistants", {"graph_id": "chat"}, "assistant_id"),
    "{new_cron}": ("/runs/crons", {"assistant_id": "chat", "schedule": "0 0 1 1 *"}, "cron_id"),
}
_THREAD = re.compile(r"^/threads/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


@dataclass
class World:
    """Resources the cases aim at: ``{thread}``, ``{run}``, ``{checkpoint}`` ..."""

    ids: dict[str, str]


@dataclass
class Outcome:
    status: int | None = None
    problems: list[str] = field(default_factory=list)
    sent: str = ""  # the request as sent, for the failure message
    cause: str = ""  # what the server logged when the case was sent again alone


@dataclass
class CorpusRun:
    world: World
    outcomes: dict[str, Outcome]
    touched_threads: set[str]


@pytest.fixture(scope="module")
def corpus_server(database_uri: str) -> Iterator[ServerProcess]:
    uri = create_database(database_uri)
    process = ServerProcess(database_uri=uri).start(timeout=60)
    yield process
    process.stop()
    drop_database(database_uri, uri)


@pytest.fixture(scope="module")
async def corpus_run(corpus_server: ServerProcess) -> AsyncIterator[CorpusRun]:
    # A connection per request: uvicorn closes a connection after an unhandled error, and a
    # request already on its way over it would fail for a case that did nothing wrong.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=corpus_server.url, timeout=PLAIN_TIMEOUT, limits=fresh
    ) as http:
        run = CorpusRun(await make_world(http), {}, set())
        started = time.monotonic()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(case: BadInput) -> None:
            async with gate:
                run.outcomes[case.id] = await send(http, case, run)

        await asyncio.gather(*(one(case) for case in CORPUS))
        sent = time.monotonic()
        await explain_failures(http, run, corpus_server)
        print(
            f"{len(CORPUS)} cases sent in {sent - started:.1f}s; failures sent again alone "
            f"in {time.monotonic() - sent:.1f}s"
        )
        yield run


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_bad_input_is_refused_or_harmless(case: BadInput, corpus_run: CorpusRun) -> None:
    outcome = corpus_run.outcomes[case.id]
    assert not outcome.problems, (
        f"{outcome.sent}\n" + "\n".join(outcome.problems) + f"\nserver log: {outcome.cause or '-'}"
    )


async def test_reads_still_work_after_the_corpus(
    corpus_run: CorpusRun, corpus_server: ServerProcess
) -> None:
    ids = corpus_run.world.ids
    reads: list[tuple[str, str, Any]] = [
        ("POST", "/threads/search", {}),
        ("POST", "/threads/search", {"limit": 1000}),
        ("POST", "/threads/count", {}),
        ("POST", "/assistants/search", {"limit": 1000}),
        ("POST", "/assistants/count", {}),
        ("POST", "/runs/crons/search", {"limit": 1000}),
        ("POST", "/runs/crons/count", {}),
        ("POST", "/store/items/search", {"limit": 1000}),
        ("POST", "/store/namespaces", {"limit": 1000}),
        ("GET", "/store/items?namespace=corpus&key=k", None),
        ("GET", f"/assistants/{ids['assistant']}", None),
        ("GET", f"/runs/crons/{ids['cron']}", None),
        ("GET", "/ok?check_db=1", None),
        ("GET", "/metrics?format=json", None),
    ]
    for thread_id in sorted(corpus_run.touched_threads | {ids["thread"]}):
        reads += thread_reads(thread_id)
        reads.append(("GET", f"/threads/{thread_id}/runs", None))
        reads.append(("POST", f"/threads/{thread_id}/history", {"limit": 100}))
    assert corpus_server.log_path is not None
    offset = corpus_server.log_path.stat().st_size
    gate = asyncio.Semaphore(CONCURRENCY)

    async def read(method: str, url: str, payload: Any) -> str | None:
        async with gate:
            response = await http.request(method, url, json=payload)
        if response.is_success:
            return None
        return f"{method} {url} -> {response.status_code} {response.text[:300]}"

    async with httpx.AsyncClient(base_url=corpus_server.url, timeout=PLAIN_TIMEOUT) as http:
        failed = [f for f in await asyncio.gather(*(read(*r) for r in reads)) if f]
    logged = summary(read_from(corpus_server.log_path, offset))
    assert not failed, "\n".join(failed) + f"\n\nserver log:\n{logged}"


async def make_world(http: httpx.AsyncClient) -> World:
    async def ok(method: str, url: str, body: Any = None) -> Any:
        response = await http.request(method, url, json=body)
        assert response.is_success, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    assistant = await ok("POST", "/assistants", {"graph_id": "chat", "name": "corpus"})
    thread = (await ok("POST", "/threads", {}))["thread_id"]
    run_body = {"assistant_id": "chat", "input": CHAT_INPUT}
    await ok("POST", f"/threads/{thread}/runs/wait", run_body)
    run = (await ok("GET", f"/threads/{thread}/runs"))[0]["run_id"]
    history = await ok("POST", f"/threads/{thread}/history", {"limit": 5})
    cron = await ok("POST", "/runs/crons", {"assistant_id": "chat", "schedule": "0 0 1 1 *"})
    item = {"namespace": ["corpus"], "key": "k", "value": {"text": "hello"}}
    await ok("PUT", "/store/items", item)
    return World(
        {
            "assistant": assistant["assistant_id"],
            "thread": thread,
            "run": run,
            "checkpoint": history[0]["checkpoint"]["checkpoint_id"],
            "cron": cron["cron_id"],
        }
    )


async def send(http: httpx.AsyncClient, case: BadInput, run: CorpusRun) -> Outcome:
    """Send ``case``; its problems: a 5xx, no answer, a 4xx without ``detail``, or a
    2xx whose value cannot be read back."""
    path = case.path
    for name, value in run.world.ids.items():
        path = path.replace("{" + name + "}", value)
    for placeholder, (url, payload, key) in MADE_PER_CASE.items():
        if placeholder in path:
            made = await http.post(url, json=payload)
            assert made.is_success, f"making {placeholder}: {made.status_code} {made.text}"
            path = path.replace(placeholder, made.json()[key])
    body = case.body.replace(CASE.encode(), case_token(case)) if case.body else case.body
    url = f"{path}?{case.query}" if case.query else path
    outcome = Outcome(sent=f"{case.method} {url[:300]} body={(body or b'')[:300]!r}")
    headers = {"content-type": case.content_type} if body and case.content_type else {}
    timeout = WAIT_TIMEOUT if case.waits else PLAIN_TIMEOUT
    try:
        request = http.build_request(
            case.method, url, content=body, headers=headers, timeout=timeout
        )
        response = await http.send(request, stream=True)
        try:
            stream = response.headers.get("content-type", "").startswith("text/event-stream")
            answer = b"" if stream and response.is_success else await response.aread()
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        if not case.waits:
            outcome.problems.append(f"no answer in {timeout:.0f}s")
        return outcome
    except httpx.TransportError as exc:
        outcome.problems.append(f"connection error: {exc!r}")
        return outcome
    outcome.status = response.status_code
    outcome.problems += answer_problems(response.status_code, answer)
    if response.is_success and case.method != "GET":
        outcome.problems += await read_back(http, case, path, body, answer, run)
    return outcome


def case_token(case: BadInput) -> bytes:
    return hashlib.sha1(case.id.encode()).hexdigest()[:12].encode()


def answer_problems(status: int, body: bytes) -> list[str]:
    if status >= 500:
        return [f"answered {status}: {body[:300]!r}"]
    if status >= 400:
        try:
            parsed = json.loads(body)
        except ValueError:
            return [f"answered {status} without a JSON body: {body[:300]!r}"]
        if not isinstance(parsed, dict) or not isinstance(parsed.get("detail"), str):
            return [f"answered {status} without a 'detail' message: {body[:300]!r}"]
    return []


def thread_reads(thread_id: str) -> list[tuple[str, str, Any]]:
    base = f"/threads/{thread_id}"
    return [("GET", base, None), ("GET", f"{base}/state", None), ("GET", f"{base}/history", None)]


async def read_back(
    http: httpx.AsyncClient,
    case: BadInput,
    path: str,
    sent: bytes | None,
    raw_answer: bytes,
    run: CorpusRun,
) -> list[str]:
    """Read what an accepted case wrote; every read must succeed."""
    reads: list[tuple[str, str, Any]] = []
    answer = _json(raw_answer)
    thread = _THREAD.match(path)
    if thread and case.method != "DELETE":
        reads += thread_reads(thread.group(1))
        run.touched_threads.add(thread.group(1))
    if isinstance(answer, dict):
        if path == "/threads" or path.endswith("/copy"):
            reads += thread_reads(answer["thread_id"])
            run.touched_threads.add(answer["thread_id"])
        if path.startswith("/assistants") and "assistant_id" in answer:
            reads.append(("GET", f"/assistants/{answer['assistant_id']}", None))
            reads.append(("POST", f"/assistants/{answer['assistant_id']}/versions", {}))
        if "cron_id" in answer:
            reads.append(("GET", f"/runs/crons/{answer['cron_id']}", None))
        if thread and "run_id" in answer:
            reads.append(("GET", f"{thread.group(0)}/runs/{answer['run_id']}", None))
    if path == "/store/items" and case.method == "PUT":
        item = _json(sent or b"")
        reads.append(("POST", "/store/items/search", {"namespace_prefix": item["namespace"]}))
    problems = []
    for method, url, payload in reads:
        content = json.dumps(payload).encode() if payload is not None else None
        response = await http.request(method, url, content=content, headers=JSON)
        if not response.is_success:
            problems.append(
                f"read-back {method} {url} -> {response.status_code} {response.text[:300]}"
            )
    if isinstance(answer, dict) and "cron_id" in answer:
        await http.delete(f"/runs/crons/{answer['cron_id']}")  # an odd schedule may fire often
    return problems


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


async def explain_failures(http: httpx.AsyncClient, run: CorpusRun, server: ServerProcess) -> None:
    """Send failed cases again, alone, and keep the error the server logged for each (for
    ``EXPLAIN_SECONDS`` at most; the rest say so)."""
    assert server.log_path is not None
    by_id = {case.id: case for case in CORPUS}
    failed = [(k, o) for k, o in run.outcomes.items() if o.status is not None and o.status >= 500]
    deadline = time.monotonic() + EXPLAIN_SECONDS
    for case_id, outcome in failed:
        if time.monotonic() > deadline:
            outcome.cause = "(not sent again: out of time; see the server log)"
            continue
        offset = server.log_path.stat().st_size
        await send(http, by_id[case_id], run)
        logged = unhandled_errors(read_from(server.log_path, offset))
        outcome.cause = logged[0].cause() if logged else "(nothing logged)"
