"""Canonical JSON: the byte form a classic in-toto metablock signature covers.

The dialect is the one securesystemslib's ``encode_canonical`` writes (OLPC
canonical JSON): object keys sorted by code point, no whitespace, strings
escaped only for backslash and double quote (every other character, control
characters and non-ASCII included, is written raw), integers in decimal,
``true``/``false``/``null``; floats are not allowed. The result is UTF-8.

:func:`encode_canonical` is byte-identical to
``securesystemslib.formats.encode_canonical(obj).encode("utf-8")`` for
every value that function accepts and that is made of ``dict`` (with ``str``
keys), ``list``, ``tuple``, ``str``, ``int``, ``bool`` and ``None``.
Subclasses of these are encoded by their built-in value (which is what
securesystemslib writes too, unless a subclass overrides ``__str__``,
``replace`` or ``items``). Everything securesystemslib rejects is rejected
here too, with :class:`~intoto_policy._errors.ValidationError`, and so are
lone surrogates, which securesystemslib lets through to a failing
``.encode("utf-8")``.

Why it is fast (a link may list 100,000 artifacts, and the pure-Python
reference spends several microseconds on each): the output is collected as
fragments and joined once; objects are walked in insertion order (which is
memory order) and their members put into key order afterwards, which a
document parsed from canonical JSON, already in key order, never needs; and
the two shapes that make up nearly all of a link, an object of strings (a
digest set) and an object of one-member objects of strings (an artifact
map), are written by one comprehension without escaping, then checked by
counting double quotes (see ``_plain_body``), falling back to the general
walk when a string needed escaping.

Why it is exact: the only transformations are code-point sorting of keys
(the order securesystemslib's ``sorted(items())`` gives, as keys are
unique), the two escapes, ``int.__repr__`` (what ``str`` gives for an
``int``) and the three literals. The tests compare with securesystemslib on
generated trees including control characters, quotes, backslashes and
astral-plane keys, and on every code point.
"""

from __future__ import annotations

from typing import Any, Final

from .._errors import ValidationError

__all__ = ["CanonicalMemo", "encode_canonical"]

#: Encodings of large objects already encoded, by ``id``: the object itself
#: (which keeps the id from being reused) and its canonical text.
CanonicalMemo = dict[int, tuple[Any, str]]

#: Objects with at least this many members are remembered in a memo.
_MEMO_MIN: Final = 1024


class _UnencodableError(Exception):
    """Raised inside the encoder; turned into a located ValidationError."""


class _NotPlainError(Exception):
    """Raised inside the plain-object shortcut when it does not apply."""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _text(value: Any) -> str:
    """A string's characters, escaped for a canonical string literal (without quotes)."""
    if type(value) is str:
        text: str = value
    elif isinstance(value, str):
        text = str.__str__(value)
    else:
        raise _UnencodableError
    if '"' in text or "\\" in text:
        return _escape(text)
    return text


def _encode_into(value: Any, out: list[str], memo: CanonicalMemo | None = None) -> None:
    kind = type(value)
    if kind is str:
        if '"' in value or "\\" in value:
            value = _escape(value)
        out.append(f'"{value}"')
    elif kind is dict:
        _encode_dict_into(value, out, memo)
    elif kind is list or kind is tuple:
        _encode_array_into(value, out, memo)
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif value is None:
        out.append("null")
    # Subclasses of the JSON types are encoded by their built-in value.
    elif isinstance(value, str):
        out.append(f'"{_text(value)}"')
    elif isinstance(value, dict):
        # A copy: it is not remembered in the memo (it would not be met again).
        _encode_dict_into(dict(dict.items(value)), out)
    elif isinstance(value, (list, tuple)):
        _encode_array_into(value, out, memo)
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append(int.__repr__(value))
    else:
        raise _UnencodableError


