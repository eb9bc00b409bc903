"""The value rules in isolation (README, "Values"): the request body reader, the JSON encoder
used for responses and storage, and the checkpoint serializer's second chance. The live
server tests are tests/api/test_bad_*.py."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import orjson
import pytest
from langchain_core.messages import AIMessage
from langgraph.types import Interrupt, Send

from graphport.api.parsing import MAX_BODY_DEPTH, BodyRejected, clean_text_params, parse_body
from graphport.auth.users import user_json
from graphport.db.checkpointer import TolerantSerializer
from graphport.serialization import MAX_DEPTH, TOO_DEEP, dumps, loads_stored, normalise

FFFD = "\ufffd"


def nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def test_body_reader_normalises_nul_and_big_integers() -> None:
    body = b'{"k\\u0000": ["a\\u0000b", "a\\\\u0000b", "\\\\\\u0000"], "big": 18446744073709551616}'
    assert parse_body(body) == {
        f"k{FFFD}": [f"a{FFFD}b", "a\\u0000b", f"\\{FFFD}"],
        "big": float(2**64),
    }
    assert parse_body(b"[18446744073709551615, -9223372036854775808]") == [2**64 - 1, -(2**63)]
    assert parse_body(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": NaN}', "NaN and Infinity"),
        (b"[Infinity]", "NaN and Infinity"),
        (b"[1, -Infinity]", "NaN and Infinity"),
        (b"1e400", "beyond the range of a double"),
        (b'"\\ud800"', "lone surrogate"),
        (b'"\\udc00x"', "lone surrogate"),
        (b'{"a": "\xff"}', "Invalid JSON"),
        (b'{"a": 1', "Invalid JSON"),
    ],
)
def test_body_reader_refuses(body: bytes, reason: str) -> None:
    with pytest.raises(BodyRejected) as refused:
        parse_body(body)
    assert reason in refused.value.msg


def test_body_reader_nesting_limit_ignores_brackets_in_strings() -> None:
    limit = nested(MAX_BODY_DEPTH)
    assert parse_body(orjson.dumps(limit)) == limit
    with pytest.raises(BodyRejected, match="nested deeper than 100"):
        parse_body(orjson.dumps(nested(MAX_BODY_DEPTH + 1)))
    wide = {"s": "[" * 500, "items": [{"a": [1]} for _ in range(200)]}
    assert parse_body(orjson.dumps(wide)) == wide


def test_query_and_path_nul_become_fffd() -> None:
    scope: dict[str, Any] = {"query_string": b"key=a%00b&n=%2500", "path_params": {"id": "x\x00"}}
    clean_text_params(scope)
    assert scope["query_string"] == b"key=a%EF%BF%BDb&n=%2500"
    assert scope["path_params"] == {"id": f"x{FFFD}"}


def test_dumps_normalises_and_never_raises() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    value = {
        "nul": "a\x00b",
        "k\x00": 1,
        "literal": "\\u0000",
        "surrogates": ["\ud800", "\ud83d\ude00"],
        "\udfff": 2,
        "ints": [2**64 - 1, 2**64, -(2**63) - 1, 10**400],
        "nan": [math.nan, math.inf],
        "cyclic": cyclic,
        "message": AIMessage(content="m\x00", additional_kwargs={"n": 2**70}),
    }
    decoded = orjson.loads(dumps(value))
    assert decoded["nul"] == f"a{FFFD}b"
    assert decoded[f"k{FFFD}"] == 1
    assert decoded["literal"] == "\\u0000"
    assert decoded["surrogates"] == [FFFD, "\U0001f600"]
    assert decoded[FFFD] == 2
    assert decoded["ints"] == [2**64 - 1, float(2**64), float(-(2**63) - 1), None]
    assert decoded["nan"] == [None, None]
    assert decoded["message"]["content"] == f"m{FFFD}"
    assert decoded["message"]["additional_kwargs"] == {"n": float(2**70)}
    assert depth(decoded["cyclic"]) == MAX_DEPTH - 1  # then the placeholder
    assert b"\\u0000" not in dumps({"s": "\x00"})


def test_dumps_cuts_what_is_too_deep() -> None:
    decoded = orjson.loads(dumps({"deep": nested(2000)}))
    assert depth(decoded) == MAX_DEPTH
    innermost = decoded["deep"]
    while isinstance(innermost, list):
        innermost = innermost[0]
    assert innermost == TOO_DEEP


def test_normalise_keeps_types_and_unchanged_objects() -> None:
    Pair = namedtuple("Pair", "a b")
    fine = {"m": AIMessage(content="ok"), "t": (1, "x"), "p": Pair(1, 2)}
    assert normalise(fine) is fine
    odd = normalise(
        {
            "m": AIMessage(content="\ud800", additional_kwargs={"n": 2**70}),
            "i": Interrupt(value={"n": 2**70}, id="i1"),
            "s": Send("node", {"n": 2**70}),
            "t": (2**70,),
            "p": Pair(2**70, "\udfff"),
        }
    )
    assert isinstance(odd["m"], AIMessage)
    assert (odd["m"].content, odd["m"].additional_kwargs) == (FFFD, {"n": float(2**70)})
    assert odd["i"] == Interrupt(value={"n": float(2**70)}, id="i1")
    assert isinstance(odd["s"], Send)
    assert (odd["s"].node, odd["s"].arg) == ("node", {"n": float(2**70)})
    assert odd["t"] == (float(2**70),)
    assert odd["p"] == Pair(float(2**70), FFFD)


@pytest.mark.parametrize(
    "value",
    [
        {"n": 2**70, "neg": -(2**63) - 1},
        [AIMessage(content="x", additional_kwargs={"n": 2**70})],
        Interrupt(value={"n": 2**70}, id="i"),
        Send("node", {"n": 2**70}),
        {"k\ud800": 1},
        nested(300),
    ],
)
def test_checkpoint_serializer_second_chance(value: Any) -> None:
    serde = TolerantSerializer()
    stored = serde.dumps_typed(value)
    assert stored[0] == "msgpack"
    assert serde.loads_typed(stored) == normalise(value)


def test_loads_stored_reads_what_orjson_refuses() -> None:
    assert loads_stored(b'{"a": 1e400}') == {"a": math.inf}
    assert loads_stored(b"[" * 3000 + b"]" * 3000) == TOO_DEEP
    assert loads_stored(b"18446744073709551616") == float(2**64)


def test_odd_values_in_an_authenticated_user_are_normalised() -> None:
    user = user_json({"identity": "u", "n": 2**70, "s": "\ud800", "deep": nested(300)})
    assert (user["n"], user["s"]) == (float(2**70), FFFD)
    assert depth(user["deep"]) == MAX_DEPTH - 1
