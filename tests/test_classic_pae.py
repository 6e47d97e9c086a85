"""PAE bytes decoded chunk by chunk equal the header plus the whole strict decode.

``classic._load._pae_from_base64`` decodes a DSSE payload's base64 text in
chunks straight into the PAE buffer. When it gives bytes they must be those
of ``binascii.a2b_base64(..., strict_mode=True)`` on the whole text; it may
decline (``None``: the caller then decodes the whole text the usual way),
but never for well-formed base64, so the fast path is the one taken.
"""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intoto_policy.classic import _load
from intoto_policy.classic._load import ENVELOPE_PAYLOAD_TYPE, _pae_from_base64, _pae_header


def _whole(text: bytes) -> bytes | None:
    try:
        payload = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return _pae_header(ENVELOPE_PAYLOAD_TYPE, len(payload)) + payload


def _chunked(text: bytes) -> bytes | None:
    # Inside a larger buffer, as in an envelope: the decoder must stay in bounds.
    data = b'{"payload":"' + text + b'"}'
    made = _pae_from_base64(ENVELOPE_PAYLOAD_TYPE, data, 12, 12 + len(text))
    if made is None:
        return None
    signed, header_size = made
    assert bytes(signed[:header_size]) == _pae_header(
        ENVELOPE_PAYLOAD_TYPE, len(signed) - header_size
    )
    return bytes(signed)


B64 = base64.b64encode
# (name, text, whether the chunked decoder takes it)
CASES = [
    ("empty", b"", True),
    ("no padding", B64(b"abc" * 100), True),
    ("one pad", B64(b"ab" + b"abc" * 100), True),
    ("two pads", B64(b"a" + b"abc" * 100), True),
    ("padding in the middle", B64(b"a") + B64(b"abc"), False),
    ("padding only", b"====", False),
    ("extra pad after a full quad", B64(b"abcdef") + b"=", False),
    ("three pads", b"QQ===", False),
    ("length not a multiple of 4", B64(b"abc")[:-1], False),
    ("unpadded tail", b"QUJDQQ", False),
    ("url-safe alphabet", base64.urlsafe_b64encode(b"\xfb\xff" * 30), False),
    ("whitespace", B64(b"abc") + b"\n" + B64(b"abc"), False),
    ("non-ASCII", B64(b"abc") + "é".encode(), False),
    ("equals then data in last quad", b"QUJDQ=JD", False),
    ("non-zero bits under the padding", b"QR==", True),
    ("non-zero bits under one pad", b"QUJ=", True),
    ("all of the alphabet", B64(bytes(range(256)) * 3), True),
    ("NUL byte", B64(b"abc") + b"\x00", False),
]


@pytest.mark.parametrize("chunk", [4, 8, 12, 128 * 1024], ids=lambda c: f"chunk{c}")
@pytest.mark.parametrize(("name", "text", "taken"), CASES, ids=[c[0] for c in CASES])
def test_chunked_pae_equals_whole_decode(
    name: str, text: bytes, taken: bool, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_load, "_B64_CHUNK", chunk)
    chunked = _chunked(text)
    assert (chunked is not None) == taken, name
    if taken:
        assert chunked == _whole(text), name


@settings(max_examples=1000, deadline=None)
@given(
    payload=st.binary(max_size=200),
    cut=st.integers(min_value=0, max_value=300),
    insert=st.sampled_from(
        [b"", b"=", b"==", b"A", b"-", b"_", b" ", b"\n", b"\x00", b"\xff", b"+", b"/", b"R=="]
    ),
    chunk=st.sampled_from([4, 8, 16]),
)
def test_chunked_pae_property(payload: bytes, cut: int, insert: bytes, chunk: int) -> None:
    text = bytearray(base64.b64encode(payload))
    text[cut:cut] = insert
    original = _load._B64_CHUNK
    _load._B64_CHUNK = chunk
    try:
        chunked = _chunked(bytes(text))
        assert chunked is None or chunked == _whole(bytes(text))
        if not insert:  # well-formed base64: the fast path is taken
            assert chunked is not None
    finally:
        _load._B64_CHUNK = original
