"""Fuzz every operation of the server's own OpenAPI document: no request may get a 5xx, and
every answer must be what the document declares (status, content type, body, headers).

A server of its own on a fresh database (fuzzed deletes and ``POST /runs/cancel`` would
disturb other tests), seeded with real assistants, threads, runs, crons and store items
whose ids most generated cases carry. Schemathesis generates schema-valid and schema-
violating cases (seeded: the same cases every run); every answer passes schemathesis'
``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance``,
``response_schema_conformance`` and ``response_headers_conformance`` (``harness.CHECKS``).
Every operation gets ``EXAMPLES`` cases (fewer for streams), within ``BUDGET`` seconds in all
(on a slow machine an operation that overruns its share sends only its first few cases).
A failure lists each distinct 5xx (with the exception the server logged for it) or answer
the document does not describe, with a curl command that reproduces it, then all unhandled
errors of the server log. Another seed: ``GRAPHPORT_FUZZ_SEED=7 pytest tests/fuzz``.
``bench/fuzz.py`` runs the same fuzz for longer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.harness import Fuzzer, Timeouts, fuzz_config
from tests.fuzz.pool import seed_pool
from tests.fuzz.server_log import summary
from tests.server import ServerProcess

EXAMPLES = 15
BUDGET = 75.0
SEED = int(os.environ.get("GRAPHPORT_FUZZ_SEED", "0"))


@pytest.fixture
def fuzz_server(fresh_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    config = fuzz_config(tmp_path, fresh_database)
    process = ServerProcess(database_uri=fresh_database, config=config).start(timeout=60)
    yield process
    process.stop()


def test_no_operation_answers_a_server_error(fuzz_server: ServerProcess) -> None:
    fuzzer = Fuzzer(
        fuzz_server.url,
        seed_pool(fuzz_server.url),
        examples=EXAMPLES,
        seed=SEED,
        budget=BUDGET,
        timeouts=Timeouts(plain=20.0, wait=2.0, stream=1.0),
        log_path=fuzz_server.log_path,
    )
    report = fuzzer.run()
    print(f"\n{report.summary()}\n{report.table()}")

    unanswered = sorted(set(report.operations) - set(report.covered()))
    assert not unanswered, f"operations that never answered: {unanswered}"
    # Real ids reach past 404s: most operations must have succeeded at least once.
    assert len(report.reached()) >= len(report.operations) * 2 // 3, report.table()
    assert not report.failures, (
        f"{len(report.failures)} failed checks (seed {SEED}); "
        f"{report.summary()}\n\n{report.format_failures(limit=30)}\n\n"
        f"unhandled errors in the server log:\n{summary(fuzz_server.logs())}"
    )
