"""The fuzz: schemathesis cases for every operation of the server's own ``/openapi.json``,
sent one at a time, every answer counted and checked, every failure kept with the request
that reproduces it.

Used by ``tests/fuzz/test_fuzz.py`` (a bounded run in CI) and ``bench/fuzz.py`` (a long run
by hand). Generation mixes schemathesis' positive (schema-valid) and negative (schema-
violating) cases; ``pool.substitute`` swaps real ids into most of them. Every answer must
pass ``CHECKS``: no 5xx, and the document tells the truth about it (its status, content
type, body and headers are declared for the operation). Streams are cut after a short read (an open
stream is not a failure; a stream that ended is checked), and so are waits on runs; any
other request must answer within ``Timeouts.plain``.

Each operation's cases come from a fixed seed (the same cases every run); with a time
``budget``, how many of them are sent depends on how fast the server answers.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, ServerError
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.pool import Pool, substitute
from tests.fuzz.server_log import read_from, unhandled_errors
from tests.server import TEST_CONFIG

# The thread stream stays open until the client leaves: every example costs a full read.
OPEN_FOREVER = {"GET /threads/{thread_id}/stream"}
# Requests every operation gets, whatever the time budget.
MIN_EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. A stream or a wait cut at its limit is fine; a plain request is not."""

    plain: float = 20.0
    wait: float = 3.0
    stream: float = 1.5


@dataclass(frozen=True)
class ServerFailure:
    """A request the server failed: a 5xx, a dropped connection, no answer in time, or an
    answer the OpenAPI document does not describe (``problem`` names the check); ``cause``
    is what the server logged for it (exception and graphport frame), if anything, and
    ``key`` what failures of one cause share (the cause without its values, or the check's
    complaint)."""

    label: str
    problem: str
    curl: str
    response: str
    cause: str = ""
    key: str = ""


@dataclass
class Report:
    operations: list[str] = field(default_factory=list)
    # (operation label, outcome): a status code ("422"), or "cut" (a stream or wait read up
    # to its time limit), "timeout" (any other request), "dropped" (connection lost),
    # "unsent" (the client could not send it), "skipped" (the operation had used its share
    # of the time budget)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[ServerFailure] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        unsent = ("unsent", "skipped")
        return sum(n for (_, outcome), n in self.counts.items() if outcome not in unsent)

    def by_class(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (_, outcome), n in self.counts.items():
            totals[f"{outcome[0]}xx" if outcome.isdigit() else outcome] += n
        return totals

    def covered(self) -> list[str]:
        """Operations that got at least one answer (any status)."""
        answered = {label for (label, outcome) in self.counts if outcome.isdigit()}
        return [op for op in self.operations if op in answered]

    def reached(self) -> list[str]:
        """Operations that answered 2xx at least once (the fuzz got past 404s and 422s)."""
        ok = {label for (label, outcome) in self.counts if outcome.startswith("2")}
        return [op for op in self.operations if op in ok]

    def summary(self) -> str:
        classes = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_class().items()))
        return (
            f"{self.requests} requests in {self.elapsed:.0f}s over {len(self.covered())}/"
            f"{len(self.operations)} operations ({len(self.reached())} answered 2xx); {classes}"
        )

    def table(self) -> str:
        lines = []
        for op in self.operations:
            row = {o: n for (label, o), n in self.counts.items() if label == op}
            cells = " ".join(f"{o}={n}" for o, n in sorted(row.items()))
            lines.append(f"  {op:<55} {self.seconds[op]:5.1f}s  {cells}")
        return "\n".join(lines)

    def distinct_failures(self) -> list[tuple[int, ServerFailure]]:
        """Failures grouped by operation, problem and cause (else response): (count, the
        example with the shortest request)."""
        groups: dict[tuple[str, str, str], list[ServerFailure]] = {}
        for f in self.failures:
            groups.setdefault((f.label, f.problem, f.key or f.response), []).append(f)
        return [(len(g), min(g, key=lambda f: len(f.curl))) for g in groups.values()]

    def format_failures(self, limit: int = 60) -> str:
        out = []
        distinct = self.distinct_failures()
        for count, failure in distinct[:limit]:
            out.append(
                f"[{failure.problem}] {failure.label} ({count}x): {failure.cause or '?'}\n"
                f"  response: {failure.response}\n  reproduce: {failure.curl}"
            )
        if len(distinct) > limit:
            out.append(f"... and {len(distinct) - limit} more distinct failures")
        return "\n".join(out)


