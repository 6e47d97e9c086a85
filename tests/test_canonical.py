"""encode_canonical: byte-identical to securesystemslib's canonical JSON."""

from __future__ import annotations

import enum
import random
from collections import OrderedDict, namedtuple
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.formats import encode_canonical as reference_encode

from intoto_policy._errors import ValidationError
from intoto_policy.crypto._canonical import encode_canonical


def reference(obj: Any) -> bytes:
    text = reference_encode(obj)
    assert isinstance(text, str)
    return text.encode("utf-8")


class Color(enum.IntEnum):
    RED = 1


class Name(enum.StrEnum):
    ALICE = "alice"


Pair = namedtuple("Pair", ["first", "second"])


def artifacts(count: int, *, digests: int = 1, shuffle: bool = False) -> dict[str, Any]:
    names = [f"src/dir{i % 7}/file_{i}.py" for i in range(count)]
    if shuffle:
        random.Random(count).shuffle(names)
    algs = ["sha256", "sha512", "md5"][:digests]
    return {name: {alg: f"{i:04x}{alg}" for alg in reversed(algs)} for i, name in enumerate(names)}


# (id, value, expected canonical bytes); every case is also checked against
# securesystemslib.
NAMED_CASES: list[tuple[str, Any, bytes]] = [
    ("empty-string", "", b'""'),
    ("empty-list", [], b"[]"),
    ("empty-dict", {}, b"{}"),
    ("null", None, b"null"),
    ("true", True, b"true"),
    ("false", False, b"false"),
    ("zero", 0, b"0"),
    ("negative", -17, b"-17"),
    ("big-int", 2**200, str(2**200).encode()),
    ("tuple-is-array", (1, "a", None), b'[1,"a",null]'),
    ("nested-array", [[[]], [{}]], b"[[[]],[{}]]"),
    ("keys-sorted", {"b": 1, "a": 2, "c": 3}, b'{"a":2,"b":1,"c":3}'),
    ("keys-sorted-case", {"b": 1, "B": 2, "a": 3}, b'{"B":2,"a":3,"b":1}'),
    ("quote-escaped", 'say "hi"', b'"say \\"hi\\""'),
    ("backslash-escaped", "a\\b", b'"a\\\\b"'),
    ("controls-raw", "\x00\x01\n\t\r\x1f\x7f", b'"\x00\x01\n\t\r\x1f\x7f"'),
    ("non-ascii-raw", "é€", '"é€"'.encode()),
    ("astral-raw", "\U0001f600", '"\U0001f600"'.encode()),
    (
        # Code point order, not UTF-16 order: U+E000 sorts before U+10000.
        "astral-key-after-private-use",
        {"\U00010000": 1, "\ue000": 2, "\uffff": 3},
        '{"\ue000":2,"\uffff":3,"\U00010000":1}'.encode(),
    ),
    ("key-with-quote", {'a"b': 1, "a": 2}, b'{"a":2,"a\\"b":1}'),
    ("key-with-backslash-single", {"a\\b": "c\\d"}, b'{"a\\\\b":"c\\\\d"}'),
    ("key-with-control", {"\n": 1, "\t": 2}, b'{"\t":2,"\n":1}'),
    ("flat-strings", {"sha512": "bb", "sha256": "aa"}, b'{"sha256":"aa","sha512":"bb"}'),
    ("flat-strings-quote", {"x": 'a"', "y": "b"}, b'{"x":"a\\"","y":"b"}'),
    ("flat-strings-backslash", {"x": "a", "y": "b\\"}, b'{"x":"a","y":"b\\\\"}'),
    (
        "artifact-map",
        {"b": {"sha256": "2"}, "a": {"sha256": "1"}},
        b'{"a":{"sha256":"1"},"b":{"sha256":"2"}}',
    ),
    (
        "artifact-map-quote-in-digest",
        {"b": {"sha256": '"'}, "a": {"sha256": "1"}},
        b'{"a":{"sha256":"1"},"b":{"sha256":"\\""}}',
    ),
    (
        "artifact-map-backslash-in-inner-key",
        {"b": {"s\\": "2"}, "a": {"sha256": "1"}},
        b'{"a":{"sha256":"1"},"b":{"s\\\\":"2"}}',
    ),
    (
        "artifact-map-non-string-digest",
        {"b": {"n": 2}, "a": {"n": "1"}},
        b'{"a":{"n":"1"},"b":{"n":2}}',
    ),
    (
        "artifact-map-two-digests",
        {"b": {"z": "2", "y": "3"}, "a": {"y": "1", "z": "0"}},
        b'{"a":{"y":"1","z":"0"},"b":{"y":"3","z":"2"}}',
    ),
    (
        "artifact-map-mixed-sizes",
        {"b": {}, "a": {"y": "1", "z": "0"}, "c": {"x": "9"}},
        b'{"a":{"y":"1","z":"0"},"b":{},"c":{"x":"9"}}',
    ),
    (
        # A quote in one string balanced by nothing: the quote count must
        # catch it even though the total length looks ordinary.
        "artifact-map-two-digests-quote",
        {"a": {"y": '"', "z": "0"}, "b": {"y": "1", "z": "2"}},
        b'{"a":{"y":"\\"","z":"0"},"b":{"y":"1","z":"2"}}',
    ),
    ("int-enum-value", [Color.RED], b"[1]"),
    ("str-enum-value", {Name.ALICE: Name.ALICE}, b'{"alice":"alice"}'),
    ("ordered-dict", OrderedDict([("b", 1), ("a", 2)]), b'{"a":2,"b":1}'),
    ("namedtuple-is-array", Pair(1, "x"), b'[1,"x"]'),
    ("shared-subtree", [[1], [1]] * 1, b"[[1],[1]]"),
    (
        "link-shape",
        {
            "_type": "link",
            "name": "build",
            "command": ["make", "-j2"],
            "materials": {"foo.py": {"sha256": "ab"}},
            "products": {},
            "byproducts": {"return-value": 0, "stderr": "", "stdout": "ok\n"},
            "environment": {},
        },
        (
            b'{"_type":"link","byproducts":{"return-value":0,"stderr":"","stdout":"ok\n"},'
            b'"command":["make","-j2"],"environment":{},"materials":{"foo.py":{"sha256":"ab"}},'
            b'"name":"build","products":{}}'
        ),
    ),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(value, expected) for _, value, expected in NAMED_CASES],
    ids=[name for name, _, _ in NAMED_CASES],
)
def test_named_cases(value: Any, expected: bytes) -> None:
    assert encode_canonical(value) == expected
    assert reference(value) == expected


