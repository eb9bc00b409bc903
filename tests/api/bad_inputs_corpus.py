"""Every bad input of ``test_bad_inputs.py``, resource by resource (see ``bad_inputs``)."""

from __future__ import annotations

from tests.api.bad_inputs import (
    CASE,
    CHAT_INPUT,
    DURATIONS,
    LIMITS,
    NAMESPACES,
    NEW_IDS,
    NOWHERE,
    NUMBERS,
    OBJECTS,
    QUERY_NUMBERS,
    QUERY_STRINGS,
    SCHEDULES,
    SOME_OBJECTS,
    STRINGS,
    UNKNOWN_IDS,
    VALUES,
    WEBHOOKS,
    WRONG_TYPES,
    BadInput,
    body_cases,
    command_cases,
    field_cases,
    id_cases,
    pick,
    query_cases,
    run_fields,
)

NON_EMPTY_BODY = b"{}"
BAD_SELECT = {"unknown": '["nope"]', "string": '"thread_id"', "nul": r'["a\u0000"]'}


def assistants() -> list[BadInput]:
    writable = {f: SOME_OBJECTS for f in ("config", "context", "config.configurable")}
    writable |= {"metadata": OBJECTS}
    writable |= {f: STRINGS for f in ("name", "description", "graph_id")}
    search = {
        "limit": LIMITS,
        "offset": LIMITS,
        "metadata": SOME_OBJECTS,
        "graph_id": STRINGS,
        "name": pick(STRINGS, "nul", "lone-d800"),
        "sort_by": pick(STRINGS, "nul", "empty"),
        "select": BAD_SELECT,
    }
    cases = field_cases(
        "assistants.create",
        "POST",
        "/assistants",
        {"graph_id": "chat"},
        {**writable, "assistant_id": NEW_IDS, "if_exists": WRONG_TYPES},
    )
    patch = {"metadata": SOME_OBJECTS, "config": SOME_OBJECTS, "name": STRINGS, "graph_id": STRINGS}
    cases += field_cases("assistants.patch", "PATCH", "/assistants/{new_assistant}", {}, patch)
    cases += field_cases("assistants.search", "POST", "/assistants/search", {}, search)
    count = {"metadata": SOME_OBJECTS, "graph_id": pick(STRINGS, "nul", "lone-dfff")}
    cases += field_cases("assistants.count", "POST", "/assistants/count", {}, count)
    versions = {"limit": LIMITS, "offset": pick(LIMITS, "2^63", "-1"), "metadata": SOME_OBJECTS}
    path = "/assistants/{assistant}/versions"
    cases += field_cases("assistants.versions", "POST", path, {}, versions)
    latest = {"version": {**NUMBERS, **WRONG_TYPES, "zero": "0"}}
    path = "/assistants/{new_assistant}/latest"
    cases += field_cases("assistants.latest", "POST", path, {}, latest)
    cases += query_cases("assistants.latest", "POST", path, {"version": QUERY_NUMBERS})
    for suffix in ("", "/graph", "/schemas", "/subgraphs"):
        cases += id_cases(f"assistants.get{suffix}", "GET", "/assistants/{id}" + suffix)
    cases += id_cases("assistants.patch", "PATCH", "/assistants/{id}", NON_EMPTY_BODY)
    cases += id_cases("assistants.delete", "DELETE", "/assistants/{id}")
    cases += id_cases("assistants.versions", "POST", "/assistants/{id}/versions", NON_EMPTY_BODY)
    cases += query_cases(
        "assistants.graph", "GET", "/assistants/{assistant}/graph", {"xray": QUERY_NUMBERS}
    )
    cases += query_cases(
        "assistants.subgraphs",
        "GET",
        "/assistants/{assistant}/subgraphs",
        {"recurse": QUERY_STRINGS},
    )
    cases += id_cases("assistants.subgraphs-ns", "GET", "/assistants/{assistant}/subgraphs/{id}")
    cases += query_cases(
        "assistants.delete",
        "DELETE",
        "/assistants/{new_assistant}",
        {"delete_threads": {"maybe": "maybe"}},
    )
    return cases


