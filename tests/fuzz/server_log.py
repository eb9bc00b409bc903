"""Summaries of the unhandled errors a graphport server logged (``ServerProcess.logs()``).

The fuzz and the bad-input corpus print these next to each 5xx, so a failure names its
cause (exception, message, deepest graphport frame) without anyone opening the log.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UNHANDLED = re.compile(r"unhandled error on (\S+) (\S+)")
_UVICORN = "ERROR uvicorn.error: Exception in ASGI application"
_BLOCK_END = re.compile(r"^(\d{4}-\d\d-\d\d |INFO:|WARNING:|ERROR:|DEBUG:)")
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


@dataclass(frozen=True)
class LoggedError:
    """One unhandled error: the request it failed, its exception and where it came from."""

    method: str
    path: str
    exception: str  # "ValueError: Port out of range 0-65535" (first line, trimmed)
    location: str  # deepest frame in graphport's own source, "services/runs.py:120 in create"

    def kind(self) -> tuple[str, str]:
        """What groups errors of one cause: the message without its values, and where."""
        text = re.sub(r"'[^']*'|\"[^\"]*\"|[-+]?\d[\w.+-]*", "_", self.exception)
        return text[:90], self.location

    def cause(self) -> str:
        return f"{self.exception} (at {self.location})"

    def route(self) -> str:
        """The path with ids blanked, so requests to one route group together."""
        return _UUID.sub("{id}", self.path)


def read_from(path: Path, offset: int) -> str:
    """The log from byte ``offset`` on (``path.stat().st_size`` taken before a request)."""
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def unhandled_errors(log: str) -> list[LoggedError]:
    """Every ``unhandled error on METHOD PATH`` block of the log, in order, then the errors
    only uvicorn logged ("Exception in ASGI application": raised outside graphport's error
    handler, in a stream that had started, say), with method and path unknown ("?")."""
    lines = log.splitlines()
    found: list[LoggedError] = []
    outside: list[LoggedError] = []
    for i, line in enumerate(lines):
        match = _UNHANDLED.search(line)
        if match is not None:
            found.append(_summarise(match.group(1), match.group(2), _block(lines, i)))
        elif line.endswith(_UVICORN):
            outside.append(_summarise("?", "?", _block(lines, i)))
    handled = {error.kind() for error in found}
    return found + [error for error in outside if error.kind() not in handled]


def _block(lines: list[str], start: int) -> list[str]:
    block: list[str] = []
    for following in lines[start + 1 :]:
        if _BLOCK_END.match(following):
            break
        block.append(following)
    return block


def _summarise(method: str, path: str, block: list[str]) -> LoggedError:
    """The exception of the last traceback in ``block`` (the outermost of a chain) and the
    deepest graphport frame."""
    location = exception = "?"
    in_frames = False
    for line in block:
        if line.startswith("Traceback"):
            in_frames = True
            continue
        frame = _FRAME.match(line)
        if frame:
            if "/graphport/" in frame.group(1) and "site-packages" not in frame.group(1):
                source = frame.group(1).split("/graphport/", 1)[1]
                location = f"{source}:{frame.group(2)} in {frame.group(3)}"
            continue
        if in_frames and line.strip() and not line.startswith((" ", "\t")):
            exception, in_frames = line.strip()[:160], False
    return LoggedError(method, path, exception, location)


def summary(log: str, *, limit: int = 40) -> str:
    """Distinct causes (exception type + graphport frame), most frequent first, with the
    routes that hit each and one full message."""
    errors = unhandled_errors(log)
    if not errors:
        return "(no unhandled errors in the server log)"
    counts = Counter(e.kind() for e in errors)
    first = {}
    routes: dict[tuple[str, str], set[str]] = {}
    for error in errors:
        first.setdefault(error.kind(), error)
        routes.setdefault(error.kind(), set()).add(f"{error.method} {error.route()}")
    out = []
    for kind, count in counts.most_common(limit):
        example = first[kind]
        out.append(
            f"- {count}x {example.exception}\n    at {example.location}\n"
            f"    on {', '.join(sorted(routes[kind]))}"
        )
    if len(counts) > limit:
        out.append(f"... and {len(counts) - limit} more distinct causes")
    return "\n".join(out)
