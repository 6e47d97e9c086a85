"""The ready-made layouts in ``layouts/`` and their example evidence.

* Every shipped layout validates against ``schemas/layout.schema.json``,
  loads with its parameters, and refuses to load without them.
* ``layouts/examples/`` is exactly what ``layouts/examples/generate.py``
  makes, and its private keys are all marked as published test fixtures.
* Each key-based layout passes with its example evidence at the fixed
  verification time and fails, for the named reason, on each tampered
  variant (one table of named cases); the signed ``root.layout`` of each
  example passes with the owner key and fails with any other.
* The keyless layouts are checked against real signed attestations from
  the shared corpus (read in place; skipped where it or ``sigstore`` is
  absent), and the npm layout's rules against real npm provenance.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from intoto_policy import verify
from intoto_policy._api import load_trusted_root_file
from intoto_policy._errors import ParameterError, ValidationError
from intoto_policy.crypto._keyless import SigstoreTrustedRoot
from intoto_policy.crypto._keys import load_public_key_pem
from intoto_policy.model._attestations import Attestation
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from intoto_policy.policy._layout import Layout, parameters_used
from intoto_policy.policy._loading import load_layout, parse_layout_document, validate_layout_schema
from intoto_policy.report._model import CheckKind, RejectReason, Report, Status

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ROOT / "layouts"
EXAMPLES = LAYOUTS / "examples"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
REAL = CORPUS / "real-world"
ITEMS = REAL / "items"

#: The fixed verification time the example evidence is dated for.
AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "layout_examples_generate", EXAMPLES / "generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()
APP_SHA256: str = GEN.APP[1]
OTHER_SHA256: str = GEN.OTHER_APP[1]


# --------------------------------------------------------------------------
# Every shipped layout

#: Layout file -> the parameters it uses.
SHIPPED: dict[str, frozenset[str]] = {
    "provenance-trusted-builder.yml": frozenset({"builder-key", "repository"}),
    "multi-party-release.yml": frozenset(
        {"maintainer-1-key", "maintainer-2-key", "maintainer-3-key", "package"}
    ),
    "third-party-scan.yml": frozenset({"scanner-key"}),
    "sbom-required.yml": frozenset({"sbom-key", "sbom-type"}),
    "full-chain.yml": frozenset({"ci-key", "builder-key", "scanner-key"}),
    "slsa-github-generator-l3.yml": frozenset({"repository"}),
    "npm-provenance.yml": frozenset({"repository", "package"}),
    "pypi-trusted-publishing.yml": frozenset({"repository", "workflow", "package"}),
    "github-artifact-attestations.yml": frozenset({"repository", "signer-repository"}),
}


def _sample_params(names: frozenset[str]) -> dict[str, str]:
    out = {}
    for name in names:
        if name.endswith("-key"):
            out[name] = GEN.example_key(name.removesuffix("-key")).public_key.public
        elif name == "sbom-type":
            out[name] = GEN.SPDX
        elif name == "package":
            out[name] = "example_app"
        elif name == "workflow":
            out[name] = "release.yml"
        else:
            out[name] = "example-org/example-app"
    return out


def test_every_layout_file_is_listed() -> None:
    assert {p.name for p in LAYOUTS.glob("*.yml")} == set(SHIPPED)
    assert not list(LAYOUTS.glob("*.yaml"))
    assert not list(LAYOUTS.glob("*.json"))


@pytest.mark.parametrize(("name", "params"), sorted(SHIPPED.items()))
def test_layout_validates_and_loads(name: str, params: frozenset[str]) -> None:
    path = LAYOUTS / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a shipped layout opens with a comment saying what it checks"
    doc, lines = parse_layout_document(path.read_bytes(), source=name)
    assert validate_layout_schema(doc, source=name, lines=lines) == []
    assert parameters_used(doc) == params
    loaded = load_layout(path, params=_sample_params(params), allow_unsigned=True)
    assert loaded.layout.subject_steps, "every shipped layout binds the deployed artifact"
    assert loaded.layout.expires > AT


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_layout_refuses_to_load_without_its_parameters(name: str) -> None:
    # A forgotten --param must be an error, never a layout that trusts a
    # placeholder: key placeholders do not load as keys, and every other
    # parameter occurs in a rule, where unresolved ones are reported.
    with pytest.raises((ParameterError, ValidationError)) as caught:
        load_layout(LAYOUTS / name, params={}, allow_unsigned=True)
    assert caught.value.source == str(LAYOUTS / name)


# --------------------------------------------------------------------------
# The generated examples


def test_examples_are_what_generate_py_makes() -> None:
    expected: dict[str, bytes] = GEN.build_examples()
    on_disk = {
        p.relative_to(EXAMPLES).as_posix()
        for p in EXAMPLES.rglob("*")
        if p.is_file() and p.name != "generate.py" and "__pycache__" not in p.parts
    }
    assert on_disk == set(expected), "run: python layouts/examples/generate.py"
    stale = [name for name, data in expected.items() if (EXAMPLES / name).read_bytes() != data]
    assert stale == [], "run: python layouts/examples/generate.py"


def test_example_private_keys_are_marked_as_test_fixtures() -> None:
    holders = sorted(
        p.relative_to(LAYOUTS).as_posix()
        for p in LAYOUTS.rglob("*")
        if p.is_file() and b"PRIVATE KEY" in p.read_bytes() and p.suffix != ".py"
    )
    assert holders, "the examples ship their test-only private keys"
    assert all(h.endswith(".TEST-ONLY.key") for h in holders), holders
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "published test" in readme
    assert "Never trust these keys" in readme


# --------------------------------------------------------------------------
# Key-based layouts against their examples


@dataclass(frozen=True)
class KeyCase:
    """One verification of example evidence.

    Attributes:
        example: Folder under ``layouts/examples`` (its layout and params).
        files: Evidence files in that folder.
        passes: The expected verdict.
        failed_kinds: Check kinds that must be among the failures.
        rejected: Reasons of which at least one rejected attestation must give one.
        subject: sha256 of the artifact to bind.
        params: Overrides of the example's params.json.
        at: The verification time.
    """

    example: str
    files: tuple[str, ...]
    passes: bool
    failed_kinds: frozenset[CheckKind] = frozenset()
    rejected: frozenset[RejectReason] = frozenset()
    subject: str = APP_SHA256
    params: Mapping[str, str] = field(default_factory=dict)
    at: datetime = AT


TH, RULE, ART = CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.ARTIFACT_RULE
SUBJ, FRESH, LAYOUT = CheckKind.SUBJECT_BINDING, CheckKind.FRESHNESS, CheckKind.LAYOUT
R = RejectReason
# A signature that no longer verifies: the verifier says "bad signature" only
# when the envelope's keyid hint names a functionary id; the examples' ids
# are names, so "unknown signer" is what it can say (see the report to the lead).
BROKEN_SIGNATURE = frozenset({R.BAD_SIGNATURE, R.UNKNOWN_SIGNER})


def _kinds(*kinds: CheckKind) -> frozenset[CheckKind]:
    return frozenset(kinds)


def _why(*reasons: RejectReason) -> frozenset[RejectReason]:
    return frozenset(reasons)


PROV, REL, SCAN, SBOM, CHAIN = (
    "provenance-trusted-builder",
    "multi-party-release",
    "third-party-scan",
    "sbom-required",
    "full-chain",
)
M1_KEY = GEN.example_key("maintainer-1").public_key.public

KEY_CASES: dict[str, KeyCase] = {
    # provenance-trusted-builder
    "provenance/passes": KeyCase(PROV, ("provenance.intoto.jsonl",), passes=True),
    "provenance/wrong-signer": KeyCase(
        PROV,
        ("tampered/wrong-signer.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, SUBJ),
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "provenance/wrong-builder-id": KeyCase(
        PROV,
        ("tampered/wrong-builder-id.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(RULE, TH),
        rejected=_why(R.FAILED_RULES),
    ),
    "provenance/subject-mismatch": KeyCase(
        PROV,
        ("tampered/other-artifact.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(SUBJ, TH),
        rejected=_why(R.SUBJECT_MISMATCH),
    ),
    "provenance/subject-mismatch-deploying-another-artifact": KeyCase(
        PROV,
        ("provenance.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(SUBJ),
        rejected=_why(R.SUBJECT_MISMATCH),
        subject=OTHER_SHA256,
    ),
    "provenance/built-from-another-repository": KeyCase(
        PROV,
        ("provenance.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(RULE),
        rejected=_why(R.FAILED_RULES),
        params={"repository": "attacker/example-app"},
    ),
    # multi-party-release
    "release/two-of-three-maintainers": KeyCase(REL, ("release.intoto.jsonl",), passes=True),
    "release/one-maintainer-only": KeyCase(
        REL, ("tampered/one-maintainer.intoto.jsonl",), passes=False, failed_kinds=_kinds(TH)
    ),
    "release/same-maintainer-twice": KeyCase(
        REL,
        ("tampered/same-maintainer-twice.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH),
    ),
    "release/one-key-listed-as-two-maintainers": KeyCase(
        REL,
        ("tampered/same-maintainer-twice.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH),
        params={"maintainer-2-key": M1_KEY},
    ),
    "release/maintainer-and-intruder": KeyCase(
        REL,
        ("tampered/maintainer-and-intruder.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH),
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "release/subject-mismatch": KeyCase(
        REL,
        ("tampered/other-artifact.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(SUBJ, TH),
        rejected=_why(R.SUBJECT_MISMATCH),
    ),
    "release/another-package": KeyCase(
        REL,
        ("release.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(RULE, TH),
        rejected=_why(R.FAILED_RULES),
        params={"package": "pkg:generic/another-app"},
    ),
    # third-party-scan
    "scan/fresh-and-clean": KeyCase(SCAN, ("scan.intoto.jsonl",), passes=True),
    "scan/stale-scan": KeyCase(
        SCAN,
        ("tampered/stale-scan.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(FRESH, TH),
        rejected=_why(R.STALE),
    ),
    "scan/stale-a-week-later": KeyCase(
        SCAN,
        ("scan.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(FRESH),
        rejected=_why(R.STALE),
        at=AT + timedelta(days=7),
    ),
    "scan/dated-after-the-verification-time": KeyCase(
        SCAN,
        ("scan.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(FRESH),
        rejected=_why(R.STALE),
        at=AT - timedelta(days=2),
    ),
    "scan/critical-finding": KeyCase(
        SCAN,
        ("tampered/critical-finding.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(RULE, TH),
        rejected=_why(R.FAILED_RULES),
    ),
    "scan/wrong-signer-scanned-by-builder": KeyCase(
        SCAN,
        ("tampered/scanned-by-builder.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH),
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    # sbom-required
    "sbom/spdx": KeyCase(SBOM, ("sbom-spdx.intoto.jsonl",), passes=True),
    "sbom/cyclonedx": KeyCase(
        SBOM,
        ("sbom-cyclonedx.intoto.jsonl",),
        passes=True,
        params={"sbom-type": GEN.CYCLONEDX},
    ),
    "sbom/cyclonedx-where-spdx-is-required": KeyCase(
        SBOM,
        ("sbom-cyclonedx.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, SUBJ),
        rejected=_why(R.UNEXPECTED),
    ),
    "sbom/missing-sbom": KeyCase(
        SBOM,
        ("tampered/missing-sbom.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, SUBJ),
        rejected=_why(R.UNEXPECTED),
    ),
    "sbom/subject-mismatch": KeyCase(
        SBOM,
        ("tampered/other-artifact.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(SUBJ, TH),
        rejected=_why(R.SUBJECT_MISMATCH),
    ),
    # full-chain
    "chain/passes": KeyCase(CHAIN, ("chain.intoto.jsonl",), passes=True),
    "chain/build-product-swapped-after-signing": KeyCase(
        CHAIN,
        ("tampered/build-product-swapped.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, ART, SUBJ),
        rejected=BROKEN_SIGNATURE,
    ),
    "chain/wrong-signer-rebuilt-by-intruder": KeyCase(
        CHAIN,
        ("tampered/rebuilt-by-intruder.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, ART, SUBJ),
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "chain/built-from-untested-source": KeyCase(
        CHAIN,
        ("tampered/untested-source.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(ART, TH),
        rejected=_why(R.FAILED_RULES),
    ),
    "chain/missing-sbom": KeyCase(
        CHAIN,
        ("tampered/missing-sbom.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(TH, SUBJ),
    ),
    "chain/subject-mismatch": KeyCase(
        CHAIN,
        ("chain.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(SUBJ),
        rejected=_why(R.SUBJECT_MISMATCH),
        subject=OTHER_SHA256,
    ),
    "chain/stale-scan-and-expired-layout-in-2030": KeyCase(
        CHAIN,
        ("chain.intoto.jsonl",),
        passes=False,
        failed_kinds=_kinds(LAYOUT, FRESH),
        rejected=_why(R.STALE),
        at=datetime(2030, 1, 2, tzinfo=UTC),
    ),
}


def _example_params(example: str) -> dict[str, str]:
    params: dict[str, str] = json.loads((EXAMPLES / example / "params.json").read_text())
    return params


def _assert_outcome(
    report: Report,
    *,
    passes: bool,
    failed_kinds: frozenset[CheckKind],
    rejected: frozenset[RejectReason],
) -> None:
    failures = [f"{c.kind}: {c.message}" for c in report.failures]
    if passes:
        assert bool(report), failures
        assert report.failures == ()
        # Not a vacuous pass: the artifact was bound, and every step counted evidence.
        binding = [c for c in report.checks if c.kind is CheckKind.SUBJECT_BINDING]
        assert binding
        assert all(c.status is Status.PASS for c in binding)
        assert all(step.attestations for step in report.steps)
        return
    assert not report
    missing = failed_kinds - {c.kind for c in report.failures}
    assert not missing, (missing, failures)
    if rejected:
        reasons = {r.reason for r in report.rejected}
        assert reasons & rejected, (reasons, failures)


@pytest.mark.parametrize("case", list(KEY_CASES.values()), ids=list(KEY_CASES))
def test_key_based_layout(case: KeyCase) -> None:
    layout_file = GEN.EXAMPLES[case.example][0]
    report = verify(
        LAYOUTS / layout_file,
        [EXAMPLES / case.example / f for f in case.files],
        at=case.at,
        subject={"sha256": case.subject},
        params={**_example_params(case.example), **case.params},
        allow_unsigned=True,
    )
    _assert_outcome(
        report, passes=case.passes, failed_kinds=case.failed_kinds, rejected=case.rejected
    )


SIGNED_CASES: dict[str, tuple[str, str, str, bool]] = {
    # (example, evidence, layout key, passes)
    **{
        f"{ex}/signed-by-owner": (ex, files[0], "owner", True)
        for ex, files in (
            (PROV, ("provenance.intoto.jsonl",)),
            (REL, ("release.intoto.jsonl",)),
            (SCAN, ("scan.intoto.jsonl",)),
            (SBOM, ("sbom-spdx.intoto.jsonl",)),
            (CHAIN, ("chain.intoto.jsonl",)),
        )
    },
    "provenance/layout-key-is-not-the-owner": (PROV, "provenance.intoto.jsonl", "builder", False),
    "chain/layout-key-is-not-the-owner": (CHAIN, "chain.intoto.jsonl", "intruder", False),
}


@pytest.mark.parametrize(
    ("example", "evidence", "layout_key", "passes"),
    list(SIGNED_CASES.values()),
    ids=list(SIGNED_CASES),
)
def test_signed_example_layout(example: str, evidence: str, layout_key: str, passes: bool) -> None:
    # root.layout has every parameter written in: it needs no --param.
    key = load_public_key_pem((EXAMPLES / example / f"{layout_key}.pub").read_bytes())
    report = verify(
        EXAMPLES / example / "root.layout",
        [EXAMPLES / example / evidence],
        at=AT,
        subject={"sha256": APP_SHA256},
        layout_keys=[key],
    )
    assert report.layout.signed
    assert report.parameters == {}
    _assert_outcome(
        report,
        passes=passes,
        failed_kinds=frozenset() if passes else _kinds(LAYOUT),
        rejected=frozenset(),
    )


# --------------------------------------------------------------------------
# Keyless layouts against the real-world corpus


GHA = "https://token.actions.githubusercontent.com"


def _corpus(rel: str) -> Path:
    path = ITEMS / rel
    if not path.exists():
        pytest.skip(f"real-world corpus not present at {REAL}")
    return path


@cache
def _trusted_root(name: str) -> SigstoreTrustedRoot:
    file = {
        "PROD": "sigstore-prod.trusted_root.sigstore-python-4.5.1.json",
        "STAGING": "sigstore-staging.trusted_root.sigstore-python-4.5.1.json",
    }[name]
    return load_trusted_root_file(REAL / "trust" / file)


def _sha256_of(rel: str) -> str:
    return hashlib.sha256(_corpus(rel).read_bytes()).hexdigest()


def _omitted_binary_sha256(rel: str) -> str:
    # Two large binaries are left out of the corpus; their digests are listed.
    listing = _corpus("../OMITTED-BINARIES.txt").read_text(encoding="utf-8")
    for line in listing.splitlines():
        digest, _, rest = line.partition("  ")
        if rest.split(" ")[0] == rel:
            return digest
    raise AssertionError(f"{rel} is not in OMITTED-BINARIES.txt")


def _bcr_style(doc: dict[str, Any]) -> dict[str, Any]:
    """slsa-github-generator-l3.yml's shape, for the Bazel Central Registry publisher.

    Same Sigstore functionary structure (identity regex on the builder
    workflow, GitHub issuer, source-repository and runner extensions),
    subjectSteps and verifiedLevels, with the publish-to-bcr workflow as the
    trusted builder and its provenance v1 rules.
    """
    func = doc["functionaries"]["slsa-github-generator"]
    func["identityRegex"] = (
        r"^https://github\.com/bazel-contrib/publish-to-bcr/\.github/workflows/"
        r"publish\.yaml@refs/tags/v[0-9]+\.[0-9]+\.[0-9]+$"
    )
    pred = doc["steps"][0]["expectedPredicates"][0]
    pred["predicateType"] = "https://slsa.dev/provenance/v1"
    pred["expectedAttributes"] = [
        {
            "rule": "predicate.runDetails.builder.id.startsWith("
            "'https://github.com/bazel-contrib/publish-to-bcr/')"
        },
        {
            "rule": "predicate.buildDefinition.externalParameters.workflow.repository"
            " == 'https://github.com/{repository}'"
        },
    ]
    return doc


_NPM_PUBLISH = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"


def _with_npm_publish(doc: dict[str, Any]) -> dict[str, Any]:
    # What the layout's comment tells users to add: the registry's keys (item
    # 16's publish_key.pub, under the key id npm publishes for it) and the
    # publish attestation as a second expected predicate of the same step.
    pem = _corpus("16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    doc["functionaries"]["npm-registry"] = {
        "type": "npmRegistryKeys",
        "keys": [
            {
                "keyid": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
                "keytype": "ecdsa-sha2-nistp256",
                "scheme": "ecdsa-sha2-nistp256",
                "key": spki,
                "expires": None,
            }
        ],
    }
    doc["steps"][0]["expectedPredicates"].append(
        {"predicateType": _NPM_PUBLISH, "functionaries": ["npm-registry"]}
    )
    return doc


def _npm_v1_only(doc: dict[str, Any]) -> dict[str, Any]:
    """npm-provenance.yml narrowed to provenance v1, as its comments say how."""
    pred = doc["steps"][0]["expectedPredicates"][0]
    del pred["predicateTypes"]
    pred["predicateType"] = "https://slsa.dev/provenance/v1"
    return doc


_TRANSFORMS = {
    "publish-to-bcr": _bcr_style,
    "npm-publish": _with_npm_publish,
    "npm-v1-only": _npm_v1_only,
}
_SIGSTORE_JS_V1 = {"repository": "sigstore/sigstore-js", "package": "sigstore"}


@dataclass(frozen=True)
class KeylessCase:
    """One corpus item against a keyless layout.

    Attributes:
        layout: Shipped layout file.
        files: Attestation files under ``items/``.
        params: Layout parameters.
        subject: ("file", path under items/) hashed here, ("omitted", name in
            OMITTED-BINARIES.txt), or None for no binding.
        passes: The expected verdict.
        rejected: Reasons of which some rejected attestation must give one.
        root: Trusted root name.
        transform: Name of a change applied to the layout document first.
    """

    layout: str
    files: tuple[str, ...]
    params: Mapping[str, str]
    subject: tuple[str, str] | None
    passes: bool
    rejected: frozenset[RejectReason] = frozenset()
    root: str = "PROD"
    transform: str | None = None


_I01 = "01-slsaverifier-gha-go-v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl"
_I01_BIN = "01-slsaverifier-gha-go-v2.1.0/binary-linux-amd64-workflow_dispatch"
_I02_BIN = "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse/binary-linux-amd64-workflow_dispatch"
_I03 = "03-slsaverifier-bcr-slsa-v1/"
_I04 = "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore"
_I22 = "22-ghcli-artifact-attestations/"
_I24 = "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz"
_I25 = "25-pypi-pep740-gitlab/gitlab_oidc_project-0.0.3.tar.gz"
_I26 = "26-pypi-pep740-staging-rfc8785/rfc8785-0.1.2-py3-none-any.whl"
_I27 = "27-pypi-pep740-gh-models/pypi_attestation_models-0.0.4a2.tar.gz"
SLSA, GH, PYPI, NPM = (
    "slsa-github-generator-l3.yml",
    "github-artifact-attestations.yml",
    "pypi-trusted-publishing.yml",
    "npm-provenance.yml",
)
_EXAMPLE_PACKAGE = {"repository": "slsa-framework/example-package"}
_BCR = {"repository": "aspect-build/rules_lint"}
_PYPI_ATT = {
    "repository": "trailofbits/pypi-attestations",
    "workflow": "release.yml",
    "package": "pypi_attestations",
}
_PYPI_MODELS = {
    "repository": "trailofbits/pypi-attestation-models",
    "workflow": "release.yml",
    "package": "pypi_attestation_models",
}

KEYLESS_CASES: dict[str, KeylessCase] = {
    "slsa-l3/01-go-builder-release": KeylessCase(
        SLSA, (_I01,), _EXAMPLE_PACKAGE, ("omitted", _I01_BIN), passes=True
    ),
    "slsa-l3/01-other-repository": KeylessCase(
        SLSA,
        (_I01,),
        {"repository": "attacker/example-package"},
        ("omitted", _I01_BIN),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "slsa-l3/01-subject-mismatch": KeylessCase(
        SLSA,
        (_I01,),
        _EXAMPLE_PACKAGE,
        ("omitted", _I02_BIN),
        passes=False,
        rejected=_why(R.SUBJECT_MISMATCH),
    ),
    "slsa-l3/04-builder-run-from-a-branch": KeylessCase(
        SLSA,
        (_I04,),
        _EXAMPLE_PACKAGE,
        None,
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "slsa-l3-style/03-module-bazel": KeylessCase(
        SLSA,
        (_I03 + "MODULE.bazel.intoto.jsonl",),
        _BCR,
        ("file", _I03 + "MODULE.bazel"),
        passes=True,
        transform="publish-to-bcr",
    ),
    "slsa-l3-style/03-module-wrong-signer": KeylessCase(
        SLSA,
        (_I03 + "MODULE-wrong-signer.bazel.intoto.jsonl",),
        _BCR,
        ("file", _I03 + "MODULE-wrong-signer.bazel"),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
        transform="publish-to-bcr",
    ),
    "github/22-reusable-workflow": KeylessCase(
        GH,
        (_I22 + "reusable-workflow-attestation.sigstore.json",),
        {
            "repository": "malancas/attest-demo",
            "signer-repository": "github/artifact-attestations-workflows",
        },
        ("file", _I22 + "reusable-workflow-artifact"),
        passes=True,
    ),
    "github/22-reusable-workflow-not-trusted-as-signer": KeylessCase(
        GH,
        (_I22 + "reusable-workflow-attestation.sigstore.json",),
        {"repository": "malancas/attest-demo", "signer-repository": "malancas/attest-demo"},
        ("file", _I22 + "reusable-workflow-artifact"),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "github/22-custom-enterprise-issuer": KeylessCase(
        GH,
        (_I22 + "custom-issuer.sigstore.json",),
        {"repository": "too-legit/attest", "signer-repository": "too-legit/attest"},
        ("file", _I22 + "custom-issuer-artifact"),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "pypi/24-publish-attestation": KeylessCase(
        PYPI, (_I24 + ".publish.attestation",), _PYPI_ATT, ("file", _I24), passes=True
    ),
    "pypi/24-provenance-object": KeylessCase(
        PYPI, (_I24 + ".provenance",), _PYPI_ATT, ("file", _I24), passes=True
    ),
    "pypi/27-attestation": KeylessCase(
        PYPI, (_I27 + ".attestation",), _PYPI_MODELS, ("file", _I27), passes=True
    ),
    "pypi/27-published-by-another-repository": KeylessCase(
        PYPI,
        (_I27 + ".attestation",),
        _PYPI_ATT,
        ("file", _I27),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "pypi/24-another-package-name": KeylessCase(
        PYPI,
        (_I24 + ".publish.attestation",),
        {**_PYPI_ATT, "package": "pypi_attestation_models"},
        ("file", _I24),
        passes=False,
        rejected=_why(R.FAILED_RULES),
    ),
    "pypi/24-subject-mismatch": KeylessCase(
        PYPI,
        (_I24 + ".publish.attestation",),
        _PYPI_ATT,
        ("file", _I27),
        passes=False,
        rejected=_why(R.SUBJECT_MISMATCH),
    ),
    "pypi/25-gitlab-publisher-not-accepted": KeylessCase(
        PYPI,
        (_I25 + ".publish.attestation",),
        {
            "repository": "facutuesca/gitlab-oidc-project",
            "workflow": ".gitlab-ci.yml",
            "package": "gitlab_oidc_project",
        },
        ("file", _I25),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "pypi/26-email-identity-not-accepted": KeylessCase(
        PYPI,
        (_I26 + ".publish.attestation",),
        {"repository": "woodruffw/rfc8785.py", "workflow": "release.yml", "package": "rfc8785"},
        ("file", _I26),
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
        root="STAGING",
    ),
    "npm/20-provenance-v1-bundle-v0.3-intoto-entry": KeylessCase(
        NPM,
        ("20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0-bundle.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
    ),
    "npm/20-provenance-v1-bundle-v0.1": KeylessCase(
        NPM,
        ("20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0-bundle-v0.1.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
    ),
    "npm/18-provenance-v1-with-inclusion-proof": KeylessCase(
        NPM,
        ("18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
    ),
    "npm/15-provenance-v0.2-bundle-v0.1": KeylessCase(
        NPM,
        ("15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
    ),
    "npm/15-and-16-provenance-and-registry-publish": KeylessCase(
        NPM,
        (
            "15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",
            "16-sigstorego-npm-publish-keyed/bundle-publish.json",
        ),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
        transform="npm-publish",
    ),
    "npm/15-publish-attestation-required-but-absent": KeylessCase(
        NPM,
        ("15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=False,
        rejected=frozenset(),
        transform="npm-publish",
    ),
    "npm/15-v0.2-provenance-when-v1-is-required": KeylessCase(
        NPM,
        ("15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=False,
        rejected=frozenset(),
        transform="npm-v1-only",
    ),
    "npm/20-v1-provenance-when-v1-is-required": KeylessCase(
        NPM,
        ("20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0-bundle.json",),
        _SIGSTORE_JS_V1,
        None,
        passes=True,
        transform="npm-v1-only",
    ),
    "npm/15-another-repository": KeylessCase(
        NPM,
        ("15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",),
        {**_SIGSTORE_JS_V1, "repository": "attacker/sigstore-js"},
        None,
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "npm/09-slsa-github-generator-signer-is-not-the-repository": KeylessCase(
        NPM,
        ("09-slsaverifier-npm-attestations/provenance-npm-test-ossf.tgz.json",),
        {
            "repository": "laurentsimon/provenance-npm-test",
            "package": "%40laurentsimon/provenance-npm-test",
        },
        None,
        passes=False,
        rejected=_why(R.UNKNOWN_SIGNER),
    ),
    "npm/09-invalid-provenance-signature": KeylessCase(
        NPM,
        ("09-slsaverifier-npm-attestations/provenance-npm-test-ossf-invalidsigprov.tgz.json",),
        {
            "repository": "laurentsimon/provenance-npm-test",
            "package": "%40laurentsimon/provenance-npm-test",
        },
        None,
        passes=False,
        rejected=_why(R.BAD_SIGNATURE),
    ),
}


def _keyless_layout(case: KeylessCase) -> Layout:
    path = LAYOUTS / case.layout
    doc, lines = parse_layout_document(path.read_bytes(), source=str(path))
    if case.transform is not None:
        doc = _TRANSFORMS[case.transform](doc)
    return Layout.from_dict(doc, source=str(path), params=case.params, lines=lines)


@pytest.mark.parametrize("case", list(KEYLESS_CASES.values()), ids=list(KEYLESS_CASES))
def test_keyless_layout_on_corpus(case: KeylessCase) -> None:
    pytest.importorskip("sigstore")
    files = [_corpus(f) for f in case.files]
    subject = None
    if case.subject is not None:
        kind, rel = case.subject
        digest = _sha256_of(rel) if kind == "file" else _omitted_binary_sha256(rel)
        subject = {"sha256": digest}
    report = verify(
        _keyless_layout(case),
        files,
        at=AT,
        subject=subject,
        no_subject=subject is None,  # a case without an artifact opts out explicitly
        trusted_root=_trusted_root(case.root),
    )
    if case.passes:
        assert bool(report), [c.message for c in report.failures]
        assert all(step.attestations for step in report.steps)
        signers = [s for step in report.steps for a in step.attestations for s in a.signers]
        assert signers
        # Keyless signers, plus the npm registry's key when the layout wants it.
        assert all(s.kind == "sigstore" or case.transform == "npm-publish" for s in signers)
        assert all(s.issuer == GHA for s in signers if s.kind == "sigstore")
        if subject is not None:
            binding = [c for c in report.checks if c.kind is CheckKind.SUBJECT_BINDING]
            assert binding
            assert all(c.status is Status.PASS for c in binding)
    else:
        assert not report
        reasons = {r.reason for r in report.rejected}
        if case.rejected:
            assert reasons & case.rejected, (reasons, [c.message for c in report.failures])


def test_slsa_l3_layout_declares_its_level() -> None:
    layout = _keyless_layout(KEYLESS_CASES["slsa-l3/01-go-builder-release"])
    assert layout.verified_levels == ("SLSA_BUILD_LEVEL_3",)


# --------------------------------------------------------------------------
# The npm layout's rules on real npm provenance
#
# The layout's rules and subject binding are also checked on the real
# statements re-signed in memory with a test key that stands in for the
# GitHub Actions identity, so that tarball binding is exercised (the corpus
# has the tarballs but keyless cases above bind no subject).

_SIGSTORE_JS = "20-ghcli-sigstore-js-2.1.0/"


def _npm_statement(rel: str) -> bytes:
    bundle = json.loads(_corpus(rel).read_bytes())
    payload: bytes = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    return payload


def _npm_layout_with_test_key(params: Mapping[str, str]) -> Layout:
    path = LAYOUTS / NPM
    doc, lines = parse_layout_document(path.read_bytes(), source=str(path))
    doc["functionaries"]["github-actions"] = {
        "type": "key",
        "keyType": "ed25519",
        "scheme": "ed25519",
        "keyVal": {"public": GEN.example_key("ci").public_key.public},
    }
    return Layout.from_dict(doc, source=str(path), params=params, lines=lines)


NPM_RULE_CASES: dict[str, tuple[str, Mapping[str, str], str | None, bool]] = {
    # (bundle under items/, params, tarball to bind (sha512) or None, passes)
    "sigstore-js-2.1.0": (
        _SIGSTORE_JS + "sigstore-js-2.1.0-bundle.json",
        {"repository": "sigstore/sigstore-js", "package": "sigstore"},
        _SIGSTORE_JS + "sigstore-js-2.1.0.tgz",
        True,
    ),
    "sigstore-js-2.0.0": (
        "18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json",
        {"repository": "sigstore/sigstore-js", "package": "sigstore"},
        None,
        True,
    ),
    "another-package": (
        _SIGSTORE_JS + "sigstore-js-2.1.0-bundle.json",
        {"repository": "sigstore/sigstore-js", "package": "left-pad"},
        _SIGSTORE_JS + "sigstore-js-2.1.0.tgz",
        False,
    ),
    "another-repository": (
        _SIGSTORE_JS + "sigstore-js-2.1.0-bundle.json",
        {"repository": "attacker/sigstore-js", "package": "sigstore"},
        _SIGSTORE_JS + "sigstore-js-2.1.0.tgz",
        False,
    ),
}


@pytest.mark.parametrize(
    ("bundle", "params", "tarball", "passes"),
    list(NPM_RULE_CASES.values()),
    ids=list(NPM_RULE_CASES),
)
def test_npm_layout_rules_on_real_provenance(
    bundle: str, params: Mapping[str, str], tarball: str | None, passes: bool
) -> None:
    payload = _npm_statement(bundle)
    envelope = Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [GEN.example_key("ci")])
    att = Attestation.from_envelope(envelope, source=bundle)
    subject = None
    if tarball is not None:
        subject = {"sha512": hashlib.sha512(_corpus(tarball).read_bytes()).hexdigest()}
    # A case without a tarball opts out of binding explicitly.
    report = verify(
        _npm_layout_with_test_key(params),
        [att],
        at=AT,
        subject=subject,
        no_subject=subject is None,
    )
    if passes:
        assert bool(report), [c.message for c in report.failures]
        assert report.steps[0].attestations
    else:
        assert not report
        assert {c.kind for c in report.failures} >= {CheckKind.ATTRIBUTE_RULE}


# --------------------------------------------------------------------------
# The examples README: every command does what it says


def _readme_commands() -> list[tuple[str, str, list[str]]]:
    """(section, command text, argv) for every console block of the README."""
    import shlex

    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    out = []
    section = ""
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        section = block.splitlines()[0].strip()
        for i, body in enumerate(re.findall(r"```console\n(.*?)```", block, re.DOTALL)):
            words = shlex.split(body.replace("\\\n", " "))
            assert words[0] == "intoto-policy", body
            out.append((section, f"{section}/{i}", words[1:]))
    return out


def _failing_variants(section: str) -> list[str]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    block = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    (line,) = [x for x in block.splitlines() if x.startswith("Failing variants: ")]
    return re.findall(r"`([^`]+)`", line)


README_COMMANDS = _readme_commands()


@pytest.mark.parametrize(
    ("section", "argv"),
    [(s, a) for s, _, a in README_COMMANDS],
    ids=[i for _, i, _ in README_COMMANDS],
)
def test_examples_readme_command_passes_and_its_variants_fail(
    section: str,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from intoto_policy.cli._main import main

    monkeypatch.chdir(ROOT)
    assert main(argv) == 0, capsys.readouterr()
    evidence = argv.index("--attestations") + 1
    for variant in _failing_variants(section):
        changed = list(argv)
        changed[evidence] = f"layouts/examples/{section}/tampered/{variant}"
        assert main(changed) == 1, (variant, capsys.readouterr())
    capsys.readouterr()


def test_examples_readme_has_commands_for_every_example() -> None:
    sections = {s for s, _, _ in README_COMMANDS}
    assert sections == {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
