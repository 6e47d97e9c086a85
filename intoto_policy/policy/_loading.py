"""Reading layouts and attestations from files: the I/O edge of the library.

Layouts are YAML or JSON, optionally wrapped in a DSSE envelope signed by
their owners. YAML is read strictly (duplicate keys rejected, timestamps
left as strings) and with line numbers, so schema errors and report
locations can point at the line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Final

import yaml

from .._errors import MAX_QUOTED_CHARS, InputError, JSONError, SchemaError, excerpt
from ..crypto._keys import PublicKey
from ..model._attestations import Attestation, parse_attestations
from ..model._dsse import Envelope
from ..model._json import DEFAULT_LIMITS, LAYOUT_LIMITS, JSONLimits, loads
from ..report._model import Check, CheckKind, LayoutInfo, Location, Status
from ..sources._files import read_file
from ._layout import Layout

__all__ = [
    "LAYOUT_PAYLOAD_TYPES",
    "LoadedLayout",
    "layout_envelope",
    "load_attestations",
    "load_layout",
    "parse_layout_document",
]

#: payloadTypes of a DSSE envelope that carries a layout.
LAYOUT_PAYLOAD_TYPES: Final = frozenset(
    {"application/vnd.intoto-policy.layout+yaml", "application/vnd.intoto-policy.layout+json"}
)

#: File endings read when a directory of attestations is walked.
ATTESTATION_SUFFIXES: Final = (
    ".json",
    ".jsonl",
    ".intoto",
    ".intoto.jsonl",
    ".sigstore",
    ".dsse",
    ".att",
    ".attestation",
    ".provenance",
    ".bundle",
)


class _LayoutShapeError(yaml.composer.ComposerError):
    """The YAML document is not a mapping (raised before anything else is read)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and keeps timestamps as text.

    It also refuses aliases, nesting deeper than :data:`LAYOUT_LIMITS`
    allows (counted while composing, so the limit, not Python's recursion
    limit, ends a deep document) and a top level that is not a mapping
    (seen at the first event, before the rest of the input is read).
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
            raise yaml.composer.ComposerError(None, None, _too_many_values(), event.start_mark)
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


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _walk_nodes(node: yaml.Node | None, pointer: str, lines: dict[str, int]) -> None:
    if node is None:
        raise SchemaError("the layout is empty")
    lines[pointer] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise SchemaError(
                    f"duplicate key {excerpt(key)} (first at line {seen[key]})",
                    path=pointer,
                    line=key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line + 1
            _walk_nodes(value_node, f"{pointer}/{_escape(key)}", lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk_nodes(item, f"{pointer}/{i}", lines)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# Tokens of a JSON text the strict decoder has already accepted: regular
# expressions move over whitespace, strings and numbers at C speed, so the
# line map of a large layout costs little more than decoding it.
_JSON_SPACE: Final = re.compile(r"[ \t\r\n]*")
_JSON_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_ATOM: Final = re.compile(r"[^,\]}\s]*")


def _json_lines(text: str, max_values: int | None = None) -> dict[str, int]:
    """JSON pointer -> 1-based line of each value in a JSON text.

    Runs only on text the strict decoder has already accepted, so it needs no
    error handling of its own; it walks values iteratively (no recursion).

    Raises:
        SchemaError: The text has more than ``max_values`` values.
    """
    lines: dict[str, int] = {}
    pos = 0
    line = 1
    n = len(text)

    def skip() -> None:
        nonlocal pos, line
        end = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if end > pos:
            line += text.count("\n", pos, end)
            pos = end

    def string_end(start: int) -> int:
        return _JSON_STRING.match(text, start).end()  # type: ignore[union-attr]

    # Stack of (container kind, pointer, next array index).
    stack: list[list[Any]] = []
    pointer = ""
    while True:
        skip()
        if pos >= n:
            break
        ch = text[pos]
        if stack and stack[-1][0] == "{" and ch == '"':
            end = string_end(pos)
            key = json.loads(text[pos:end])
            pos = end
            skip()
            pos += 1  # the ':'
            skip()
            pointer = f"{stack[-1][1]}/{_escape(key)}"
            ch = text[pos]
        elif stack and stack[-1][0] == "[" and ch not in "],":
            pointer = f"{stack[-1][1]}/{stack[-1][2]}"
            stack[-1][2] += 1
        if ch in "]}":
            stack.pop()
            pos += 1
        elif ch == ",":
            pos += 1
        elif ch in "{[":
            lines[pointer] = line
            stack.append([ch, pointer, 0])
            pos += 1
        else:
            lines[pointer] = line
            if max_values is not None and len(lines) > max_values:
                raise SchemaError(_too_many_values(), line=line)
            token = _JSON_STRING if ch == '"' else _JSON_ATOM
            pos = token.match(text, pos).end()  # type: ignore[union-attr]
    return lines


_JSON_TYPES: Final = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _json_kind(value: Any) -> str:
    for kind, name in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return "a number"


def parse_layout_document(data: bytes, *, source: str) -> tuple[Any, dict[str, int]]:
    """Parse layout bytes (JSON or YAML) into a document and a line map.

    The size is checked before anything is parsed (:data:`LAYOUT_LIMITS`),
    and a top level that is not an object is refused before the document is
    validated (for YAML, at the first event, before the rest is read).

    Raises:
        JSONError: Input above the size limit, or JSON that the strict
            loader rejects.
        SchemaError: YAML that does not parse, has duplicate keys or nests
            too deep, or a document whose top level is not an object.
    """
    if len(data) > LAYOUT_LIMITS.max_bytes:
        raise JSONError(
            f"layout is {len(data)} bytes, above the limit of {LAYOUT_LIMITS.max_bytes}",
            source=source,
        )
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        doc = loads(data, source=source, limits=LAYOUT_LIMITS)
        if not isinstance(doc, dict):  # "{...} trailing" is refused by loads already
            raise SchemaError(f"a layout must be an object, not {_json_kind(doc)}", source=source)
        try:
            return doc, _json_lines(data.decode("utf-8"), MAX_LAYOUT_VALUES)
        except SchemaError as exc:
            raise exc.with_source(source) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONError(f"invalid UTF-8 at byte {exc.start}", source=source) from None
    if not text.strip():
        raise SchemaError("the layout is empty", source=source)
    try:
        loader = _StrictLoader(text)
    except yaml.YAMLError as exc:  # a control character, found by the reader
        raise SchemaError(
            f"not valid YAML: {excerpt(str(exc).splitlines()[0], 160)}", source=source
        ) from None
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        _walk_nodes(node, "", lines)
        doc = loader.construct_document(node)
    except _LayoutShapeError as exc:
        raise SchemaError(str(exc.problem), source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaError(f"not valid YAML: {problem}", line=line, source=source) from None
    except SchemaError as exc:
        raise exc.with_source(source) from None
    except RecursionError:  # a backstop: the composer's depth limit comes first
        raise SchemaError("YAML nesting too deep to parse", source=source) from None
    finally:
        loader.dispose()
    # Round-trip through the strict JSON checks (depth, NaN, surrogates); the
    # JSON text may be a few times larger than the YAML (escapes), hence the
    # larger size bound.
    try:
        loads(json.dumps(doc, default=str), source=source, limits=DEFAULT_LIMITS)
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"layout contains a value JSON cannot hold: {exc}", source=source
        ) from None
    return doc, lines


@cache
def _schema_validator() -> Any:
    import jsonschema  # noqa: PLC0415

    schema = json.loads(_schema_path("layout.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _schema_path(name: str) -> Path:
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_data" / "schemas" / name, here.parent / "schemas" / name):
        if candidate.is_file():
            return candidate
    raise InputError(f"schema {name} is missing from the installation")


#: Most values (objects, arrays, strings, numbers...) a layout may hold: real
#: layouts have hundreds; the bound keeps line mapping and schema validation of
#: a hostile one well under a second.
MAX_LAYOUT_VALUES: Final = 100_000


def _too_many_values() -> str:
    return f"a layout may hold at most {MAX_LAYOUT_VALUES} values"


#: At most this many schema violations are collected from one layout; the
#: rest are counted as "more" (a hostile layout can have millions).
MAX_SCHEMA_ERRORS: Final = 100


def _schema_message(err: Any) -> str:
    """jsonschema's message with the offending value quoted briefly.

    jsonschema puts the whole offending value (``repr``) at the front of most
    messages ("[0, 1, ...] is not of type 'object'"); a layout can make that
    megabytes long, so it is replaced by :func:`excerpt`.
    """
    message = str(err.message)
    if isinstance(err.instance, str | int | float | bool | type(None)):
        full = repr(err.instance)
        if message.startswith(full) and len(full) > MAX_QUOTED_CHARS:
            message = excerpt(err.instance) + message[len(full) :]
    elif isinstance(err.instance, list | dict) and err.validator in _VALUE_FIRST:
        # The message starts with repr(instance): rebuild it without the value.
        message = f"{excerpt(err.instance)} {_VALUE_FIRST[err.validator]}"
    return excerpt(message, 240, raw=True)


# Validators whose messages start with the whole instance, and what follows it.
_VALUE_FIRST: Final = {
    "type": "has the wrong type",
    "enum": "is not one of the allowed values",
    "const": "is not the required value",
    "oneOf": "is not valid under exactly one of the given schemas",
    "anyOf": "is not valid under any of the given schemas",
    "not": "is not allowed",
    "minItems": "has too few items",
    "maxItems": "has too many items",
    "uniqueItems": "has non-unique elements",
    "minProperties": "has too few properties",
    "maxProperties": "has too many properties",
    "contains": "does not contain a required item",
}


def validate_layout_schema(doc: Any, *, source: str, lines: Mapping[str, int]) -> list[SchemaError]:
    """JSON Schema violations of a layout document, with line numbers.

    At most :data:`MAX_SCHEMA_ERRORS` are returned; when there were more, the
    last one says so.
    """
    found = list(islice(_schema_validator().iter_errors(doc), MAX_SCHEMA_ERRORS + 1))
    more = len(found) > MAX_SCHEMA_ERRORS
    errors = []
    for err in sorted(found[:MAX_SCHEMA_ERRORS], key=lambda e: list(map(str, e.absolute_path))):
        pointer = "".join(f"/{_escape(str(p))}" for p in err.absolute_path)
        line = None
        probe = pointer
        while True:
            if probe in lines:
                line = lines[probe]
                break
            if not probe:
                break
            probe = probe.rsplit("/", 1)[0]
        message = _schema_message(err)
        if err.validator in ("oneOf", "anyOf") and err.context:
            best = min(err.context, key=lambda e: len(list(e.absolute_path)))
            message = f"{message[:120]} ({_schema_message(best)[:160]})"
        errors.append(
            SchemaError(
                message,
                path=excerpt(pointer.lstrip("/").replace("/", "."), 120, raw=True),
                line=line,
                source=source,
            )
        )
    if more:
        errors.append(
            SchemaError(
                f"more than {MAX_SCHEMA_ERRORS} schema violations; the rest are not listed",
                source=source,
            )
        )
    return errors


def layout_envelope(raw: bytes, *, source: str) -> Envelope | None:
    """The DSSE envelope a signed layout file is, or None for a bare layout.

    Raises:
        InputError: JSON that is an envelope of something other than a layout,
            or not acceptable JSON.
    """
    if not raw.lstrip().startswith(b"{"):
        return None
    doc = loads(raw, source=source, limits=LAYOUT_LIMITS)
    if not (isinstance(doc, Mapping) and "payloadType" in doc and "signatures" in doc):
        return None
    envelope = Envelope.from_dict(doc)
    if envelope.payload_type not in LAYOUT_PAYLOAD_TYPES:
        raise InputError(
            f"envelope payloadType {excerpt(envelope.payload_type)} is not a layout "
            f"({', '.join(sorted(LAYOUT_PAYLOAD_TYPES))})",
            source=source,
        )
    return envelope


@dataclass(frozen=True, slots=True)
class LoadedLayout:
    """A layout read from a file, with what the report needs to say about it.

    Attributes:
        layout: The validated layout.
        info: Source, digest, signers.
        checks: Checks about the layout itself (its signature).
        document: The parsed document before parameter substitution.
    """

    layout: Layout
    info: LayoutInfo
    checks: tuple[Check, ...]
    document: Any


def load_layout(
    path: Path,
    *,
    params: Mapping[str, str] | None = None,
    layout_keys: Sequence[PublicKey] = (),
    allow_unsigned: bool = False,
    data: bytes | None = None,
) -> LoadedLayout:
    """Read, authenticate and validate an attestation layout.

    Args:
        path: The layout file.
        params: Values for ``{name}`` parameters.
        layout_keys: Owner keys; each must have signed the layout envelope.
        allow_unsigned: Accept a layout that is not in a signed envelope.
        data: The file's bytes, if already read.

    Raises:
        InputError: Unreadable file, schema or semantic errors, an unsigned
            layout without ``allow_unsigned``, or a signed layout with no
            ``layout_keys`` to check it.
    """
    source = str(path)
    raw = data if data is not None else read_file(path, LAYOUT_LIMITS)
    digest = hashlib.sha256(raw).hexdigest()
    checks: list[Check] = []
    signed = False
    signed_by: tuple[str, ...] = ()
    body = raw
    envelope = layout_envelope(raw, source=source)
    if envelope is not None:
        signed = True
        body = envelope.payload
        if not layout_keys:
            raise InputError(
                "the layout is signed: give its owners' public keys with --layout-key",
                source=source,
            )
        verified = envelope.verified_keys(layout_keys)
        signed_by = tuple(sorted(k.keyid for k in layout_keys if k.fingerprint in verified))
        for key in layout_keys:
            ok = key.fingerprint in verified
            checks.append(
                Check(
                    kind=CheckKind.LAYOUT,
                    status=Status.PASS if ok else Status.FAIL,
                    message=(
                        f"the layout is signed by owner key {key.keyid[:12]}"
                        if ok
                        else f"the layout is not signed by owner key {key.keyid[:12]}"
                    ),
                    expected=key.keyid,
                    actual=list(signed_by),
                    location=Location(file=source),
                )
            )
    elif layout_keys:
        raise InputError(
            "--layout-key was given but the layout is not signed (sign it with 'intoto-policy layout sign')",
            source=source,
        )
    elif not allow_unsigned:
        raise InputError(
            "the layout is not signed: sign it with 'intoto-policy layout sign' and pass --layout-key, "
            "or accept it unsigned with --unsigned-layout",
            source=source,
        )
    else:
        checks.append(
            Check(
                kind=CheckKind.LAYOUT,
                status=Status.INFO,
                message="the layout is unsigned and was accepted because --unsigned-layout was given",
                location=Location(file=source),
            )
        )
    doc, lines = parse_layout_document(body, source=source)
    errors = validate_layout_schema(doc, source=source, lines=lines)
    if errors:
        first = errors[0]
        if len(errors) > MAX_SCHEMA_ERRORS:
            more = f" (and more than {MAX_SCHEMA_ERRORS - 1} more)"
        else:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # first.problem already starts with its path: SchemaError adds it again.
        problem = first.problem.removeprefix(f"{first.path}: ") if first.path else first.problem
        raise SchemaError(problem + more, path=first.path, line=first.line, source=source)
    layout = Layout.from_dict(doc, source=source, params=params, lines=lines)
    info = LayoutInfo(
        source=source,
        digest=digest,
        format="attestation",
        expires=layout.expires,
        signed_by=signed_by,
        signed=signed,
        verified_levels=layout.verified_levels,
    )
    return LoadedLayout(layout=layout, info=info, checks=tuple(checks), document=doc)


def _walk(path: Path, skip: frozenset[Path]) -> Iterable[Path]:
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        # Hidden directories (.git, .venv...) hold no evidence and may be huge:
        # do not even descend into them. Sorted, so the order is deterministic.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            child = Path(root) / name
            if name.endswith(ATTESTATION_SUFFIXES) and child.resolve() not in skip:
                yield child


def load_attestations(
    paths: Iterable[Path],
    *,
    skip: Iterable[Path] = (),
    limits: JSONLimits = DEFAULT_LIMITS,
) -> list[Attestation]:
    """Read attestations from files and directories (recursively).

    Files named directly are always read; in directories, files with an
    attestation-like ending are read. Items that do not parse become
    attestations with a ``problem`` so the report can list them.

    Args:
        paths: Files and directories.
        skip: Files never to read (the layout itself).
        limits: Size and depth bounds for each file.

    Raises:
        InputError: A named path does not exist or cannot be read.
    """
    skipped = frozenset(p.resolve() for p in skip)
    found: list[Attestation] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", source=str(path))
        for file in _walk(path, skipped):
            try:
                data = read_file(file, limits)
            except InputError as exc:
                found.append(Attestation(source=str(file), digest="", problem=exc.problem))
                continue
            found.extend(parse_attestations(data, source=str(file), limits=limits))
    return found