def _encode_array_into(
    items: list[Any] | tuple[Any, ...], out: list[str], memo: CanonicalMemo | None = None
) -> None:
    if not items:
        out.append("[]")
        return
    out.append("[")
    for item in items:
        _encode_into(item, out, memo)
        out.append(",")
    out[-1] = "]"


def _encode_dict_into(
    obj: dict[Any, Any], out: list[str], memo: CanonicalMemo | None = None
) -> None:
    if memo is not None and len(obj) >= _MEMO_MIN:
        known = memo.get(id(obj))
        if known is not None and known[0] is obj:
            out.append(known[1])
            return
        # Encoded on its own and remembered.
        own: list[str] = []
        _encode_members_into(obj, own, memo)
        text = "".join(own)
        memo[id(obj)] = (obj, text)
        out.append(text)
        return
    _encode_members_into(obj, out, memo)


def _encode_members_into(
    obj: dict[Any, Any], out: list[str], memo: CanonicalMemo | None = None
) -> None:
    size = len(obj)
    if size == 0:
        out.append("{}")
        return
    if size == 1:
        [(key, value)] = obj.items()
        if type(value) is str:
            out.append(f'{{"{_text(key)}":"{_text(value)}"}}')
        else:
            out.append(f'{{"{_text(key)}":')
            _encode_into(value, out, memo)
            out.append("}")
        return
    keys = list(obj)
    if set(map(type, keys)) != {str}:
        if not all(isinstance(key, str) for key in keys):
            raise _UnencodableError
        keys = [str.__str__(key) for key in keys]
    values = list(obj.values())
    # Members are visited in insertion order (which is memory order) and put
    # into key order only if the keys are not sorted already. Keys are
    # unique, so this is the order securesystemslib's sorted(obj.items())
    # produces.
    in_order = sorted(keys)
    order = None
    if in_order != keys:
        position = {key: index for index, key in enumerate(keys)}
        order = [position[key] for key in in_order]
    body = _plain_body(keys, values, order)
    if body is not None:
        out.append("{")
        out.append(body)
        out.append("}")
        return
    joined = "".join(keys)
    if '"' in joined or "\\" in joined:
        keys = [_escape(key) for key in keys]
    if order is not None:
        keys = [keys[index] for index in order]
        values = [values[index] for index in order]
    out.append("{")
    for key, value in zip(keys, values, strict=True):
        out.append(f'"{key}":')
        _encode_into(value, out, memo)
        out.append(",")
    out[-1] = "}"


def _plain_body(keys: list[str], values: list[Any], order: list[int] | None) -> str | None:
    """The members of a flat object of strings, or None where this shortcut does not apply.

    Two shapes are common enough to deserve it: every value a string (a
    digest set) and every value an object of strings (an artifact map, whose
    digest sets nearly always have one member). Members are written without
    escaping and the result is checked afterwards: written this way, each
    string contributes exactly two double quotes unless it holds one itself,
    so the expected number of quotes and no backslash anywhere prove that no
    string needed escaping, which makes the unescaped text the canonical one.
    """
    value_kinds = set(map(type, values))
    if value_kinds == {str}:
        members = [f'"{key}":"{value}"' for key, value in zip(keys, values, strict=True)]
        strings = 2 * len(members)
    elif value_kinds == {dict}:
        sizes = list(map(len, values))
        if set(sizes) == {1}:
            members = [
                f'"{key}":{{"{inner_key}":"{inner_value}"}}'
                for key, value in zip(keys, values, strict=True)
                for inner_key, inner_value in value.items()
                if type(inner_key) is str and type(inner_value) is str
            ]
            if len(members) != len(keys):
                return None
        else:
            try:
                members = [
                    f'"{key}":{_flat_object(value)}'
                    for key, value in zip(keys, values, strict=True)
                ]
            except _NotPlainError:
                return None
        strings = len(members) + 2 * sum(sizes)
    else:
        return None
    if order is not None:
        members = [members[index] for index in order]
    body = ",".join(members)
    if "\\" in body or body.count('"') != 2 * strings:
        return None
    return body