def fuzz_config(directory: Path, database_uri: str | None) -> Path:
    """The test graphs' langgraph.json, written to ``directory`` with absolute paths and
    webhooks limited to this machine (fuzzed webhook URLs must not leave it). Without
    pgvector on ``database_uri`` the store has no vector index."""
    raw = json.loads(TEST_CONFIG.read_text())
    base = TEST_CONFIG.parent

    def absolute(spec: str) -> str:
        return str((base / spec).resolve()) if not spec.startswith("/") else spec

    raw["dependencies"] = [absolute(d) for d in raw["dependencies"]]
    raw["graphs"] = {name: absolute(spec) for name, spec in raw["graphs"].items()}
    raw["store"]["index"]["embed"] = absolute(raw["store"]["index"]["embed"])
    raw["webhooks"] = {"url": {"allowed_domains": ["127.0.0.1", "localhost"]}}
    if database_uri is not None and not _has_pgvector(database_uri):
        del raw["store"]["index"]
    path = directory / "langgraph.json"
    path.write_text(json.dumps(raw, indent=2))
    return path


def _has_pgvector(database_uri: str) -> bool:
    import psycopg

    with psycopg.connect(database_uri) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return row.fetchone() is not None


def run_order(operation: APIOperation) -> int:
    """Reads and creations first; then what damages the pool: patches and cancels; deletes
    of runs, crons and store items; thread patches (a tiny TTL expires the thread); thread
    deletes; assistant deletes (which may take threads with them)."""
    method, path = operation.method.upper(), operation.path
    if path == "/threads/{thread_id}" and method in ("PATCH", "DELETE"):
        return 3 if method == "PATCH" else 4
    if method == "DELETE":
        return 5 if path.startswith("/assistants") else 2
    if method == "PATCH" or path.endswith("/cancel"):
        return 1
    return 0


def kind(operation: APIOperation) -> str:
    if "/stream" in operation.path:
        return "stream"
    if operation.path.endswith(("/wait", "/join", "/cancel")):
        return "wait"
    return "plain"