def threads() -> list[BadInput]:
    ttl = {"ttl": DURATIONS, "ttl.ttl": DURATIONS, "ttl.strategy": STRINGS}
    create = {"metadata": OBJECTS, **ttl, "thread_id": NEW_IDS, "if_exists": WRONG_TYPES}
    cases = field_cases("threads.create", "POST", "/threads", {}, create)
    supersteps = {
        "unknown-node": '[{"updates": [{"as_node": "nope", "values": {}}]}]',
        "values-NaN": '[{"updates": [{"as_node": "respond", "values": {"messages": NaN}}]}]',
        "values-deep": '[{"updates": [{"as_node": "respond", "values": '
        + VALUES["deep-2000"]
        + "}]}]",
        "as-node-nul": r'[{"updates": [{"as_node": "a\u0000", "values": {}}]}]',
        "not-a-list": '{"updates": []}',
    }
    cases += field_cases(
        "threads.create",
        "POST",
        "/threads",
        {"metadata": {"graph_id": "chat"}},
        {"supersteps": supersteps},
    )
    cases += field_cases(
        "threads.patch", "PATCH", "/threads/{new_thread}", {}, {"metadata": SOME_OBJECTS, **ttl}
    )
    search = {
        "limit": LIMITS,
        "offset": LIMITS,
        "metadata": SOME_OBJECTS,
        "values": SOME_OBJECTS,
        "status": pick(STRINGS, "nul", "lone-d800"),
        "ids": {"not-a-uuid": '["nope"]', "nul": r'["a\u0000"]', "string": '"x"'},
        "sort_by": pick(STRINGS, "nul", "empty"),
        "select": BAD_SELECT,
    }
    cases += field_cases("threads.search", "POST", "/threads/search", {}, search)
    count = {"metadata": SOME_OBJECTS, "values": pick(OBJECTS, "nul-value", "int-2^64")}
    cases += field_cases("threads.count", "POST", "/threads/count", {}, count)
    for suffix in ("", "/state", "/history", "/runs"):
        cases += id_cases(f"threads.get{suffix}", "GET", "/threads/{id}" + suffix)
    cases += id_cases("threads.patch", "PATCH", "/threads/{id}", NON_EMPTY_BODY)
    cases += id_cases("threads.delete", "DELETE", "/threads/{id}")
    cases += id_cases("threads.copy", "POST", "/threads/{id}/copy")
    cases += id_cases("threads.stream", "GET", "/threads/{id}/stream")
    cases += query_cases("threads.get", "GET", "/threads/{thread}", {"include": QUERY_STRINGS})
    return cases


def thread_state() -> list[BadInput]:
    messages = {k: '[{"role": "user", "content": ' + v + "}]" for k, v in STRINGS.items()}
    messages |= {"content-2^70": '[{"role": "user", "content": "x", "n": ' + NUMBERS["2^70"] + "}]"}
    update = {
        "values": VALUES,
        "values.messages": messages,
        "as_node": {**STRINGS, "unknown": '"nope"'},
        "checkpoint_id": UNKNOWN_IDS,
        "checkpoint.checkpoint_id": UNKNOWN_IDS,
    }
    cases = field_cases("state.update", "POST", "/threads/{chat_thread}/state", {}, update)
    checkpoint = {
        "checkpoint.checkpoint_id": UNKNOWN_IDS,
        "checkpoint.checkpoint_ns": pick(STRINGS, "nul", "lone-d800", "long-10k"),
        "checkpoint.thread_id": pick(STRINGS, "nul", "empty"),
        "checkpoint": WRONG_TYPES,
    }
    path = "/threads/{thread}/state/checkpoint"
    cases += field_cases(
        "state.at", "POST", path, {"checkpoint": {"checkpoint_id": NOWHERE}}, checkpoint
    )
    cases += id_cases("state.at", "GET", "/threads/{thread}/state/{id}")
    cases += query_cases(
        "state.get", "GET", "/threads/{thread}/state", {"subgraphs": QUERY_STRINGS}
    )
    history = {
        "limit": LIMITS,
        "before": {**UNKNOWN_IDS, "object": '{"checkpoint_id": 1}'},
        "metadata": SOME_OBJECTS,
        "checkpoint": {"unknown": '{"checkpoint_id": "' + NOWHERE + '"}', **WRONG_TYPES},
    }
    cases += field_cases("history.post", "POST", "/threads/{thread}/history", {}, history)
    query = {"limit": QUERY_NUMBERS, "before": {**QUERY_STRINGS, "unknown": NOWHERE}}
    cases += query_cases("history.get", "GET", "/threads/{thread}/history", query)
    return cases


