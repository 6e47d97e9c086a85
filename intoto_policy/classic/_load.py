"""Reading classic in-toto documents: files, envelopes, and a fast strict JSON path.

A link may list hundreds of thousands of artifacts, and the strict loader
(:func:`intoto_policy.model._json.loads`) calls a Python hook for every JSON
object to reject duplicate keys. :func:`loads_strict` gives exactly the same
results much faster: it parses with the standard library's C scanner alone
and then proves, with a few bulk passes, that
:func:`~intoto_policy.model._json.loads` would have accepted the document and
produced the same value. Whenever the proof does not go through (duplicate
keys, a lone-surrogate or colon escape, too deep nesting, anything
unexpected) it hands the bytes to the strict loader, which returns the value
or raises the proper :class:`~intoto_policy.JSONError`.

The proofs for duplicate keys, made for each value the C scanner parsed
(its *region* of the text):

* Without a backslash in the region, every double quote delimits a string,
  so the region holds ``count('"') / 2`` string tokens: one per object member
  (its key) plus one per string value. The decoded tree has exactly as many
  keys and string values unless an object lost a member (and with it its
  key) to a duplicate key, so the counts agree exactly when there was none.
* Otherwise colons are counted. A colon outside a string separates exactly
  one object member, so ``colons in the text == members in the tree + colons
  inside strings`` holds exactly when no member was lost. Colons inside
  strings are counted on the decoded strings: a literal colon decodes to one
  colon, and the only escape that decodes to a colon (``\\u003a``) sends the
  document to the strict loader instead. UTF-8 continuation bytes are never
  ``0x3a``, so counting the characters of the text is exact.

Sharing between documents: the artifact maps of a supply chain repeat
(a step's materials are usually the previous step's products, and files a
step does not change are among both its materials and its products). The
first levels of a document's root object are walked member by member in
Python, and a :class:`ParseCache` remembers the large values parsed there by
their exact text: a later value whose text is character for character the
same is not parsed again, it *is* the value parsed before. That is exact:
the scanner is deterministic and reads an object or array value only up to
its closing bracket, so equal text at a value's position gives an equal
value ending after that text; the cached value was proven as above, and the
text around it is walked and checked as usual. Shared values are never
modified (verification only reads documents).

DSSE envelopes (:func:`read_document`): the payload's base64 text is cut out
of the file's bytes and decoded from there, the rest of the envelope parsed
on its own (see :func:`_split_envelope` for why that is exact); the
signatures are checked over the PAE bytes before the payload is parsed, and
large files are hashed on another thread meanwhile. No text copy of the
base64 payload is ever made, and the PAE bytes are dropped before the
payload's objects are built.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pybase64

from .._errors import InputError, JSONError, ValidationError, excerpt
from ..model._json import JSONLimits, loads
from ..sources._files import read_file

if TYPE_CHECKING:
    from ._sig import Functionary

__all__ = [
    "ENVELOPE_PAYLOAD_TYPE",
    "LINK_LIMITS",
    "Document",
    "ParseCache",
    "loads_strict",
    "parse_document",
    "read_document",
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
_RISKY_ESCAPE: Final = re.compile(r"\\u(?:[dD][89a-fA-F]|003[aA])")
_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")

#: Objects this deep (the root is 0) are walked member by member, so that
#: their members can be found in the cache; deeper values are scanned whole.
_WALK_DEPTH: Final = 2
#: An object with more members than this is scanned whole instead of walked.
_WALK_MEMBERS: Final = 64
#: Values whose text is at least this long are remembered in the cache.
_MIN_REGION: Final = 4096
#: Cached values are looked up by this many characters of their text.
_KEY_CHARS: Final = 64


class _FallbackError(Exception):
    """The fast path cannot vouch for this document."""


def _reject_constant(name: str) -> Any:
    raise _FallbackError(name)


def _checked_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # infinite (NaN cannot come from a literal)
        raise _FallbackError(text)
    return value


# The standard library's C scanner: a value at an index -> (value, end).
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_constant=_reject_constant, parse_float=_checked_float
).scan_once
# A string's characters after its opening quote -> (string, end); strict.
_SCANSTRING: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity
class _Region:
    text: str
    value: Any
    #: Containers of the value were checked to be less than this deep.
    limit: int


class ParseCache:
    """Large values already parsed during one verification, by their exact text.

    Also remembers which values were already validated (see
    :meth:`validated`) and their canonical encodings (``canonical``, for
    :func:`~intoto_policy.crypto._canonical.encode_canonical`), so that a value
    shared by several documents is looked at once. The cache holds a
    reference to every value it knows, so identities stay unique.

    Args:
        max_chars: How much text to keep, in characters; the oldest
            regions are forgotten first.
    """

    __slots__ = ("_chars", "_max_chars", "_order", "_regions", "_validated", "canonical")

    def __init__(self, max_chars: int = 64 * 1024 * 1024) -> None:
        self._regions: dict[str, list[_Region]] = {}
        self._order: deque[_Region] = deque()
        self._chars = 0
        self._max_chars = max_chars
        self._validated: dict[tuple[str, int], Any] = {}
        #: Canonical encodings of large values, by id (see encode_canonical).
        self.canonical: dict[int, tuple[Any, str]] = {}

    def lookup(self, text: str, start: int, limit: int) -> tuple[Any, int] | None:
        """The cached value whose text starts at ``start``, and where that text ends."""
        bucket = self._regions.get(text[start : start + _KEY_CHARS])
        if bucket:
            for region in bucket:
                if region.limit <= limit and text.startswith(region.text, start):
                    return region.value, start + len(region.text)
        return None

    def record(self, text: str, start: int, end: int, value: Any, limit: int) -> None:
        """Remember a proven value parsed from ``text[start:end]``."""
        size = end - start
        if size < _MIN_REGION or size > self._max_chars:
            return
        region = _Region(text[start:end], value, limit)
        bucket = self._regions.setdefault(region.text[:_KEY_CHARS], [])
        bucket.insert(0, region)
        if len(bucket) > 4:
            self._forget(bucket[-1])
        self._order.append(region)
        self._chars += size
        while self._chars > self._max_chars:
            self._forget(self._order[0])

    def _forget(self, region: _Region) -> None:
        bucket = self._regions[region.text[:_KEY_CHARS]]
        bucket.remove(region)
        if not bucket:
            del self._regions[region.text[:_KEY_CHARS]]
        self._order.remove(region)
        self._chars -= len(region.text)

    def validated(self, kind: str, value: Any, check: Callable[[Any], None]) -> None:
        """Run ``check(value)`` unless it already passed for this very object."""
        key = (kind, id(value))
        if key in self._validated:
            return
        check(value)
        self._validated[key] = value


def loads_strict(
    data: bytes | str,
    *,
    source: str | None = None,
    limits: JSONLimits,
    cache: ParseCache | None = None,
) -> Any:
    """Decode untrusted JSON exactly as :func:`intoto_policy.model._json.loads` does, faster.

    Args:
        data: The document: UTF-8 bytes, or text decoded from UTF-8 bytes.
        source: Its name, for error messages.
        limits: Size and depth bounds.
        cache: Values parsed before in the same verification, to share.

    Raises:
        JSONError: What :func:`~intoto_policy.model._json.loads` raises for ``data``.
    """
    try:
        return _fast(_text(data, limits), limits, cache)
    except (_FallbackError, ValueError, RecursionError, TypeError, StopIteration):
        return loads(data, source=source, limits=limits)


def _text(data: bytes | str, limits: JSONLimits) -> str:
    """The text of a document within the size limit."""
    if isinstance(data, str):
        size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise _FallbackError
        return data
    if len(data) > limits.max_bytes:
        raise _FallbackError
    return data.decode("utf-8")  # UnicodeDecodeError is a ValueError


def _skip(text: str, pos: int) -> int:
    """The position of the first non-whitespace character at or after ``pos``."""
    match = _WHITESPACE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _fast(text: str, limits: JSONLimits, cache: ParseCache | None) -> Any:
    if text.startswith("\ufeff"):
        raise _FallbackError
    if "\\" in text and _RISKY_ESCAPE.search(text):  # one character: found by memchr
        raise _FallbackError
    value, end = _Walk(text, limits.max_depth, cache).value(_skip(text, 0), 0)
    if _skip(text, end) != len(text):
        raise _FallbackError
    return value


class _Walk:
    """One document: its first levels walked member by member, deeper values scanned."""

    __slots__ = ("cache", "max_depth", "text")

    def __init__(self, text: str, max_depth: int, cache: ParseCache | None) -> None:
        self.text = text
        self.max_depth = max_depth
        self.cache = cache

    def value(self, start: int, depth: int) -> tuple[Any, int]:
        text, cache = self.text, self.cache
        opening = text[start : start + 1]
        if opening in ("{", "["):
            limit = self.max_depth - depth
            if cache is not None and depth:  # a root is never shared
                hit = cache.lookup(text, start, limit)
                if hit is not None:
                    return hit
            if opening == "{" and depth < _WALK_DEPTH:
                walked = self.members(start, depth)
                if walked is not None:
                    return walked
            value, end = _SCAN(text, start)
            _prove(text, start, end, value, limit)
            if cache is not None and depth:
                cache.record(text, start, end, value, limit)
            return value, end
        return _SCAN(text, start)  # a scalar: nothing to prove

    def members(self, start: int, depth: int) -> tuple[dict[str, Any], int] | None:
        """Walk the object at ``start``; ``None`` if it has too many members to walk."""
        if depth >= self.max_depth:
            raise _FallbackError
        text = self.text
        pos = _skip(text, start + 1)
        out: dict[str, Any] = {}
        if text.startswith("}", pos):
            return out, pos + 1
        while True:
            if not text.startswith('"', pos):
                raise _FallbackError
            key, pos = _SCANSTRING(text, pos + 1)
            pos = _skip(text, pos)
            if not text.startswith(":", pos):
                raise _FallbackError
            pos = _skip(text, pos + 1)
            value, pos = self.value(pos, depth + 1)
            if key in out:
                raise _FallbackError
            out[key] = value
            pos = _skip(text, pos)
            if text.startswith("}", pos):
                return out, pos + 1
            if not text.startswith(",", pos):
                raise _FallbackError
            if len(out) >= _WALK_MEMBERS:
                return None
            pos = _skip(text, pos + 1)


def _prove(text: str, start: int, end: int, value: Any, limit: int) -> None:
    """Prove that the container parsed from ``text[start:end]`` lost no member and is not too deep."""
    if text.find("\\", start, end) < 0:
        if text.count('"', start, end) != 2 * _count_strings(value, limit):
            raise _FallbackError
    else:
        members, string_colons = _census(value, limit)
        if text.count(":", start, end) != members + string_colons:
            raise _FallbackError


def _count_strings(value: Any, limit: int) -> int:
    """Object keys plus string values in a decoded tree; checks the depth."""
    strings = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= limit:
            raise _FallbackError
        if isinstance(item, dict):
            strings += len(item)
            values = list(item.values())
        else:
            values = item
        if len(values) > 16:
            # Bulk path for the big maps of a link: every value a string
            # (a digest set), or every value an object of strings (path ->
            # digest set).
            kinds = set(map(type, values))
            if kinds == {str}:
                strings += len(values)
                continue
            if kinds == {dict} and depth + 1 < limit:
                inner = list(chain.from_iterable(map(dict.values, values)))
                if not inner or set(map(type, inner)) == {str}:
                    strings += 2 * len(inner)
                    continue
        for sub in values:
            if isinstance(sub, str):
                strings += 1
            elif isinstance(sub, (dict, list)):
                stack.append((sub, depth + 1))
    return strings


def _count_colons(strings: Any) -> int:
    # Joining first is much faster than counting string by string.
    return "\n".join(strings).count(":")


def _census(value: Any, limit: int) -> tuple[int, int]:
    """(object members, colons inside strings) of a decoded tree; checks the depth."""
    members = 0
    colons = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            colons += item.count(":")
            continue
        if depth >= limit:
            raise _FallbackError
        if isinstance(item, dict):
            members += len(item)
            colons += _count_colons(item)
            values = list(item.values())
        else:
            values = item
        if len(values) > 16 and depth + 2 < limit:
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
        InputError: The file is larger than ``limits.max_bytes``, or is
            not a regular file (a pipe, socket or device).
    """
    try:
        path.stat()
    except OSError:
        return None
    # A pipe, socket or device would block forever: refused, not "no link".
    return read_file(path, limits)