@dataclass
class Fuzzer:
    """Sends the cases of every operation of ``base_url``'s OpenAPI document."""

    base_url: str
    pool: Pool
    examples: int
    seed: int = 0
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Seconds for the whole run, shared fairly: an operation that overruns its share sends
    # no more than MIN_EXAMPLES requests, and what a quick one saves goes to the next ones.
    budget: float | None = None
    # The server's log file: each failure gets the unhandled error logged while it ran.
    log_path: Path | None = None
    progress: Callable[[str], None] | None = None
    report: Report = field(default_factory=Report)
    _op_deadline: float = field(default=float("inf"), init=False)
    _op_sent: int = field(default=0, init=False)
    _log_offset: int = field(default=0, init=False)

    def run(self) -> Report:
        started = time.monotonic()
        # No sanitization: a reproducing curl must carry the real "key" and headers.
        config = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
        schema = schemathesis.openapi.from_url(f"{self.base_url}/openapi.json", config=config)
        operations = []
        for result in schema.get_all_operations():
            if isinstance(result, Ok):
                operations.append(result.ok())
            else:  # an operation schemathesis cannot read: the document itself is wrong
                self._fail(str(result.err()), "invalid operation in /openapi.json", "", "")
        operations.sort(key=run_order)
        self.report.operations = [op.label for op in operations]
        with requests.Session() as session:
            for i, operation in enumerate(operations):
                began = time.monotonic()
                if self.budget is not None:
                    left = self.budget - (began - started)
                    self._op_deadline = began + max(left, 0) / (len(operations) - i)
                self._op_sent = 0
                self._fuzz(operation, session)
                self.report.seconds[operation.label] += time.monotonic() - began
                if self.progress is not None:
                    self.progress(self._progress_line(operation.label))
                if not self._alive():
                    self._fail(operation.label, "server stopped answering", "", "")
                    break
        self.report.elapsed = time.monotonic() - started
        return self.report

    def _budget(self, operation: APIOperation) -> int:
        if operation.label in OPEN_FOREVER:
            return max(MIN_EXAMPLES, self.examples // 5)
        if kind(operation) == "stream":
            return max(MIN_EXAMPLES, self.examples // 2)
        return self.examples

    def _fuzz(self, operation: APIOperation, session: requests.Session) -> None:
        modes = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]

        def with_pool_ids(case: Case) -> st.SearchStrategy[Case]:
            randoms = st.randoms(use_true_random=False)
            return randoms.map(lambda rnd: substitute(self.pool, case, rnd))

        @hypothesis.seed(self.seed ^ zlib.crc32(operation.label.encode()))
        @settings(
            max_examples=self._budget(operation),
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
        )
        @given(case=st.one_of(modes).flatmap(with_pool_ids))
        def exercise(case: Case) -> None:
            self._send(case, operation, session)

        exercise()

    def _send(self, case: Case, operation: APIOperation, session: requests.Session) -> None:
        label, how = operation.label, kind(operation)
        if self._op_sent >= MIN_EXAMPLES and time.monotonic() > self._op_deadline:
            self.report.counts[label, "skipped"] += 1
            return
        self._op_sent += 1
        timeout = getattr(self.timeouts, how)
        self._log_offset = self._log_size()
        try:
            response = case.call(base_url=self.base_url, session=session, timeout=timeout)
        except requests.Timeout:
            if how == "plain":
                self._fail(label, f"no answer in {timeout:.0f}s", self._curl(case), "")
            self.report.counts[label, "cut" if how != "plain" else "timeout"] += 1
            return
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            self._fail(label, f"connection error: {type(exc).__name__}", self._curl(case), "")
            self.report.counts[label, "dropped"] += 1
            return
        except Exception:
            # The client could not send it (a control character in a header, a body the
            # media type cannot carry): nothing the server did.
            self.report.counts[label, "unsent"] += 1
            return
        self.report.counts[label, str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            excerpt = response.content[:300].decode(errors="replace")
            for failure in _failures(exc):
                if isinstance(failure, ServerError):
                    self._fail(label, str(response.status_code), self._curl(case), excerpt)
                else:
                    problem = f"{failure.title} ({response.status_code})"
                    said = " ".join(failure.message.split())[:300]
                    self._mismatch(label, problem, self._curl(case), excerpt, said, failure)

    def _curl(self, case: Case) -> str:
        try:
            return case.as_curl_command(base_url=self.base_url)
        except Exception as exc:  # a body curl cannot carry; the failure still counts
            return f"(no curl: {exc})"

    def _fail(self, label: str, problem: str, curl: str, response: str) -> None:
        cause = key = ""
        if self.log_path is not None:
            logged = unhandled_errors(read_from(self.log_path, self._log_offset))
            if logged:
                cause, key = logged[0].cause(), "|".join(logged[0].kind())
        self.report.failures.append(ServerFailure(label, problem, curl, response, cause, key))

    def _mismatch(
        self, label: str, problem: str, curl: str, response: str, said: str, failure: Failure
    ) -> None:
        """An answer the document does not describe: grouped by where the schema failed
        (schema errors), else by what the check said."""
        where = getattr(failure, "schema_path", None)
        key = f"{problem} {list(where)}" if where is not None else f"{problem} {said}"
        self.report.failures.append(ServerFailure(label, problem, curl, response, said, key))

    def _log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path is not None else 0

    def _alive(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/ok", timeout=self.timeouts.plain).ok
        except requests.RequestException:
            return False

    def _progress_line(self, label: str) -> str:
        row = {o: n for (op, o), n in self.report.counts.items() if op == label and n}
        return f"{label:<55} " + " ".join(f"{o}={n}" for o, n in sorted(row.items()))


def _failures(exc: BaseException) -> list[Failure]:
    """The check failures ``validate_response`` raised (one, or a group of them)."""
    if isinstance(exc, BaseExceptionGroup):
        return [f for inner in exc.exceptions for f in _failures(inner)]
    return [exc] if isinstance(exc, Failure) else []
