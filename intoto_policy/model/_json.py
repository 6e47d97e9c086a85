"""Strict JSON decoding for untrusted input.

Every document intoto_policy reads passes through :func:`loads`, which
rejects what the standard library quietly accepts: duplicate object keys
(two parsers may disagree on which one wins), invalid UTF-8, a byte-order
mark, ``NaN``/``Infinity``, inputs above a size limit and nesting deeper than
a depth limit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from .._errors import JSONError, excerpt

__all__ = [
    "DEFAULT_LIMITS",
    "LAYOUT_LIMITS",
    "PARAMS_LIMITS",
    "TRUSTED_ROOT_LIMITS",
    "JSONLimits",
    "loads",
]


@dataclass(frozen=True, slots=True)
class JSONLimits:
    """Bounds on untrusted JSON input.

    Attributes:
        max_bytes: Largest accepted document, in bytes.
        max_depth: Deepest accepted nesting of arrays and objects.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64


#: Bounds for attestations, bundles, JSON Lines files and predicates: an SBOM
#: predicate can legitimately be tens of megabytes.
DEFAULT_LIMITS: Final = JSONLimits()

#: Bounds for layouts (attestation and classic, YAML or JSON, bare or in an
#: envelope): real layouts are kilobytes; 16 MiB leaves room for generated
#: ones while keeping a hostile one from taking seconds to reject.
LAYOUT_LIMITS: Final = JSONLimits(max_bytes=16 * 1024 * 1024, max_depth=64)

#: Bounds for a ``--params-file`` (a flat object of strings).
PARAMS_LIMITS: Final = JSONLimits(max_bytes=1024 * 1024, max_depth=8)

#: Bounds for a Sigstore ``trusted_root.json`` (the public-good one is ~10 KiB).
TRUSTED_ROOT_LIMITS: Final = JSONLimits(max_bytes=4 * 1024 * 1024, max_depth=32)


def _reject_constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONError(f"duplicate object key {excerpt(key)}")
            seen.add(key)
    return result


def _parse_float(text: str) -> float:
    # A literal too large for a double (1e400) would silently become infinity.
    value = float(text)
    if not math.isfinite(value):
        raise JSONError(f"number {text[:32]} is out of range")
    return value


_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")

_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_reject_constant, parse_float=_parse_float
)


def loads(
    data: bytes | str,
    *,
    source: str | None = None,
    limits: JSONLimits = DEFAULT_LIMITS,
) -> Any:
    """Decode one JSON document from untrusted bytes.

    Args:
        data: The document. ``bytes`` must be UTF-8 without a byte-order mark.
        source: Name of the input (a file path), used in error messages.
        limits: Size and depth bounds.

    Returns:
        The decoded value (dicts, lists, str, int, float, bool, None).

    Raises:
        JSONError: The input is too large, too deep, not UTF-8, has a
            byte-order mark, duplicate keys, NaN/Infinity, or is not JSON.
    """
    raw = data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else data
    try:
        value = _decode(data, raw, limits)
    except JSONError as exc:
        if source:
            exc.with_source(source)
        raise
    return value


def _raw_decode(text: str) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, _skip_ws(text, 0))
    except json.JSONDecodeError as exc:
        raise JSONError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise JSONError("nesting too deep to decode") from None
    except ValueError as exc:  # an integer above Python's digit limit
        raise JSONError(f"number out of range: {exc}") from None


def _decode(data: bytes | str, raw: bytes, limits: JSONLimits) -> Any:
    if len(raw) > limits.max_bytes:
        raise JSONError(f"input is {len(raw)} bytes, above the limit of {limits.max_bytes}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise JSONError("input starts with a UTF-8 byte-order mark")
    try:
        text = raw.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise JSONError(f"invalid UTF-8 at byte {exc.start}") from None
    value, end = _raw_decode(text)
    if text[_skip_ws(text, end) :]:
        raise JSONError("extra data after the JSON document")
    # The tree walk can only find something if the text could nest that deep
    # or contains a surrogate escape; both are cheap to rule out first.
    if raw.count(b"[") + raw.count(b"{") > limits.max_depth or _SURROGATE.search(raw):
        _check_tree(value, limits.max_depth)
    return value


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _check_tree(value: Any, max_depth: int) -> None:
    # One iterative walk enforces the depth bound and rejects lone surrogate
    # escapes ("\ud800"), which json accepts but are not Unicode scalar values.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_str(item)
        elif isinstance(item, dict):
            if depth >= max_depth:
                raise JSONError(f"nesting deeper than {max_depth} levels")
            for key, sub in item.items():
                _check_str(key)
                if isinstance(sub, (str, dict, list)):
                    stack.append((sub, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise JSONError(f"nesting deeper than {max_depth} levels")
            stack.extend((sub, depth + 1) for sub in item)


def _check_str(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONError("string contains a lone surrogate (not valid Unicode)") from None