def read_required(path: Path, limits: JSONLimits) -> bytes:
    """Read a file that must exist.

    Raises:
        InputError: It cannot be read, or is larger than ``limits.max_bytes``.
    """
    return read_file(path, limits)


@dataclass(slots=True)
class Document:
    """A classic in-toto document as read: its envelope and its payload.

    Attributes:
        format: ``"metablock"`` or ``"dsse"``.
        payload: The decoded ``signed`` object (metablock) or payload JSON (DSSE).
        signatures: The signature dicts as they appear in the file.
        signed_bytes: For DSSE, the PAE bytes the signatures are over (a
            metablock's bytes are its canonical encoding, computed on demand).
            ``None`` once no longer needed.
        digest: sha256 of the file bytes.
        source: Where it was read.
        cache: The verification's parse cache, if any.
    """

    format: str
    payload: Mapping[str, Any]
    signatures: list[Any]
    signed_bytes: bytes | bytearray | None
    digest: str
    source: str
    cache: ParseCache | None = None
    #: Canonical encodings computed for signature checks ("written",
    #: "normalized"), so that each is computed at most once.
    canonical: dict[str, bytes | None] = field(default_factory=dict)
    #: DSSE signature checks made, by functionary (identity), with outcome.
    checked: list[tuple[Functionary, bool]] = field(default_factory=list)

    @property
    def type(self) -> str:
        """The payload's ``_type`` (``link`` or ``layout``), or ``""``."""
        value = self.payload.get("_type")
        return value if isinstance(value, str) else ""


