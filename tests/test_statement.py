"""Statement and ResourceDescriptor: validation, the `type` alias, lossless round trips."""

from __future__ import annotations

import copy
import json
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intoto_policy._errors import ValidationError
from intoto_policy.model._json import loads
from intoto_policy.model._statement import (
    STATEMENT_V01,
    STATEMENT_V1,
    ResourceDescriptor,
    Statement,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SPEC_EXAMPLES = CORPUS / "attestation-verifier" / "spec-examples"

SHA = "a" * 64
SUBJECT = {"name": "foo", "digest": {"sha256": SHA}}


def _stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_type": STATEMENT_V1,
        "subject": [SUBJECT],
        "predicateType": "https://example.com/p/v1",
        "predicate": {"k": "v"},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP: Any = object()

VALID: list[tuple[str, dict[str, Any]]] = [
    ("v1", _stmt()),
    ("v0.1", _stmt(_type=STATEMENT_V01)),
    ("type-alias", {**{k: v for k, v in _stmt().items() if k != "_type"}, "type": STATEMENT_V1}),
    ("no-predicate", _stmt(predicate=_DROP)),
    ("empty-predicate", _stmt(predicate={})),
    ("null-predicate", _stmt(predicate=None)),
    ("unknown-top-level-field", _stmt(extraField={"a": [1, 2]})),
    ("several-subjects", _stmt(subject=[SUBJECT, {"digest": {"sha512": "b" * 128}}])),
    ("subject-without-name", _stmt(subject=[{"digest": {"sha256": SHA}}])),
    (
        "full-resource-descriptor",
        _stmt(
            subject=[
                {
                    "name": "n",
                    "uri": "https://example.com/a",
                    "digest": {"sha256": SHA, "custom": "X"},
                    "content": "aGVsbG8=",
                    "downloadLocation": "https://example.com/dl",
                    "mediaType": "text/plain",
                    "annotations": {"a": {"b": [1, None, True]}},
                    "x-unknown": 1,
                }
            ]
        ),
    ),
    (
        "null-subject-fields",
        _stmt(subject=[{"name": None, "uri": None, "digest": {"sha256": SHA}}]),
    ),
    ("nested-predicate", _stmt(predicate={"a": [{"b": {"c": [1.5, -2, "x", None]}}]})),
]


@pytest.mark.parametrize("data", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_statements_round_trip(data: dict[str, Any]) -> None:
    statement = Statement.from_dict(data)
    assert statement.to_dict() == data
    assert Statement.from_dict(statement.to_dict()) == statement


def test_type_alias_keeps_its_key() -> None:
    data = {**{k: v for k, v in _stmt().items() if k != "_type"}, "type": STATEMENT_V1}
    statement = Statement.from_dict(data)
    assert statement.type == STATEMENT_V1
    assert "type" in statement.to_dict()
    assert "_type" not in statement.to_dict()


def test_fields() -> None:
    statement = Statement.from_dict(
        _stmt(subject=[SUBJECT, {"uri": "u", "digest": {"sha256": SHA}}])
    )
    assert statement.predicate_type == "https://example.com/p/v1"
    assert statement.subject[0].name == "foo"
    assert statement.subject[0].digest == {"sha256": SHA}
    assert statement.subject[1].label == "u"
    assert statement.plain_predicate == {"k": "v"}


INVALID: list[tuple[str, Any, str, str]] = [
    ("not-an-object", [], "", "must be a JSON object"),
    ("no-type", _stmt(_type=_DROP), "_type", "needs _type"),
    ("type-not-string", _stmt(_type=1), "_type", "needs _type"),
    ("unknown-type", _stmt(_type="https://in-toto.io/Statement/v2"), "_type", "unsupported"),
    ("both-type-keys", _stmt(type=STATEMENT_V1), "", "both _type and type"),
    ("no-subject", _stmt(subject=_DROP), "subject", "must be a list"),
    ("subject-string", _stmt(subject="foo"), "subject", "must be a list"),
    ("empty-subject", _stmt(subject=[]), "subject", "at least one subject"),
    ("subject-not-object", _stmt(subject=["x"]), "subject[0]", "must be an object"),
    ("subject-without-digest", _stmt(subject=[{"name": "x", "uri": "u"}]), "subject[0]", "digest"),
    ("subject-empty-digest", _stmt(subject=[{"digest": {}}]), "subject[0].digest", "at least one"),
    (
        "subject-uppercase-digest",
        _stmt(subject=[{"digest": {"sha256": "A" * 64}}]),
        "subject[0].digest",
        "lowercase",
    ),
    (
        "second-subject-bad",
        _stmt(subject=[SUBJECT, {"digest": {"sha256": "ab"}}]),
        "subject[1].digest",
        "hex digits",
    ),
    ("name-not-string", _stmt(subject=[{**SUBJECT, "name": 1}]), "subject[0]", "name must be"),
    ("content-not-base64", _stmt(subject=[{**SUBJECT, "content": "!!"}]), "subject[0]", "base64"),
    (
        "annotations-not-object",
        _stmt(subject=[{**SUBJECT, "annotations": []}]),
        "subject[0]",
        "annotations",
    ),
    ("no-predicate-type", _stmt(predicateType=_DROP), "predicateType", "must be a string"),
    ("empty-predicate-type", _stmt(predicateType=""), "predicateType", "non-empty"),
    ("predicate-list", _stmt(predicate=[]), "predicate", "must be an object"),
    ("predicate-string", _stmt(predicate="x"), "predicate", "must be an object"),
]


@pytest.mark.parametrize(
    ("data", "path", "problem"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_statements(data: Any, path: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        Statement.from_dict(data)
    assert info.value.path == path
    assert problem in info.value.problem


def test_resource_descriptor_needs_uri_digest_or_content() -> None:
    with pytest.raises(ValidationError, match="at least one of uri, digest, content"):
        ResourceDescriptor.from_dict({"name": "x", "mediaType": "t"})
    assert ResourceDescriptor.from_dict({"uri": "u"}).label == "u"
    assert ResourceDescriptor.from_dict({"content": "aGk="}).content == b"hi"


def test_statement_is_immutable_and_isolated_from_its_input() -> None:
    data = _stmt(predicate={"list": [1], "obj": {"a": 1}})
    original = copy.deepcopy(data)
    statement = Statement.from_dict(data)
    data["predicate"]["list"].append(2)
    data["predicate"]["obj"]["a"] = 2
    data["subject"][0]["digest"]["sha256"] = "b" * 64
    assert statement.to_dict() == original
    with pytest.raises(FrozenInstanceError):
        statement.predicate_type = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        statement.predicate["new"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        statement.predicate["obj"]["a"] = 3


def test_constructor_validates_too() -> None:
    rd = ResourceDescriptor(name="n", uri="u")
    with pytest.raises(ValidationError, match="every subject needs a digest"):
        Statement(type=STATEMENT_V1, subject=(rd,), predicate_type="p")
    with pytest.raises(ValidationError, match="unsupported statement type"):
        Statement(type="https://example.com", subject=(), predicate_type="p")


# -- corpus: the Go binding's validation cases and spec examples ---------------


def _go_cases(kind: str) -> list[dict[str, Any]]:
    path = SPEC_EXAMPLES / "go-binding-validation-cases.json"
    if not path.is_file():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text())[kind]
    return cases


# Where this library deliberately differs from the Go binding, and why.
GO_DIFFERENCES = {
    # spec/v1/statement.md makes predicate OPTIONAL; the Go binding requires it.
    "missing predicate": "ok",
}


@pytest.mark.parametrize(
    "case", _go_cases("statement_cases"), ids=[c["name"] for c in _go_cases("statement_cases")]
)
def test_go_binding_statement_cases(case: dict[str, Any]) -> None:
    expect_ok = GO_DIFFERENCES.get(case["name"], case["expect"]).startswith("ok")
    if expect_ok:
        assert Statement.from_dict(case["json"]).to_dict() == case["json"]
    else:
        with pytest.raises(ValidationError):
            Statement.from_dict(case["json"])


@pytest.mark.parametrize(
    "case",
    _go_cases("resource_descriptor_cases"),
    ids=[c["name"] for c in _go_cases("resource_descriptor_cases")],
)
def test_go_binding_resource_descriptor_cases(case: dict[str, Any]) -> None:
    if case["expect"].startswith("ok"):
        assert ResourceDescriptor.from_dict(case["json"]).to_dict() == case["json"]
    else:
        with pytest.raises(ValidationError):
            ResourceDescriptor.from_dict(case["json"])


SPEC_FILES = sorted(SPEC_EXAMPLES.glob("*.ex*.json")) if SPEC_EXAMPLES.is_dir() else []
# Only these examples carry real-length lowercase hex digests (corpus README).
REAL_DIGESTS = {"reference.ex1.json", "reference.ex2.json", "test-result.ex1.json"}


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_spec_examples(path: Path) -> None:
    data = loads(path.read_bytes())
    if path.name in REAL_DIGESTS:
        assert Statement.from_dict(data).to_dict() == data
    else:
        with pytest.raises(ValidationError) as info:
            Statement.from_dict(data)
        assert ".digest" in info.value.path


# -- property: lossless round trip ---------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
_HEX = "0123456789abcdef"
_DIGEST_VALUES = {
    "sha256": st.text(_HEX, min_size=64, max_size=64),
    "sha512": st.text(_HEX, min_size=128, max_size=128),
    "sha1": st.text(_HEX, min_size=40, max_size=40),
    "gitCommit": st.sampled_from([40, 64]).flatmap(lambda n: st.text(_HEX, min_size=n, max_size=n)),
    "custom": st.text(max_size=10),
}
_DIGESTS = st.lists(
    st.sampled_from(sorted(_DIGEST_VALUES)), min_size=1, max_size=3, unique=True
).flatmap(lambda algs: st.fixed_dictionaries({alg: _DIGEST_VALUES[alg] for alg in algs}))
_OPTIONAL_STR = st.none() | st.text(max_size=10)


@st.composite
def _subjects(draw: st.DrawFn) -> dict[str, Any]:
    rd: dict[str, Any] = {"digest": draw(_DIGESTS)}
    for key in ("name", "uri", "downloadLocation", "mediaType"):
        if draw(st.booleans()):
            rd[key] = draw(_OPTIONAL_STR)
    if draw(st.booleans()):
        rd["content"] = draw(st.sampled_from(["", "aGk=", "AAEC"]))
    if draw(st.booleans()):
        rd["annotations"] = draw(st.dictionaries(st.text(max_size=5), _JSON, max_size=3))
    if draw(st.booleans()):
        rd["x-" + draw(st.text(max_size=4))] = draw(_JSON)
    return rd


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        draw(st.sampled_from(["_type", "type"])): draw(
            st.sampled_from([STATEMENT_V1, STATEMENT_V01])
        ),
        "subject": draw(st.lists(_subjects(), min_size=1, max_size=3)),
        "predicateType": draw(st.text(min_size=1, max_size=20)),
    }
    choice = draw(st.sampled_from(["absent", "null", "object"]))
    if choice == "null":
        data["predicate"] = None
    elif choice == "object":
        data["predicate"] = draw(st.dictionaries(st.text(max_size=6), _JSON, max_size=4))
    extra = draw(st.dictionaries(st.text(max_size=6).map(lambda s: "x" + s), _JSON, max_size=2))
    data.update(extra)
    return data


@given(statements())
def test_round_trip_is_lossless(data: dict[str, Any]) -> None:
    assert Statement.from_dict(data).to_dict() == data


@given(statements())
def test_round_trip_through_json_bytes(data: dict[str, Any]) -> None:
    text = json.dumps(data).encode()
    statement = Statement.from_dict(loads(text))
    assert json.loads(json.dumps(statement.to_dict())) == json.loads(text)
