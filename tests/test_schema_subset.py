"""The quick layout-schema check gives jsonschema's verdict, always.

``policy/_schema_subset.py`` says yes or no without importing jsonschema;
jsonschema is asked for the errors only when the answer is no. A "yes"
where jsonschema says no would let an invalid layout through, so every
case here compares both validators: hand-written edge cases of each
keyword's semantics, every layout-like document in the repository and the
shared corpus, and hypothesis mutations of the valid ones.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intoto_policy._errors import IntotoPolicyError
from intoto_policy.policy._loading import (
    _layout_schema,
    _schema_accepts,
    parse_layout_document,
    validate_layout_schema,
)
from intoto_policy.policy._schema_subset import UnsupportedSchema, compile_schema

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA = _layout_schema()
REFERENCE = jsonschema.Draft202012Validator(SCHEMA)
QUICK = compile_schema(SCHEMA)


def _agree(doc: Any) -> tuple[bool, bool]:
    return QUICK(doc), REFERENCE.is_valid(doc)


def test_the_shipped_schema_compiles() -> None:
    # Were it refused, every layout would silently take the slow path.
    assert _schema_accepts() is not None


# (id, schema, instance): each keyword's corner cases.
_S = {"$schema": DRAFT}
KEYWORD_CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("const-true-is-not-1", {**_S, "const": True}, 1),
    ("const-1-is-not-true", {**_S, "const": 1}, True),
    ("const-1-is-1.0", {**_S, "const": 1}, 1.0),
    ("const-false-is-not-0", {**_S, "const": False}, 0),
    ("const-deep-bool", {**_S, "const": [1, {"a": True}]}, [1, {"a": 1}]),
    ("const-deep-equal", {**_S, "const": [1, {"a": True}]}, [1.0, {"a": True}]),
    ("const-dict-extra-key", {**_S, "const": {"a": 1}}, {"a": 1, "b": 2}),
    ("const-null", {**_S, "const": None}, None),
    ("const-null-vs-false", {**_S, "const": None}, False),
    ("const-string", {**_S, "const": "x"}, "x"),
    ("enum-bool-vs-int", {**_S, "enum": [0, 1]}, False),
    ("enum-hit", {**_S, "enum": ["a", "b"]}, "b"),
    ("enum-miss", {**_S, "enum": ["a", "b"]}, "c"),
    ("type-integer-float", {**_S, "type": "integer"}, 2.0),
    ("type-integer-fraction", {**_S, "type": "integer"}, 2.5),
    ("type-integer-bool", {**_S, "type": "integer"}, True),
    ("type-number-bool", {**_S, "type": "number"}, False),
    ("type-object-list", {**_S, "type": "object"}, []),
    ("type-array-dict", {**_S, "type": "array"}, {}),
    ("type-list", {**_S, "type": ["string", "null"]}, None),
    ("type-list-miss", {**_S, "type": ["string", "null"]}, 0),
    ("minimum-bool-ignored", {**_S, "minimum": 1}, False),
    ("minimum-below", {**_S, "minimum": 1}, 0.5),
    ("minimum-equal", {**_S, "minimum": 1}, 1),
    ("minimum-string-ignored", {**_S, "minimum": 1}, "0"),
    ("minLength-code-points", {**_S, "minLength": 2}, "é"),
    ("minLength-non-string", {**_S, "minLength": 2}, 1),
    ("pattern-search-not-match", {**_S, "pattern": "b"}, "abc"),
    ("pattern-dollar-before-newline", {**_S, "pattern": "^[0-9a-f]{2}$"}, "ab\n"),
    ("pattern-non-string", {**_S, "pattern": "^x$"}, 5),
    ("minItems-short", {**_S, "minItems": 1}, []),
    ("uniqueItems-strings", {**_S, "uniqueItems": True}, ["a", "b", "a"]),
    ("uniqueItems-bool-int", {**_S, "uniqueItems": True}, [1, True]),
    ("uniqueItems-int-float", {**_S, "uniqueItems": True}, [1, 1.0]),
    ("uniqueItems-dicts", {**_S, "uniqueItems": True}, [{"a": 1}, {"a": 1}]),
    ("uniqueItems-false", {**_S, "uniqueItems": False}, [1, 1]),
    ("items-false", {**_S, "items": False}, [1]),
    ("items-false-empty", {**_S, "items": False}, []),
    ("items-schema", {**_S, "items": {"type": "string"}}, ["a", 1]),
    ("required-missing", {**_S, "required": ["a"]}, {"b": 1}),
    ("required-non-object", {**_S, "required": ["a"]}, [1]),
    (
        "additional-false",
        {**_S, "properties": {"a": {}}, "additionalProperties": False},
        {"a": 1, "b": 2},
    ),
    ("additional-schema", {**_S, "additionalProperties": {"type": "string"}}, {"a": 1}),
    ("additional-true", {**_S, "additionalProperties": True}, {"a": 1}),
    ("oneOf-two-match", {**_S, "oneOf": [{"type": "string"}, {"minLength": 1}]}, "x"),
    ("oneOf-one-match", {**_S, "oneOf": [{"type": "string"}, {"minLength": 1}]}, ""),
    ("anyOf-none", {**_S, "anyOf": [{"type": "string"}, {"type": "null"}]}, 1),
    ("allOf-one-fails", {**_S, "allOf": [{"type": "string"}, {"minLength": 3}]}, "ab"),
    (
        "ref-with-sibling",  # 2020-12: both apply
        {**_S, "$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "minLength": 2},
        "a",
    ),
    (
        "ref-recursive",
        {
            **_S,
            "$defs": {"t": {"type": "array", "items": {"$ref": "#/$defs/t"}}},
            "$ref": "#/$defs/t",
        },
        [[[]], [[1]]],
    ),
    ("format-is-annotation", {**_S, "format": "date-time"}, "not a time"),
]


@pytest.mark.parametrize(
    ("schema", "instance"), [c[1:] for c in KEYWORD_CASES], ids=[c[0] for c in KEYWORD_CASES]
)
def test_keyword_semantics_match_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    assert compile_schema(schema)(instance) == jsonschema.Draft202012Validator(schema).is_valid(
        instance
    )


UNSUPPORTED: list[tuple[str, dict[str, Any]]] = [
    ("draft-07", {"$schema": "http://json-schema.org/draft-07/schema#"}),
    ("no-draft", {"type": "object"}),
    ("unknown-keyword", {**_S, "maxLength": 3}),
    ("patternProperties", {**_S, "patternProperties": {"^a": {}}}),
    ("remote-ref", {**_S, "$ref": "https://example.com/s.json"}),
    ("dangling-ref", {**_S, "$ref": "#/$defs/none"}),
    ("nested-id", {**_S, "items": {"$id": "https://example.com/x"}}),
    ("unknown-type", {**_S, "type": "int"}),
    ("prefixItems", {**_S, "prefixItems": [{}], "items": False}),
    ("schema-not-object", {**_S, "items": 3}),
]


@pytest.mark.parametrize("schema", [c[1] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED])
def test_what_is_not_implemented_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_schema(schema)


def _layout_like_files() -> list[Path]:
    suffixes = {".yml", ".yaml", ".json", ".layout", ".template", ".jsonl"}
    return [
        p
        for top in (ROOT / "layouts", ROOT / "docs", ROOT / "tests", CORPUS)
        if top.is_dir()
        for p in sorted(top.rglob("*"))
        if p.suffix in suffixes and p.is_file() and p.stat().st_size < 2_000_000
    ]


def _documents(path: Path) -> list[Any]:
    """The layout documents a file holds (itself, or a layout envelope's payload)."""
    try:
        doc, _ = parse_layout_document(path.read_bytes(), source=str(path))
    except IntotoPolicyError:
        return []
    docs = [doc]
    if isinstance(doc.get("payload"), str) and "layout" in str(doc.get("payloadType")):
        try:
            inner, _ = parse_layout_document(base64.b64decode(doc["payload"]), source=str(path))
        except (IntotoPolicyError, ValueError):
            return docs
        docs.append(inner)
    return docs


def _doc_blocks() -> list[Any]:
    """YAML layouts shown in the documentation's code blocks."""
    out = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for block in re.findall(r"```ya?ml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            try:
                doc, _ = parse_layout_document(block.encode(), source=str(page))
            except IntotoPolicyError:
                continue
            out.append(doc)
    return out


FILES = _layout_like_files()
ALL_DOCS = [d for p in FILES for d in _documents(p)] + _doc_blocks()
VALID_SEEDS = [d for d in ALL_DOCS if REFERENCE.is_valid(d)]


def test_every_layout_in_the_repository_and_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    disagreements = [(i, *_agree(d)) for i, d in enumerate(ALL_DOCS) if len(set(_agree(d))) > 1]
    assert disagreements == []
    # The comparison means something: both verdicts occur, often.
    assert len(VALID_SEEDS) >= 20
    assert len(ALL_DOCS) - len(VALID_SEEDS) >= 20


# Values a mutation can put anywhere: each type, and the schema's own
# constants and boundaries, so that near-misses are generated too.
def _schema_values(node: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "const":
                out.append(value)
            elif key == "enum":
                out.extend(value)
            else:
                out.extend(_schema_values(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_schema_values(item))
    return out


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 1.5, -1.0])
    | st.sampled_from(["", "x", "a" * 64, "a" * 64 + "\n", "P7D", "2026-01-01T00:00:00Z"])
    | st.sampled_from(_schema_values(SCHEMA)),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*here, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*here, i)))
    return out


