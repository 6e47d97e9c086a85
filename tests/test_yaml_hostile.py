"""Hostile YAML layouts fail at once with one line naming the file (issue #9)."""

from __future__ import annotations

import pytest

from intoto_policy import InputError
from intoto_policy._loading import parse_layout_document

_BOMB = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n".encode()
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

CASES = [
    pytest.param(_BOMB, "aliases", id="alias-bomb"),
    pytest.param(b"a: &a [*a]\n", "aliases", id="recursive-alias"),
    pytest.param(b"a: &x 1\nb: *x\n", "aliases", id="plain-alias"),
    pytest.param(b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", "too deep", id="deep-flow"),
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
