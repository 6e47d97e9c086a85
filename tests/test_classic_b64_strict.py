"""Classic DSSE envelopes: base64 is validated, never cleaned up.

A link's payload and signatures may be standard or URL-safe base64, padded
or not (signers differ), but a character outside the alphabet makes the
document malformed. ``base64.urlsafe_b64decode`` used to drop such
characters silently, so a link with junk in its payload still verified.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from intoto_policy import ValidationError
from intoto_policy.classic._load import parse_document
from intoto_policy.classic._sig import _decode_b64

ROOT = Path(__file__).resolve().parents[1]
LINK = (
    ROOT.parent
    / "shared"
    / "corpus"
    / "real-world"
    / "items"
    / "30-intoto-golang-dsse-only"
    / "package-dsse.2f89b927.link"
)


def _urlsafe(text: str) -> str:
    return base64.urlsafe_b64encode(base64.b64decode(text)).decode()


def _unpadded(text: str) -> str:
    return text.rstrip("=")


def _junk(char: str) -> Callable[[str], str]:
    return lambda text: text[:10] + char + text[10:]


# (name, change to the payload's text, accepted)
PAYLOAD_CASES = [
    ("as signed", lambda t: t, True),
    ("url-safe alphabet", _urlsafe, True),
    ("padding dropped", _unpadded, True),
    ("exclamation mark inside", _junk("!"), False),
    ("space inside", _junk(" "), False),
    ("asterisk inside", _junk("*"), False),
    ("newline inside", _junk("\n"), False),
]


@pytest.mark.parametrize(
    ("name", "change", "accepted"), PAYLOAD_CASES, ids=[c[0] for c in PAYLOAD_CASES]
)
def test_link_payload_base64_is_validated(
    name: str, change: Callable[[str], str], accepted: bool
) -> None:
    if not LINK.is_file():
        pytest.skip("shared corpus not present")
    envelope = json.loads(LINK.read_bytes())
    original = base64.b64decode(envelope["payload"])
    envelope["payload"] = change(envelope["payload"])
    data = json.dumps(envelope).encode()
    if accepted:
        doc = parse_document(data, source=name)
        assert doc.signed_bytes is not None
        assert bytes(doc.signed_bytes).endswith(original)
    else:
        with pytest.raises(ValidationError, match="payload is not base64"):
            parse_document(data, source=name)


SIG = base64.b64encode(bytes(range(64))).decode()
SIG_CASES = [
    ("standard", SIG, bytes(range(64))),
    ("url-safe", base64.urlsafe_b64encode(bytes(range(64))).decode(), bytes(range(64))),
    ("unpadded", SIG.rstrip("="), bytes(range(64))),
    ("junk inside", SIG[:5] + "!" + SIG[5:], None),
    ("space inside", SIG[:5] + " " + SIG[5:], None),
    ("not a string", 12, None),
]


@pytest.mark.parametrize(("name", "text", "expected"), SIG_CASES, ids=[c[0] for c in SIG_CASES])
def test_signature_base64_is_validated(name: str, text: object, expected: bytes | None) -> None:
    assert _decode_b64(text) == expected, name
