"""The bad-input corpus: classes of bad values x the fields that take them x the endpoints.

Bodies are raw JSON text, because much of what matters cannot come out of ``json.dumps``:
NaN, Infinity, 1e400, lone surrogates, 2,000 levels of nesting. Paths hold placeholders the
sender fills in: resources shared by every case, only read (``{thread}`` with runs and
checkpoints, ``{run}``, ``{checkpoint}``, ``{assistant}``, ``{cron}``), and resources made
for the one case that writes to them (``{new_thread}``, empty; ``{chat_thread}``, with chat
state; ``{new_assistant}``; ``{new_cron}``), so that what one accepted value does to a
resource shows in that case's read-back, not in another's. ``CASE`` in a body becomes a
token of the case (its own store namespace).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

NOWHERE = "6f1e2b7c-0d3a-4c5e-9b8a-7f6e5d4c3b2a"  # a UUID no resource has
CHAT_INPUT = {"messages": [{"role": "user", "content": "hi"}]}
_MARK = "@@BAD@@"
CASE = "@CASE@"


@dataclass(frozen=True)
class BadInput:
    id: str
    method: str
    path: str
    body: bytes | None = None
    query: str = ""  # sent as is (already percent-encoded where it should be)
    content_type: str | None = "application/json"

    @property
    def waits(self) -> bool:
        """A stream, or a wait on a run: a slow or endless answer is not a failure."""
        return "/stream" in self.path or self.path.endswith(("/wait", "/join"))


def _nest(depth: int, *, objects: bool = False) -> str:
    if objects:
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


STRINGS = {
    "nul": r'"a\u0000b"',
    "lone-d800": r'"\ud800"',
    "lone-dfff": r'"\udfff"',
    "empty": '""',
    "long-10k": '"' + "x" * 10_000 + '"',
}
NUMBERS = {
    "2^63": str(2**63),
    "2^64": str(2**64),
    "2^70": str(2**70),
    "-2^63-1": str(-(2**63) - 1),
    "1e20": "1e20",
    "1e308": "1e308",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400": "1e400",
}
DURATIONS = {
    "1e12": "1e12",
    "1e15": "1e15",
    "2^70": str(2**70),
    "1e308": "1e308",
    "1e400": "1e400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "negative": "-5",
    "zero": "0",
}
LIMITS = {
    "2^31": str(2**31),
    "2^63": str(2**63),
    "2^64": str(2**64),
    "-1": "-1",
    "1e20": "1e20",
    "NaN": "NaN",
}
WRONG_TYPES = {"string": '"10"', "bool": "true", "list": "[1]", "object": "{}"}
OBJECTS = {
    "nul-value": r'{"k": "a\u0000b"}',
    "nul-key": r'{"a\u0000b": 1}',
    "lone-surrogate-value": r'{"k": "\ud800"}',
    "lone-surrogate-key": r'{"\udfff": 1}',
    "int-2^64": '{"k": 18446744073709551616}',
    "int-2^70": '{"k": ' + str(2**70) + "}",
    "NaN": '{"k": NaN}',
    "Infinity": '{"k": -Infinity}',
    "1e400": '{"k": 1e400}',
    "deep-101": '{"k": ' + _nest(101) + "}",
    "deep-300": '{"k": ' + _nest(300, objects=True) + "}",
    "deep-2000": '{"k": ' + _nest(2000) + "}",
    "list": "[1]",
    "string": '"str"',
    "number": "1",
}
# What most object fields get (metadata gets every class).
SOME_OBJECTS = {
    k: OBJECTS[k]
    for k in ("nul-key", "lone-surrogate-value", "int-2^70", "NaN", "deep-2000", "list")
}
VALUES = {  # anything-goes fields (run input, state values, store values' insides)
    **{k: v for k, v in OBJECTS.items() if k not in ("list", "string", "number")},
    "deep-300-lists": _nest(300),
}
ODD_IDS = {
    "not-a-uuid": "not-a-uuid",
    "uuid-of-nothing": NOWHERE,
    "graph-name": "chat",
    "long": "x" * 5000,
    "pct-00": "a%00b",
    "pct-surrogate": "%ED%A0%80",
}
SCHEDULES = {
    "six-fields": '"* * * * * *"',
    "feb-31": '"0 0 31 2 *"',
    "not-a-cron": '"not a cron"',
    "empty": '""',
    "nul": r'"0 0 * * *\u0000"',
    "lone-surrogate": r'"0 0 * * \ud800"',
    "number": "5",
}
WEBHOOKS = {
    "file": '"file:///etc/passwd"',
    "bad-port": '"http://127.0.0.1:99999/"',
    "ftp": '"ftp://x"',
    "nul": r'"http://127.0.0.1:9/\u0000"',
    "no-host": '"http://"',
    "number": "1",
}
NON_BODIES: dict[str, tuple[bytes | None, str | None]] = {
    "empty-body": (b"", "application/json"),
    "not-json": (b"not json", "application/json"),
    "invalid-utf8": (b'{"a": "\xff\xfe"}', "application/json"),
    "top-array": (b"[]", "application/json"),
    "top-string": (b'"s"', "application/json"),
    "top-number": (b"42", "application/json"),
}


def raw(base: dict[str, Any], token: str, *path: str) -> bytes:
    """``base`` as JSON with the raw JSON ``token`` at ``path`` (nested keys)."""
    target = base = json.loads(json.dumps(base))
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = _MARK
    return json.dumps(base).replace(f'"{_MARK}"', token).encode()


def field_cases(
    prefix: str, method: str, path: str, base: dict[str, Any], fields: dict[str, dict[str, str]]
) -> list[BadInput]:
    """One case per (field, bad value); ``fields`` maps a dotted field to its value class."""
    return [
        BadInput(f"{prefix}:{name}={label}", method, path, raw(base, token, *name.split(".")))
        for name, values in fields.items()
        for label, token in values.items()
    ]


def body_cases(prefix: str, method: str, path: str) -> list[BadInput]:
    return [
        BadInput(f"{prefix}:{label}", method, path, body, content_type=content_type)
        for label, (body, content_type) in NON_BODIES.items()
    ]


def id_cases(prefix: str, method: str, template: str, body: bytes | None = None) -> list[BadInput]:
    """``template`` with ``{id}`` replaced by each odd id."""
    return [
        BadInput(f"{prefix}:id={label}", method, template.replace("{id}", value), body)
        for label, value in ODD_IDS.items()
    ]


def query_cases(
    prefix: str, method: str, path: str, params: dict[str, dict[str, str]]
) -> list[BadInput]:
    return [
        BadInput(f"{prefix}:?{name}={label}", method, path, query=f"{name}={value}")
        for name, values in params.items()
        for label, value in values.items()
    ]


QUERY_NUMBERS = {
    "2^31": str(2**31),
    "2^63": str(2**63),
    "2^64": str(2**64),
    "-1": "-1",
    "1e20": "1e20",
    "NaN": "NaN",
    "pct-00": "%00",
    "empty": "",
}
QUERY_STRINGS = {"pct-00": "a%00b", "pct-surrogate": "%ED%A0%80", "long": "x" * 5000, "empty": ""}
NAMESPACES = {
    "label-nul": r'["a\u0000b"]',
    "label-surrogate": r'["\ud800"]',
    "label-empty": '[""]',
    "label-dot": '["a.b"]',
    "label-long": '["' + "x" * 5000 + '"]',
    "string": '"corpus"',
    "numbers": "[1]",
    "nested": '[["a"]]',
}
MESSAGES = {k: '[{"role": "user", "content": ' + v + "}]" for k, v in STRINGS.items()}
NEW_IDS = {**STRINGS, "not-an-id": '"nope"', "number": "1"}  # ids a create may take
UNKNOWN_IDS = {**NEW_IDS, "unknown": f'"{NOWHERE}"'}  # ids of something that must exist
NODES = {"unknown-node": '["nope"]', "not-star": '"all"', "nul": r'["a\u0000"]'}
COMMANDS = {
    "goto-unknown": '{"goto": "nope"}',
    "goto-send-unknown": '{"goto": {"node": "nope", "input": {}}}',
    "resume-NaN": '{"resume": NaN}',
    "update-deep-2000": '{"update": ' + _nest(2000) + "}",
    "update-nul-key": r'{"update": {"a\u0000": 1}}',
}


def pick(values: dict[str, str], *labels: str) -> dict[str, str]:
    return {label: values[label] for label in labels}


def run_fields(*, stateful: bool, full: bool) -> dict[str, dict[str, str]]:
    """Fields of a run body and their bad values; ``full`` = every class, else a sample."""
    fields = {
        "metadata": {**OBJECTS, "long-100k": '{"k": "' + "x" * 100_000 + '"}'},
        "config": SOME_OBJECTS,
        "context": pick(OBJECTS, "nul-key", "lone-surrogate-key", "int-2^64", "list"),
        "config.configurable": pick(OBJECTS, "nul-value", "NaN", "string"),
        "config.recursion_limit": {
            **pick(NUMBERS, "2^63", "2^64", "-2^63-1", "1e308"),
            **WRONG_TYPES,
        },
        "input": VALUES,
        "input.messages": MESSAGES,
        "after_seconds": DURATIONS,
        "webhook": WEBHOOKS,
        "interrupt_before": NODES,
        "interrupt_after": pick(NODES, "unknown-node"),
        "stream_mode": {"unknown": '"nope"', "list-unknown": '["values", "nope"]', "number": "1"},
        "multitask_strategy": {"unknown": '"nope"', "nul": r'"a\u0000"'},
        "assistant_id": {**UNKNOWN_IDS, "graph-with-nul": r'"chat\u0000"'},
        "feedback_keys": {"nul": r'["a\u0000"]', "surrogate": r'["\ud800"]'},
        "durability": {"unknown": '"nope"'},
    }
    if stateful:
        fields["checkpoint_id"] = pick(UNKNOWN_IDS, "nul", "lone-d800", "unknown", "number")
        fields["checkpoint.checkpoint_id"] = pick(UNKNOWN_IDS, "nul", "unknown", "not-an-id")
    if full:
        return fields
    sample = {
        "metadata": pick(OBJECTS, "nul-key", "int-2^70", "deep-2000"),
        "config.recursion_limit": pick(NUMBERS, "2^64"),
        "input": pick(VALUES, "lone-surrogate-value", "1e400"),
        "input.messages": pick(MESSAGES, "nul"),
        "after_seconds": pick(DURATIONS, "2^70", "NaN"),
        "webhook": pick(WEBHOOKS, "bad-port"),
        "interrupt_before": pick(NODES, "unknown-node"),
        "assistant_id": pick(UNKNOWN_IDS, "nul"),
    }
    if stateful:
        sample["checkpoint_id"] = pick(UNKNOWN_IDS, "unknown")
    return sample


def command_cases(prefix: str, path: str, batch: bool = False) -> list[BadInput]:
    cases = field_cases(prefix, "POST", path, {"assistant_id": "chat"}, {"command": COMMANDS})
    if batch:
        return [BadInput(c.id, c.method, c.path, b"[" + (c.body or b"") + b"]") for c in cases]
    return cases
