"""CEL rules read who signed: ``signer`` (per authorised signer) and ``signers``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from intoto_policy import Layout, Status, verify, verify_attestations
from intoto_policy.crypto._keyless import load_trusted_root
from intoto_policy.policy._cel import Outcome, compile_rule
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document
from tests.test_verify import AT, KEYS, VULNS, functionary, scan, signed

ITEMS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world" / "items"
TRUST = ITEMS.parent / "trust"
BUNDLE = ITEMS / "04-slsaverifier-bundle-valid-v0.3" / "valid-v0.3.intoto.sigstore"
ROOT = TRUST / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
SIGNED_AT = "2024-10-25T03:12:16Z"
GHA = "https://token.actions.githubusercontent.com"
GENERATOR = (
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
    "generator_generic_slsa3.yml@refs/heads/main"
)

# Each case: a rule, its allowIfNoClaim flag, and whether the bundle passes.
KEYLESS = [
    pytest.param("signer.kind == 'sigstore'", False, True, id="kind"),
    pytest.param(f"signer.identity == '{GENERATOR}'", False, True, id="identity"),
    pytest.param("signer.identity == 'https://evil'", False, False, id="identity-other"),
    pytest.param(f"signer.issuer == '{GHA}'", False, True, id="issuer"),
    pytest.param("signer.functionary == 'builder'", False, True, id="functionary"),
    pytest.param(
        "signer.extensions.sourceRepositoryURI.startsWith('https://github.com/')",
        False,
        True,
        id="fulcio-extension",
    ),
    pytest.param(
        "signer.extensions.buildSignerURI == signer.identity", False, True, id="extension-vs-san"
    ),
    pytest.param(f"signer.signedAt == '{SIGNED_AT}'", False, True, id="signedAt-text"),
    pytest.param(
        "timestamp(signer.signedAt) < timestamp('2024-10-26T00:00:00Z')",
        False,
        True,
        id="signedAt-timestamp",
    ),
    pytest.param(
        "timestamp(signer.signedAt) > timestamp('2024-10-26T00:00:00Z')",
        False,
        False,
        id="signedAt-too-early",
    ),
    pytest.param("!has(signer.keyid)", False, True, id="no-keyid-for-keyless"),
    pytest.param("signers.size() == 1 && signers[0].kind == 'sigstore'", False, True, id="signers"),
]


@pytest.mark.skipif(not BUNDLE.is_file(), reason="shared corpus not present")
@pytest.mark.parametrize(("rule", "allow", "passes"), KEYLESS)
def test_keyless_signer_fields(tmp_path: Path, rule: str, allow: bool, passes: bool) -> None:
    pred: dict[str, Any] = {
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "functionaries": ["builder"],
        "expectedAttributes": [{"rule": rule, "allowIfNoClaim": allow}],
    }
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"builder": {"type": "sigstore", "identityRegex": ".*", "issuer": GHA}},
        "steps": [{"name": "build", "expectedPredicates": [pred]}],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    root = load_trusted_root(ROOT.read_bytes(), source=str(ROOT))
    report = verify(
        path,
        [BUNDLE],
        at=datetime(2024, 10, 26, tzinfo=UTC),
        allow_unsigned=True,
        trusted_root=root,
        no_subject=True,
    )
    assert bool(report) is passes, [c.message for c in report.failures]


SCANNER, BUILDER_KEY = KEYS["scanner"].keyid, KEYS["builder"].keyid


def _scan_layout(rule: str, *, allow: bool = False, threshold: int = 1) -> Layout:
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {
                SCANNER: functionary("scanner"),
                BUILDER_KEY: functionary("builder"),
            },
            "steps": [
                {
                    "name": "scan",
                    "expectedPredicates": [
                        {
                            "predicateType": VULNS,
                            "functionaries": [SCANNER, BUILDER_KEY],
                            "threshold": threshold,
                            "expectedAttributes": [{"rule": rule, "allowIfNoClaim": allow}],
                        }
                    ],
                }
            ],
        }
    )


def _scan_naming(keyid: str) -> dict[str, Any]:
    doc = scan()
    doc["predicate"]["scanner"]["keyid"] = keyid
    return doc


SCANNER_NAMED = "signer.keyid == predicate.scanner.keyid"

# (id, rule, allowIfNoClaim, threshold, statement, signing keys, verdict, counted signers)
# For the scanner the rule reads a claim the scan lacks; for the builder it is false.
ABSENT_FOR_ONE = f"signer.keyid == '{SCANNER}' ? predicate.absent == 1 : false"

KEYED = [
    ("named-scanner-signed", SCANNER_NAMED, False, 1, _scan_naming(SCANNER), ("scanner",), True, 1),
    (
        "named-scanner-but-other-key-signed",
        SCANNER_NAMED,
        False,
        1,
        _scan_naming(SCANNER),
        ("builder",),
        False,
        0,
    ),
    # Two authorised signers; only the one named counts: the attestation
    # cannot make the rule look at the signer of its choice.
    (
        "co-signed-only-named-counts",
        SCANNER_NAMED,
        False,
        2,
        _scan_naming(SCANNER),
        ("scanner", "builder"),
        False,
        1,
    ),
    (
        "co-signed-threshold-one",
        SCANNER_NAMED,
        False,
        1,
        _scan_naming(SCANNER),
        ("builder", "scanner"),
        True,
        1,
    ),
    ("kind-key", "signer.kind == 'key'", False, 1, scan(), ("scanner",), True, 1),
    # allowIfNoClaim excuses the signer whose claim is absent, never the one
    # for which the rule is false, whichever signed first.
    (
        "absent-for-one-false-for-other",
        ABSENT_FOR_ONE,
        True,
        2,
        scan(),
        ("scanner", "builder"),
        False,
        1,
    ),
    (
        "false-for-one-absent-for-other",
        ABSENT_FOR_ONE,
        True,
        2,
        scan(),
        ("builder", "scanner"),
        False,
        1,
    ),
    (
        "absent-for-one-threshold-one",
        ABSENT_FOR_ONE,
        True,
        1,
        scan(),
        ("scanner", "builder"),
        True,
        1,
    ),
    (
        "absent-without-allowIfNoClaim",
        ABSENT_FOR_ONE,
        False,
        1,
        scan(),
        ("scanner", "builder"),
        False,
        0,
    ),
    # A key signature carries no verified time: reading it fails closed.
    (
        "signedAt-absent-fails",
        "timestamp(signer.signedAt) < timestamp('2030-01-01T00:00:00Z')",
        False,
        1,
        scan(),
        ("scanner",),
        False,
        0,
    ),
    (
        "signedAt-absent-allowIfNoClaim",
        "timestamp(signer.signedAt) < timestamp('2030-01-01T00:00:00Z')",
        True,
        1,
        scan(),
        ("scanner",),
        True,
        1,
    ),
    (
        "extensions-empty-for-keys",
        "signer.extensions.size() == 0",
        False,
        1,
        scan(),
        ("scanner",),
        True,
        1,
    ),
    (
        "signers-lists-authorised",
        "signers.size() == 2",
        False,
        1,
        scan(),
        ("scanner", "builder"),
        True,
        2,
    ),
]


@pytest.mark.parametrize(
    ("rule", "allow", "threshold", "doc", "keys", "verdict", "counted"),
    [pytest.param(*case[1:], id=case[0]) for case in KEYED],
)
def test_key_signer_fields(
    rule: str,
    allow: bool,
    threshold: int,
    doc: dict[str, Any],
    keys: tuple[str, ...],
    verdict: bool,
    counted: int,
) -> None:
    layout = _scan_layout(rule, allow=allow, threshold=threshold)
    report = verify_attestations(layout, [signed(doc, *keys)], at=AT)
    assert bool(report) is verdict, [c.message for c in report.failures]
    (threshold_check,) = [c for c in report.steps[0].checks if c.kind.value == "threshold"]
    assert threshold_check.actual == counted


def test_dropped_signer_is_reported() -> None:
    layout = _scan_layout(SCANNER_NAMED)
    report = verify_attestations(
        layout, [signed(_scan_naming(SCANNER), "scanner", "builder")], at=AT
    )
    (rule_check,) = [c for c in report.steps[0].checks if c.rule == SCANNER_NAMED]
    assert rule_check.status is Status.PASS
    assert "not counted" in rule_check.message
    assert rule_check.details["notCounted"] == [f"key {BUILDER_KEY[:12]}"]


# Signer values are bound as variables: text that looks like CEL stays data.
INJECTION = [
    pytest.param("x' || true || 'x", id="quote-breakout"),
    pytest.param('" || true || "', id="double-quote-breakout"),
    pytest.param("a') || (true", id="paren-breakout"),
]


@pytest.mark.parametrize("hostile", INJECTION)
def test_signer_values_never_become_syntax(hostile: str) -> None:
    rule = compile_rule("signer.identity == 'https://ci.example'")
    result = rule.evaluate({"signer": {"identity": hostile}})
    assert result.outcome is Outcome.FALSE


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        pytest.param("signer.kind == 'key'", True, id="field"),
        pytest.param("signers.exists(s, s.kind == 'key')", False, id="signers-only"),
        pytest.param("predicate.signer == 'x'", False, id="predicate-field-named-signer"),
        pytest.param("predicate.x == 'signer.kind'", False, id="inside-string"),
        pytest.param(".signer.kind == 'key'", True, id="root-scope-dot"),
        pytest.param("true && .signer.kind == 'key'", True, id="root-scope-dot-after-operator"),
        pytest.param("(.signer.kind) == 'key'", True, id="root-scope-dot-in-parentheses"),
        pytest.param("[.signer.kind][0] == 'key'", True, id="root-scope-dot-in-list"),
        pytest.param("predicate . signer == 'x'", False, id="field-with-spaces"),
        pytest.param("predicate.x == r'signer.kind'", False, id="inside-raw-string"),
        pytest.param(
            "predicate.x == 'a\\'b' && signer.kind == 'key'", True, id="after-escaped-quote"
        ),
    ],
)
def test_reads_signer_is_static(text: str, reads: bool) -> None:
    assert compile_rule(text).reads_signer is reads


SIGNED_AT_RULE = "timestamp(signer.signedAt) > timestamp('2024-01-01T00:00:00Z')"


def _lint_doc(functionary_doc: dict[str, Any], allow: bool) -> dict[str, Any]:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {"f": functionary_doc},
        "steps": [
            {
                "name": "scan",
                "expectedPredicates": [
                    {
                        "predicateType": VULNS,
                        "functionaries": ["f"],
                        "expectedAttributes": [{"rule": SIGNED_AT_RULE, "allowIfNoClaim": allow}],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("functionary_doc", "allow", "warned"),
    [
        pytest.param(functionary("scanner"), False, True, id="key-functionary"),
        pytest.param(functionary("scanner"), True, False, id="key-with-allowIfNoClaim"),
        pytest.param(
            {"type": "sigstore", "identity": "https://ci", "issuer": GHA},
            False,
            False,
            id="keyless",
        ),
    ],
)
def test_lint_warns_signed_at_without_verified_time(
    functionary_doc: dict[str, Any], allow: bool, warned: bool
) -> None:
    data = yaml.safe_dump(_lint_doc(functionary_doc, allow)).encode()
    doc, lines = parse_layout_document(data, source="l.yml")
    findings = lint_layout(doc, source="l.yml", lines=lines, at=AT)
    assert any("signedAt" in f.message for f in findings) is warned, findings
