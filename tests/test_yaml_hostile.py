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