def _pae_header(payload_type: str, length: int) -> bytes:
    ptype = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d " % (len(ptype), ptype, length)


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    try:
        # URL-safe or unpadded, as some signers write it; still validated
        # (urlsafe_b64decode alone would drop any character outside the alphabet).
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not base64") from None


def parse_document(
    data: bytes,
    *,
    source: str,
    limits: JSONLimits = LINK_LIMITS,
    cache: ParseCache | None = None,
    presign: Callable[[Document], None] | None = None,
) -> Document:
    """Parse a metablock or a DSSE envelope carrying a classic link or layout.

    Args:
        data: The file's bytes.
        source: Where they were read.
        limits: Size and depth bounds.
        cache: Values parsed before in the same verification, to share.
        presign: For a DSSE envelope, called with the document once its
            signed bytes are known and before its payload is parsed (its
            ``payload`` is still empty then), to check signatures over the
            exact bytes; the signed bytes are dropped afterwards.

    Raises:
        JSONError: Not acceptable JSON (envelope or payload).
        ValidationError: Neither a metablock nor an in-toto DSSE envelope, or
            the payload is not a JSON object.
    """
    digest = hashlib.sha256(data).hexdigest()
    doc = loads_strict(data, source=source, limits=limits, cache=cache)
    return _interpret(doc, lambda: digest, source, limits, cache, presign)


