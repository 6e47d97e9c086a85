"""Reading layouts and attestations from files: the I/O edge of the library.

Layouts are YAML or JSON, optionally wrapped in a DSSE envelope signed by
their owners. YAML is read strictly (YAML 1.2 core schema: timestamps and
YAML 1.1 forms stay strings; duplicate keys, aliases and other tags are
rejected) and with line numbers, so schema errors and report locations can
point at the line. Values, keys and numbers are bounded before the
document is built.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Final

from .._errors import MAX_QUOTED_CHARS, InputError, JSONError, SchemaError, excerpt
from ..crypto._keys import PublicKey
from ..model._attestations import Attestation, parse_attestations
from ..model._dsse import Envelope
from ..model._json import (
    DEFAULT_LIMITS,
    LAYOUT_LIMITS,
    MAX_LAYOUT_KEY_CHARS,
    MAX_LAYOUT_NUMBER_CHARS,
    MAX_LAYOUT_VALUES,
    JSONLimits,
    LineMap,
    LineNode,
    NotJSONError,
    escape_pointer,
    loads,
    within_layout_bounds,
)
from ..model._json import json_line_map as _json_lines
from ..report._model import Check, CheckKind, LayoutInfo, Location, Status
from ..sources._files import read_file
from ._layout import Layout

__all__ = [
    "LAYOUT_PAYLOAD_TYPES",
    "MAX_LAYOUT_KEY_CHARS",
    "MAX_LAYOUT_NUMBER_CHARS",
    "MAX_LAYOUT_VALUES",
    "LineMap",
    "LoadedLayout",
    "layout_envelope",
    "load_attestations",
    "load_layout",
    "parse_layout_document",
    "within_layout_bounds",
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


def _count_nodes(root: LineNode) -> int:
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        kids = node.kids
        if kids:
            stack.extend(kids.values() if isinstance(kids, dict) else kids)
    return count


_JSON_TYPES: Final = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _json_kind(value: Any) -> str:
    for kind, name in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return "a number"


def parse_layout_document(data: bytes, *, source: str) -> tuple[Any, LineMap]:
    """Parse layout bytes (JSON or YAML) into a document and a line map.

    The size is checked before anything is parsed (:data:`LAYOUT_LIMITS`),
    and a top level that is not an object is refused before the document is
    validated (for YAML, at the first event, before the rest is read). The
    number of values, the length of keys and numbers are bounded
    (:data:`MAX_LAYOUT_VALUES`, :data:`MAX_LAYOUT_KEY_CHARS`,
    :data:`MAX_LAYOUT_NUMBER_CHARS`) before values are built. YAML is read
    with the YAML 1.2 core schema (see ``policy._yaml``).

    Raises:
        JSONError: Input above the size limit, or JSON that the strict
            loader rejects.
        SchemaError: YAML that does not parse, has duplicate keys, nests
            too deep, uses a tag outside the core schema or a scalar its tag
            does not allow; a value above one of the bounds; or a document
            whose top level is not an object.
    """
    if len(data) > LAYOUT_LIMITS.max_bytes:
        raise JSONError(
            f"layout is {len(data)} bytes, above the limit of {LAYOUT_LIMITS.max_bytes}",
            source=source,
        )
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        return _parse_json_layout(data, source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONError(f"invalid UTF-8 at byte {exc.start}", source=source) from None
    if not text.strip():
        raise SchemaError("the layout is empty", source=source)
    # Imported here: JSON layouts and envelopes never need PyYAML (start-up).
    from ._yaml import parse_yaml  # noqa: PLC0415

    doc, root = parse_yaml(text, source=source)
    # Round-trip through the strict JSON checks (depth, NaN, surrogates); the
    # JSON text may be a few times larger than the YAML (escapes), hence the
    # larger size bound.
    try:
        loads(json.dumps(doc), source=source, limits=DEFAULT_LIMITS)
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"layout contains a value JSON cannot hold: {excerpt(str(exc), 160, raw=True)}",
            source=source,
        ) from None
    return doc, LineMap(root, _count_nodes(root))


def _bounded_json_lines(data: bytes, *, source: str) -> LineMap | None:
    """The line map of a JSON layout or envelope, built before it is decoded.

    Its walk enforces the value, key and number bounds before the decoder
    builds millions of objects (16 MiB of ``[],`` is 5 million lists).

    Raises:
        SchemaError: A bound is exceeded.
    """
    try:
        return _json_lines(data.decode("utf-8"), MAX_LAYOUT_VALUES)
    except SchemaError as exc:
        raise exc.with_source(source) from None
    except (UnicodeDecodeError, NotJSONError):
        return None  # not JSON: the decoder says why, precisely


def _parse_json_layout(data: bytes, *, source: str) -> tuple[Any, LineMap]:
    lines = _bounded_json_lines(data, source=source)
    doc = loads(data, source=source, limits=LAYOUT_LIMITS)
    if not isinstance(doc, dict):  # "{...} trailing" is refused by loads already
        raise SchemaError(f"a layout must be an object, not {_json_kind(doc)}", source=source)
    if lines is None:  # the decoder accepted what the walk did not: fail closed
        raise SchemaError("the layout's JSON could not be line-mapped", source=source)
    return doc, lines


@cache
def _layout_schema() -> Any:
    return json.loads(_schema_path("layout.schema.json").read_text(encoding="utf-8"))


@cache
def _schema_validator() -> Any:
    import jsonschema  # noqa: PLC0415 - 35 ms; only to list a layout's errors

    from ._schema_subset import unique  # noqa: PLC0415

    def unique_items(validator: Any, wanted: Any, instance: Any, schema: Any) -> Any:
        # jsonschema's own check compares every pair of a list it cannot sort
        # (one object among 50,000 strings: minutes); same verdict and message.
        if wanted and validator.is_type(instance, "array") and not unique(instance):
            yield jsonschema.ValidationError(f"{instance!r} has non-unique elements")

    validator = jsonschema.validators.extend(
        jsonschema.Draft202012Validator, {"uniqueItems": unique_items}
    )
    return validator(_layout_schema())


@cache
def _schema_accepts() -> Callable[[Any], bool] | None:
    """The quick yes/no check of the layout schema, or None to use jsonschema alone."""
    from ._schema_subset import UnsupportedSchema, compile_schema  # noqa: PLC0415

    try:
        return compile_schema(_layout_schema())
    except UnsupportedSchema:  # fail closed: jsonschema decides every layout
        return None


def _schema_path(name: str) -> Path:
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_data" / "schemas" / name, here.parent / "schemas" / name):
        if candidate.is_file():
            return candidate
    raise InputError(f"schema {name} is missing from the installation")


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
    last one says so. A valid layout is recognised without importing
    jsonschema (``policy._schema_subset``, ADR 0300); jsonschema lists the
    errors of an invalid one.
    """
    accepts = _schema_accepts()
    if accepts is not None and accepts(doc):
        return []  # valid: the same verdict as jsonschema (tests/test_schema_subset.py)
    found = list(islice(_schema_validator().iter_errors(doc), MAX_SCHEMA_ERRORS + 1))
    if not found:  # the quick check refused what jsonschema accepts: fail closed
        return [
            SchemaError(
                "the layout schema check and jsonschema disagree about this layout;"
                " it is refused (please report this)",
                source=source,
            )
        ]
    more = len(found) > MAX_SCHEMA_ERRORS
    errors = []
    for err in sorted(found[:MAX_SCHEMA_ERRORS], key=lambda e: list(map(str, e.absolute_path))):
        pointer = "".join(f"/{escape_pointer(str(p))}" for p in err.absolute_path)
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
            or not acceptable JSON, or above the layout bounds (values, key
            and number lengths).
    """
    if not raw.lstrip().startswith(b"{"):
        return None
    _bounded_json_lines(raw, source=source)  # bounds first, then decode
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
