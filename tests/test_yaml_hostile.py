"""Hostile YAML layouts fail at once with one line naming the file (issue #9)."""

from __future__ import annotations

import sys

import pytest

from intoto_policy import InputError
from intoto_policy.model._json import LAYOUT_LIMITS
from intoto_policy.policy._loading import parse_layout_document

_BOMB = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n".encode()
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

CASES = [
    pytest.param(_BOMB, "aliases", id="alias-bomb"),
    pytest.param(b"a: &a [*a]\n", "aliases", id="recursive-alias"),
    pytest.param(b"a: &x 1\nb: *x\n", "aliases", id="plain-alias"),
    pytest.param(
        b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nesting deeper than 64 levels", id="deep-flow"
    ),
    pytest.param(b'a: "\x01"\n', "not valid YAML", id="control-char"),
    pytest.param(b"a: \x7f\n", "not valid YAML", id="del-char"),
]


@pytest.mark.parametrize(("data", "needle"), CASES)
def test_hostile_yaml_is_rejected(data: bytes, needle: str) -> None:
    with pytest.raises(InputError) as info:
        parse_layout_document(data, source="layout.yaml")
    text = str(info.value)
    assert text.startswith("layout.yaml")
    assert needle in text
    assert "\n" not in text


def _deep_block(levels: int) -> bytes:
    return b"".join(b"  " * i + b"k:\n" for i in range(levels)) + b"  " * levels + b"v\n"


def _deep_flow(levels: int) -> bytes:
    return b"a: " + b"[" * levels + b"]" * levels + b"\n"


def _deep_mixed(levels: int) -> bytes:
    return b"a: " + b"{b: [" * (levels // 2) + b"]}" * (levels // 2) + b"\n"


DEPTH_CASES = [
    pytest.param(_deep_block(65), id="block-65"),
    pytest.param(_deep_flow(100), id="flow-100"),
    pytest.param(_deep_mixed(200), id="mixed-200"),
    pytest.param(_deep_flow(50_000), id="flow-50000"),
]


@pytest.mark.parametrize("recursion_limit", [None, 200_000], ids=["default-limit", "raised-limit"])
@pytest.mark.parametrize("data", DEPTH_CASES)
def test_yaml_depth_limit_is_enforced_while_composing(
    data: bytes, recursion_limit: int | None
) -> None:
    # The error must come from the explicit depth limit (shared with JSON),
    # not from Python's recursion limit, whatever that limit is.
    old = sys.getrecursionlimit()
    if recursion_limit is not None:
        sys.setrecursionlimit(recursion_limit)
    try:
        with pytest.raises(InputError) as info:
            parse_layout_document(data, source="layout.yaml")
    finally:
        sys.setrecursionlimit(old)
    assert f"nesting deeper than {LAYOUT_LIMITS.max_depth} levels" in str(info.value)


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        pytest.param(_deep_block(64), True, id="block-at-limit"),
        pytest.param(_deep_block(65), False, id="block-over-limit"),
    ],
)
def test_yaml_depth_limit_matches_json(data: bytes, ok: bool) -> None:
    # N lines of 'k:' nest N mappings; the same N objects in JSON.
    as_json = b'{"k": ' * (data.count(b"k:")) + b'"v"' + b"}" * data.count(b"k:")
    if ok:
        parse_layout_document(data, source="layout.yaml")
        parse_layout_document(as_json, source="layout.json")
    else:
        for raw in (data, as_json):
            with pytest.raises(InputError, match="nesting deeper than 64 levels"):
                parse_layout_document(raw, source="layout")


_HEAD_YAML = b"version: 1\nexpires: 2030-01-01T00:00:00Z\n"

# Scalars and tags that PyYAML's YAML 1.1 constructors turn into a plain
# ValueError/TypeError (a traceback) or super-linear work: every one must be
# one line naming the file (SchemaError, exit 2), whatever its shape.
CONSTRUCTOR_CASES = [
    pytest.param(b"x: !!timestamp 2001-13-01\n", "tag", id="timestamp-tag-month-13"),
    pytest.param(b"x: !!timestamp 2001-01-01\n", "tag", id="timestamp-tag-valid"),
    pytest.param(b"x: !!float abc\n", "is not a number", id="float-tag-not-number"),
    pytest.param(b"x: !!int abc\n", "is not an integer", id="int-tag-not-number"),
    pytest.param(b"x: !!bool abc\n", "is not a boolean", id="bool-tag-not-bool"),
    pytest.param(b"x: !!bool yes\n", "is not a boolean", id="bool-tag-yaml11-yes"),
    pytest.param(b'x: !!int ""\n', "is not an integer", id="int-tag-empty"),
    pytest.param(b"x: !!null abc\n", "is not null", id="null-tag-not-null"),
    pytest.param(b"x: 1" + b"0" * 5000 + b"\n", "above the limit of 100", id="int-5000-digits"),
    pytest.param(b"x: 1" + b"0" * 100 + b"\n", "above the limit of 100", id="int-101-digits"),
    pytest.param(b"x: 1." + b"0" * 200 + b"\n", "above the limit of 100", id="float-long"),
    pytest.param(b"x: !!int 1:0:0\n", "is not an integer", id="int-tag-sexagesimal"),
    pytest.param(b"x: !!int 1_000\n", "is not an integer", id="int-tag-underscores"),
    pytest.param(b"x: 010\n", "leading zero", id="int-leading-zero"),
    pytest.param(b"x: .inf\n", "not finite", id="float-inf"),
    pytest.param(b"x: -.Inf\n", "not finite", id="float-minus-inf"),
    pytest.param(b"x: .nan\n", "not finite", id="float-nan"),
    pytest.param(b"x: 1e999\n", "not finite", id="float-overflow"),
    pytest.param(b"x: !!binary aGVsbG8=\n", "tag", id="binary-tag"),
    pytest.param(b"x: !!set {a: null}\n", "tag", id="set-tag"),
    pytest.param(b"x: !!omap [a: 1]\n", "tag", id="omap-tag"),
    pytest.param(b"x: !custom 1\n", "tag", id="local-tag"),
    pytest.param(b"x: !!python/object:os.system ls\n", "tag", id="python-tag"),
    pytest.param(b"x: !!merge {a: 1}\n", "tag", id="merge-tag"),
    pytest.param(b"? [a, b]\n: 1\n", "key must be a single value", id="sequence-key"),
]


