"""Long fuzz run (by hand, not in CI): schemathesis over every operation of graphport's own
OpenAPI document, on a scratch database; the server must never answer 5xx, nor anything
the document does not declare (``tests.fuzz.harness.CHECKS``).

    python bench/fuzz.py                         # >= 5,000 requests, seed 0
    python bench/fuzz.py --min-requests 20000 --examples 200 --seed 7
    DATABASE_URI=postgresql://... python bench/fuzz.py   # a scratch database on that server

Without DATABASE_URI it uses an embedded PostgreSQL in bench/.data. Either way it creates a
scratch database, starts ``graphport serve`` on it with the test graphs
(tests/fixtures/langgraph.json, webhooks limited to 127.0.0.1), seeds real assistants,
threads, runs, crons and store items, and fuzzes round after round (a new seed and a fresh
pool each round) until ``--min-requests`` requests are sent. It prints each operation's
status counts, the totals by status class, every distinct 5xx (or dropped connection, or
undeclared answer) with a curl command that reproduces it, the operations covered, and the
distinct unhandled errors in the server log. Exit status 1 when any request failed a check.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import ROOT, database_uri

sys.path.insert(0, str(ROOT))

from tests.fuzz.harness import Fuzzer, Report, Timeouts, fuzz_config  # noqa: E402
from tests.fuzz.pool import seed_pool  # noqa: E402
from tests.fuzz.server_log import summary  # noqa: E402
from tests.server import ServerProcess, create_database, drop_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-requests", type=int, default=5000)
    parser.add_argument("--examples", type=int, default=120, help="per operation and round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    admin_uri, embedded = database_uri()
    scratch = create_database(admin_uri, prefix="graphport_fuzz")
    server: ServerProcess | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = fuzz_config(Path(tmp), scratch)
            server = ServerProcess(database_uri=scratch, config=config).start(timeout=60)
            reports = fuzz_rounds(server, args.min_requests, args.examples, args.seed)
            log = server.logs()
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"scratch database kept: {scratch}")
        else:
            drop_database(admin_uri, scratch)
        if embedded is not None:
            embedded.stop()
    return print_report(reports, log)


def fuzz_rounds(server: ServerProcess, min_requests: int, examples: int, seed: int) -> list[Report]:
    url = server.url
    reports: list[Report] = []
    while sum(r.requests for r in reports) < min_requests:
        round_seed = seed + len(reports)
        print(f"--- round {len(reports) + 1} (seed {round_seed})", flush=True)
        fuzzer = Fuzzer(
            url,
            seed_pool(url),
            examples=examples,
            seed=round_seed,
            timeouts=Timeouts(),
            log_path=server.log_path,
            progress=lambda line: print(line, flush=True),
        )
        reports.append(fuzzer.run())
        print(reports[-1].summary(), flush=True)
    return reports


def print_report(reports: list[Report], log: str) -> int:
    total = Report(operations=reports[0].operations)
    for report in reports:
        total.counts.update(report.counts)
        total.seconds.update(report.seconds)
        total.failures.extend(report.failures)
        total.elapsed += report.elapsed
    print("\n=== per operation\n" + total.table())
    print(f"\n=== requests sent: {total.requests}")
    for outcome, n in sorted(total.by_class().items()):
        print(f"  {outcome:<8} {n}")
    missing = sorted(set(total.operations) - set(total.covered()))
    print(f"\n=== operations covered: {len(total.covered())}/{len(total.operations)}")
    print(f"    answered 2xx at least once: {len(total.reached())}")
    if missing:
        print("    never answered: " + ", ".join(missing))
    print(f"\n=== failed checks: {len(total.failures)} ({len(total.distinct_failures())} distinct)")
    if total.failures:
        print(total.format_failures(limit=500))
    print("\n=== unhandled errors in the server log\n" + summary(log, limit=200))
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main())