def runs() -> list[BadInput]:
    base = {"assistant_id": "chat", "input": CHAT_INPUT}
    stateful = "/threads/{new_thread}/runs"
    cases = field_cases("runs.create", "POST", stateful, base, run_fields(stateful=True, full=True))
    sample = run_fields(stateful=True, full=False)
    for suffix in ("/wait", "/stream"):
        cases += field_cases(f"runs.create{suffix}", "POST", stateful + suffix, base, sample)
        cases += command_cases(f"runs.create{suffix}", stateful + suffix)
    cases += command_cases("runs.create", stateful)
    sample = run_fields(stateful=False, full=False)
    for suffix in ("", "/wait", "/stream"):
        cases += field_cases(f"runs.stateless{suffix}", "POST", "/runs" + suffix, base, sample)
    cases += command_cases("runs.stateless", "/runs")
    for case in field_cases("runs.batch", "POST", "/runs/batch", base, sample):
        cases.append(BadInput(case.id, "POST", case.path, b"[" + (case.body or b"") + b"]"))
    cases += command_cases("runs.batch", "/runs/batch", batch=True)
    return cases + run_control()


def run_control() -> list[BadInput]:
    cancel = {
        "run_ids": {
            "not-a-uuid": '["x"]',
            "nul": r'["a\u0000"]',
            "numbers": "[1]",
            "string": '"x"',
        },
        "thread_id": STRINGS,
        "status": {"unknown": '"nope"', "nul": r'"all\u0000"', "number": "1"},
    }
    base = {"run_ids": [NOWHERE], "thread_id": NOWHERE}
    cases = field_cases("runs.cancel-many", "POST", "/runs/cancel", base, cancel)
    cases += query_cases("runs.cancel-many", "POST", "/runs/cancel", {"action": QUERY_STRINGS})
    path = "/threads/{thread}/runs/{run}/cancel"
    cases += query_cases(
        "runs.cancel", "POST", path, {"action": {"nope": "nope"}, "wait": {"maybe": "maybe"}}
    )
    for suffix in ("", "/join", "/stream", "/cancel"):
        method = "POST" if suffix == "/cancel" else "GET"
        cases += id_cases(f"runs.get{suffix}", method, "/threads/{thread}/runs/{id}" + suffix)
    cases += id_cases("runs.delete", "DELETE", "/threads/{thread}/runs/{id}")
    cases += id_cases("runs.stateless-stream", "GET", "/runs/{id}/stream")
    path = "/threads/{thread}/runs/{run}/stream"
    cases += query_cases("runs.join-stream", "GET", path, {"stream_mode": {"unknown": "nope"}})
    query = {
        "stream_modes": {"unknown": "nope", "pct-00": "%00", "run-mode": "values"},
        "stream_mode": {"unknown": "nope", "run-mode": "values"},  # the SDK's name
    }
    cases += query_cases("threads.stream", "GET", "/threads/{thread}/stream", query)
    query = {
        "limit": QUERY_NUMBERS,
        "offset": QUERY_NUMBERS,
        "status": {"unknown": "nope"},
        "select": {"unknown": "nope"},
    }
    cases += query_cases("runs.list", "GET", "/threads/{thread}/runs", query)
    return cases