@pytest.mark.parametrize(("tail", "needle"), CONSTRUCTOR_CASES)
def test_yaml_scalar_and_tag_errors_are_one_line(tail: bytes, needle: str) -> None:
    with pytest.raises(InputError) as info:
        parse_layout_document(_HEAD_YAML + tail, source="layout.yaml")
    text = str(info.value)
    assert text.startswith("layout.yaml:")
    assert needle in text
    assert "\n" not in text
    assert len(text) < 400


# The YAML 1.2 core schema: what plain scalars become. YAML 1.1 forms
# (sexagesimal, underscores, binary, yes/no/on/off, timestamps, merge keys)
# stay strings, so a layout field expecting a number or a boolean refuses them.
RESOLUTION_CASES = [
    pytest.param(b"1", 1, id="int"),
    pytest.param(b"-7", -7, id="int-negative"),
    pytest.param(b"+7", 7, id="int-plus"),
    pytest.param(b"0", 0, id="int-zero"),
    pytest.param(b"0x1F", 31, id="int-hex"),
    pytest.param(b"0o17", 15, id="int-octal"),
    pytest.param(b"1.5", 1.5, id="float"),
    pytest.param(b"1e3", 1000.0, id="float-exponent"),
    pytest.param(b".5", 0.5, id="float-leading-point"),
    pytest.param(b"true", True, id="bool-true"),
    pytest.param(b"FALSE", False, id="bool-false-upper"),
    pytest.param(b"null", None, id="null"),
    pytest.param(b"~", None, id="null-tilde"),
    pytest.param(b"", None, id="null-empty"),
    pytest.param(b"yes", "yes", id="yaml11-yes-is-text"),
    pytest.param(b"off", "off", id="yaml11-off-is-text"),
    pytest.param(b"1:0:0", "1:0:0", id="yaml11-sexagesimal-is-text"),
    pytest.param(b"1_000", "1_000", id="yaml11-underscores-is-text"),
    pytest.param(b"0b101", "0b101", id="yaml11-binary-is-text"),
    pytest.param(b"2001-12-14", "2001-12-14", id="timestamp-is-text"),
    pytest.param(b"2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", id="datetime-is-text"),
    pytest.param(b"=", "=", id="yaml11-value-is-text"),
    pytest.param(b"!!str 12", "12", id="str-tag"),
    pytest.param(b"!!int 12", 12, id="int-tag"),
    pytest.param(b"!!float 1", 1.0, id="float-tag"),
    pytest.param(b"'12'", "12", id="quoted-number-is-text"),
]


@pytest.mark.parametrize(("scalar", "value"), RESOLUTION_CASES)
def test_yaml_core_schema_resolution(scalar: bytes, value: object) -> None:
    doc, _ = parse_layout_document(_HEAD_YAML + b"x: " + scalar + b"\n", source="layout.yaml")
    assert doc["x"] == value
    assert type(doc["x"]) is type(value)


def test_yaml_merge_key_is_a_plain_key() -> None:
    # "<<" is not a merge (YAML 1.1): it stays a key the schema then refuses.
    doc, _ = parse_layout_document(_HEAD_YAML + b"x:\n  <<: {a: 1}\n  b: 2\n", source="l.yaml")
    assert doc["x"] == {"<<": {"a": 1}, "b": 2}


@pytest.mark.parametrize("parts", [10, 1000, 100_000], ids=["10", "1000", "100000"])
def test_yaml_sexagesimal_is_text_at_any_length(parts: int) -> None:
    # YAML 1.1 converts base 60 in quadratic time; the core schema never does.
    doc, _ = parse_layout_document(_HEAD_YAML + b"x: 1" + b":0" * parts + b"\n", source="l.yaml")
    assert doc["x"] == "1" + ":0" * parts
