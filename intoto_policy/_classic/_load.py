"""Reading classic in-toto documents: files, envelopes, and a fast strict JSON path.

A link may list hundreds of thousands of artifacts, and the strict loader
(:func:`intoto_policy._json.loads`) calls a Python hook for every JSON
object to reject duplicate keys. :func:`loads_strict` gives exactly the same
results much faster: it parses with the C decoder alone and then proves,
with a few bulk passes, that :func:`~intoto_policy._json.loads` would have
accepted the document and produced the same value. Whenever the proof does
not go through (duplicate keys, a lone-surrogate or colon escape, too deep
nesting, anything unexpected) it hands the bytes to the strict loader, which
returns the value or raises the proper :class:`~intoto_policy.JSONError`.

The proof for duplicate keys counts colons. In JSON text a colon outside a
string separates exactly one object member, so::

    colons in the text == members in the decoded tree + colons inside strings

holds exactly when no object lost a member to a duplicate key. Colons
inside strings are counted on the decoded strings: a literal colon decodes
to one colon, and the only escape that decodes to a colon (``\\u003a``)
sends the document to the strict loader instead. UTF-8 continuation bytes
are never ``0x3a``, so counting bytes of the raw text is exact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Final

from .._errors import InputError, JSONError, ValidationError
from .._json import JSONLimits, loads

__all__ = [
    "ENVELOPE_PAYLOAD_TYPE",
    "LINK_LIMITS",
    "Document",
    "parse_document",
    "read_optional",
    "read_required",
]

#: The payloadType in-toto uses for links and layouts in DSSE envelopes.
ENVELOPE_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"

#: Links record every artifact of a step, so they get a larger size bound
#: than other documents; nesting is bounded as everywhere else.
LINK_LIMITS: Final = JSONLimits(max_bytes=1024 * 1024 * 1024, max_depth=64)

# Escapes the fast path does not reason about: UTF-16 surrogates (maybe
# lone) and the escaped colon. A false positive only costs the slow path.
_RISKY_ESCAPE: Final = re.compile(rb"\\u(?:[dD][89a-fA-F]|003[aA])")
_BOM: Final = b"\xef\xbb\xbf"


class _FallbackError(Exception):
    """The fast path cannot vouch for this document."""


def _reject_constant(name: str) -> Any:
    raise _FallbackError(name)


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def loads_strict(data: bytes, *, source: str | None = None, limits: JSONLimits) -> Any:
    """Decode untrusted JSON exactly as :func:`intoto_policy._json.loads` does, faster.

    Raises:
        JSONError: What :func:`~intoto_policy._json.loads` raises for ``data``.
    """
    try:
        return _fast(data, limits)
    except (_FallbackError, ValueError, RecursionError, TypeError):
        return loads(data, source=source, limits=limits)


def _fast(data: bytes, limits: JSONLimits) -> Any:
    if len(data) > limits.max_bytes or data.startswith(_BOM):
        raise _FallbackError
    if b"\\u" in data and _RISKY_ESCAPE.search(data):
        raise _FallbackError
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    value = _DECODER.decode(text)  # JSONDecodeError is a ValueError
    members, string_colons = _census(value, limits.max_depth)
    if data.count(b":") != members + string_colons:
        raise _FallbackError
    return value


def _count_colons(strings: Any) -> int:
    # Joining first is much faster than counting string by string.
    return "\n".join(strings).count(":")


def _census(value: Any, max_depth: int) -> tuple[int, int]:
    """(object members, colons inside strings) of a decoded tree; checks depth."""
    members = 0
    colons = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            colons += item.count(":")
            continue
        if isinstance(item, dict):
            if depth >= max_depth:
                raise _FallbackError
            members += len(item)
            colons += _count_colons(item)
            values = list(item.values())
        elif isinstance(item, list):
            if depth >= max_depth:
                raise _FallbackError
            values = item
        else:
            continue
        if len(values) > 16 and depth + 2 < max_depth:
            # Bulk path for the big maps of a link: every value an object of
            # strings (path -> digest set), or every value a string.
            kinds = set(map(type, values))
            if kinds == {str}:
                colons += _count_colons(values)
                continue
            if kinds == {dict}:
                inner_values = list(chain.from_iterable(map(dict.values, values)))
                if set(map(type, inner_values)) <= {str}:
                    members += sum(map(len, values))
                    colons += _count_colons(chain.from_iterable(values))
                    colons += _count_colons(inner_values)
                    continue
        stack.extend((sub, depth + 1) for sub in values if isinstance(sub, (str, dict, list)))
    return members, colons


def read_optional(path: Path, limits: JSONLimits = LINK_LIMITS) -> bytes | None:
    """Read a file, or ``None`` when it cannot be read at all.

    The reference implementation treats every ``OSError`` on a link file as
    "no such link" and so does this.

    Raises:
        InputError: The file is larger than ``limits.max_bytes``.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.max_bytes:
                raise InputError(
                    f"file is {size} bytes, above the limit of {limits.max_bytes}",
                    source=str(path),
                )
            return fh.read()
    except OSError:
        return None