def _flat_object(obj: dict[Any, Any]) -> str:
    """An object of strings, written without escaping (see _plain_body)."""
    try:
        items = sorted(obj.items())
    except TypeError:  # keys of mixed types: not plain
        raise _NotPlainError from None
    members = [
        f'"{key}":"{value}"' for key, value in items if type(key) is str and type(value) is str
    ]
    if len(members) != len(obj):
        raise _NotPlainError
    return "{" + ",".join(members) + "}"


def encode_canonical(obj: Any, *, memo: CanonicalMemo | None = None) -> bytes:
    """Encode a JSON value as canonical JSON bytes (UTF-8).

    Args:
        obj: A tree of ``dict`` (``str`` keys), ``list``, ``tuple``, ``str``,
            ``int``, ``bool`` and ``None``.
        memo: Remembers the encodings of large ``dict`` objects by identity,
            for trees that share them (the same artifact map in several
            links). Only for objects that are not modified while the memo is
            in use.

    Returns:
        The canonical encoding, identical to securesystemslib's.

    Raises:
        ValidationError: ``obj`` holds a float or another type canonical JSON
            cannot express, a non-string object key, a string with a lone
            surrogate, an integer too large to print, or nesting too deep
            (or circular) to walk. ``path`` names the offending place.
    """
    out: list[str] = []
    try:
        _encode_into(obj, out, memo)
        return "".join(out).encode("utf-8")
    except (_UnencodableError, UnicodeEncodeError, ValueError, RecursionError):
        pass
    problem, path = _locate_problem(obj)
    raise ValidationError(problem, path=path)


# Where a value sits, as a linked list from the value up to the root, so that
# walking a deep tree does not build ever longer path strings.
_Trail = tuple["_Trail", str] | None


def _render(trail: _Trail) -> str:
    segments: list[str] = []
    while trail is not None:
        trail, segment = trail
        segments.append(segment)
    path = "".join(reversed(segments))
    return path[1:] if path.startswith(".") else path


def _locate_problem(obj: Any) -> tuple[str, str]:
    """Find a value canonical JSON cannot express, for the error message."""
    # Iterative, so that it also works where the recursive encoder ran out of
    # stack. Containers stay in `open_ids` while their members are walked,
    # which tells a cycle from a value that is merely shared.
    open_ids: set[int] = set()
    stack: list[tuple[Any, _Trail, bool]] = [(obj, None, False)]
    while stack:
        value, trail, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(value))
            continue
        problem = _problem_with(value)
        if problem:
            return problem, _render(trail)
        if isinstance(value, (dict, list, tuple)):
            if id(value) in open_ids:
                return "circular reference", _render(trail)
            open_ids.add(id(value))
            stack.append((value, trail, True))
            if isinstance(value, dict):
                children: list[tuple[Any, _Trail, bool]] = []
                for key, item in dict.items(value):
                    if not isinstance(key, str):
                        return f"object key {key!r} is not a string", _render(trail)
                    if not _is_scalar_text(key):
                        return (
                            "object key contains a lone surrogate (not valid Unicode)",
                            _render(trail),
                        )
                    children.append((item, (trail, f".{key}"), False))
            else:
                children = [(item, (trail, f"[{i}]"), False) for i, item in enumerate(value)]
            stack.extend(reversed(children))
    return "nesting too deep to encode", ""


def _problem_with(value: Any) -> str:
    """What is wrong with a value itself (not its members), or ``""``."""
    if isinstance(value, str):
        if not _is_scalar_text(value):
            return "string contains a lone surrogate (not valid Unicode)"
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            int.__repr__(value)
        except ValueError:
            return "integer has too many digits to encode"
    elif isinstance(value, float):
        return "floats are not allowed in canonical JSON"
    elif not (value is None or isinstance(value, (bool, dict, list, tuple))):
        return f"cannot encode a value of type {type(value).__name__}"
    return ""


def _is_scalar_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
