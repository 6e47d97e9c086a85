"""A YAML null where the schema declares a list means an empty list; elsewhere it is an error."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy import SchemaError, load_layout, verify

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "attestation-verifier"
BASELINE = CORPUS / "derived-scenarios" / "00-baseline-pass"
AT = datetime(2026, 11, 22, tzinfo=UTC)
needs_corpus = pytest.mark.skipif(not BASELINE.is_dir(), reason="shared corpus not present")


def _comment_out_rules(text: str, rule_prefix: str) -> str:
    """The attestation-verifier style: every entry of one expectedAttributes commented out."""
    out = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("- rule:"):
            inside = rule_prefix in line
        elif not stripped.startswith(("allowIfNoClaim:", "warn:", "debug:")):
            inside = False
        out.append(re.sub(r"^(\s*)", r"\1# ", line) if inside else line)
    return "\n".join(out) + "\n"


@needs_corpus
def test_commented_out_attributes_verify_as_no_rules(tmp_path: Path) -> None:
    text = (BASELINE / "layout.yml").read_text()
    edited = _comment_out_rules(text, "predicate.")
    edited = _comment_out_rules(edited, "size(subject)")
    assert "expectedAttributes:\n" in edited  # the key is now a YAML null
    layout = tmp_path / "layout.yml"
    layout.write_text(edited)
    report = verify(layout, [BASELINE / "attestations"], at=AT, allow_unsigned=True)
    assert report, [c.message for c in report.failures]
    loaded = load_layout(layout, allow_unsigned=True)
    assert all(not p.attributes for s in loaded.layout.steps for p in s.expected_predicates)


LAYOUT = """\
expires: "2100-01-01T00:00:00Z"
functionaries:
  k1:
    keyType: ed25519
    scheme: ed25519
    keyVal:
      public: "7345b83c121ea0d9ffc3b38d69958718b8435e8cb0552f889d695586693e1b89"
steps:
  - name: build
    expectedMaterials: {materials}
    expectedPredicates:
      - predicateType: {ptype}
        functionaries: [k1]
        expectedAttributes: {attrs}
"""

LIST_NULLS = [
    pytest.param({"attrs": ""}, id="expectedAttributes-empty-value"),
    pytest.param({"attrs": "null"}, id="expectedAttributes-null"),
    pytest.param({"attrs": "~"}, id="expectedAttributes-tilde"),
    pytest.param({"materials": ""}, id="expectedMaterials-null"),
]


@pytest.mark.parametrize("values", LIST_NULLS)
def test_null_list_is_empty(tmp_path: Path, values: dict[str, str]) -> None:
    fields = {"materials": "[]", "ptype": "https://slsa.dev/provenance/v1", "attrs": "[]"}
    fields.update(values)
    path = tmp_path / "layout.yml"
    path.write_text(LAYOUT.format(**fields))
    step = load_layout(path, allow_unsigned=True).layout.steps[0]
    assert step.expected_materials == ()
    assert step.expected_predicates[0].attributes == ()


NON_LIST_NULLS = [
    # Lists whose emptiness would change who is trusted keep null an error.
    pytest.param("functionaries", "", "functionaries", id="predicate-functionaries-null"),
    pytest.param("revokedKeys", "", "revokedKeys", id="revokedKeys-null"),
    pytest.param("subjectSteps", "", "subjectSteps", id="subjectSteps-null"),
    pytest.param("ptype", "", "predicateType", id="predicateType"),
    pytest.param("expires", "", "expires", id="expires"),
    pytest.param("public", "", "public", id="keyVal-public"),
    pytest.param("steps", "", "steps", id="steps-null-is-not-a-non-empty-list"),
]


@pytest.mark.parametrize(("field", "value", "named"), NON_LIST_NULLS)
def test_null_elsewhere_is_an_error(tmp_path: Path, field: str, value: str, named: str) -> None:
    text = LAYOUT.format(materials="[]", ptype="https://slsa.dev/provenance/v1", attrs="[]")
    if field == "functionaries":
        text = text.replace("functionaries: [k1]", "functionaries:")
    elif field in ("revokedKeys", "subjectSteps"):
        text = f"{field}:\n" + text
    elif field == "ptype":
        text = text.replace("predicateType: https://slsa.dev/provenance/v1", "predicateType:")
    elif field == "expires":
        text = text.replace('expires: "2100-01-01T00:00:00Z"', "expires:")
    elif field == "public":
        text = re.sub(r'public: "[0-9a-f]+"', "public:", text)
    else:
        text = text.split("steps:")[0] + "steps:\n"
    path = tmp_path / "layout.yml"
    path.write_text(text)
    with pytest.raises(SchemaError) as err:
        load_layout(path, allow_unsigned=True)
    assert named in str(err.value)


@pytest.mark.parametrize(
    ("attrs", "code"),
    [
        pytest.param("", 0, id="null-list-is-clean"),
        pytest.param("[]", 0, id="empty-list"),
        pytest.param("7", 1, id="number-is-still-an-error"),
    ],
)
def test_layout_check_reads_null_lists(tmp_path: Path, attrs: str, code: int) -> None:
    from intoto_policy.cli._main import main

    path = tmp_path / "layout.yml"
    path.write_text(
        LAYOUT.format(materials="", ptype="https://slsa.dev/provenance/v1", attrs=attrs)
    )
    assert main(["layout", "check", str(path)]) == code


# A value of the wrong type anywhere lint walks: a schema finding (exit 1), no traceback.
WRONG_TYPES = [
    pytest.param("expectedAttributes: 7", id="attributes-number"),
    pytest.param("expectedAttributes: {rule: x}", id="attributes-map"),
    pytest.param("functionaries: 5", id="functionaries-number"),
    pytest.param("functionaries: [[k1]]", id="functionary-id-list"),
    pytest.param("predicateTypes: 3", id="predicate-types-number"),
]


@pytest.mark.parametrize("line", WRONG_TYPES)
def test_layout_check_wrong_types_are_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    from intoto_policy.cli._main import main

    text = LAYOUT.format(materials="[]", ptype="https://slsa.dev/provenance/v1", attrs="[]")
    key = line.split(":", maxsplit=1)[0]
    if key == "predicateTypes":
        text = text.replace("predicateType: https://slsa.dev/provenance/v1", line)
    else:
        text = re.sub(rf"(\n\s+){key}: [^\n]*", lambda m: m.group(1) + line, text, count=1)
    path = tmp_path / "layout.yml"
    path.write_text(text)
    assert main(["layout", "check", str(path)]) == 1  # findings, not unreadable input
    out, err = capsys.readouterr()
    assert "schema:" in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(
            {"steps": [{"expectedProducts": None}]},
            {"steps": [{"expectedProducts": []}]},
            id="rule-list-emptied",
        ),
        pytest.param(
            {"functionaries": {"ca": {"type": "x509", "emails": None}}},
            {"functionaries": {"ca": {"type": "x509", "emails": None}}},
            id="x509-constraint-kept-null",
        ),
        pytest.param(
            {"steps": [{"expectedPredicates": [{"functionaries": None}]}]},
            {"steps": [{"expectedPredicates": [{"functionaries": None}]}]},
            id="functionaries-kept-null",
        ),
        pytest.param(
            {"expectedAttributes": None},
            {"expectedAttributes": None},
            id="not-where-the-schema-has-it",
        ),
    ],
)
def test_which_nulls_become_lists(doc: dict[str, object], expected: dict[str, object]) -> None:
    from intoto_policy.policy._loading import empty_null_lists

    assert empty_null_lists(doc) == expected