def read_required(path: Path, limits: JSONLimits) -> bytes:
    """Read a file that must exist.

    Raises:
        InputError: It cannot be read, or is larger than ``limits.max_bytes``.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.max_bytes:
                raise InputError(
                    f"file is {size} bytes, above the limit of {limits.max_bytes}",
                    source=str(path),
                )
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None


@dataclass(slots=True)
class Document:
    """A classic in-toto document as read: its envelope and its payload.

    Attributes:
        format: ``"metablock"`` or ``"dsse"``.
        payload: The decoded ``signed`` object (metablock) or payload JSON (DSSE).
        signatures: The signature dicts as they appear in the file.
        signed_bytes: For DSSE, the PAE bytes the signatures are over (a
            metablock's bytes are its canonical encoding, computed on demand).
        digest: sha256 of the file bytes.
        source: Where it was read.
    """

    format: str
    payload: Mapping[str, Any]
    signatures: list[Any]
    signed_bytes: bytes | None
    digest: str
    source: str
    #: Canonical encodings computed for signature checks ("written",
    #: "normalized"), so that each is computed at most once.
    canonical: dict[str, bytes | None] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The payload's ``_type`` (``link`` or ``layout``), or ``""``."""
        value = self.payload.get("_type")
        return value if isinstance(value, str) else ""


def _pae(payload_type: str, payload: bytes) -> bytes:
    ptype = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not base64") from None


def parse_document(data: bytes, *, source: str, limits: JSONLimits = LINK_LIMITS) -> Document:
    """Parse a metablock or a DSSE envelope carrying a classic link or layout.

    Raises:
        JSONError: Not acceptable JSON (envelope or payload).
        ValidationError: Neither a metablock nor an in-toto DSSE envelope, or
            the payload is not a JSON object.
    """
    digest = hashlib.sha256(data).hexdigest()
    doc = loads_strict(data, source=source, limits=limits)
    if not isinstance(doc, dict):
        raise ValidationError("not a metablock or DSSE envelope (not a JSON object)", source=source)
    if "payload" in doc:
        ptype = doc.get("payloadType")
        if ptype != ENVELOPE_PAYLOAD_TYPE:
            raise ValidationError(
                f"DSSE payloadType is {ptype!r}, not {ENVELOPE_PAYLOAD_TYPE!r}", source=source
            )
        payload = _b64(doc["payload"], "payload")
        sigs = doc.get("signatures")
        if not isinstance(sigs, list):
            raise ValidationError("DSSE signatures must be a list", source=source)
        try:
            body = loads_strict(payload, source=f"{source} (payload)", limits=limits)
        except JSONError as exc:
            raise exc.with_source(source) from None
        if not isinstance(body, dict):
            raise ValidationError("DSSE payload is not a JSON object", source=source)
        return Document("dsse", body, sigs, _pae(ptype, payload), digest, source)
    if "signed" in doc:
        signed = doc["signed"]
        sigs = doc.get("signatures", [])
        if not isinstance(signed, dict):
            raise ValidationError("metablock 'signed' must be an object", source=source)
        if not isinstance(sigs, list):
            raise ValidationError("metablock 'signatures' must be a list", source=source)
        return Document("metablock", signed, sigs, None, digest, source)
    raise ValidationError(
        "neither a metablock ('signed') nor a DSSE envelope ('payload')", source=source
    )