BIG_CASES: list[tuple[str, Any]] = [
    ("artifacts-sorted", {"materials": artifacts(3000)}),
    ("artifacts-shuffled", {"materials": artifacts(3000, shuffle=True)}),
    ("artifacts-two-digests", {"products": artifacts(2000, digests=2, shuffle=True)}),
    (
        "flat-strings-shuffled",
        {str(i): str(-i) for i in random.Random(1).sample(range(5000), 5000)},
    ),
    (
        "artifacts-one-quoted-path",
        {"materials": {**artifacts(1000), 'late"path': {"sha256": "ff"}}},
    ),
    ("list-of-artifact-maps", [artifacts(50), artifacts(60, shuffle=True)]),
]


@pytest.mark.parametrize("value", [value for _, value in BIG_CASES], ids=[n for n, _ in BIG_CASES])
def test_large_shapes_match_reference(value: Any) -> None:
    assert encode_canonical(value) == reference(value)


def test_every_code_point_in_a_string_and_in_keys() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    everything = "".join(chars)
    keys = {ch: ord(ch) for ch in [*chars[::97], '"', "\\", "\x00", "\U0010ffff"]}
    value = {"text": everything, "keys": keys}
    assert encode_canonical(value) == reference(value)


def circular_list() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def circular_dict() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = {"again": loop}
    return loop


def deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


# (id, value, expected error path, fragment of the message)
ERROR_CASES: list[tuple[str, Any, str, str]] = [
    ("float", 1.5, "", "float"),
    ("float-integral", 1.0, "", "float"),
    ("nan", float("nan"), "", "float"),
    ("float-nested", {"a": [1, {"b": 0.5}]}, "a[1].b", "float"),
    ("float-in-artifact-map", {"x": {"sha256": 1.0}, "y": {"sha256": "1"}}, "x.sha256", "float"),
    ("float-in-flat-object", {"x": 1.0, "y": "1"}, "x", "float"),
    ("int-key", {1: "a"}, "", "not a string"),
    ("int-key-among-str", {"a": 1, 2: "b"}, "", "not a string"),
    ("none-key", {None: 1, "a": 2}, "", "not a string"),
    ("bytes", b"abc", "", "bytes"),
    ("set", {"a"}, "", "set"),
    ("object", object(), "", "object"),
    ("lone-surrogate-value", ["ok", "\ud800"], "[1]", "surrogate"),
    ("lone-surrogate-key", {"\udfff": 1}, "", "surrogate"),
    (
        "lone-surrogate-in-artifact",
        {"a": {"sha256": "\ud800"}, "b": {"x": "y"}},
        "a.sha256",
        "surrogate",
    ),
    ("huge-int", 10**5000, "", "digits"),
    ("circular-list", circular_list(), "[0]", "circular"),
    ("circular-dict", circular_dict(), "self.again", "circular"),
    ("too-deep", deep(100_000), "", "too deep"),
]


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [(value, path, fragment) for _, value, path, fragment in ERROR_CASES],
    ids=[name for name, *_ in ERROR_CASES],
)
def test_rejects(value: Any, path: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        encode_canonical(value)
    assert caught.value.path == path
    assert fragment in caught.value.problem


# --- properties -------------------------------------------------------------

# Text over all of Unicode but lone surrogates, with the characters that need
# escaping (or that json would escape differently) made frequent.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "\x00", "\n", "\x1f", "\x7f", "\u2028", "\U0001f600", "a"]),
        st.characters(codec="utf-8"),  # every code point but surrogates
    ),
    max_size=12,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**128), max_value=2**128),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(TEXT, inner, max_size=6),
    ),
    max_leaves=40,
)