def crons() -> list[BadInput]:
    dates = {
        "not-a-date": '"nope"',
        "year-0": '"0000-01-01T00:00:00Z"',
        "year-9999": '"9999-12-31T23:59:59Z"',
        "nul": r'"2030-01-01\u0000"',
        "number": "1e400",
    }
    fields = {
        "schedule": SCHEDULES,
        "end_time": dates,
        "timezone": {**pick(STRINGS, "nul", "lone-d800", "empty"), "unknown": '"Mars/Olympus"'},
        "metadata": SOME_OBJECTS,
        "input": pick(VALUES, "nul-key", "lone-surrogate-value", "int-2^70", "NaN", "deep-2000"),
        "webhook": WEBHOOKS,
        "enabled": WRONG_TYPES,
    }
    base = {"assistant_id": "chat", "schedule": "0 0 1 1 *"}
    create = {**fields, "on_run_completed": pick(STRINGS, "nul", "empty")}
    cases = field_cases("crons.create", "POST", "/runs/crons", base, create)
    thread_fields = {k: fields[k] for k in ("schedule", "end_time", "timezone", "input")}
    thread_fields["assistant_id"] = UNKNOWN_IDS
    path = "/threads/{new_thread}/runs/crons"
    cases += field_cases("crons.create-thread", "POST", path, base, thread_fields)
    patch = {k: fields[k] for k in ("schedule", "end_time", "timezone", "metadata", "enabled")}
    cases += field_cases("crons.patch", "PATCH", "/runs/crons/{new_cron}", {}, patch)
    search = {
        "limit": LIMITS,
        "offset": pick(LIMITS, "2^63", "-1", "NaN"),
        "assistant_id": STRINGS,
        "thread_id": pick(UNKNOWN_IDS, "nul", "not-an-id", "number"),
        "metadata": pick(OBJECTS, "nul-key", "int-2^70", "deep-2000"),
        "sort_by": pick(STRINGS, "nul", "empty"),
        "select": BAD_SELECT,
        "enabled": pick(WRONG_TYPES, "string"),
    }
    cases += field_cases("crons.search", "POST", "/runs/crons/search", {}, search)
    count = {
        "assistant_id": pick(STRINGS, "nul", "lone-d800"),
        "thread_id": pick(UNKNOWN_IDS, "nul", "not-an-id"),
        "metadata": pick(OBJECTS, "nul-value", "NaN"),
    }
    cases += field_cases("crons.count", "POST", "/runs/crons/count", {}, count)
    cases += id_cases("crons.get", "GET", "/runs/crons/{id}")
    cases += id_cases("crons.patch", "PATCH", "/runs/crons/{id}", NON_EMPTY_BODY)
    cases += id_cases("crons.delete", "DELETE", "/runs/crons/{id}")
    return cases


