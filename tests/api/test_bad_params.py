"""NUL and invalid UTF-8 in path and query parameters and in the text fields of bodies, on
every endpoint: normalised (NUL becomes U+FFFD, as in bodies) or refused with a 4xx
``{"detail": ...}``, never a 500 (README, "Values")."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

FFFD = "\ufffd"
JSON = {"content-type": "application/json"}
BAD_TEXT = ("a%00b", "%00", "%ED%A0%80", "a%FFb")


async def status_of(http: httpx.AsyncClient, method: str, url: str) -> int:
    """The status of a request, reading only the headers of a stream; a 4xx has a detail."""
    content = b"{}" if method in ("POST", "PUT", "PATCH") else None
    async with http.stream(method, url, content=content, headers=JSON) as response:
        status = response.status_code
        if status >= 400:
            await response.aread()
            assert "detail" in response.json(), (method, url, response.text)
    assert status < 500, (method, url)
    return status


async def operations(http: httpx.AsyncClient) -> list[tuple[str, str, list[str]]]:
    """Every (method, path template, query parameter names) the server declares."""
    spec = (await http.get("/openapi.json")).json()
    return [
        (method.upper(), path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]


async def real_ids(http: httpx.AsyncClient) -> dict[str, str]:
    """Ids of things that exist, so that only the parameter under test is odd."""
    assistant = (await http.post("/assistants", json={"graph_id": "odd_values"})).json()
    thread = (await http.post("/threads", json={})).json()
    thread_path = f"/threads/{thread['thread_id']}"
    await http.post(f"{thread_path}/runs/wait", json={"assistant_id": "odd_values", "input": {}})
    (run,) = (await http.get(f"{thread_path}/runs")).json()
    state = (await http.get(f"{thread_path}/state")).json()
    cron = await http.post(
        "/runs/crons", json={"assistant_id": "odd_values", "schedule": "0 0 1 1 *"}
    )
    return {
        "assistant_id": assistant["assistant_id"],
        "thread_id": thread["thread_id"],
        "run_id": run["run_id"],
        "cron_id": cron.json()["cron_id"],
        "checkpoint_id": state["checkpoint"]["checkpoint_id"],
        "namespace": "x",
    }


async def test_bad_text_in_each_path_and_query_parameter(http: httpx.AsyncClient) -> None:
    """One parameter odd at a time (the others real), so that validating one does not hide
    what another would reach."""
    ids = await real_ids(http)
    for method, path, query_names in await operations(http):
        path_names = re.findall(r"\{([^}]+)\}", path)
        for name in path_names + query_names:
            for bad in BAD_TEXT:
                url = re.sub(
                    r"\{([^}]+)\}",
                    lambda m, n=name, b=bad: b if m.group(1) == n else ids[m.group(1)],
                    path,
                )
                if name in query_names:
                    url += f"?{name}={bad}"
                await status_of(http, method, url)
    assert (await http.post("/threads/search", json={"limit": 1})).status_code == 200


async def test_nul_in_store_keys_reads_back_through_the_query_string(
    http: httpx.AsyncClient, tag: str
) -> None:
    body = {"namespace": ["n\x00", tag], "key": "k\x00", "value": {"s": "v\x00"}}
    assert (await http.put("/store/items", json=body)).status_code == 204
    # %00 in the query is the same U+FFFD as \u0000 in the body
    got = await http.get(f"/store/items?namespace=n%00.{tag}&key=k%00")
    assert got.status_code == 200
    item = got.json()
    assert (item["namespace"], item["key"], item["value"]) == (
        [f"n{FFFD}", tag],
        f"k{FFFD}",
        {"s": f"v{FFFD}"},
    )
    found = await http.post("/store/items/search", json={"namespace_prefix": [f"n{FFFD}", tag]})
    assert [i["key"] for i in found.json()["items"]] == [f"k{FFFD}"]
    key = {"namespace": body["namespace"], "key": body["key"]}
    deleted = await http.request("DELETE", "/store/items", json=key)
    assert deleted.status_code == 204
    assert (await http.get(f"/store/items?namespace=n%00.{tag}&key=k%00")).json() is None


async def test_nul_in_text_fields(http: httpx.AsyncClient) -> None:
    made = await http.post(
        "/assistants",
        json={"graph_id": "odd_values", "name": "n\x00", "description": "d\x00"},
    )
    assert made.status_code == 200
    assistant = (await http.get(f"/assistants/{made.json()['assistant_id']}")).json()
    assert (assistant["name"], assistant["description"]) == (f"n{FFFD}", f"d{FFFD}")
    thread = (await http.post("/threads", json={"metadata": {"k\x00": "v"}})).json()
    assert thread["metadata"] == {f"k{FFFD}": "v"}
    thread_id = thread["thread_id"]
    odd_strings: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/assistants", {"graph_id": "chat\x00"}),
        ("POST", "/assistants/search", {"graph_id": "chat\x00", "name": "x\x00"}),
        ("POST", "/threads", {"thread_id": "a\x00", "if_exists": "do_nothing"}),
        ("POST", "/threads/search", {"status": "idle\x00", "ids": ["a\x00"]}),
        ("POST", f"/threads/{thread_id}/runs/wait", {"assistant_id": "odd\x00"}),
        (
            "POST",
            f"/threads/{thread_id}/runs/wait",
            {"assistant_id": "odd_values", "checkpoint_id": "c\x00"},
        ),
        (
            "POST",
            f"/threads/{thread_id}/runs",
            {"assistant_id": "odd_values", "stream_mode": ["v\x00"]},
        ),
        (
            "POST",
            f"/threads/{thread_id}/runs",
            {"assistant_id": "odd_values", "webhook": "http://127.0.0.1:9/\x00"},
        ),
        ("POST", f"/threads/{thread_id}/history", {"before": "b\x00"}),
        (
            "POST",
            f"/threads/{thread_id}/state/checkpoint",
            {"checkpoint": {"checkpoint_id": "c\x00"}},
        ),
        ("POST", "/runs/crons", {"assistant_id": "odd_values", "schedule": "0 0 * * *\x00"}),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "odd_values", "schedule": "0 0 1 1 *", "timezone": "U\x00"},
        ),
        ("POST", "/store/namespaces", {"prefix": ["p\x00"], "suffix": ["s\x00"]}),
        ("POST", "/store/items/search", {"namespace_prefix": ["p\x00"], "query": "q\x00"}),
    ]
    for method, path, body in odd_strings:
        response = await http.request(method, path, json=body)
        assert response.status_code < 500, (path, body, response.text)
        if response.status_code >= 400:
            assert "detail" in response.json()
    await http.get(f"/threads/{thread_id}/runs/join")  # let the background runs settle


async def test_plain_text_bodies_go_through_the_same_reader(http: httpx.AsyncClient) -> None:
    plain = {"content-type": "text/plain;charset=UTF-8"}  # what Studio sends
    nan = await http.post("/threads", content=b'{"metadata": {"a": NaN}}', headers=plain)
    assert nan.status_code == 422
    assert "detail" in nan.json()
    nul = await http.post("/threads", content=b'{"metadata": {"a": "x\\u0000"}}', headers=plain)
    assert nul.status_code == 200
    assert nul.json()["metadata"] == {"a": f"x{FFFD}"}


async def test_malformed_bodies(http: httpx.AsyncClient) -> None:
    for body in (
        b'{"metadata": {"a": "\xff"}}',  # not UTF-8
        b'{"metadata": {"a": "\x00"}}',  # a raw control character in a string
        b'{"metadata": {"a": 1}',
        b"\xff\xfe{\x00}\x00",  # UTF-16
    ):
        response = await http.post("/threads", content=body, headers=JSON)
        assert response.status_code == 422, body
        assert "detail" in response.json()
    # a UTF-8 byte order mark was accepted before; it still is
    bom = await http.post("/threads", content=b'\xef\xbb\xbf{"metadata": {"bom": 1}}', headers=JSON)
    assert bom.status_code == 200
    assert bom.json()["metadata"] == {"bom": 1}
    assert uuid.UUID(bom.json()["thread_id"])
