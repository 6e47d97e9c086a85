"""Real signed attestations from public tooling, verified through `intoto-policy verify`.

Each case writes a small layout naming the identity (or key) the source
project expects, and checks the verdict INDEX.md lists; for invalid items,
``check`` names the check that rejected it (the prefix of the rejection
message). Items that need the network must come out as a failure whose
reason says so ("unsupported"), never as a pass.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from intoto_policy.cli._main import main

pytest.importorskip("sigstore")

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
PROD = CORPUS / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
STAGING = CORPUS / "trust" / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

GHA = "https://token.actions.githubusercontent.com"
PROV1 = "https://slsa.dev/provenance/v1"
PROV02 = "https://slsa.dev/provenance/v0.2"
PYPI = "https://docs.pypi.org/attestations/publish/v1"
AT = "2026-11-22T00:00:00Z"


@dataclass
class Item:
    name: str
    files: list[str]
    predicate_type: str
    identity: dict[str, object]
    verdict: str
    root: Path | None = PROD
    subject: str | None = None
    subject_digest: str | None = None
    reason: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    check: str | None = None
    registry: bool = False  # also require the npm registry's publish attestation
    registry_expires: str | None = None  # the registry key's "expires"


def sigstore(identity: str, issuer: str = GHA, **extra: object) -> dict[str, object]:
    return {"type": "sigstore", "identity": identity, "issuer": issuer, **extra}


BCR = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"
GO_BUILDER = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v2.1.0"
NPM_PUBLISH = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
NPM_KEYID = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
SIGSTORE_JS = (
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
)
NPM_TEST = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0"
ANY = {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"}
NPM9 = "09-slsaverifier-npm-attestations/provenance-npm-test-ossf"


def npm_registry_keys(expires: str | None = None) -> dict[str, object]:
    """The npm registry's keys document entry for item 16's publish_key.pub."""
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return {
        "type": "npmRegistryKeys",
        "keys": [
            {
                "keyid": NPM_KEYID,
                "keytype": "ecdsa-sha2-nistp256",
                "scheme": "ecdsa-sha2-nistp256",
                "key": spki,
                "expires": expires,
            }
        ],
    }


GENERIC = {
    "identityRegex": r"https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/generator_generic_slsa3\.yml@refs/(heads|tags)/.+"
}

CASES = [
    Item(
        "01 slsa-github-generator go builder",
        ["01-slsaverifier-gha-go-v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl"],
        PROV02,
        sigstore(GO_BUILDER),
        "pass",
        subject_digest="sha256:f6ab7ad0c7549b5a4942c3b0690519d791c28c4c0f8b286208cb40da3322a066",
    ),
    Item(
        "01 with another artifact",
        ["01-slsaverifier-gha-go-v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl"],
        PROV02,
        sigstore(GO_BUILDER),
        "fail",
        subject_digest="sha256:" + "0" * 64,
        reason="subject-mismatch",
    ),
    Item(
        "03 MODULE.bazel from publish-to-bcr",
        ["03-slsaverifier-bcr-slsa-v1/MODULE.bazel.intoto.jsonl"],
        PROV1,
        sigstore(BCR),
        "pass",
        subject="03-slsaverifier-bcr-slsa-v1/MODULE.bazel",
    ),
    Item(
        "03 MODULE-wrong-signer: valid crypto, wrong identity",
        ["03-slsaverifier-bcr-slsa-v1/MODULE-wrong-signer.bazel.intoto.jsonl"],
        PROV1,
        sigstore(BCR),
        "fail",
        subject="03-slsaverifier-bcr-slsa-v1/MODULE-wrong-signer.bazel",
        reason="unknown-signer",
    ),
    Item(
        "03 wrong issuer is not the expected identity",
        ["03-slsaverifier-bcr-slsa-v1/MODULE.bazel.intoto.jsonl"],
        PROV1,
        sigstore(BCR, "https://accounts.google.com"),
        "fail",
        reason="unknown-signer",
    ),
    Item(
        "03 extension constraint on the source repository",
        ["03-slsaverifier-bcr-slsa-v1/MODULE.bazel.intoto.jsonl"],
        PROV1,
        sigstore(BCR, extensions={"sourceRepositoryURI": "https://github.com/someone/else"}),
        "fail",
        reason="unknown-signer",
    ),
    Item(
        "04 generic generator v0.3 bundle",
        ["04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore"],
        PROV02,
        {"type": "sigstore", **GENERIC, "issuer": GHA},
        "pass",
    ),
    Item(
        "13 conformance happy path",
        ["13-sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"],
        PROV1,
        {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"},
        "pass",
        subject="13-sigstore-conformance/a.txt",
    ),
    Item(
        "13 rekor v2 happy path, own root",
        ["13-sigstore-conformance/rekor2-dsse-happy-path/bundle.sigstore.json"],
        PROV1,
        {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"},
        "pass",
        root=ITEMS / "13-sigstore-conformance/rekor2-dsse-happy-path/trusted_root.json",
    ),
    Item(
        "13 dsse invalid signature",
        ["13-sigstore-conformance/dsse-invalid-sig_fail/bundle.sigstore.json"],
        PROV1,
        {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"},
        "fail",
        reason="bad-signature",
    ),
    Item(
        "13 dsse mismatched envelope",
        ["13-sigstore-conformance/dsse-mismatch-envelope_fail/bundle.sigstore.json"],
        PROV1,
        {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"},
        "fail",
        reason="bad-signature",
    ),
    Item(
        "13 intoto/0.0.2 with its own root and a TSA timestamp",
        ["13-sigstore-conformance/intoto-with-custom-trust-root/bundle.sigstore.json"],
        PROV1,
        ANY,
        "pass",
        root=ITEMS / "13-sigstore-conformance/intoto-with-custom-trust-root/trusted_root.json",
        subject="13-sigstore-conformance/intoto-with-custom-trust-root/artifact",
    ),
    *[
        Item(
            f"13 {case}",
            [f"13-sigstore-conformance/{case}/bundle.sigstore.json"],
            PROV1,
            ANY,
            "fail",
            root=ITEMS / f"13-sigstore-conformance/{case}/trusted_root.json",
            reason="bad-signature",
            check=check,
        )
        for case, check in [
            ("intoto-expired-certificate_fail", "certificate-validity"),
            ("intoto-log-entry-mismatch_fail", "log-body"),
            ("intoto-missing-inclusion-proof_fail", "inclusion-proof"),
            ("intoto-set-outside-signing-cert-validity_fail", "certificate-validity"),
            ("intoto-tsa-timestamp-outside-cert-validity_fail", "certificate-validity"),
        ]
    ],
    Item(
        "14 staging rekor v2 with TSA",
        ["14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json"],
        PROV1,
        {
            "type": "sigstore",
            "identityRegex": r"https://github\.com/sigstore-conformance/.+",
            "issuer": GHA,
        },
        "pass",
        root=STAGING,
        subject="14-sigstorepython-dsse-staging-rekor-v2/a.txt",
    ),
    Item(
        "14 against the production root fails",
        ["14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json"],
        PROV1,
        {"type": "sigstore", "identityRegex": ".+", "issuer": GHA},
        "fail",
        reason="bad-signature",
    ),
    Item(
        "19 cosign OCI attestation (email identity)",
        ["19-cosign-oci-attestation/oci-attestation.sigstore.json"],
        "https://cosign.sigstore.dev/attestation/v1",
        sigstore("cody@soyland.com", "https://github.com/login/oauth"),
        "pass",
    ),
    Item(
        "22 GitHub reusable workflow attestation",
        ["22-ghcli-artifact-attestations/reusable-workflow-attestation.sigstore.json"],
        PROV1,
        {
            "type": "sigstore",
            "identityRegex": r"https://github\.com/github/artifact-attestations-workflows/\.github/workflows/attest\.yml@.+",
            "issuer": GHA,
        },
        "pass",
        subject="22-ghcli-artifact-attestations/reusable-workflow-artifact",
    ),
    Item(
        "22 GitHub custom issuer",
        ["22-ghcli-artifact-attestations/custom-issuer.sigstore.json"],
        PROV1,
        sigstore(
            "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main",
            GHA + "/hammer-time",
        ),
        "pass",
        subject="22-ghcli-artifact-attestations/custom-issuer-artifact",
    ),
    Item(
        "24 PEP 740 publish attestation",
        [
            "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.publish.attestation"
        ],
        PYPI,
        sigstore(
            "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
        ),
        "pass",
        subject="24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz",
    ),
    Item(
        "24 PEP 740 provenance object (two bundles)",
        ["24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.provenance"],
        PYPI,
        sigstore(
            "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
        ),
        "pass",
        subject="24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz",
    ),
    Item(
        "25 PEP 740 from GitLab",
        ["25-pypi-pep740-gitlab/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"],
        PYPI,
        sigstore(
            "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main",
            "https://gitlab.com",
        ),
        "pass",
        subject="25-pypi-pep740-gitlab/gitlab_oidc_project-0.0.3.tar.gz",
    ),
    Item(
        "26 PEP 740 staging email identity",
        ["26-pypi-pep740-staging-rfc8785/rfc8785-0.1.2-py3-none-any.whl.publish.attestation"],
        PYPI,
        sigstore("william@yossarian.net", "https://github.com/login/oauth"),
        "pass",
        root=STAGING,
        subject="26-pypi-pep740-staging-rfc8785/rfc8785-0.1.2-py3-none-any.whl",
    ),
    Item(
        "27 PEP 740 attestation models",
        ["27-pypi-pep740-gh-models/pypi_attestation_models-0.0.4a2.tar.gz.attestation"],
        PYPI,
        sigstore(
            "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/release.yml@refs/tags/v0.0.4a2"
        ),
        "pass",
        subject="27-pypi-pep740-gh-models/pypi_attestation_models-0.0.4a2.tar.gz",
    ),
    Item(
        "27 PEP 740 for a different dist",
        ["27-pypi-pep740-gh-models/pypi_attestation_models-0.0.4a2.tar.gz.attestation"],
        PYPI,
        sigstore(
            "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/release.yml@refs/tags/v0.0.4a2"
        ),
        "fail",
        subject="25-pypi-pep740-gitlab/gitlab_oidc_project-0.0.3.tar.gz",
        reason="subject-mismatch",
    ),
    *[
        Item(name, [path], pt, ANY, "fail", reason="bad-signature", check=check)
        for name, path, pt, check in [
            (
                "05 invalid dsse sig (the SET covers the original body)",
                "05-slsaverifier-bundle-invalid-dsse-sig/invalid-dsse-sig.intoto.sigstore",
                PROV1,
                "set",
            ),
            (
                "06 invalid SET",
                "06-slsaverifier-bundle-invalid-set/invalid-set.intoto.sigstore",
                PROV1,
                "set",
            ),
            (
                "07 log entry body does not describe the envelope",
                "07-slsaverifier-bundle-mismatch-tlog/mismatch-tlog.intoto.sigstore",
                PROV1,
                "log-body",
            ),
            (
                "17 two-signature DSSE bundle",
                "17-sigstorego-dsse-2sigs/dsse-2sigs.sigstore.json",
                PROV02,
                "dsse-signature-count",
            ),
            (
                "23 invalid signature, intoto/0.0.2",
                "23-ghcli-invalid-signature/sigstoreBundle-invalid-signature.json",
                PROV1,
                "log-body",
            ),
        ]
    ],
    Item(
        "08 v0.1 bundle with SET only",
        ["08-slsaverifier-bundle-v0.1-slsa1draft/attestation.intoto.sigstore"],
        "https://slsa.dev/provenance/v1.0?draft",
        sigstore(
            "https://github.com/laurentsimon/slsa-delegator/.github/workflows/delegator_generic_slsa3.yml@refs/heads/main"
        ),
        "pass",
    ),
    Item(
        "09 npm provenance and registry publish attestation",
        [f"{NPM9}.tgz.json"],
        PROV02,
        sigstore(NPM_TEST),
        "pass",
        subject=f"{NPM9}.tgz",
        registry=True,
    ),
    Item(
        "09 npm provenance alone (publish attestation not required)",
        [f"{NPM9}.tgz.json"],
        PROV02,
        sigstore(NPM_TEST),
        "pass",
        subject=f"{NPM9}.tgz",
    ),
    Item(
        "09 invalidsigprov: provenance signature",
        [f"{NPM9}-invalidsigprov.tgz.json"],
        PROV02,
        sigstore(NPM_TEST),
        "fail",
        subject=f"{NPM9}.tgz",
        registry=True,
        reason="bad-signature",
        check="log-body",
    ),
    Item(
        "09 invalidsigpub: publish signature",
        [f"{NPM9}-invalidsigpub.tgz.json"],
        PROV02,
        sigstore(NPM_TEST),
        "fail",
        subject=f"{NPM9}.tgz",
        registry=True,
        reason="bad-signature",
        check="npm-registry: log-body",
    ),
    Item(
        "15 npm provenance v0.1 bundle (sigstore 1.3.0)",
        ["15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json"],
        PROV02,
        sigstore(SIGSTORE_JS),
        "pass",
    ),
    Item(
        "16 npm registry publish attestation, key-signed",
        ["16-sigstorego-npm-publish-keyed/bundle-publish.json"],
        NPM_PUBLISH,
        {"type": "npmRegistryKeys", "keys": []},  # replaced by registry keys below
        "pass",
        registry=True,
    ),
    Item(
        "16 registry key expired before the entry was logged",
        ["16-sigstorego-npm-publish-keyed/bundle-publish.json"],
        NPM_PUBLISH,
        {"type": "npmRegistryKeys", "keys": []},
        "fail",
        registry=True,
        registry_expires="2023-04-18T17:45:15Z",  # integrated 17:45:16
        reason="unknown-signer",
        check="signer-key",
    ),
    Item(
        "16 registry key expiring after the entry was logged",
        ["16-sigstorego-npm-publish-keyed/bundle-publish.json"],
        NPM_PUBLISH,
        {"type": "npmRegistryKeys", "keys": []},
        "pass",
        registry=True,
        registry_expires="2025-01-29T00:00:00Z",
    ),
    Item(
        "16 key-signed bundle and no registry keys in the layout",
        ["16-sigstorego-npm-publish-keyed/bundle-publish.json"],
        NPM_PUBLISH,
        ANY,
        "fail",
        reason="unknown-signer",
    ),
    Item(
        "17 one-signature DSSE bundle (email identity)",
        ["17-sigstorego-dsse-2sigs/dsse.sigstore.json"],
        PROV02,
        sigstore("brian@dehamer.com", "https://github.com/login/oauth"),
        "pass",
    ),
    Item(
        "18 npm provenance with inclusion proof, intoto/0.0.2",
        ["18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json"],
        PROV1,
        sigstore(SIGSTORE_JS),
        "pass",
    ),
    *[
        Item(
            f"20 GitHub CLI {name}",
            [f"20-ghcli-sigstore-js-2.1.0/{path}"],
            PROV1,
            sigstore(SIGSTORE_JS),
            "pass",
            root=ITEMS / "20-ghcli-sigstore-js-2.1.0/trusted_root.json",
            subject="20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0.tgz",
        )
        for name, path in [
            ("bundle v0.3", "sigstore-js-2.1.0-bundle.json"),
            ("bundle v0.1", "sigstore-js-2.1.0-bundle-v0.1.json"),
            ("JSON Lines of two bundles", "sigstore-js-2.1.0_with_2_bundles.jsonl"),
        ]
    ],
    Item(
        "20 for another tarball",
        ["20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0-bundle-v0.1.json"],
        PROV1,
        sigstore(SIGSTORE_JS),
        "fail",
        subject=f"{NPM9}.tgz",
        reason="subject-mismatch",
    ),
    Item(
        "18 another workflow is not the expected identity",
        ["18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json"],
        PROV1,
        sigstore(NPM_TEST),
        "fail",
        reason="unknown-signer",
    ),
    Item(
        "02 legacy DSSE with certificate needs Rekor online",
        [
            "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse/binary-linux-amd64-workflow_dispatch.intoto.jsonl"
        ],
        PROV02,
        {"type": "sigstore", **GENERIC, "issuer": GHA},
        "fail",
        reason="unsupported",
    ),
    Item(
        "12 no tlog upload needs Rekor online",
        ["12-slsaverifier-no-tlog-upload/binary-linux-amd64-no-tlog-upload.intoto.jsonl"],
        PROV02,
        {"type": "sigstore", **GENERIC, "issuer": GHA},
        "fail",
        reason="unsupported",
    ),
]


def _layout(tmp_path: Path, item: Item) -> Path:
    functionaries: dict[str, object] = {"expected": item.identity}
    predicates = [{"predicateType": item.predicate_type, "functionaries": ["expected"]}]
    if item.registry:
        functionaries["npm-registry"] = npm_registry_keys(item.registry_expires)
        if item.predicate_type == NPM_PUBLISH:
            functionaries.pop("expected")
            predicates = []
        predicates.append({"predicateType": NPM_PUBLISH, "functionaries": ["npm-registry"]})
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": functionaries,
        "subjectSteps": ["build"],
        "steps": [{"name": "build", "expectedPredicates": predicates}],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


@pytest.mark.parametrize("item", CASES, ids=[c.name for c in CASES])
def test_real_world_item(tmp_path: Path, capsys: pytest.CaptureFixture[str], item: Item) -> None:
    argv = [
        "verify",
        str(_layout(tmp_path, item)),
        "--unsigned-layout",
        "--at",
        AT,
        "--format",
        "json",
    ]
    for f in item.files:
        argv += ["--attestations", str(ITEMS / f)]
    if item.root is not None:
        argv += ["--trusted-root", str(item.root)]
    if item.subject:
        argv += ["--subject", str(ITEMS / item.subject)]
    if item.subject_digest:
        argv += ["--subject-digest", item.subject_digest]
    if not item.subject and not item.subject_digest:
        argv.append("--no-subject")  # the item names no artifact: opt out explicitly
    code = main(argv)
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["verdict"] == item.verdict, json.dumps(report["rejected"], indent=1)[:3000]
    assert code == (0 if item.verdict == "pass" else 1)
    if item.reason:
        reasons = {r["reason"] for r in report["rejected"]}
        assert item.reason in reasons, reasons
    if item.check:
        messages = [r["message"] for r in report["rejected"] if r["reason"] == item.reason]
        assert any(item.check + ":" in m for m in messages), messages
    if item.verdict == "pass":
        for att in report["steps"][0]["attestations"]:
            signer = att["signers"][0]
            if signer["kind"] == "key":  # the npm registry's publish key
                assert signer["keyid"] == NPM_KEYID
                # Its signing time is the log's integrated time, as for keyless ones.
                assert [t["source"] for t in att["signingTimes"]] == ["transparency-log"]
                continue
            assert signer["kind"] == "sigstore"
            assert signer["identity"]
            assert signer["issuer"]


def test_registry_key_counts_once_for_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same registry key under two functionaries is one principal: a
    # threshold of 2 over them is not met by one publish attestation.
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"a": npm_registry_keys(), "b": npm_registry_keys()},
        "steps": [
            {
                "name": "publish",
                "expectedPredicates": [
                    {"predicateType": NPM_PUBLISH, "functionaries": ["a", "b"], "threshold": 2}
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    argv = ["verify", str(path), "--unsigned-layout", "--at", AT, "--format", "json"]
    argv += ["--attestations", str(ITEMS / "16-sigstorego-npm-publish-keyed/bundle-publish.json")]
    argv += ["--trusted-root", str(PROD)]
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["verdict"] == "fail"
    threshold = next(c for c in report["steps"][0]["checks"] if c["kind"] == "threshold")
    assert threshold["actual"] == 1


def test_keyless_identity_counts_once_for_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two bundles from the same workflow identity (PEP 740 publish and SLSA
    # provenance, re-typed here as one expected predicate each) are one principal.
    ident = sigstore(
        "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
    )
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"a": ident, "b": {**ident}},
        "steps": [
            {
                "name": "publish",
                "expectedPredicates": [
                    {"predicateType": PYPI, "functionaries": ["a", "b"], "threshold": 2}
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    base = ITEMS / "24-pypi-pep740-pypi_attestations-0.0.19"
    code = main(
        [
            "verify",
            str(path),
            "--unsigned-layout",
            "--at",
            AT,
            "--format",
            "json",
            "--trusted-root",
            str(PROD),
            "--attestations",
            str(base / "pypi_attestations-0.0.19.tar.gz.publish.attestation"),
            "--attestations",
            str(base / "pypi_attestations-0.0.19.tar.gz.provenance"),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    threshold = next(c for c in report["steps"][0]["checks"] if c["kind"] == "threshold")
    assert threshold["actual"] == 1


def test_key_signed_vsa_with_raw_signature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from intoto_policy.sources._files import load_public_key_file

    item = ITEMS / "10-slsaverifier-vsa-gce"
    key = load_public_key_file(item / "vsa_signing_public_key.pem")
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {key.keyid: key.to_dict(camel=True)},
        "steps": [
            {
                "name": "vsa",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/verification_summary/v1",
                        "functionaries": [key.keyid],
                        "expectedAttributes": [
                            {"rule": "predicate.verificationResult == 'PASSED'"}
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    code = main(
        [
            "verify",
            str(path),
            "--unsigned-layout",
            "--at",
            AT,
            "--attestations",
            str(item / "gke-gce-pre.bcid-vsa.jsonl"),
        ]
    )
    assert code == 0, capsys.readouterr().out


def test_witness_collection_with_ed25519_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from intoto_policy.sources._files import load_public_key_file

    item = ITEMS / "28-witness-sbom-collections"
    key = load_public_key_file(item / "testpub.pem")
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {key.keyid: key.to_dict(camel=True)},
        "steps": [
            {
                "name": "sbom",
                "expectedPredicates": [
                    {
                        "predicateType": "https://witness.testifysec.com/attestation-collection/v0.1",
                        "functionaries": [key.keyid],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    code = main(
        [
            "verify",
            str(path),
            "--unsigned-layout",
            "--at",
            AT,
            "--attestations",
            str(item / "spdx-att.json"),
            "--attestations",
            str(item / "cdx-att.json"),
        ]
    )
    assert code == 0, capsys.readouterr().out


def _fulcio_pems() -> tuple[list[str], list[str]]:
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    roots, intermediates = [], []
    for ca in json.loads(PROD.read_text())["certificateAuthorities"]:
        certs = [
            x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
            .public_bytes(Encoding.PEM)
            .decode()
            for c in ca["certChain"]["certificates"]
        ]
        roots.append(certs[-1])
        intermediates.extend(certs[:-1])
    return roots, intermediates


X509_CASES = [
    (
        "chain and URI match at signing time",
        "2022-10-18T22:10:52Z",
        r"https://github\.com/slsa-framework/slsa-github-generator/.+",
        0,
    ),
    (
        "certificate expired at verification time",
        "2026-11-22T00:00:00Z",
        r"https://github\.com/slsa-framework/slsa-github-generator/.+",
        1,
    ),
    (
        "URI constraint does not match",
        "2022-10-18T22:10:52Z",
        r"https://github\.com/someone-else/.+",
        1,
    ),
]


@pytest.mark.parametrize(("name", "at", "uri", "code"), X509_CASES, ids=[c[0] for c in X509_CASES])
def test_x509_functionary_on_legacy_certificate_envelope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, at: str, uri: str, code: int
) -> None:
    roots, intermediates = _fulcio_pems()
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {
            "fulcio": {
                "type": "x509",
                "roots": roots,
                "intermediates": intermediates,
                "uris": [{"regex": uri}],
            }
        },
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": PROV02, "functionaries": ["fulcio"]}],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    item = (
        ITEMS
        / "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse"
        / "binary-linux-amd64-workflow_dispatch.intoto.jsonl"
    )
    result = main(
        [
            "verify",
            str(path),
            "--unsigned-layout",
            "--at",
            at,
            "--format",
            "json",
            "--attestations",
            str(item),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert result == code, name
    if code == 0:
        signer = report["steps"][0]["attestations"][0]["signers"][0]
        assert signer["kind"] == "x509"
        assert signer["identity"].startswith("https://github.com/slsa-framework/")
    else:
        assert {r["reason"] for r in report["rejected"]} == {"bad-signature"}


def test_layout_names_its_trusted_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    shutil.copy(PROD, tmp_path / "trusted_root.json")
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "trustedRoot": {
            "path": "trusted_root.json",
            "sha256": hashlib.sha256(PROD.read_bytes()).hexdigest(),
        },
        "functionaries": {"bcr": sigstore(BCR)},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": PROV1, "functionaries": ["bcr"]}],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    att = str(ITEMS / "03-slsaverifier-bcr-slsa-v1/MODULE.bazel.intoto.jsonl")
    code = main(["verify", str(path), "--unsigned-layout", "--at", AT, "--attestations", att])
    assert code == 0, capsys.readouterr().out
    capsys.readouterr()
    # Without any trusted root the bundle cannot be checked, and says so.
    del layout["trustedRoot"]
    path.write_text(json.dumps(layout))
    assert (
        main(
            [
                "verify",
                str(path),
                "--unsigned-layout",
                "--at",
                AT,
                "--attestations",
                att,
                "--format",
                "json",
            ]
        )
        == 1
    )
    report = json.loads(capsys.readouterr().out)
    assert {r["reason"] for r in report["rejected"]} == {"unsupported"}


def test_malformed_certificate_rejects_only_that_attestation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roots, intermediates = _fulcio_pems()
    item = (
        ITEMS
        / "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse"
        / "binary-linux-amd64-workflow_dispatch.intoto.jsonl"
    )
    env = json.loads(item.read_text().splitlines()[0])
    env["signatures"][0]["cert"] = (
        "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "bad.intoto.jsonl").write_text(json.dumps(env) + "\n")
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {
            "fulcio": {
                "type": "x509",
                "roots": roots,
                "intermediates": intermediates,
                "uris": [{"regex": ".+"}],
            }
        },
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": PROV02, "functionaries": ["fulcio"]}],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    argv = [
        "verify",
        str(path),
        "--unsigned-layout",
        "--at",
        "2022-10-18T22:10:52Z",
        "--format",
        "json",
    ]
    code = main(
        [*argv, "--attestations", str(tmp_path / "bad.intoto.jsonl"), "--attestations", str(item)]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0  # the good attestation still counts
    assert {r["reason"] for r in report["rejected"]} == {"bad-signature"}
