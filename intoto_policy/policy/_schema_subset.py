"""A JSON Schema validity check for the keywords the layout schema uses.

Importing ``jsonschema`` costs about 35 ms (it loads ``referencing``,
``attrs``, ``rpds`` and every metaschema), more than the rest of a
verification's start-up. Nearly every layout is valid, and a valid layout
needs a yes, not a list of errors. :func:`compile_schema` builds that yes/no
check for a draft 2020-12 schema that uses only the keywords below, with
jsonschema's semantics (``True`` is not ``1``; ``1`` equals ``1.0``; an
integer-valued float is an integer; ``pattern`` is ``re.search``;
``format`` is an annotation, as jsonschema applies it without a format
checker; ``$ref`` applies beside its sibling keywords). When the answer is
no, the caller asks jsonschema for the errors, so messages do not change.

Fail closed: a schema with any other keyword, a ``$ref`` that is not a
local JSON pointer, or an ``$id`` below the root is refused at compile time
(:class:`UnsupportedSchema`), and the caller then uses jsonschema for every
layout. ``tests/test_schema_subset.py`` checks that both validators give the
same verdict on every layout of the repository, the shared corpus and
generated mutations of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["UnsupportedSchema", "compile_schema", "unique"]

#: Keywords that only annotate: they never make an instance invalid.
_ANNOTATIONS: Final = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "format", "default", "examples"}
)

#: Keywords the check implements.
_ASSERTIONS: Final = frozenset(
    {
        "$ref",
        "type",
        "const",
        "enum",
        "minLength",
        "pattern",
        "minimum",
        "minItems",
        "uniqueItems",
        "items",
        "required",
        "properties",
        "additionalProperties",
        "allOf",
        "anyOf",
        "oneOf",
    }
)

Check = Callable[[Any], bool]


class UnsupportedSchema(Exception):  # noqa: N818 - internal signal, never shown to users
    """The schema uses something this check does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: Final[Mapping[str, Check]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _equal(one: Any, two: Any) -> bool:
    """JSON equality: booleans are not numbers, ``1 == 1.0``, deep for containers."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list | tuple) and isinstance(two, list | tuple):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and _equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return False  # ``one is two`` above covered True/True and False/False
    return bool(one == two)


def _frozen(value: Any) -> Any:
    """A hashable form of a JSON value; equal forms exactly when :func:`_equal` says so."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 == 1.0 and hash(1) == hash(1.0)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list | tuple):
        return ("array", tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _frozen(v)) for k, v in value.items()))
    return ("other", value)


def unique(items: list[Any]) -> bool:
    """Whether no two items are equal (JSON equality), in linear time.

    jsonschema compares every pair when the items cannot be sorted (a
    mixed list), quadratic in the list's length; this hashes instead.
    """
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return len({_frozen(item) for item in items}) == len(items)


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        # $ref targets by pointer, compiled once; filled lazily so that
        # recursive definitions terminate.
        self._refs: dict[str, Check] = {}

    def compile(self, schema: Any, *, at_root: bool = False) -> Check:
        if schema is True:
            return lambda _: True
        if schema is False:
            return lambda _: False
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"a schema must be an object or a boolean: {schema!r}")
        unknown = set(schema) - _ANNOTATIONS - _ASSERTIONS
        if unknown:
            raise UnsupportedSchema(f"keywords not implemented: {sorted(unknown)}")
        if "$id" in schema and not at_root:
            raise UnsupportedSchema("$id below the root changes how $ref resolves")
        checks = [self._keyword(key, value, schema) for key, value in schema.items()]
        active = [c for c in checks if c is not None]
        return lambda v: all(c(v) for c in active)

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise UnsupportedSchema(f"only local $refs are implemented: {ref!r}")
        if ref not in self._refs:
            target: Any = self._root
            for token in ref[1:].split("/")[1:]:
                part = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise UnsupportedSchema(f"$ref {ref} does not resolve")
                target = target[part]
            # A recursive definition refers to itself: register a forwarder
            # before compiling the target.
            compiled: list[Check] = []
            self._refs[ref] = lambda v: compiled[0](v)  # noqa: PLW0108
            compiled.append(self.compile(target))
        return self._refs[ref]

    def _keyword(self, key: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        if key in _ANNOTATIONS:
            return None
        if key == "$ref":
            return self._ref(value)
        if key == "type":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(n in _TYPES for n in names):
                raise UnsupportedSchema(f"type {value!r}")
            tests = [_TYPES[n] for n in names]
            return lambda v: any(t(v) for t in tests)
        if key == "const":
            return lambda v: _equal(v, value)
        if key == "enum":
            if not isinstance(value, list):
                raise UnsupportedSchema("enum must be a list")
            return lambda v: any(_equal(e, v) for e in value)
        if key in ("minLength", "minItems"):
            if not _is_integer(value):
                raise UnsupportedSchema(f"{key} must be an integer")
            kind = str if key == "minLength" else list
            return lambda v: not isinstance(v, kind) or len(v) >= value
        if key == "pattern":
            regex = re.compile(value)
            return lambda v: not isinstance(v, str) or regex.search(v) is not None
        if key == "minimum":
            if not _is_number(value):
                raise UnsupportedSchema("minimum must be a number")
            return lambda v: not _is_number(v) or not v < value
        if key == "uniqueItems":
            if value is not True:
                return None
            return lambda v: not isinstance(v, list) or unique(v)
        if key == "items":
            if "prefixItems" in schema:
                raise UnsupportedSchema("prefixItems")
            each = self.compile(value)
            return lambda v: not isinstance(v, list) or all(each(item) for item in v)
        if key == "required":
            if not isinstance(value, list):
                raise UnsupportedSchema("required must be a list")
            return lambda v: not isinstance(v, dict) or all(name in v for name in value)
        if key == "properties":
            if not isinstance(value, dict):
                raise UnsupportedSchema("properties must be an object")
            props = {name: self.compile(sub) for name, sub in value.items()}
            return lambda v: (
                not isinstance(v, dict) or all(props[name](v[name]) for name in props if name in v)
            )
        if key == "additionalProperties":
            known = frozenset(schema.get("properties", {}))
            rest = self.compile(value)
            return lambda v: (
                not isinstance(v, dict)
                or all(rest(item) for name, item in v.items() if name not in known)
            )
        # allOf, anyOf, oneOf
        if not isinstance(value, list) or not value:
            raise UnsupportedSchema(f"{key} must be a non-empty list")
        subs = [self.compile(sub) for sub in value]
        if key == "allOf":
            return lambda v: all(s(v) for s in subs)
        if key == "anyOf":
            return lambda v: any(s(v) for s in subs)
        return lambda v: sum(1 for s in subs if s(v)) == 1


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function telling whether an instance is valid under ``schema``.

    Raises:
        UnsupportedSchema: The schema uses a keyword, a ``$ref`` or an
            ``$id`` that the check does not implement.
    """
    draft = schema.get("$schema")
    if draft != "https://json-schema.org/draft/2020-12/schema":
        raise UnsupportedSchema(f"only draft 2020-12 is implemented, not {draft!r}")
    return _Compiler(schema).compile(schema, at_root=True)
