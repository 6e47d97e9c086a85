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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .._errors import JSONError, SchemaError, excerpt

__all__ = [
    "DEFAULT_LIMITS",
    "LAYOUT_LIMITS",
    "MAX_LAYOUT_KEY_CHARS",
    "MAX_LAYOUT_NUMBER_CHARS",
    "MAX_LAYOUT_VALUES",
    "PARAMS_LIMITS",
    "TRUSTED_ROOT_LIMITS",
    "JSONLimits",
    "LineMap",
    "LineNode",
    "json_line_map",
    "loads",
    "within_layout_bounds",
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


# Layout bounds and line maps. They live here, not with the YAML loader, so
# that telling a classic layout from an attestation layout (which checks the
# bounds before decoding) does not import YAML.

#: Most values (objects, arrays, strings, numbers...) a layout may hold,
#: containers included: real
#: layouts have hundreds; the bound keeps line mapping and schema validation of
#: a hostile one well under a second.
MAX_LAYOUT_VALUES: Final = 100_000


#: Longest number (digits, sign, point and exponent) a layout may hold. Real
#: layouts hold versions and thresholds; the bound keeps a hostile number
#: from costing super-linear time to convert (Python's own cap is 4,300).
MAX_LAYOUT_NUMBER_CHARS: Final = 100

#: Longest mapping key a layout may hold, in characters. Real keys are field
#: names, functionary ids and key ids (under 100 characters).
MAX_LAYOUT_KEY_CHARS: Final = 1024


class LineNode:
    """One value of a layout in a :class:`LineMap`: its line and children."""

    __slots__ = ("kids", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self.kids: dict[str, LineNode] | list[LineNode] | None = None


class LineMap(Mapping[str, int]):
    """JSON pointer -> 1-based line of each value of a layout document.

    Stored as a tree shaped like the document (one node per value, each key
    held once), not as one pointer string per value: pointers repeat every
    key on their path, so a deep layout with long keys and many values
    would need memory far above its own size. Pointers are built only when
    the map is iterated.
    """

    __slots__ = ("_root", "_size")

    def __init__(self, root: LineNode | None = None, size: int = 0) -> None:
        self._root = root
        self._size = size

    def _find(self, pointer: str) -> LineNode | None:
        node = self._root
        if node is None or not pointer:
            return node
        if not pointer.startswith("/"):
            return None
        for token in pointer[1:].split("/"):
            kids = node.kids
            if isinstance(kids, dict):
                found = kids.get(token.replace("~1", "/").replace("~0", "~"))
            elif isinstance(kids, list) and _is_index(token) and int(token) < len(kids):
                found = kids[int(token)]
            else:
                return None
            if found is None:
                return None
            node = found
        return node

    def __getitem__(self, pointer: str) -> int:
        node = self._find(pointer) if isinstance(pointer, str) else None
        if node is None:
            raise KeyError(pointer)
        return node.line

    def __iter__(self) -> Iterator[str]:
        if self._root is None:
            return
        stack: list[tuple[str, LineNode]] = [("", self._root)]
        while stack:
            pointer, node = stack.pop()
            yield pointer
            kids = node.kids
            items = kids.items() if isinstance(kids, dict) else enumerate(kids or ())
            stack.extend(
                (f"{pointer}/{escape_pointer(str(k))}", v) for k, v in reversed(list(items))
            )

    def __len__(self) -> int:
        return self._size


def _is_index(text: str) -> bool:
    # A JSON pointer array index: decimal, no leading zero, bounded length.
    return text == "0" or (
        0 < len(text) <= 12 and text.isascii() and text.isdigit() and text[0] != "0"
    )


def key_too_long(key: str) -> str:
    """The message for a key above :data:`MAX_LAYOUT_KEY_CHARS`."""
    return (
        f"a key of {len(key)} characters ({excerpt(key)}) is above the limit of "
        f"{MAX_LAYOUT_KEY_CHARS}"
    )


def escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# Tokens of a JSON text: regular expressions move over whitespace, strings
# and numbers at C speed, so the line map of a large layout costs little
# more than decoding it.
_JSON_SPACE: Final = re.compile(r"[ \t\r\n]*")
_JSON_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_ATOM: Final = re.compile(r"[^,\]}\s]*")


class NotJSONError(Exception):
    """The text is not JSON; :func:`loads` will say why."""


def json_line_map(text: str, max_values: int | None = None) -> LineMap:
    """JSON pointer -> 1-based line of each value in a JSON text.

    Runs before the text is decoded, so that a hostile layout (millions of
    empty arrays, a huge number, a huge key) is refused before any of it is
    built; it walks values iteratively (no recursion) in linear time. Every
    value counts against ``max_values``, containers included.

    Raises:
        SchemaError: The text has more than ``max_values`` values, a key
            longer than :data:`MAX_LAYOUT_KEY_CHARS` or a number longer than
            :data:`MAX_LAYOUT_NUMBER_CHARS`.
        NotJSONError: The text is not JSON (the decoder reports the details).
    """
    pos = 0
    line = 1
    n = len(text)
    count = 0

    def skip() -> None:
        nonlocal pos, line
        end = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if end > pos:
            line += text.count("\n", pos, end)
            pos = end

    def string_end(start: int) -> int:
        match = _JSON_STRING.match(text, start)
        if match is None:
            raise NotJSONError
        return match.end()

    root: LineNode | None = None
    # Stack of (container kind, node, next array index).
    stack: list[tuple[str, LineNode]] = []
    key: str | None = None
    while True:
        skip()
        if pos >= n:
            break
        ch = text[pos]
        if stack and stack[-1][0] == "{" and ch == '"':
            end = string_end(pos)
            try:
                key = json.loads(text[pos:end])
            except ValueError:
                raise NotJSONError from None
            if len(key) > MAX_LAYOUT_KEY_CHARS:
                raise SchemaError(key_too_long(key), line=line)
            pos = end
            skip()
            pos += 1  # the ':'
            skip()
            if pos >= n:
                raise NotJSONError
            ch = text[pos]
        if ch in "]}":
            if not stack:
                raise NotJSONError
            stack.pop()
            pos += 1
            continue
        if ch == ",":
            pos += 1
            continue
        node = LineNode(line)
        count += 1
        if max_values is not None and count > max_values:
            raise SchemaError(too_many_values(), line=line)
        if not stack:
            if root is not None:
                raise NotJSONError
            root = node
        else:
            kids = stack[-1][1].kids
            if isinstance(kids, dict):
                if key is None:
                    raise NotJSONError
                kids[key] = node
                key = None
            else:
                kids.append(node)  # type: ignore[union-attr]
        if ch in "{[":
            node.kids = {} if ch == "{" else []
            stack.append((ch, node))
            pos += 1
        elif ch == '"':
            pos = string_end(pos)
        else:
            end = _JSON_ATOM.match(text, pos).end()  # type: ignore[union-attr]
            if end - pos > MAX_LAYOUT_NUMBER_CHARS:
                raise SchemaError(
                    f"a number of {end - pos} characters is above the limit of "
                    f"{MAX_LAYOUT_NUMBER_CHARS}",
                    line=line,
                )
            pos = end
    return LineMap(root, count)


def within_layout_bounds(data: bytes) -> bool:
    """Whether JSON bytes stay within the layout bounds, checked without decoding.

    The bounds are :data:`MAX_LAYOUT_VALUES` (containers included),
    :data:`MAX_LAYOUT_KEY_CHARS` and :data:`MAX_LAYOUT_NUMBER_CHARS`. Bytes
    that are not JSON are within bounds (the decoder refuses them). For
    sniffing a layout's kind before it is decoded.
    """
    try:
        json_line_map(data.decode("utf-8"), MAX_LAYOUT_VALUES)
    except SchemaError:
        return False
    except (UnicodeDecodeError, NotJSONError):
        return True
    return True


def too_many_values() -> str:
    """The message for a layout above :data:`MAX_LAYOUT_VALUES`."""
    return f"a layout may hold at most {MAX_LAYOUT_VALUES} values"