def read_document(
    path: Path,
    *,
    limits: JSONLimits = LINK_LIMITS,
    cache: ParseCache | None = None,
    presign: Callable[[Document], None] | None = None,
) -> Document | None:
    """Read and parse a document (see :func:`parse_document`); ``None`` if unreadable.

    Unlike reading the file and calling :func:`parse_document`, no copy of
    the file's bytes outlives the parse of its JSON.

    Raises:
        InputError: The file is too large, or as :func:`parse_document`.
    """
    data = read_optional(path, limits)
    if data is None:
        return None
    digest = _sha256_soon(data)
    source = str(path)
    split = _split_envelope(data, limits)
    if split is not None:
        envelope, signed = split
        del data, split
        return _interpret(envelope, digest, source, limits, cache, presign, signed)
    try:
        text: bytes | str = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data  # the strict loader names the offending byte
    del data
    doc = loads_strict(text, source=source, limits=limits, cache=cache)
    del text
    return _interpret(doc, digest, source, limits, cache, presign)


#: Files at least this large are hashed on another thread (hashlib releases
#: the GIL), while this one decodes them.
_HASH_ASIDE: Final = 1024 * 1024


def _sha256_soon(data: bytes) -> Callable[[], str]:
    """The hex sha256 of ``data``, when asked for; large inputs are hashed meanwhile."""
    if len(data) < _HASH_ASIDE:
        digest = hashlib.sha256(data).hexdigest()
        return lambda: digest
    import threading  # noqa: PLC0415 - only for large files

    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(hashlib.sha256(data).hexdigest()), daemon=True
    )
    worker.start()

    def join() -> str:
        worker.join()
        if not result:
            raise InputError("could not compute the file's sha256")
        return result[0]

    return join


