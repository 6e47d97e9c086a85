"""Keyless (Sigstore) containers, offline verification and identity constraints.

Corpus cases use the real-world corpus described in
``shared/corpus/real-world/INDEX.md`` and skip when it is absent; synthetic
cases build certificates and envelopes in memory.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intoto_policy._errors import InputError, JSONError, UsageError, ValidationError
from intoto_policy.crypto._keyless import (
    BundleRecord,
    KeylessResult,
    SigstoreIdentity,
    SigstoreTrustedRoot,
    load_trusted_root,
    parse_bundles,
    verify_bundle,
    verify_certificate_envelope,
)
from intoto_policy.crypto._x509 import (
    CertificateIdentity,
    ValuePattern,
    X509Constraints,
    certificate_identity,
    load_certificate,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
REAL = CORPUS / "real-world"
ITEMS = REAL / "items"
GHA = "https://token.actions.githubusercontent.com"


_DIRS = {
    "01": "01-slsaverifier-gha-go-v2.1.0",
    "02": "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse",
    "03": "03-slsaverifier-bcr-slsa-v1",
    "04": "04-slsaverifier-bundle-valid-v0.3",
    "05": "05-slsaverifier-bundle-invalid-dsse-sig",
    "06": "06-slsaverifier-bundle-invalid-set",
    "07": "07-slsaverifier-bundle-mismatch-tlog",
    "08": "08-slsaverifier-bundle-v0.1-slsa1draft",
    "09": "09-slsaverifier-npm-attestations",
    "11": "11-slsaverifier-gcb-v0.3",
    "12": "12-slsaverifier-no-tlog-upload",
    "13": "13-sigstore-conformance",
    "14": "14-sigstorepython-dsse-staging-rekor-v2",
    "15": "15-sigstorego-npm-provenance-sigstore-1.3.0",
    "16": "16-sigstorego-npm-publish-keyed",
    "17": "17-sigstorego-dsse-2sigs",
    "18": "18-sigstorego-npm-provenance-sigstore-2.0.0",
    "19": "19-cosign-oci-attestation",
    "20": "20-ghcli-sigstore-js-2.1.0",
    "21": "21-ghcli-github-private-instance",
    "22": "22-ghcli-artifact-attestations",
    "23": "23-ghcli-invalid-signature",
    "24": "24-pypi-pep740-pypi_attestations-0.0.19",
    "25": "25-pypi-pep740-gitlab",
    "26": "26-pypi-pep740-staging-rfc8785",
    "27": "27-pypi-pep740-gh-models",
}


def _p(item: str, name: str) -> str:
    """Path of a corpus file relative to items/."""
    return f"{_DIRS[item]}/{name}"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification is offline: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _corpus_file(rel: str) -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real-world corpus not present at {REAL}")
    return ITEMS / rel


@cache
def _root(name: str) -> SigstoreTrustedRoot:
    path = {
        "PROD": REAL / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json",
        "STAGING": REAL / "trust" / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json",
    }.get(name, ITEMS / name)
    return load_trusted_root(path.read_bytes(), source=name)


def _records(rel: str) -> list[BundleRecord]:
    path = _corpus_file(rel)
    return parse_bundles(path.read_bytes(), source=rel)


def _verify(rel: str, root: str) -> list[KeylessResult]:
    pytest.importorskip("sigstore")
    records = _records(rel)
    return [verify_bundle(record, _root(root)) for record in records]


# --------------------------------------------------------------------------
# Corpus verdicts at this layer (INDEX.md "offline" items)
# --------------------------------------------------------------------------

V, F, U = "verified", "failed", "unsupported"
_CONFORMANCE = {
    "dsse-invalid-sig_fail": F,
    "dsse-mismatch-envelope_fail": F,
    "dsse-mismatch-sig_fail": F,
    "happy-path-intoto-in-dsse-v3": V,
    "intoto-expired-certificate_fail": F,
    "intoto-log-entry-mismatch_fail": F,
    "intoto-missing-inclusion-proof_fail": F,
    "intoto-set-outside-signing-cert-validity_fail": F,
    "intoto-tsa-timestamp-outside-cert-validity_fail": F,
    "intoto-with-custom-trust-root": V,
    "rekor2-dsse-happy-path": V,
    "rekor2-dsse-invalid-sig_fail": F,
    "rekor2-dsse-mismatch-envelope_fail": F,
    "rekor2-dsse-mismatch-sig_fail": F,
}


def _conformance_root(case: str) -> str:
    if case.startswith(("intoto-", "rekor2-")):
        return _p("13", f"{case}/trusted_root.json")
    return "PROD"


_CORPUS_CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    # (case id, file under items/, trusted root, expected status per bundle)
    (
        "01-gha-go-bundle-v0.3",
        _p("01", "binary-linux-amd64-workflow_dispatch.intoto.jsonl"),
        "PROD",
        (V,),
    ),
    ("03-module-bazel", _p("03", "MODULE.bazel.intoto.jsonl"), "PROD", (V,)),
    ("03-module-wrong-signer", _p("03", "MODULE-wrong-signer.bazel.intoto.jsonl"), "PROD", (V,)),
    ("04-valid-v0.3", _p("04", "valid-v0.3.intoto.sigstore"), "PROD", (V,)),
    ("05-invalid-dsse-sig", _p("05", "invalid-dsse-sig.intoto.sigstore"), "PROD", (F,)),
    ("06-invalid-set", _p("06", "invalid-set.intoto.sigstore"), "PROD", (F,)),
    ("07-mismatch-tlog", _p("07", "mismatch-tlog.intoto.sigstore"), "PROD", (F,)),
    ("08-v0.1-intoto-entry", _p("08", "attestation.intoto.sigstore"), "PROD", (V,)),
    # The publish bundles are key-signed: they need registry keys (test_rekor.py).
    ("09-npm-base", _p("09", "provenance-npm-test-ossf.tgz.json"), "PROD", (F, V)),
    (
        "09-npm-invalidsigprov",
        _p("09", "provenance-npm-test-ossf-invalidsigprov.tgz.json"),
        "PROD",
        (F, F),
    ),
    (
        "09-npm-invalidsigpub",
        _p("09", "provenance-npm-test-ossf-invalidsigpub.tgz.json"),
        "PROD",
        (F, V),
    ),
    ("14-staging-rekor-v2", _p("14", "a.dsse.staging-rekor-v2.txt.sigstore.json"), "STAGING", (V,)),
    (
        "14-staging-bundle-against-prod",
        _p("14", "a.dsse.staging-rekor-v2.txt.sigstore.json"),
        "PROD",
        (F,),
    ),
    ("15-npm-provenance-v0.1", _p("15", "bundle-provenance.json"), "PROD", (V,)),
    ("16-npm-publish-key-signed", _p("16", "bundle-publish.json"), "PROD", (F,)),
    ("17-dsse-2sigs", _p("17", "dsse-2sigs.sigstore.json"), "PROD", (F,)),
    ("17-dsse", _p("17", "dsse.sigstore.json"), "PROD", (V,)),
    (
        "18-v0.1-with-inclusion-proof",
        _p("18", "sigstore.js@2.0.0-provenance.sigstore.json"),
        "PROD",
        (V,),
    ),
    ("19-cosign-prod-root", _p("19", "oci-attestation.sigstore.json"), "PROD", (V,)),
    (
        "19-cosign-own-root",
        _p("19", "oci-attestation.sigstore.json"),
        _p("19", "trusted_root_pgi.json"),
        (V,),
    ),
    (
        "20-ghcli-bundle-v0.3",
        _p("20", "sigstore-js-2.1.0-bundle.json"),
        _p("20", "trusted_root.json"),
        (V,),
    ),
    (
        "20-ghcli-bundle-v0.1",
        _p("20", "sigstore-js-2.1.0-bundle-v0.1.json"),
        _p("20", "trusted_root.json"),
        (V,),
    ),
    (
        "20-ghcli-jsonl-2-bundles",
        _p("20", "sigstore-js-2.1.0_with_2_bundles.jsonl"),
        _p("20", "trusted_root.json"),
        (V, V),
    ),
    (
        "21-github-instance-no-tlog",
        _p("21", "github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl"),
        "PROD",
        (U,),
    ),
    ("22-reusable-workflow", _p("22", "reusable-workflow-attestation.sigstore.json"), "PROD", (V,)),
    ("22-custom-issuer", _p("22", "custom-issuer.sigstore.json"), "PROD", (V,)),
    ("23-invalid-signature", _p("23", "sigstoreBundle-invalid-signature.json"), "PROD", (F,)),
    (
        "24-pep740-publish",
        _p("24", "pypi_attestations-0.0.19.tar.gz.publish.attestation"),
        "PROD",
        (V,),
    ),
    ("24-pep740-slsa", _p("24", "pypi_attestations-0.0.19.tar.gz.slsa.attestation"), "PROD", (V,)),
    ("24-pep740-provenance", _p("24", "pypi_attestations-0.0.19.tar.gz.provenance"), "PROD", (V,)),
    (
        "25-pep740-gitlab",
        _p("25", "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"),
        "PROD",
        (V,),
    ),
    (
        "26-pep740-staging",
        _p("26", "rfc8785-0.1.2-py3-none-any.whl.publish.attestation"),
        "STAGING",
        (V,),
    ),
    ("26-bundle-staging", _p("26", "rfc8785-0.1.2-py3-none-any.whl.sigstore"), "STAGING", (V,)),
    ("27-pep740", _p("27", "pypi_attestation_models-0.0.4a2.tar.gz.attestation"), "PROD", (V,)),
    ("27-bundle", _p("27", "pypi_attestation_models-0.0.4a2.tar.gz.sigstore"), "PROD", (V,)),
] + [
    # sigstore-conformance: the intoto-*/rekor2-* cases ship their own trusted root.
    (f"13-{case}", _p("13", f"{case}/bundle.sigstore.json"), _conformance_root(case), (status,))
    for case, status in _CONFORMANCE.items()
]
_VERIFIED_CASES = [case for case in _CORPUS_CASES if V in case[3]]


@pytest.mark.parametrize(
    ("rel", "root", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in _CORPUS_CASES],
)
def test_corpus_verdict(rel: str, root: str, expected: tuple[str, ...]) -> None:
    results = _verify(rel, root)
    assert [r.status for r in results] == list(expected), [r.reason for r in results]
    for result in results:
        assert result.reason
        assert "\n" not in result.reason
        if result.verified:
            assert result.payload is not None
            assert result.payload_type == "application/vnd.in-toto+json"
            assert json.loads(result.payload)["_type"].startswith("https://in-toto.io/Statement/")
            assert result.identity is not None
            assert result.identity.issuer is not None
            assert result.identity.signing_times
            for when in result.identity.signing_times:
                assert result.identity.not_before <= when <= result.identity.not_after
        else:
            assert (result.payload, result.payload_type, result.identity) == (None, None, None)


def _tampered(record: BundleRecord) -> BundleRecord:
    bundle = json.loads(record.bundle_json)
    payload = bytearray(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload[len(payload) // 2] ^= 0x01
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    return dataclasses.replace(record, bundle_json=json.dumps(bundle).encode())


@pytest.mark.parametrize(
    ("rel", "root"),
    [pytest.param(case[1], case[2], id=case[0]) for case in _VERIFIED_CASES],
)
def test_corpus_tampered_payload_fails(rel: str, root: str) -> None:
    pytest.importorskip("sigstore")
    for record in _records(rel):
        result = verify_bundle(_tampered(record), _root(root))
        assert result.status == F, result.reason


# --------------------------------------------------------------------------
# Identities of verified corpus bundles
# --------------------------------------------------------------------------

_BCR_SIGNER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"
_PYPI_ATT_WORKFLOW = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
_BCR = _p("03", "MODULE.bazel.intoto.jsonl")
_BCR_WRONG = _p("03", "MODULE-wrong-signer.bazel.intoto.jsonl")
_GO = _p("01", "binary-linux-amd64-workflow_dispatch.intoto.jsonl")
_PEP740 = _p("24", "pypi_attestations-0.0.19.tar.gz.publish.attestation")
_GITLAB = _p("25", "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation")
_EMAIL = _p("26", "rfc8785-0.1.2-py3-none-any.whl.publish.attestation")
_CUSTOM = _p("22", "custom-issuer.sigstore.json")


def _identity(rel: str, root: str = "PROD") -> CertificateIdentity:
    (result,) = _verify(rel, root)
    assert result.identity is not None, result.reason
    return result.identity


_IDENTITY_CASES: list[tuple[str, str, str, SigstoreIdentity, list[str]]] = [
    # (case id, bundle, root, constraint, expected mismatch substrings; [] = match)
    ("bcr-expected-signer", _BCR, "PROD", SigstoreIdentity(identity=_BCR_SIGNER, issuer=GHA), []),
    (
        "bcr-wrong-signer",
        _BCR_WRONG,
        "PROD",
        SigstoreIdentity(identity=_BCR_SIGNER, issuer=GHA),
        ["malicious_attestation.yaml"],
    ),
    (
        "bcr-regex-anchored-match",
        _BCR,
        "PROD",
        SigstoreIdentity(
            identity_regex=r"https://github\.com/bazel-contrib/publish-to-bcr/\.github/"
            r"workflows/publish\.yaml@refs/tags/v.*",
            issuer=GHA,
        ),
        [],
    ),
    (
        "bcr-regex-is-anchored",
        _BCR,
        "PROD",
        SigstoreIdentity(identity_regex="publish-to-bcr", issuer=GHA),
        ["does not match"],
    ),
    (
        "bcr-wrong-issuer",
        _BCR,
        "PROD",
        SigstoreIdentity(identity=_BCR_SIGNER, issuer="https://gitlab.com"),
        ["OIDC issuer"],
    ),
    (
        "go-extensions-match",
        _GO,
        "PROD",
        SigstoreIdentity(
            identity_regex=r"https://github\.com/slsa-framework/slsa-github-generator/.*",
            issuer=GHA,
            extensions={
                "sourceRepositoryURI": "https://github.com/slsa-framework/example-package",
                "runnerEnvironment": "github-hosted",
                "buildTrigger": ValuePattern(regex="workflow_dispatch|push"),
                "1.3.6.1.4.1.57264.1.14": "refs/heads/main",
            },
        ),
        [],
    ),
    (
        "go-extension-mismatch-and-missing",
        _GO,
        "PROD",
        SigstoreIdentity(
            identity_regex=".*",
            issuer=GHA,
            extensions={"sourceRepositoryRef": "refs/tags/v1", "deploymentEnvironment": "prod"},
        ),
        ["sourceRepositoryRef 'refs/heads/main'", "no deploymentEnvironment extension"],
    ),
    (
        "pep740-github-publisher",
        _PEP740,
        "PROD",
        SigstoreIdentity(
            identity=_PYPI_ATT_WORKFLOW,
            issuer=GHA,
            extensions={"sourceRepositoryURI": "https://github.com/trailofbits/pypi-attestations"},
        ),
        [],
    ),
    (
        "pep740-gitlab",
        _GITLAB,
        "PROD",
        SigstoreIdentity(
            identity_regex=r"https://gitlab\.com/facutuesca/gitlab-oidc-project//.*",
            issuer="https://gitlab.com",
        ),
        [],
    ),
    (
        "pep740-email-identity",
        _EMAIL,
        "STAGING",
        SigstoreIdentity(identity="william@yossarian.net", issuer="https://github.com/login/oauth"),
        [],
    ),
    (
        "custom-issuer-regex",
        _CUSTOM,
        "PROD",
        SigstoreIdentity(
            identity_regex=r"https://github\.com/too-legit/.*",
            issuer_regex=r"https://token\.actions\.githubusercontent\.com/[a-z-]+",
        ),
        [],
    ),
]


@pytest.mark.parametrize(
    ("rel", "root", "constraint", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in _IDENTITY_CASES],
)
def test_identity_constraints_on_corpus(
    rel: str, root: str, constraint: SigstoreIdentity, expected: list[str]
) -> None:
    problems = constraint.matches(_identity(rel, root))
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert wanted in problem


def test_wrong_signer_is_a_distinct_principal() -> None:
    good, bad = _identity(_BCR), _identity(_BCR_WRONG)
    assert good.principal_id == f"sigstore:{GHA}|{_BCR_SIGNER}"
    assert bad.principal_id != good.principal_id
    assert SigstoreIdentity(identity=_BCR_SIGNER, issuer=GHA).principal_id == good.principal_id


def test_fulcio_extensions_by_name() -> None:
    identity = _identity(_GO)
    assert identity.issuer == GHA
    assert identity.extensions["issuer"] == GHA
    assert identity.extensions["buildSignerURI"] == identity.san
    assert (
        identity.extensions["sourceRepositoryURI"]
        == "https://github.com/slsa-framework/example-package"
    )
    assert identity.extensions["runnerEnvironment"] == "github-hosted"
    assert identity.extensions["githubWorkflowRepository"] == "slsa-framework/example-package"
    assert identity.integrated_time is not None
    assert identity.not_after - identity.not_before == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("attestation", "bundle", "root"),
    [
        pytest.param(
            _p("26", "rfc8785-0.1.2-py3-none-any.whl.publish.attestation"),
            _p("26", "rfc8785-0.1.2-py3-none-any.whl.sigstore"),
            "STAGING",
            id="26-staging",
        ),
        pytest.param(
            _p("27", "pypi_attestation_models-0.0.4a2.tar.gz.attestation"),
            _p("27", "pypi_attestation_models-0.0.4a2.tar.gz.sigstore"),
            "PROD",
            id="27-prod",
        ),
    ],
)
def test_pep740_attestation_equals_its_bundle(attestation: str, bundle: str, root: str) -> None:
    (from_pep740,) = _verify(attestation, root)
    (from_bundle,) = _verify(bundle, root)
    assert from_pep740.verified
    assert from_bundle.verified
    assert from_pep740.payload == from_bundle.payload
    assert from_pep740.identity == from_bundle.identity


def test_rekor_v2_bundle_reports_timestamp_not_integrated_time() -> None:
    identity = _identity(
        _p("14", "a.dsse.staging-rekor-v2.txt.sigstore.json"),
        "STAGING",
    )
    assert identity.integrated_time is None
    assert len(identity.timestamps) == 1


# --------------------------------------------------------------------------
# Container parsing
# --------------------------------------------------------------------------

_PARSE_CASES: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    # (case id, file, [(container, location, media type)])
    (
        "bundle-v0.3-one-line",
        _GO,
        [("sigstore-bundle", "", "application/vnd.dev.sigstore.bundle.v0.3+json")],
    ),
    (
        "bundle-v0.1-pretty-printed",
        _p("05", "invalid-dsse-sig.intoto.sigstore"),
        [("sigstore-bundle", "", "application/vnd.dev.sigstore.bundle+json;version=0.1")],
    ),
    (
        "bundle-v0.2",
        _p("13", "intoto-with-custom-trust-root/bundle.sigstore.json"),
        [("sigstore-bundle", "", "application/vnd.dev.sigstore.bundle+json;version=0.2")],
    ),
    (
        "jsonl-2-bundles",
        _p("20", "sigstore-js-2.1.0_with_2_bundles.jsonl"),
        [
            ("sigstore-bundle", "line 1", "application/vnd.dev.sigstore.bundle.v0.3+json"),
            ("sigstore-bundle", "line 2", "application/vnd.dev.sigstore.bundle.v0.3+json"),
        ],
    ),
    (
        "npm-attestations",
        _p("09", "provenance-npm-test-ossf.tgz.json"),
        [
            (
                "npm-attestations",
                "attestations[0].bundle",
                "application/vnd.dev.sigstore.bundle+json;version=0.1",
            ),
            (
                "npm-attestations",
                "attestations[1].bundle",
                "application/vnd.dev.sigstore.bundle+json;version=0.1",
            ),
        ],
    ),
    (
        "pep740-attestation",
        _PEP740,
        [("pep740-attestation", "", "application/vnd.dev.sigstore.bundle.v0.3+json")],
    ),
    (
        "pep740-provenance",
        _p("24", "pypi_attestations-0.0.19.tar.gz.provenance"),
        [
            (
                "pep740-provenance",
                "attestation_bundles[0].attestations[0]",
                "application/vnd.dev.sigstore.bundle.v0.3+json",
            )
        ],
    ),
]


@pytest.mark.parametrize(("rel", "expected"), [pytest.param(*c[1:], id=c[0]) for c in _PARSE_CASES])
def test_parse_corpus_containers(rel: str, expected: list[tuple[str, str, str]]) -> None:
    records = _records(rel)
    assert [(r.container, r.location, r.media_type) for r in records] == expected
    assert [r.index for r in records] == list(range(len(expected)))
    assert all(r.source == rel and r.origin.startswith(f"{rel}#") for r in records)


def test_npm_predicate_type_hints() -> None:
    records = _records(_p("09", "provenance-npm-test-ossf.tgz.json"))
    assert [r.predicate_type_hint for r in records] == [
        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
        "https://slsa.dev/provenance/v0.2",
    ]


_PARSE_ERROR_CORPUS = [
    pytest.param(
        _p("02", "binary-linux-amd64-workflow_dispatch.intoto.jsonl"),
        "bare DSSE envelope",
        id="02-bare-dsse-with-cert",
    ),
    pytest.param(
        _p("21", "github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl"),
        "exactly one of certificate",
        id="21-missing-cert",
    ),
    pytest.param(
        _p("11", "gcloud-container-github.json"),
        "not a Sigstore bundle",
        id="11-gcb",
    ),
]


@pytest.mark.parametrize(("rel", "message"), _PARSE_ERROR_CORPUS)
def test_parse_rejects_corpus_non_bundles(rel: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _records(rel)


def _bundle_doc() -> dict[str, Any]:
    """A structurally valid v0.3 bundle (certificate from a synthetic CA)."""
    pki = _pki()
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {
                "rawBytes": base64.b64encode(pki.leaf.public_bytes(Encoding.DER)).decode()
            },
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(b"{}").decode(),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": base64.b64encode(b"sig").decode()}],
        },
    }


def _mutate(change: Callable[[dict[str, Any]], object]) -> bytes:
    doc = _bundle_doc()
    change(doc)
    return json.dumps(doc).encode()


_SYNTHETIC_PARSE_ERRORS: list[tuple[str, Callable[[], bytes], type[Exception], str]] = [
    ("duplicate-key", lambda: b'{"mediaType": "a", "mediaType": "b"}', JSONError, "duplicate"),
    ("not-json", lambda: b"not json", JSONError, "not valid JSON"),
    (
        "jsonl-bad-second-line",
        lambda: json.dumps(_bundle_doc()).encode() + b"\n{oops\n",
        JSONError,
        r"x\.jsonl:2",
    ),
    ("top-level-array", lambda: b"[]", ValidationError, "expected an object"),
    (
        "unknown-media-type",
        lambda: _mutate(
            lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.9+json")
        ),
        ValidationError,
        "unknown bundle media type",
    ),
    (
        "payload-not-base64",
        lambda: _mutate(lambda d: d["dsseEnvelope"].update(payload="%%%")),
        ValidationError,
        r"dsseEnvelope\.payload: not standard base64",
    ),
    (
        "certificate-not-der",
        lambda: _mutate(lambda d: d["verificationMaterial"]["certificate"].update(rawBytes="AAAA")),
        ValidationError,
        "not a DER X.509 certificate",
    ),
    (
        "no-signatures",
        lambda: _mutate(lambda d: d["dsseEnvelope"].update(signatures=[])),
        ValidationError,
        "non-empty array",
    ),
    (
        "envelope-and-message-signature",
        lambda: _mutate(lambda d: d.update(messageSignature={})),
        ValidationError,
        "exactly one of dsseEnvelope and messageSignature",
    ),
    (
        "two-verification-materials",
        lambda: _mutate(lambda d: d["verificationMaterial"].update(publicKey={"hint": "k"})),
        ValidationError,
        "exactly one of certificate",
    ),
    ("npm-empty-attestations", lambda: b'{"attestations": []}', ValidationError, "non-empty"),
    (
        "pep740-version-2",
        lambda: json.dumps({"version": 2, "verification_material": {}, "envelope": {}}).encode(),
        ValidationError,
        "unsupported PEP 740 attestation version",
    ),
    (
        "pep740-no-entries",
        lambda: json.dumps(
            {
                "version": 1,
                "verification_material": {
                    "certificate": _bundle_doc()["verificationMaterial"]["certificate"]["rawBytes"],
                    "transparency_entries": [],
                },
                "envelope": {"statement": "e30=", "signature": "c2ln"},
            }
        ).encode(),
        ValidationError,
        r"transparency_entries: expected a non-empty array",
    ),
    (
        "provenance-version-bool",
        lambda: b'{"version": true, "attestation_bundles": []}',
        ValidationError,
        "unsupported PEP 740 provenance version",
    ),
    ("unrecognised-object", lambda: b'{"hello": 1}', ValidationError, "not a Sigstore bundle"),
]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [pytest.param(*c[1:], id=c[0]) for c in _SYNTHETIC_PARSE_ERRORS],
)
def test_parse_errors(make: Callable[[], bytes], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        parse_bundles(make(), source="x.jsonl")
    assert "x.jsonl" in str(info.value)


def test_parse_synthetic_jsonl_with_blank_lines() -> None:
    line = json.dumps(_bundle_doc()).encode()
    records = parse_bundles(line + b"\n\n" + line + b"\n", source="s.jsonl")
    assert [(r.index, r.location) for r in records] == [(0, "line 1"), (1, "line 3")]


# --------------------------------------------------------------------------
# Verification outcomes for synthetic bundle shapes (sigstore cannot verify)
# --------------------------------------------------------------------------


def _entry(kind: str = "dsse", version: str = "0.0.1", proof: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "logIndex": "1",
        "logId": {"keyId": "AAAA"},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": "1",
        "inclusionPromise": {"signedEntryTimestamp": "AAAA"},
        "canonicalizedBody": "e30=",
    }
    if proof:
        entry["inclusionProof"] = {
            "logIndex": "1",
            "rootHash": "AAAA",
            "treeSize": "2",
            "hashes": [],
            "checkpoint": {"envelope": "x"},
        }
    return entry


_UNSUPPORTED_SHAPES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("no-tlog-entry", lambda d: None, "no transparency log entry"),
    (
        "two-tlog-entries",
        lambda d: d["verificationMaterial"].update(tlogEntries=[_entry(), _entry()]),
        "2 transparency log entries",
    ),
    (
        "message-signature",
        lambda d: (d.pop("dsseEnvelope"), d.update(messageSignature={})),
        "no DSSE envelope",
    ),
    (
        "key-signed",
        lambda d: d["verificationMaterial"].update(
            certificate=None, publicKey={"hint": "SHA256:abc"}
        ),
        "key-signed bundle",
    ),
]


@pytest.mark.parametrize(
    ("change", "reason"), [pytest.param(*c[1:], id=c[0]) for c in _UNSUPPORTED_SHAPES]
)
def test_unsupported_shapes(change: Callable[[dict[str, Any]], object], reason: str) -> None:
    pytest.importorskip("sigstore")
    if not REAL.is_dir():
        pytest.skip("trusted root comes from the corpus")
    (record,) = parse_bundles(_mutate(change), source="shape.json")
    result = verify_bundle(record, _root("PROD"))
    assert result.status == U
    assert reason in result.reason


_FAILED_SHAPES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    # Verified offline by _rekor: a log id the trusted root does not list fails.
    (
        "intoto-entry-unknown-log",
        lambda d: d["verificationMaterial"].update(tlogEntries=[_entry("intoto", "0.0.2")]),
        "log-id:",
    ),
    # dsse/0.0.1 without inclusion proof is verified by _rekor too.
    (
        "dsse-entry-without-inclusion-proof-unknown-log",
        lambda d: d["verificationMaterial"].update(tlogEntries=[_entry(proof=False)]),
        "log-id:",
    ),
    # A bundle's DSSE envelope carries exactly one signature, whatever its log entry.
    (
        "two-dsse-signatures",
        lambda d: d["dsseEnvelope"]["signatures"].append({"sig": "c2ln"}),
        "dsse-signature-count:",
    ),
    (
        "two-dsse-signatures-intoto-entry",
        lambda d: (
            d["dsseEnvelope"]["signatures"].append({"sig": "c2ln"}),
            d["verificationMaterial"].update(tlogEntries=[_entry("intoto", "0.0.2")]),
        ),
        "dsse-signature-count:",
    ),
]


@pytest.mark.parametrize(
    ("change", "reason"), [pytest.param(*c[1:], id=c[0]) for c in _FAILED_SHAPES]
)
def test_failed_shapes(change: Callable[[dict[str, Any]], object], reason: str) -> None:
    pytest.importorskip("sigstore")
    if not REAL.is_dir():
        pytest.skip("trusted root comes from the corpus")
    (record,) = parse_bundles(_mutate(change), source="shape.json")
    result = verify_bundle(record, _root("PROD"))
    assert result.status == F
    assert result.reason.startswith(reason), result.reason


def test_supported_shape_with_bogus_log_entry_fails() -> None:
    pytest.importorskip("sigstore")
    if not REAL.is_dir():
        pytest.skip("trusted root comes from the corpus")
    data = _mutate(lambda d: d["verificationMaterial"].update(tlogEntries=[_entry()]))
    (record,) = parse_bundles(data, source="bogus.json")
    assert verify_bundle(record, _root("PROD")).status == F


# --------------------------------------------------------------------------
# Trusted roots and the optional dependency
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        pytest.param(b"{", JSONError, "not valid JSON", id="not-json"),
        pytest.param(b"{}", ValidationError, "not a usable Sigstore trusted root", id="empty"),
        pytest.param(
            json.dumps({"mediaType": "application/x-other", "tlogs": []}).encode(),
            ValidationError,
            "not a usable",
            id="wrong-media-type",
        ),
    ],
)
def test_load_trusted_root_errors(data: bytes, error: type[Exception], message: str) -> None:
    pytest.importorskip("sigstore")
    with pytest.raises(error, match=message):
        load_trusted_root(data, source="root.json")


def test_trusted_root_records_source_and_digest() -> None:
    pytest.importorskip("sigstore")
    _corpus_file("")
    root = _root("STAGING")
    assert root.source == "STAGING"
    assert len(root.sha256) == 64


@pytest.fixture
def _without_sigstore(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("sigstore", "sigstore.models", "sigstore.verify"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.usefixtures("_without_sigstore")
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: load_trusted_root(b"{}", source="r"), id="load_trusted_root"),
        pytest.param(
            lambda: verify_bundle(
                parse_bundles(json.dumps(_bundle_doc()).encode(), source="b")[0],
                SigstoreTrustedRoot(source="r", sha256="", root=None),  # type: ignore[arg-type]
            ),
            id="verify_bundle",
        ),
    ],
)
def test_missing_sigstore_is_an_input_error(call: Callable[[], object]) -> None:
    with pytest.raises(InputError, match=r"pip install 'intoto-policy\[sigstore\]'"):
        call()


# --------------------------------------------------------------------------
# SigstoreIdentity construction
# --------------------------------------------------------------------------

_BAD_IDENTITIES: list[tuple[str, dict[str, Any], str]] = [
    ("nothing", {}, "identity"),
    ("identity-only", {"identity": "a"}, "issuer"),
    ("issuer-only", {"issuer": GHA}, "identity"),
    ("identity-and-regex", {"identity": "a", "identity_regex": "a", "issuer": GHA}, "exactly one"),
    ("issuer-and-regex", {"identity": "a", "issuer": GHA, "issuer_regex": ".*"}, "exactly one"),
    ("empty-identity", {"identity": "", "issuer": GHA}, "must not be empty"),
    ("bad-regex", {"identity_regex": "(", "issuer": GHA}, "invalid regular expression"),
    (
        "unknown-extension",
        {"identity": "a", "issuer": GHA, "extensions": {"color": "red"}},
        "unknown Fulcio extension",
    ),
    (
        "extension-not-string",
        {"identity": "a", "issuer": GHA, "extensions": {"buildTrigger": 1}},
        "expected a string",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "message"), [pytest.param(*c[1:], id=c[0]) for c in _BAD_IDENTITIES]
)
def test_sigstore_identity_rejects(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SigstoreIdentity(**kwargs)


@pytest.mark.parametrize(
    ("constraint", "principal"),
    [
        pytest.param(
            SigstoreIdentity(identity="me@example.com", issuer="https://accounts.google.com"),
            "sigstore:https://accounts.google.com|me@example.com",
            id="exact",
        ),
        pytest.param(
            SigstoreIdentity(identity_regex=".*@example\\.com", issuer_regex="https://.*"),
            "sigstore:re:https://.*|re:.*@example\\.com",
            id="regex",
        ),
    ],
)
def test_sigstore_identity_principal_id(constraint: SigstoreIdentity, principal: str) -> None:
    assert constraint.principal_id == principal


def test_sigstore_identity_is_immutable_and_normalizes_oids() -> None:
    constraint = SigstoreIdentity(
        identity="a", issuer=GHA, extensions={"1.3.6.1.4.1.57264.1.12": "https://x"}
    )
    assert dict(constraint.extensions) == {"sourceRepositoryURI": ValuePattern(exact="https://x")}
    with pytest.raises(dataclasses.FrozenInstanceError):
        constraint.identity = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        constraint.extensions["x"] = "y"  # type: ignore[index]


# --------------------------------------------------------------------------
# X.509: certificate-signed DSSE envelopes (synthetic PKI)
# --------------------------------------------------------------------------

_T0 = datetime(2024, 1, 1, tzinfo=UTC)
_SPIFFE = "spiffe://example.org/ns/prod/sa/builder"


@dataclasses.dataclass(frozen=True)
class _Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key: Any
    other_root: x509.Certificate


def _cert(
    subject: x509.Name,
    key: Any,
    issuer: x509.Name,
    issuer_key: Any,
    *,
    ca: bool,
    sans: list[x509.GeneralName] | None = None,
    days: int = 365,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_T0)
        .not_valid_after(_T0 + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@cache
def _pki(leaf_kind: str = "ec") -> _Pki:
    root_key = ec.generate_private_key(ec.SECP384R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key: Any
    if leaf_kind == "ed25519":
        leaf_key = ed25519.Ed25519PrivateKey.generate()
    elif leaf_kind == "rsa":
        leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(
        _name("Test Root", "Example"), root_key, _name("Test Root", "Example"), root_key, ca=True
    )
    inter = _cert(_name("Test Intermediate", "Example"), inter_key, root.subject, root_key, ca=True)
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(_SPIFFE),
        x509.DNSName("builder.example.org"),
        x509.RFC822Name("builder@example.org"),
    ]
    leaf = _cert(
        _name("builder", "Example Builders"),
        leaf_key,
        inter.subject,
        inter_key,
        ca=False,
        sans=sans,
        days=30,
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert(_name("Other Root"), other_key, _name("Other Root"), other_key, ca=True)
    return _Pki(root, inter, leaf, leaf_key, other)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def _pae(payload_type: str, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def _sign(key: Any, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)  # type: ignore[no-any-return]


_STATEMENT = b'{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}'


def _envelope(pki: _Pki, *, payload: bytes = _STATEMENT, with_cert: bool = True) -> bytes:
    payload_type = "application/vnd.in-toto+json"
    signature: dict[str, str] = {
        "keyid": "",
        "sig": base64.b64encode(_sign(pki.leaf_key, _pae(payload_type, _STATEMENT))).decode(),
    }
    if with_cert:
        signature["cert"] = _pem(pki.leaf)
    doc = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [signature],
    }
    return json.dumps(doc).encode()


def _constraints(pki: _Pki, **names: Any) -> X509Constraints:
    return X509Constraints(
        roots=(pki.root,), intermediates=(pki.intermediate,), **(names or {"uris": (_SPIFFE,)})
    )


_AT = _T0 + timedelta(days=1)
_X509_VERIFY_CASES: list[
    tuple[str, str, Callable[[_Pki], bytes], Callable[[_Pki], X509Constraints], datetime, str, str]
] = [
    # (case id, leaf key, envelope, constraints, time, expected status, reason substring)
    ("ec-verified", "ec", _envelope, _constraints, _AT, V, "verified"),
    ("ed25519-verified", "ed25519", _envelope, _constraints, _AT, V, "verified"),
    ("rsa-verified", "rsa", _envelope, _constraints, _AT, V, "verified"),
    (
        "tampered-payload",
        "ec",
        lambda p: _envelope(p, payload=_STATEMENT.replace(b"x", b"y")),
        _constraints,
        _AT,
        F,
        "does not verify",
    ),
    ("before-validity", "ec", _envelope, _constraints, _T0 - timedelta(days=1), F, "not valid"),
    ("after-leaf-expiry", "ec", _envelope, _constraints, _T0 + timedelta(days=31), F, "not valid"),
    (
        "untrusted-root",
        "ec",
        _envelope,
        lambda p: X509Constraints(roots=(p.other_root,), uris=(_SPIFFE,)),
        _AT,
        F,
        "chain",
    ),
    (
        "missing-intermediate",
        "ec",
        _envelope,
        lambda p: X509Constraints(roots=(p.root,), uris=(_SPIFFE,)),
        _AT,
        F,
        "chain",
    ),
    (
        "no-certificate",
        "ec",
        lambda p: _envelope(p, with_cert=False),
        _constraints,
        _AT,
        U,
        "no certificate",
    ),
]


@pytest.mark.parametrize(
    ("leaf_kind", "make_envelope", "make_constraints", "at", "status", "reason"),
    [pytest.param(*c[1:], id=c[0]) for c in _X509_VERIFY_CASES],
)
def test_certificate_envelope(
    *,
    leaf_kind: str,
    make_envelope: Callable[[_Pki], bytes],
    make_constraints: Callable[[_Pki], X509Constraints],
    at: datetime,
    status: str,
    reason: str,
) -> None:
    pki = _pki(leaf_kind)
    (result,) = verify_certificate_envelope(
        make_envelope(pki), make_constraints(pki), at=at, source="env.json"
    )
    assert result.status == status, result.reason
    assert reason in result.reason
    if status == V:
        assert result.payload == _STATEMENT
        assert result.identity is not None
        assert result.identity.uris == (_SPIFFE,)
        assert result.identity.issuer is None
        assert result.identity.principal_id == (
            f"x509:O=Example,CN=Test Intermediate|O=Example Builders,CN=builder|{_SPIFFE}"
        )


_X509_MATCH_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("spiffe-uri", {"uris": (_SPIFFE,)}, []),
    ("uri-regex", {"uris": (ValuePattern(regex=r"spiffe://example\.org/ns/prod/.*"),)}, []),
    ("uri-regex-anchored", {"uris": (ValuePattern(regex="example"),)}, ["no URI matches"]),
    (
        "all-kinds",
        {
            "common_name": "builder",
            "emails": ("builder@example.org",),
            "dns_names": ("builder.example.org",),
            "organizations": ("Example Builders",),
            "uris": (_SPIFFE,),
        },
        [],
    ),
    ("wrong-cn", {"common_name": "someone"}, ["no common name matches 'someone'"]),
    ("wrong-dns", {"dns_names": ("evil.example.org",)}, ["no DNS name matches"]),
    ("wrong-org", {"organizations": ("Example",)}, ["no organization matches"]),
    (
        "every-constraint-must-match",
        {"uris": (_SPIFFE, "spiffe://example.org/other")},
        ["spiffe://example.org/other"],
    ),
    (
        "wrong-email-and-uri",
        {"emails": ("x@example.org",), "uris": ("https://x",)},
        ["no email matches", "no URI matches"],
    ),
]


@pytest.mark.parametrize(
    ("names", "expected"), [pytest.param(*c[1:], id=c[0]) for c in _X509_MATCH_CASES]
)
def test_x509_constraints_match(names: dict[str, Any], expected: list[str]) -> None:
    pki = _pki()
    identity = certificate_identity(pki.leaf)
    problems = _constraints(pki, **names).matches(identity)
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert wanted in problem


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda p: X509Constraints(roots=(), uris=("u",)),
            "at least one trusted root",
            id="no-root",
        ),
        pytest.param(
            lambda p: X509Constraints(roots=(p.root,)), "at least one of", id="no-name-constraint"
        ),
        pytest.param(
            lambda p: X509Constraints(roots=("pem",), uris=("u",)),  # type: ignore[arg-type]
            "tuple of certificates",
            id="root-not-cert",
        ),
        pytest.param(
            lambda p: X509Constraints(roots=(p.root,), uris="u"),  # type: ignore[arg-type]
            "one string",
            id="uris-not-list",
        ),
        pytest.param(
            lambda p: X509Constraints.from_pem(roots=b"garbage", uris=("u",)),
            "not PEM",
            id="bad-pem",
        ),
        pytest.param(
            lambda p: X509Constraints(roots=(p.root,), uris=(ValuePattern(regex="["),)),
            "invalid regular expression",
            id="bad-regex",
        ),
    ],
)
def test_x509_constraints_reject(make: Callable[[_Pki], object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(_pki())


def test_x509_from_pem_and_naive_time() -> None:
    pki = _pki()
    constraints = X509Constraints.from_pem(
        roots=_pem(pki.root).encode(), intermediates=_pem(pki.intermediate).encode(), uris=[_SPIFFE]
    )
    assert constraints == _constraints(pki)
    with pytest.raises(UsageError, match="timezone-aware"):
        constraints.check_chain(pki.leaf, at=datetime(2024, 1, 2))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        pytest.param(b"[]", ValidationError, "expected an object", id="not-object"),
        pytest.param(
            b'{"payloadType": "t", "payload": "", "signatures": []}',
            ValidationError,
            "non-empty",
            id="no-signatures",
        ),
        pytest.param(
            b'{"payloadType": "t", "payload": "e30", "signatures": [{"sig": "c2ln", "cert": "x"}]}',
            ValidationError,
            "DER",
            id="bad-cert",
        ),
        pytest.param(
            b'{"payloadType": "t", "payload": "!!", "signatures": [{"sig": "c2ln"}]}',
            ValidationError,
            "not base64",
            id="bad-payload",
        ),
    ],
)
def test_certificate_envelope_input_errors(
    data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        verify_certificate_envelope(data, _constraints(_pki()), at=_AT, source="e.json")


def test_load_certificate_pem_and_der() -> None:
    leaf = _pki().leaf
    assert load_certificate(_pem(leaf)) == leaf
    assert load_certificate(leaf.public_bytes(Encoding.DER)) == leaf
    with pytest.raises(ValidationError, match="expected one PEM certificate"):
        load_certificate(_pem(leaf) + _pem(leaf))


# --------------------------------------------------------------------------
# X.509: legacy slsa-github-generator envelopes from the corpus (Fulcio PROD)
# --------------------------------------------------------------------------

_LEGACY_GENERIC = _p("02", "binary-linux-amd64-workflow_dispatch.intoto.jsonl")
_NO_TLOG = _p("12", "binary-linux-amd64-no-tlog-upload.intoto.jsonl")
_GENERIC_V121 = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.2.1"


def _fulcio_constraints(**names: Any) -> X509Constraints:
    trust = json.loads(
        (REAL / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json").read_bytes()
    )
    certs = [
        x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
        for ca in trust["certificateAuthorities"]
        for c in ca["certChain"]["certificates"]
    ]
    return X509Constraints(
        roots=tuple(c for c in certs if c.subject == c.issuer),
        intermediates=tuple(c for c in certs if c.subject != c.issuer),
        **names,
    )


def _flip_payload_byte(data: bytes) -> bytes:
    envelope = json.loads(data)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[len(payload) // 2] ^= 0x01
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    return json.dumps(envelope).encode()


def _leaf_of(data: bytes) -> x509.Certificate:
    return load_certificate(json.loads(data)["signatures"][0]["cert"])


_LEGACY_CASES: list[tuple[str, str, Callable[[bytes], bytes], timedelta, str, int]] = [
    # (case id, file, transform, offset from leaf notBefore, status, URI mismatches)
    ("02-verified-at-signing", _LEGACY_GENERIC, lambda d: d, timedelta(minutes=1), V, 0),
    ("02-after-expiry", _LEGACY_GENERIC, lambda d: d, timedelta(minutes=11), F, 0),
    ("02-tampered", _LEGACY_GENERIC, _flip_payload_byte, timedelta(minutes=1), F, 0),
    ("12-crypto-ok-wrong-builder", _NO_TLOG, lambda d: d, timedelta(minutes=1), V, 1),
]


@pytest.mark.parametrize(
    ("rel", "transform", "offset", "status", "mismatches"),
    [pytest.param(*c[1:], id=c[0]) for c in _LEGACY_CASES],
)
def test_corpus_legacy_certificate_envelopes(
    rel: str, transform: Callable[[bytes], bytes], offset: timedelta, status: str, mismatches: int
) -> None:
    data = _corpus_file(rel).read_bytes()
    changed = transform(data)
    constraints = _fulcio_constraints(uris=(_GENERIC_V121,))
    at = _leaf_of(data).not_valid_before_utc + offset
    (result,) = verify_certificate_envelope(changed, constraints, at=at, source=rel)
    assert result.status == status, result.reason
    if result.identity is not None:
        assert result.identity.issuer == GHA
        assert len(constraints.matches(result.identity)) == mismatches


# --------------------------------------------------------------------------
# Reading identities from Fulcio-style certificates (synthetic)
# --------------------------------------------------------------------------


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 0x80
    return bytes([0x0C, len(raw)]) + raw


def _fulcio_like(extensions: dict[str, bytes], sans: list[x509.GeneralName]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(_name("Fake Fulcio"))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(_T0)
        .not_valid_after(_T0 + timedelta(minutes=10))
        .add_extension(x509.SubjectAlternativeName(sans), critical=True)
    )
    for dotted, value in extensions.items():
        oid = x509.ObjectIdentifier(dotted)
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    return builder.sign(key, hashes.SHA256())


_FULCIO = "1.3.6.1.4.1.57264.1."
_IDENTITY_READ_CASES: list[tuple[str, dict[str, bytes], list[x509.GeneralName], dict[str, Any]]] = [
    (
        "username-othername-san",
        {_FULCIO + "8": _der_utf8("https://issuer.example")},
        [x509.OtherName(x509.ObjectIdentifier(_FULCIO + "7"), _der_utf8("alice"))],
        {"san": "alice", "issuer": "https://issuer.example"},
    ),
    (
        "v2-issuer-wins-over-raw-v1",
        {_FULCIO + "1": b"https://old.example", _FULCIO + "8": _der_utf8("https://new.example")},
        [x509.RFC822Name("a@example.com")],
        {"san": "a@example.com", "issuer": "https://new.example"},
    ),
    (
        "raw-v1-issuer-only",
        {_FULCIO + "1": b"https://old.example", _FULCIO + "2": b"push"},
        [x509.UniformResourceIdentifier("https://ci.example/job")],
        {"issuer": "https://old.example", "githubWorkflowTrigger": "push"},
    ),
    (
        "unknown-arc-keeps-oid-and-bad-der-is-dropped",
        {_FULCIO + "99": _der_utf8("x"), _FULCIO + "12": b"\x0c\x05ab", _FULCIO + "8": b"raw"},
        [x509.RFC822Name("a@example.com")],
        {_FULCIO + "99": "x", "sourceRepositoryURI": None, "issuer": None},
    ),
]


@pytest.mark.parametrize(
    ("extensions", "sans", "expected"),
    [pytest.param(*c[1:], id=c[0]) for c in _IDENTITY_READ_CASES],
)
def test_certificate_identity_reads_fulcio_fields(
    extensions: dict[str, bytes], sans: list[x509.GeneralName], expected: dict[str, Any]
) -> None:
    identity = certificate_identity(_fulcio_like(extensions, sans))
    for name, value in expected.items():
        if name in ("san", "issuer"):
            assert getattr(identity, name) == value
        else:
            assert identity.extensions.get(name) == value
    assert identity.subject == ""
    assert identity.not_after - identity.not_before == timedelta(minutes=10)


def test_verify_bundle_rechecks_hand_made_records() -> None:
    pytest.importorskip("sigstore")
    record = BundleRecord(
        source="hand.json",
        index=0,
        location="",
        container="sigstore-bundle",
        media_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        bundle_json=b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
    )
    root = SigstoreTrustedRoot(source="r", sha256="", root=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="verificationMaterial"):
        verify_bundle(record, root)


def test_x509_leaf_without_san_matches_by_subject() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(_name("Root"), root_key, _name("Root"), root_key, ca=True)
    leaf = _cert(_name("signer", "Org"), key, root.subject, root_key, ca=False, days=30)
    constraints = X509Constraints(roots=(root,), common_name="signer", organizations=("Org",))
    assert constraints.check_chain(leaf, at=_AT) == []
    identity = certificate_identity(leaf)
    assert identity.san is None
    assert constraints.matches(identity) == []
