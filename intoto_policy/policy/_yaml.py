"""The strict YAML reader of layouts: YAML 1.2 core schema, bounded, with lines.

Imported only when a layout is YAML, so that JSON layouts and envelopes do
not pay for importing PyYAML.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import yaml

from .._errors import SchemaError, excerpt
from ..model._json import (
    LAYOUT_LIMITS,
    MAX_LAYOUT_KEY_CHARS,
    MAX_LAYOUT_NUMBER_CHARS,
    MAX_LAYOUT_VALUES,
    LineNode,
    key_too_long,
    too_many_values,
)

__all__ = ["parse_yaml"]


class _LayoutShapeError(yaml.composer.ComposerError):
    """The YAML document is not a mapping (raised before anything else is read)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader restricted to the YAML 1.2 core schema, strict about shape.

    Plain scalars resolve only to null, booleans, integers and floats as the
    YAML 1.2 core schema spells them; everything else (YAML 1.1 timestamps,
    ``yes``/``no``, base-60 and underscored numbers, ``<<`` merges) stays a
    string. Explicit tags other than the core ones are refused before
    construction (see :func:`_walk_nodes`).

    It also refuses aliases, nesting deeper than :data:`LAYOUT_LIMITS`
    allows (counted while composing, so the limit, not Python's recursion
    limit, ends a deep document), more than :data:`MAX_LAYOUT_VALUES` nodes,
    and a top level that is not a mapping (seen at the first event, before
    the rest of the input is read).
    """

    _depth = 0
    _values = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # Aliases let a few hundred bytes expand to gigabytes (an "alias
        # bomb") or to a cycle; no layout needs them, so they are refused.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted", event.start_mark
            )
        if parent is None and self._depth == 0 and not self.check_event(yaml.MappingStartEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _LayoutShapeError(
                None,
                None,
                f"a layout must be a mapping, not {_event_kind(event)}",
                event.start_mark,
            )
        self._values += 1
        if self._values > MAX_LAYOUT_VALUES:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, too_many_values(), event.start_mark)
        return super().compose_node(parent, index)

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > LAYOUT_LIMITS.max_depth:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nesting deeper than {LAYOUT_LIMITS.max_depth} levels",
                event.start_mark,
            )

    # The stubs type ``anchor`` oddly (it is the anchor name); pass it through.
    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1


def _event_kind(event: yaml.Event) -> str:
    if isinstance(event, yaml.SequenceStartEvent):
        return "a list"
    if isinstance(event, yaml.ScalarEvent):
        return f"a single value {excerpt(event.value, 40)}"
    return "empty"


_TAG: Final = "tag:yaml.org,2002:"

# YAML 1.2 core schema, as regular expressions over the whole scalar.
_NULL: Final = re.compile(r"~|null|Null|NULL|")
_BOOL: Final = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT: Final = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT: Final = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)

_StrictLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),  # before float: "1" is an integer
    ("float", _FLOAT, list("-+.0123456789")),
):
    # PyYAML matches with re.match: anchor at the end too.
    _StrictLoader.add_implicit_resolver(
        _TAG + _tag, re.compile(f"(?:{_regexp.pattern})\\Z"), _first
    )

#: The only tags a layout node may carry (explicitly or resolved).
_YAML_TAGS: Final = frozenset(
    _TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map")
)


def _scalar_error(node: yaml.Node, problem: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _number_text(node: yaml.Node, kind: str) -> str:
    text = str(node.value)
    if len(text) > MAX_LAYOUT_NUMBER_CHARS:
        raise _scalar_error(
            node,
            f"{kind} of {len(text)} characters is above the limit of {MAX_LAYOUT_NUMBER_CHARS}",
        )
    return text


def _construct_null(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    if not _NULL.fullmatch(str(node.value)):
        raise _scalar_error(node, f"{excerpt(str(node.value))} is not null")


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    text = str(node.value)
    if not _BOOL.fullmatch(text):
        raise _scalar_error(node, f"{excerpt(text)} is not a boolean (true or false)")
    return text.lower() == "true"


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = _number_text(node, "an integer")
    if not _INT.fullmatch(text):
        raise _scalar_error(node, f"{excerpt(text)} is not an integer")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits.startswith("0"):
        # YAML 1.1 reads 010 as 8, YAML 1.2 as 10: refuse the ambiguity.
        raise _scalar_error(node, f"integer {excerpt(text)} has a leading zero; write it without")
    return int(text)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = _number_text(node, "a number")
    if not _FLOAT.fullmatch(text):
        raise _scalar_error(node, f"{excerpt(text)} is not a number")
    # .inf and .nan resolve as floats (YAML 1.2) but JSON cannot hold them.
    value = math.inf if text.lstrip("+-").lower() in (".inf", ".nan") else float(text)
    if not math.isfinite(value):
        raise _scalar_error(node, f"number {excerpt(text)} is not finite (JSON cannot hold it)")
    return value


def _construct_other(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    raise _scalar_error(node, f"YAML tag {_tag_name(node.tag)} is not accepted")


def _tag_name(tag: object) -> str:
    text = str(tag)
    return excerpt("!!" + text.removeprefix(_TAG) if text.startswith(_TAG) else text)


_StrictLoader.yaml_constructors = {
    _TAG + "null": _construct_null,
    _TAG + "bool": _construct_bool,
    _TAG + "int": _construct_int,
    _TAG + "float": _construct_float,
    _TAG + "str": yaml.SafeLoader.construct_yaml_str,
    _TAG + "seq": yaml.SafeLoader.construct_yaml_seq,
    _TAG + "map": yaml.SafeLoader.construct_yaml_map,
    None: _construct_other,
}
_StrictLoader.yaml_multi_constructors = {}


def _walk_nodes(node: yaml.Node | None) -> LineNode:
    """Check a composed YAML tree (tags, keys) and build its line tree.

    Raises:
        SchemaError: The layout is empty, or has a duplicate, over-long or
            non-scalar key, or a tag outside the core schema.
    """
    if node is None:
        raise SchemaError("the layout is empty")
    line = node.start_mark.line + 1
    if node.tag not in _YAML_TAGS:
        raise SchemaError(
            f"YAML tag {_tag_name(node.tag)} is not accepted (a layout holds only "
            "strings, numbers, booleans, null, lists and mappings)",
            line=line,
        )
    here = LineNode(line)
    if isinstance(node, yaml.MappingNode):
        kids: dict[str, LineNode] = {}
        here.kids = kids
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise SchemaError("a mapping key must be a single value", line=key_line)
            _walk_nodes(key_node)  # its tag
            key = str(key_node.value)
            if len(key) > MAX_LAYOUT_KEY_CHARS:
                raise SchemaError(key_too_long(key), line=key_line)
            if key in seen:
                raise SchemaError(
                    f"duplicate key {excerpt(key)} (first at line {seen[key]})", line=key_line
                )
            seen[key] = key_line
            kids[key] = _walk_nodes(value_node)
    elif isinstance(node, yaml.SequenceNode):
        here.kids = [_walk_nodes(item) for item in node.value]
    return here


def parse_yaml(text: str, *, source: str) -> tuple[Any, LineNode]:
    """Parse a YAML layout strictly into a document and its line tree.

    Raises:
        SchemaError: YAML that does not parse, has duplicate keys or
            aliases, nests too deep, uses a tag outside the core schema or a
            scalar its tag does not allow, exceeds a bound, or whose top level
            is not a mapping.
    """
    try:
        loader = _StrictLoader(text)
    except yaml.YAMLError as exc:  # a control character, found by the reader
        raise SchemaError(
            f"not valid YAML: {excerpt(str(exc).splitlines()[0], 160)}", source=source
        ) from None
    try:
        node = loader.get_single_node()
        root = _walk_nodes(node)
        doc = loader.construct_document(node)
    except _LayoutShapeError as exc:
        raise SchemaError(str(exc.problem), source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaError(
            f"not valid YAML: {excerpt(problem, 200, raw=True)}", line=line, source=source
        ) from None
    except SchemaError as exc:
        raise exc.with_source(source) from None
    except RecursionError:  # a backstop: the composer's depth limit comes first
        raise SchemaError("YAML nesting too deep to parse", source=source) from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # A backstop: the core-schema constructors raise YAMLError, but any
        # other failure while constructing is still one line, not a traceback.
        raise SchemaError(
            f"not valid YAML: {excerpt(str(exc), 160, raw=True)}", source=source
        ) from None
    finally:
        loader.dispose()
    return doc, root
