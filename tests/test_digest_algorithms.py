"""digestAlgorithms: which digest algorithms artifact rules accept, per layout or per step."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import yaml

from intoto_policy import CheckKind, Layout, ValidationError, verify_attestations
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document, validate_layout_schema
from tests.test_verify import AT, KEYS, LINK, functionary, signed

KID = KEYS["builder"].keyid
SHA1 = hashlib.sha1(b"app").hexdigest()
SHA1_OTHER = hashlib.sha1(b"other").hexdigest()
SHA256 = hashlib.sha256(b"app").hexdigest()


def _link(
    name: str, materials: dict[str, dict[str, str]], products: dict[str, dict[str, str]]
) -> Any:
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": n, "digest": d} for n, d in products.items()]
        or [{"name": "none", "digest": {"sha256": "0" * 64}}],
        "predicateType": LINK,
        "predicate": {
            "name": name,
            "materials": [{"name": n, "digest": d} for n, d in materials.items()],
        },
    }
    return signed(doc, "builder", source=f"{name}.json")


def _layout(
    top: list[str] | None = None, build: list[str] | None = None, deploy: list[str] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KID: functionary("builder")},
        "steps": [
            {
                "name": "build",
                "expectedProducts": ["CREATE app", "ALLOW none"],
                "expectedPredicates": [{"predicateType": LINK, "functionaries": [KID]}],
            },
            {
                "name": "deploy",
                "expectedMaterials": ["MATCH app WITH PRODUCTS FROM build", "DISALLOW *"],
                "expectedPredicates": [{"predicateType": LINK, "functionaries": [KID]}],
            },
        ],
    }
    if top is not None:
        doc["digestAlgorithms"] = top
    if build is not None:
        doc["steps"][0]["digestAlgorithms"] = build
    if deploy is not None:
        doc["steps"][1]["digestAlgorithms"] = deploy
    return doc


# (id, layout, build's product digest, deploy's material digest, verdict)
CASES = [
    ("default-refuses-sha1-only", _layout(), {"sha1": SHA1}, {"sha1": SHA1}, False),
    (
        "top-level-sha1-accepted",
        _layout(top=["sha256", "sha1"]),
        {"sha1": SHA1},
        {"sha1": SHA1},
        True,
    ),
    (
        "step-level-on-the-matching-step",
        _layout(deploy=["sha1"]),
        {"sha1": SHA1},
        {"sha1": SHA1},
        True,
    ),
    # The rule is the deploy step's: the build step's list does not decide it.
    (
        "step-level-on-the-other-step",
        _layout(build=["sha1"]),
        {"sha1": SHA1},
        {"sha1": SHA1},
        False,
    ),
    (
        "step-overrides-top",
        _layout(top=["sha1"], deploy=["sha256"]),
        {"sha1": SHA1},
        {"sha1": SHA1},
        False,
    ),
    ("sha1-differs", _layout(top=["sha1"]), {"sha1": SHA1}, {"sha1": SHA1_OTHER}, False),
    ("default-sha256", _layout(), {"sha256": SHA256}, {"sha256": SHA256}, True),
    (
        "no-common-acceptable-algorithm",
        _layout(top=["sha256"]),
        {"sha256": SHA256},
        {"sha1": SHA1},
        False,
    ),
    # A common algorithm that disagrees fails, even one not acceptable.
    (
        "weak-conflict-beside-agreeing-sha256",
        _layout(),
        {"sha256": SHA256, "sha1": SHA1},
        {"sha256": SHA256, "sha1": SHA1_OTHER},
        False,
    ),
    ("gitCommit-by-default", _layout(), {"gitCommit": SHA1}, {"gitCommit": SHA1}, True),
    # Variable-output functions count for a MATCH only with 256 bits or more.
    ("blake2b-1-byte-default", _layout(), {"blake2b": "ab"}, {"blake2b": "ab", "shake128": "00"},
     False),
    ("blake2b-1-byte-even-when-listed", _layout(top=["blake2b"]), {"blake2b": "ab"},
     {"blake2b": "ab"}, False),
    ("shake256-31-bytes", _layout(), {"shake256": "c" * 62}, {"shake256": "c" * 62}, False),
    ("blake2b-256-bits", _layout(), {"blake2b": "c" * 64}, {"blake2b": "c" * 64}, True),
    ("blake2s-full", _layout(), {"blake2s": "c" * 64}, {"blake2s": "c" * 64}, True),
    ("short-blake2b-disagreeing-beside-sha256", _layout(), {"sha256": SHA256, "blake2b": "ab"},
     {"sha256": SHA256, "blake2b": "ac"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "product", "material", "verdict"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_artifact_matching(
    doc: dict[str, Any], product: dict[str, str], material: dict[str, str], verdict: bool
) -> None:
    atts = [_link("build", {}, {"app": product}), _link("deploy", {"app": material}, {})]
    report = verify_attestations(Layout.from_dict(doc), atts, at=AT)
    assert bool(report) is verdict, [c.message for c in report.failures]
    if not verdict:
        assert CheckKind.ARTIFACT_RULE in {c.kind for c in report.failures}


BAD = [
    pytest.param(["sha256", "shaX"], "unknown digest algorithm", id="unknown"),
    pytest.param([], "non-empty", id="empty"),
    pytest.param(["sha256", "sha256"], "twice", id="duplicate"),
    pytest.param("sha256", "non-empty list", id="not-a-list"),
]


@pytest.mark.parametrize(("value", "message"), BAD)
@pytest.mark.parametrize("where", ["top", "deploy"])
def test_bad_lists_are_refused(value: Any, message: str, where: str) -> None:
    doc = _layout(**{where: value})
    with pytest.raises(ValidationError, match=message):
        Layout.from_dict(doc)
    assert validate_layout_schema(doc, source="l", lines={})


def test_round_trip() -> None:
    layout = Layout.from_dict(_layout(top=["sha256", "sha1"], deploy=["gitCommit"]))
    assert layout.digest_algorithms == {"sha256", "sha1"}
    assert layout.acceptable_for(layout.steps[0]) == {"sha256", "sha1"}
    assert layout.acceptable_for(layout.steps[1]) == {"gitCommit"}
    assert layout.steps[1].to_dict()["digestAlgorithms"] == ["gitCommit"]


@pytest.mark.parametrize(
    ("doc", "warned"),
    [
        pytest.param(_layout(top=["sha256", "sha1"]), ["/digestAlgorithms"], id="top-sha1"),
        pytest.param(_layout(deploy=["md5"]), ["/steps/1/digestAlgorithms"], id="step-md5"),
        pytest.param(_layout(top=["sha256", "gitCommit"]), [], id="strong-only"),
    ],
)
def test_lint_warns_on_weak_algorithms(doc: dict[str, Any], warned: list[str]) -> None:
    parsed, lines = parse_layout_document(yaml.safe_dump(doc).encode(), source="l.yml")
    findings = lint_layout(parsed, source="l.yml", lines=lines, at=AT)
    assert [f.pointer for f in findings if "broken" in f.message] == warned
    assert all(f.severity == "warning" for f in findings)


@pytest.mark.parametrize(
    ("product", "given", "verdict"),
    [
        pytest.param({"blake2b": "ab"}, {"blake2b": "ab"}, False, id="blake2b-1-byte"),
        pytest.param({"shake128": "00"}, {"shake128": "00"}, False, id="shake128-1-byte"),
        pytest.param({"blake2b": "c" * 128}, {"blake2b": "c" * 128}, True, id="blake2b-512-bits"),
    ],
)
def test_subject_binding_needs_256_bits(
    product: dict[str, str], given: dict[str, str], verdict: bool
) -> None:
    from intoto_policy import DigestSet

    doc = _layout()
    doc["subjectSteps"] = ["build"]
    report = verify_attestations(
        Layout.from_dict(doc),
        [_link("build", {}, {"app": product}), _link("deploy", {"app": product}, {})],
        at=AT,
        subjects=[DigestSet(given)],
    )
    assert bool(report) is verdict, [c.message for c in report.failures]


SHA256_OTHER = hashlib.sha256(b"other").hexdigest()

# (material digest, product digest, MODIFY outcome): "changed" consumes the path,
# "same" consumes nothing, "undecidable" fails the rule (never read as changed).
MODIFY_CASES = [
    pytest.param({"sha256": SHA256}, {"sha256": SHA256_OTHER}, "changed", id="sha256-differs"),
    pytest.param({"sha256": SHA256}, {"sha256": SHA256}, "same", id="sha256-same"),
    pytest.param({"blake2b": "ab"}, {"blake2b": "ab"}, "undecidable", id="short-blake2b-identical"),
    pytest.param({"blake2b": "ab"}, {"blake2b": "ac"}, "changed", id="short-blake2b-differs"),
    pytest.param({"sha256": SHA256}, {"sha512": "e" * 128}, "undecidable",
                 id="no-shared-algorithm"),
    pytest.param({"sha1": SHA1}, {"sha1": SHA1}, "undecidable", id="sha1-same-not-acceptable"),
    pytest.param({"sha1": SHA1}, {"sha1": SHA1_OTHER}, "changed", id="sha1-differs"),
    pytest.param({"blake2b": "c" * 64}, {"blake2b": "c" * 64}, "same", id="blake2b-256-bits-same"),
]  # fmt: skip


@pytest.mark.parametrize(("material", "product", "outcome"), MODIFY_CASES)
def test_modify_is_a_three_way_comparison(
    material: dict[str, str], product: dict[str, str], outcome: str
) -> None:
    doc = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KID: functionary("builder")},
        "steps": [
            {
                "name": "edit",
                "expectedProducts": ["MODIFY app", "ALLOW *"],
                "expectedPredicates": [{"predicateType": LINK, "functionaries": [KID]}],
            }
        ],
    }
    report = verify_attestations(
        Layout.from_dict(doc), [_link("edit", {"app": material}, {"app": product})], at=AT
    )
    [modify] = [c for s in report.steps for c in s.checks if c.rule == "MODIFY app"]
    if outcome == "undecidable":
        assert not report
        assert modify.status.value == "fail"
        assert "cannot tell whether 1 artifact(s) changed" in modify.message
        assert modify.actual == ["app"]
    else:
        assert report, [c.message for c in report.failures]
        consumed = 1 if outcome == "changed" else 0
        assert f"holds ({consumed} consumed)" in modify.message