@given(JSON)
@settings(max_examples=600)
def test_property_matches_securesystemslib(value: Any) -> None:
    assert encode_canonical(value) == reference(value)


# The shortcuts for flat objects and artifact maps decide by counting quotes:
# hammer them with strings full of quotes and backslashes.
QUOTY = st.text(alphabet=st.sampled_from(['"', "\\", "a", "b", "/", "é"]), max_size=5)


@given(
    st.one_of(
        st.dictionaries(QUOTY, QUOTY, min_size=2, max_size=8),
        st.dictionaries(QUOTY, st.dictionaries(QUOTY, QUOTY, max_size=3), min_size=2, max_size=8),
        st.dictionaries(
            QUOTY, st.dictionaries(QUOTY, QUOTY, min_size=1, max_size=1), min_size=2, max_size=8
        ),
        st.dictionaries(
            QUOTY,
            st.dictionaries(QUOTY, st.one_of(QUOTY, st.integers(), st.none()), max_size=2),
            min_size=2,
            max_size=8,
        ),
    )
)
@settings(max_examples=800)
def test_property_plain_shapes_match_securesystemslib(value: dict[str, Any]) -> None:
    assert encode_canonical(value) == reference(value)


@given(st.dictionaries(TEXT, SCALARS, min_size=2, max_size=10), st.randoms())
def test_property_insertion_order_is_irrelevant(value: dict[str, Any], rnd: random.Random) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert encode_canonical(dict(items)) == encode_canonical(value) == reference(value)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_property_any_float_is_rejected(value: float) -> None:
    with pytest.raises(ValidationError):
        encode_canonical({"a": [value]})


# A memo remembers the encodings of large objects by identity, for trees that
# share them (the same artifact map in several links). With a low threshold,
# every object of two or more members goes through it.
@given(
    st.lists(st.dictionaries(TEXT, JSON, min_size=2, max_size=5), min_size=1, max_size=3), st.data()
)
@settings(max_examples=300)
def test_property_memo_matches_securesystemslib(
    shared: list[dict[str, Any]], data: st.DataObject
) -> None:
    import intoto_policy.crypto._canonical as canonical

    memo: canonical.CanonicalMemo = {}
    old = canonical._MEMO_MIN
    setattr(canonical, "_MEMO_MIN", 2)  # noqa: B010 - a Final; no fixture inside @given
    try:
        for _ in range(3):
            tree = {
                "a": data.draw(st.sampled_from(shared)),
                "b": [data.draw(st.sampled_from(shared)), data.draw(JSON)],
            }
            assert encode_canonical(tree, memo=memo) == reference(tree)
    finally:
        setattr(canonical, "_MEMO_MIN", old)  # noqa: B010


def test_memo_is_by_identity_and_skips_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    import intoto_policy.crypto._canonical as canonical

    monkeypatch.setattr(canonical, "_MEMO_MIN", 3)
    memo: canonical.CanonicalMemo = {}
    shared = artifacts(5)
    assert encode_canonical({"m": shared, "p": shared}, memo=memo) == reference(
        {"m": shared, "p": shared}
    )
    assert [entry[0] for entry in memo.values()] == [shared]  # the outer one is small
    # An equal object that is not the same one is encoded on its own.
    other = dict(shared)
    assert encode_canonical([other], memo=memo) == reference([other])
    assert len(memo) == 2
    assert encode_canonical([other, shared], memo=memo) == reference([other, shared])
    assert len(memo) == 2
    # A dict subclass is copied before it is encoded: the copy is not kept.
    ordered = OrderedDict(shared)
    assert encode_canonical([ordered], memo=memo) == reference([ordered])
    assert len(memo) == 2
    # An object that cannot be encoded is not remembered.
    with pytest.raises(ValidationError):
        encode_canonical([{"a": 1.5, "b": 2, "c": 3}], memo=memo)
    assert len(memo) == 2