# In the bytes of a DSSE envelope: its payload member, up to the opening quote.
_PAYLOAD_MEMBER: Final = re.compile(rb'"payload"[ \t\n\r]*:[ \t\n\r]*"')
_MARKER: Final = b'"\\u0000"'


def _split_envelope(
    data: bytes, limits: JSONLimits
) -> tuple[dict[str, Any], tuple[bytearray, int]] | None:
    """A DSSE in-toto envelope with a large payload, parsed without a copy of the payload's text.

    Returns the envelope without its ``payload`` member's value, and the
    PAE bytes its signatures are over with the size of their header (see
    :func:`_pae_from_base64`), or
    ``None`` when this shortcut does not apply (the caller then parses
    ``data`` as usual, and reports any problem).

    The payload's text is cut out of ``data`` and replaced by the marker
    ``"\\u0000"``, and the (small) rest is parsed strictly. That is exact:
    ``data`` has no backslash, so the marker is the only ``\\u0000`` of the
    stub and the only string that can decode to U+0000; if the stub's
    ``payload`` member is that string, the marker stood where a value was
    expected, and ``data`` has there a complete string token (it ends at the
    first double quote, and strict base64 decoding proves that it holds
    only base64 characters: no control character, backslash or non-ASCII).
    So ``data`` parses to the stub's value with that string as ``payload``.
    """
    if len(data) > limits.max_bytes or b"\\" in data:
        return None
    found = _PAYLOAD_MEMBER.search(data)
    if found is None:
        return None
    start = found.end()
    end = data.find(b'"', start)
    if end - start < _MIN_REGION:
        return None
    try:
        envelope = loads(data[: start - 1] + _MARKER + data[end + 1 :], limits=limits)
    except JSONError:
        return None
    if not isinstance(envelope, dict) or envelope.get("payload") != "\x00":
        return None
    if envelope.get("payloadType") != ENVELOPE_PAYLOAD_TYPE:
        return None
    signed = _pae_from_base64(ENVELOPE_PAYLOAD_TYPE, data, start, end)
    if signed is None:
        return None
    del envelope["payload"]
    return envelope, signed


#: Base64 characters decoded at a time by :func:`_pae_from_base64`: a
#: multiple of 4 whose output stays under glibc's initial mmap threshold
#: (128 KiB), so the one chunk buffer is reused rather than mapped afresh.
_B64_CHUNK: Final = 128 * 1024