@st.composite
def _mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(VALID_SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate", "empty"]))
        target = parent[last]
        if action == "replace":
            parent[last] = draw(_json)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(target, dict):
            target[draw(st.sampled_from([*_schema_keys(SCHEMA), "extra"]))] = draw(_json)
        elif action == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(target[0]))
        elif action == "empty" and isinstance(target, list | dict | str):
            parent[last] = type(target)()
    return doc


def _schema_keys(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                out.extend(value)
            out.extend(_schema_keys(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_schema_keys(item))
    return sorted(set(out))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_layouts_get_the_same_verdict(doc: Any) -> None:
    quick, reference = _agree(doc)
    assert quick == reference, json.dumps(doc)[:2000]


@settings(max_examples=50, deadline=None)
@given(_mutated())
def test_invalid_layouts_keep_jsonschema_messages(doc: Any) -> None:
    errors = validate_layout_schema(doc, source="l.yml", lines={})
    expected = list(REFERENCE.iter_errors(doc))
    assert bool(errors) == bool(expected)
    if expected:  # the messages come from jsonschema, as before
        assert len(errors) == min(len(expected), 100) + (len(expected) > 100)


def _with_revoked(keys: list[Any]) -> dict[str, Any]:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {},
        "steps": [],
        "revokedKeys": keys,
    }


# Lists under ``uniqueItems`` that jsonschema cannot sort (mixed types), where
# its own check compares every pair: (id, list, duplicated?).
UNIQUE_CASES: list[tuple[str, list[Any], bool]] = [
    ("object-among-strings", [{"a": 0}, "k0", "k1"], False),
    ("object-among-strings-dup", [{"a": 0}, "k0", "k1", "k0"], True),
    ("equal-objects", [{"a": 1}, {"a": 1.0}, "x"], True),
    ("bool-vs-int", [True, 1, "x"], False),
    ("nested-lists", [[1, [True]], [1, [1]], "x"], False),
    ("nested-lists-dup", [[1, [True]], [1.0, [True]], "x"], True),
]


def _non_unique(doc: Any) -> list[str]:
    return [
        e.problem
        for e in validate_layout_schema(doc, source="l", lines={})
        if e.problem.endswith("has non-unique elements")
    ]


@pytest.mark.parametrize(
    ("keys", "duplicated"), [c[1:] for c in UNIQUE_CASES], ids=[c[0] for c in UNIQUE_CASES]
)
def test_unique_items_verdict_is_jsonschemas(keys: list[Any], duplicated: bool) -> None:
    doc = _with_revoked(keys)
    stock = [
        e
        for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)
        if e.validator == "uniqueItems"
    ]
    assert len(stock) == duplicated
    assert len(_non_unique(doc)) == len(stock)


def test_unique_items_of_an_unsortable_list_is_linear() -> None:
    # Stock jsonschema compares every pair here (about 5 * 10**9 comparisons:
    # many minutes); the replacement hashes. Finishing is the test.
    doc = _with_revoked([{"a": 0}, *(f"k{i}" for i in range(99_000)), "k7"])
    assert len(_non_unique(doc)) == 1
