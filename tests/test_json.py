"""The strict JSON loader: everything the standard library quietly accepts is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intoto_policy._errors import InputError, JSONError
from intoto_policy.model._json import DEFAULT_LIMITS, JSONLimits, loads

ACCEPTED: list[tuple[str, bytes | str, Any]] = [
    ("empty-object", b"{}", {}),
    ("empty-array", b"[]", []),
    ("string", b'"x"', "x"),
    ("integer", b"-12", -12),
    ("float", b"0.5e1", 5.0),
    ("true", b"true", True),
    ("null", b"null", None),
    ("surrounding-whitespace", b" \t\r\n{} \n", {}),
    ("nested", b'{"a":[1,{"b":null}]}', {"a": [1, {"b": None}]}),
    ("raw-utf8", '{"é":"✓"}'.encode(), {"é": "✓"}),
    ("escaped-surrogate-pair", b'"\\ud83d\\ude00"', "\U0001f600"),
    ("escaped-bmp", b'"\\u00e9"', "é"),
    ("str-input", '{"a": 1}', {"a": 1}),
    ("same-key-different-objects", b'[{"a":1},{"a":2}]', [{"a": 1}, {"a": 2}]),
    ("large-but-finite-float", b"1.5e300", 1.5e300),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted(doc: bytes | str, expected: Any) -> None:
    assert loads(doc) == expected


REJECTED: list[tuple[str, bytes | str, str]] = [
    ("duplicate-key", b'{"a":1,"a":2}', "duplicate object key 'a'"),
    ("duplicate-key-same-value", b'{"a":1,"a":1}', "duplicate"),
    ("duplicate-key-nested", b'{"x":[{"k":1,"j":0,"k":2}]}', "duplicate object key 'k'"),
    ("duplicate-key-via-escape", b'{"a":1,"\\u0061":2}', "duplicate"),
    ("invalid-utf8-byte", b'"\xff"', "invalid UTF-8 at byte 1"),
    ("overlong-utf8", b'"\xc0\xaf"', "invalid UTF-8"),
    ("utf8-encoded-surrogate", b'"\xed\xa0\x80"', "invalid UTF-8"),
    ("truncated-utf8", b'"\xe2\x9c"', "invalid UTF-8"),
    ("bom", b'\xef\xbb\xbf{"a":1}', "byte-order mark"),
    ("bom-str", '\ufeff{"a":1}', "byte-order mark"),
    ("nan", b"[NaN]", "NaN is not valid JSON"),
    ("infinity", b'{"a":Infinity}', "Infinity is not valid JSON"),
    ("minus-infinity", b"-Infinity", "-Infinity is not valid JSON"),
    ("float-overflow", b"[1e400]", "out of range"),
    ("negative-float-overflow", b"-1e400", "out of range"),
    ("integer-above-digit-limit", b"1" * 5000, "out of range"),
    ("lone-high-surrogate", b'"\\ud800"', "lone surrogate"),
    ("lone-low-surrogate", b'["ok","\\udc00"]', "lone surrogate"),
    ("lone-surrogate-in-key", b'{"\\ud800":1}', "lone surrogate"),
    ("reversed-surrogate-pair", b'"\\ude00\\ud83d"', "lone surrogate"),
    ("trailing-document", b"{} {}", "extra data"),
    ("trailing-number", b"1 2", "extra data"),
    ("trailing-garbage", b'{"a":1}x', "extra data"),
    ("trailing-nul", b"{}\x00", "extra data"),
    ("empty", b"", "not valid JSON"),
    ("whitespace-only", b" \n ", "not valid JSON"),
    ("single-quotes", b"{'a':1}", "not valid JSON"),
    ("trailing-comma", b"[1,]", "not valid JSON"),
    ("comment", b"// c\n{}", "not valid JSON"),
    ("leading-zero", b"01", "extra data"),
    ("control-char-in-string", b'"a\x01b"', "not valid JSON"),
    ("vertical-tab-whitespace", b"\x0b{}", "not valid JSON"),
]


@pytest.mark.parametrize(
    ("doc", "problem"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_rejected(doc: bytes | str, problem: str) -> None:
    with pytest.raises(JSONError) as info:
        loads(doc)
    assert problem in info.value.problem
    assert isinstance(info.value, InputError)


def _nest(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("doc", "max_depth", "ok"),
    [
        (_nest(3), 3, True),
        (_nest(4), 3, False),
        (b'{"a":{"b":{"c":1}}}', 3, True),
        (b'{"a":{"b":{"c":{}}}}', 3, False),
        (b'[{"a":[1]}]', 3, True),
        (b'[{"a":[[]]}]', 3, False),
        (b"1", 0, True),
        (b"[]", 0, False),
        (_nest(DEFAULT_LIMITS.max_depth), DEFAULT_LIMITS.max_depth, True),
        (_nest(DEFAULT_LIMITS.max_depth + 1), DEFAULT_LIMITS.max_depth, False),
    ],
    ids=[
        "arrays-at-limit",
        "arrays-over-limit",
        "objects-at-limit",
        "objects-over-limit",
        "mixed-at-limit",
        "mixed-over-limit",
        "scalar-depth-zero",
        "array-over-depth-zero",
        "default-at-limit",
        "default-over-limit",
    ],
)
def test_depth_limit(doc: bytes, max_depth: int, ok: bool) -> None:
    limits = JSONLimits(max_depth=max_depth)
    if ok:
        loads(doc, limits=limits)
    else:
        with pytest.raises(JSONError, match="nesting"):
            loads(doc, limits=limits)


@pytest.mark.parametrize("depth", [1_000, 100_000], ids=["deep", "beyond-recursion-limit"])
def test_very_deep_input_is_a_json_error_not_a_crash(depth: int) -> None:
    with pytest.raises(JSONError, match="nesting"):
        loads(_nest(depth))


@pytest.mark.parametrize(
    ("doc", "max_bytes", "ok"),
    [
        (b'"abc"', 5, True),
        (b'"abcd"', 5, False),
        (b"[]", 2, True),
        (b" [] ", 2, False),
        ('"é"', 4, True),
        ('"éé"', 4, False),
    ],
    ids=["at-limit", "over-limit", "small-at-limit", "whitespace-counts", "str-bytes", "str-over"],
)
def test_size_limit(doc: bytes | str, max_bytes: int, ok: bool) -> None:
    limits = JSONLimits(max_bytes=max_bytes)
    if ok:
        loads(doc, limits=limits)
    else:
        with pytest.raises(JSONError, match="above the limit"):
            loads(doc, limits=limits)


def test_source_names_the_file() -> None:
    with pytest.raises(JSONError) as info:
        loads(b'{"a":1,"a":2}', source="pred.json")
    assert str(info.value) == "pred.json: duplicate object key 'a'"
    assert "\n" not in str(info.value)


def test_error_without_source_is_just_the_problem() -> None:
    with pytest.raises(JSONError) as info:
        loads(b"[1,]")
    assert info.value.source is None
    assert str(info.value).startswith("not valid JSON")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_round_trip_of_arbitrary_json(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert loads(text.encode("utf-8")) == value
    assert loads(text) == value


@given(
    value=st.dictionaries(st.text(max_size=5), JSON_VALUES, min_size=1, max_size=4), data=st.data()
)
def test_any_duplicated_key_is_rejected(value: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(value)))
    body = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in value.items())
    doc = "{" + body + f",{json.dumps(key)}:0" + "}"
    with pytest.raises(JSONError, match="duplicate"):
        loads(doc.encode("utf-8"))


@given(st.binary(max_size=64))
def test_arbitrary_bytes_either_decode_or_raise_json_error(data: bytes) -> None:
    try:
        value = loads(data)
    except JSONError:
        return
    # Whatever was accepted is strict JSON that the standard library agrees on.
    assert json.loads(data.decode("utf-8")) == value