def store() -> list[BadInput]:
    base = {"namespace": ["corpus", CASE], "key": "k", "value": {"text": "v"}}
    put = {
        "namespace": NAMESPACES,
        "key": {**STRINGS, "number": "1"},
        "value": OBJECTS,
        "value.text": STRINGS,
        "ttl": DURATIONS,
        "index": {"nul": r'["a\u0000"]', "number": "1", "string": '"text"', "deep": '[["text"]]'},
    }
    cases = field_cases("store.put", "PUT", "/store/items", base, put)
    delete = {"namespace": NAMESPACES, "key": pick(STRINGS, "nul", "lone-d800", "empty")}
    # A key nothing reads: a bad value the server normalises must not delete the shared item.
    base = {"namespace": ["corpus"], "key": "not-here"}
    cases += field_cases("store.delete", "DELETE", "/store/items", base, delete)
    get = {"key": QUERY_STRINGS, "refresh_ttl": {"maybe": "maybe"}}
    cases += query_cases("store.get", "GET", "/store/items", get)
    namespaces = {**QUERY_STRINGS, "dots": "a..b"}
    for label, value in namespaces.items():
        cases.append(
            BadInput(
                f"store.get:?namespace={label}",
                "GET",
                "/store/items",
                query=f"namespace={value}&key=k",
            )
        )
    filters = {
        "in": '{"text": {"$in": ["a"]}}',
        "bogus-op": '{"text": {"$bogus": 1}}',
        "top-bogus": '{"$bogus": 1}',
        "nul-key": r'{"a\u0000": 1}',
        "nul-value": r'{"text": "a\u0000"}',
        "surrogate-value": r'{"text": "\ud800"}',
        "NaN": '{"text": NaN}',
        "int-2^70": '{"n": ' + NUMBERS["2^70"] + "}",
        "gt-string": '{"n": {"$gt": "x"}}',
        "ne-object": '{"n": {"$ne": {}}}',
        "deep": OBJECTS["deep-300"],
        "list": "[1]",
    }
    search = {
        "filter": filters,
        "limit": LIMITS,
        "offset": LIMITS,
        "query": STRINGS,
        "namespace_prefix": pick(
            NAMESPACES, "label-nul", "label-surrogate", "label-empty", "string"
        ),
        "refresh_ttl": pick(WRONG_TYPES, "string", "list"),
    }
    cases += field_cases("store.search", "POST", "/store/items/search", {}, search)
    namespaces_fields = {
        "max_depth": {**LIMITS, "zero": "0"},
        "limit": pick(LIMITS, "2^31", "-1", "NaN"),
        "offset": pick(LIMITS, "2^63", "-1"),
        "prefix": NAMESPACES,
        "suffix": pick(NAMESPACES, "label-nul", "label-surrogate", "numbers"),
    }
    cases += field_cases("store.namespaces", "POST", "/store/namespaces", {}, namespaces_fields)
    return cases


def system() -> list[BadInput]:
    cases = query_cases("system.ok", "GET", "/ok", {"check_db": QUERY_NUMBERS})
    cases += query_cases("system.metrics", "GET", "/metrics", {"format": QUERY_STRINGS})
    cases += query_cases("system.info", "GET", "/info", {"x": QUERY_STRINGS})
    return cases


BODY_ENDPOINTS = [
    ("POST", "/assistants"),
    ("PATCH", "/assistants/{new_assistant}"),
    ("POST", "/assistants/search"),
    ("POST", "/assistants/count"),
    ("POST", "/assistants/{assistant}/versions"),
    ("POST", "/assistants/{new_assistant}/latest"),
    ("POST", "/threads"),
    ("PATCH", "/threads/{new_thread}"),
    ("POST", "/threads/search"),
    ("POST", "/threads/count"),
    ("POST", "/threads/{chat_thread}/state"),
    ("POST", "/threads/{thread}/state/checkpoint"),
    ("POST", "/threads/{thread}/history"),
    ("POST", "/threads/{new_thread}/runs"),
    ("POST", "/threads/{new_thread}/runs/wait"),
    ("POST", "/threads/{new_thread}/runs/stream"),
    ("POST", "/runs"),
    ("POST", "/runs/wait"),
    ("POST", "/runs/stream"),
    ("POST", "/runs/batch"),
    ("POST", "/runs/cancel"),
    ("PUT", "/store/items"),
    ("DELETE", "/store/items"),
    ("POST", "/store/items/search"),
    ("POST", "/store/namespaces"),
    ("POST", "/runs/crons"),
    ("POST", "/threads/{new_thread}/runs/crons"),
    ("POST", "/runs/crons/search"),
    ("POST", "/runs/crons/count"),
    ("PATCH", "/runs/crons/{new_cron}"),
]


def corpus() -> list[BadInput]:
    cases = assistants() + threads() + thread_state() + runs() + crons() + store() + system()
    for method, path in BODY_ENDPOINTS:
        cases += body_cases(f"{method} {path}", method, path)
    return cases


def _unique(cases: list[BadInput]) -> list[BadInput]:
    seen: set[str] = set()
    for case in cases:
        assert case.id not in seen, f"duplicate case id {case.id}"
        seen.add(case.id)
    return cases


CORPUS = _unique(corpus())