def _pae_from_base64(
    payload_type: str, data: bytes, start: int, end: int
) -> tuple[bytearray, int] | None:
    """The PAE bytes for the base64 payload ``data[start:end]`` and their header's size.

    ``None`` if the payload is not strict base64.

    Equal to ``_pae_header(...) + a2b_base64(data[start:end], strict_mode=True)``
    and accepted exactly when that is, without the payload's own copy: the
    text is decoded chunk by chunk into the one PAE buffer. Exact because
    strict base64 has padding only in its last two characters and a length
    divisible by 4: each chunk (a multiple of 4 characters, padding-free but
    for the last) decodes on its own to the bytes it contributes to the
    whole, and any text the whole would refuse is refused here.

    The chunks are decoded by pybase64 (SIMD; the standard alphabet only,
    ``validate=True`` refuses any other character), many times faster than
    binascii on the megabytes of a large link; ``tests/test_classic_pae.py``
    holds both decoders to the same answers.
    """
    length = end - start
    if length % 4:
        return None
    pad = data.find(b"=", start, end)
    if 0 <= pad < end - 2:
        return None  # padding before the end: not strict base64
    size = length // 4 * 3 - (end - pad if pad >= 0 else 0)
    header = _pae_header(payload_type, size)
    signed = bytearray(len(header) + size)
    signed[: len(header)] = header
    view = memoryview(data)
    pos = len(header)
    try:
        for chunk_start in range(start, end, _B64_CHUNK):
            chunk = pybase64.b64decode(
                view[chunk_start : min(chunk_start + _B64_CHUNK, end)], validate=True
            )
            if pos + len(chunk) > len(signed):
                return None  # cannot happen for strict base64; never grow the buffer
            signed[pos : pos + len(chunk)] = chunk
            pos += len(chunk)
    except (binascii.Error, ValueError):
        return None
    return (signed, len(header)) if pos == len(signed) else None


def _interpret(
    doc: Any,
    digest: Callable[[], str],
    source: str,
    limits: JSONLimits,
    cache: ParseCache | None,
    presign: Callable[[Document], None] | None,
    decoded: tuple[bytearray, int] | None = None,
) -> Document:
    """The document in a parsed envelope (``decoded``: its PAE bytes and header size, made already)."""
    if not isinstance(doc, dict):
        raise ValidationError("not a metablock or DSSE envelope (not a JSON object)", source=source)
    if decoded is not None or "payload" in doc:
        ptype = doc.get("payloadType")
        if ptype != ENVELOPE_PAYLOAD_TYPE:
            raise ValidationError(
                f"DSSE payloadType is {excerpt(ptype)}, not {excerpt(ENVELOPE_PAYLOAD_TYPE)}",
                source=source,
            )
        sigs = doc.get("signatures")
        signed: bytes | bytearray
        if decoded is None:
            encoded = doc["payload"]
            del doc  # with it the text of the payload, once decoded
            payload = _b64(encoded, "payload")
            del encoded
            header = _pae_header(ptype, len(payload))
            header_size = len(header)
            signed = header + payload
            del payload
        else:
            (signed, header_size), decoded = decoded, None
        if not isinstance(sigs, list):
            raise ValidationError("DSSE signatures must be a list", source=source)
        result = Document("dsse", {}, sigs, signed, digest(), source, cache)
        if presign is not None:
            # The signatures are checked over the exact bytes first, so that
            # only one copy of the payload is alive while it is parsed.
            presign(result)
            result.signed_bytes = None
        try:
            text: bytes | str = str(memoryview(signed)[header_size:], "utf-8")
        except UnicodeDecodeError:
            text = bytes(signed[header_size:])  # the strict loader names the offending byte
        if presign is not None:
            del signed
        try:
            body = loads_strict(text, source=f"{source} (payload)", limits=limits, cache=cache)
        except JSONError as exc:
            raise exc.with_source(source) from None
        if not isinstance(body, dict):
            raise ValidationError("DSSE payload is not a JSON object", source=source)
        result.payload = body
        return result
    if "signed" in doc:
        signed_obj = doc["signed"]
        sigs = doc.get("signatures", [])
        if not isinstance(signed_obj, dict):
            raise ValidationError("metablock 'signed' must be an object", source=source)
        if not isinstance(sigs, list):
            raise ValidationError("metablock 'signatures' must be a list", source=source)
        return Document("metablock", signed_obj, sigs, None, digest(), source, cache)
    raise ValidationError(
        "neither a metablock ('signed') nor a DSSE envelope ('payload')", source=source
    )
