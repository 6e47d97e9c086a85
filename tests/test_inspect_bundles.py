"""``inspect`` on Sigstore bundles and their containers, from the real-world corpus.

One named case per container format (bundle v0.1, v0.2, v0.3, npm
attestations document, PEP 740 attestation, PEP 740 provenance object, gh
JSON Lines) and the corpus's INV items. Every case runs twice: without
``--trusted-root`` everything must come out "not verified" (exit 0, the
claims shown), and with it each bundle's verdict and, for an invalid item,
the check that rejected it (the prefix of the reason ``verify`` gives).
"""

from __future__ import annotations

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
CONFORMANCE = ITEMS / "13-sigstore-conformance"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

GHA = "https://token.actions.githubusercontent.com"
V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
PROV1 = "https://slsa.dev/provenance/v1"
PROV02 = "https://slsa.dev/provenance/v0.2"
DRAFT = "https://slsa.dev/provenance/v1.0?draft"
PYPI = "https://docs.pypi.org/attestations/publish/v1"
NPM_PUBLISH = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
NPM_KEYID = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
DELEGATOR = "https://github.com/laurentsimon/slsa-delegator/.github/workflows/delegator_generic_slsa3.yml@refs/heads/main"
NPM_TEST = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0"
BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
PYPI_ATT = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
SIGSTORE_JS = (
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
)
NPM9 = "09-slsaverifier-npm-attestations/provenance-npm-test-ossf"


@dataclass
class Want:
    """What one bundle of the input must show."""

    container: str
    media_type: str
    predicate_type: str | None
    signer: str  # the SAN, or the public key hint of a key-signed bundle
    log: str  # kind/version of the (one) log entry
    status: str = "verified"  # with the trusted root
    reason: str = ""  # prefix of the reason, when not verified
    integrated: str | None = None  # verified integrated time
    stamps: list[str] = field(default_factory=list)  # verified RFC 3161 times


@dataclass
class Case:
    file: Path
    bundles: list[Want]
    root: Path = PROD
    registry: bool = False
    code: int = 0  # exit code with the trusted root


def _key_signed(status: str = "verified", reason: str = "") -> Want:
    return Want(
        "npm-attestations",
        V01,
        NPM_PUBLISH,
        NPM_KEYID,
        "intoto/0.0.2",
        status,
        reason,
        "2023-05-18T17:58:57Z" if status == "verified" else None,
    )


def _npm_provenance(status: str = "verified", reason: str = "") -> Want:
    return Want(
        "npm-attestations",
        V01,
        PROV02,
        NPM_TEST,
        "intoto/0.0.2",
        status,
        reason,
        "2023-05-18T17:57:53Z" if status == "verified" else None,
    )


def _slsa_v01(reason: str) -> Want:
    return Want("sigstore-bundle", V01, DRAFT, DELEGATOR, "intoto/0.0.2", "failed", reason)


def _conformance(name: str, reason: str, root: bool = True) -> Case:
    bundle = CONFORMANCE / name / "bundle.sigstore.json"
    doc = json.loads(bundle.read_text())
    want = Want(
        "sigstore-bundle",
        doc["mediaType"],
        PROV1,
        BEACON,
        "/".join(doc["verificationMaterial"]["tlogEntries"][0]["kindVersion"].values()),
        "failed",
        reason,
    )
    return Case(
        bundle, [want], root=CONFORMANCE / name / "trusted_root.json" if root else PROD, code=1
    )


CASES = [
    pytest.param(
        Case(
            ITEMS / "08-slsaverifier-bundle-v0.1-slsa1draft/attestation.intoto.sigstore",
            [
                Want(
                    "sigstore-bundle",
                    V01,
                    DRAFT,
                    DELEGATOR,
                    "intoto/0.0.2",
                    integrated="2023-01-27T22:19:03Z",
                )
            ],
        ),
        id="V bundle v0.1 (08, intoto/0.0.2)",
    ),
    pytest.param(
        Case(
            CONFORMANCE / "intoto-with-custom-trust-root/bundle.sigstore.json",
            [
                Want(
                    "sigstore-bundle",
                    V02,
                    PROV1,
                    BEACON,
                    "intoto/0.0.2",
                    integrated="2023-02-01T00:00:00Z",
                    stamps=["2023-02-01T00:00:00Z"],
                )
            ],
            root=CONFORMANCE / "intoto-with-custom-trust-root/trusted_root.json",
        ),
        id="V bundle v0.2 (13 custom root, TSA)",
    ),
    pytest.param(
        Case(
            ITEMS / "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore",
            [
                Want(
                    "sigstore-bundle",
                    V03,
                    PROV02,
                    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/heads/main",
                    "dsse/0.0.1",
                    integrated="2024-10-25T03:12:16Z",
                )
            ],
        ),
        id="V bundle v0.3 (04, dsse/0.0.1)",
    ),
    pytest.param(
        Case(
            ITEMS
            / "14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json",
            [
                Want(
                    "sigstore-bundle",
                    V03,
                    PROV1,
                    BEACON,
                    "hashedrekord/0.0.2",
                    stamps=["2026-05-13T19:23:33Z"],
                )
            ],
            root=STAGING,
        ),
        id="V bundle v0.3 (14, Rekor v2 hashedrekord, TSA only)",
    ),
    pytest.param(
        Case(
            ITEMS / f"{NPM9}.tgz.json",
            [_key_signed(), _npm_provenance()],
            registry=True,
        ),
        id="V npm attestations document (09, with registry keys)",
    ),
    pytest.param(
        Case(
            ITEMS / f"{NPM9}.tgz.json",
            [
                _key_signed("failed", "key-signed bundle: it verifies only against registry keys"),
                _npm_provenance(),
            ],
            code=1,
        ),
        id="npm attestations document without registry keys: publish not verified",
    ),
    pytest.param(
        Case(
            ITEMS
            / "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.publish.attestation",
            [
                Want(
                    "pep740-attestation",
                    V03,
                    PYPI,
                    PYPI_ATT,
                    "dsse/0.0.1",
                    integrated="2024-12-04T23:14:01Z",
                )
            ],
        ),
        id="V PEP 740 attestation (24)",
    ),
    pytest.param(
        Case(
            ITEMS
            / "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.provenance",
            [
                Want(
                    "pep740-provenance",
                    V03,
                    PYPI,
                    PYPI_ATT,
                    "dsse/0.0.1",
                    integrated="2024-12-04T23:14:01Z",
                )
            ],
        ),
        id="V PEP 740 provenance object (24)",
    ),
    pytest.param(
        Case(
            ITEMS / "20-ghcli-sigstore-js-2.1.0/sigstore-js-2.1.0_with_2_bundles.jsonl",
            [
                Want(
                    "sigstore-bundle",
                    V03,
                    PROV1,
                    SIGSTORE_JS,
                    "intoto/0.0.2",
                    integrated="2023-08-29T15:40:23Z",
                )
            ]
            * 2,
        ),
        id="V gh JSON Lines of 2 bundles (20)",
    ),
    pytest.param(
        Case(
            ITEMS / "05-slsaverifier-bundle-invalid-dsse-sig/invalid-dsse-sig.intoto.sigstore",
            [_slsa_v01("set: ")],
            code=1,
        ),
        id="INV 05 invalid DSSE signature (SET fails first)",
    ),
    pytest.param(
        Case(
            ITEMS / "06-slsaverifier-bundle-invalid-set/invalid-set.intoto.sigstore",
            [_slsa_v01("set: ")],
            code=1,
        ),
        id="INV 06 invalid SET",
    ),
    pytest.param(
        Case(
            ITEMS / "07-slsaverifier-bundle-mismatch-tlog/mismatch-tlog.intoto.sigstore",
            [_slsa_v01("log-body: ")],
            code=1,
        ),
        id="INV 07 log entry body does not match the envelope",
    ),
    pytest.param(
        Case(
            ITEMS / "17-sigstorego-dsse-2sigs/dsse-2sigs.sigstore.json",
            [
                Want(
                    "sigstore-bundle",
                    V01,
                    PROV02,
                    "brian@dehamer.com",
                    "intoto/0.0.2",
                    "failed",
                    "dsse-signature-count: ",
                )
            ],
            code=1,
        ),
        id="INV 17 two DSSE signatures in a bundle",
    ),
    pytest.param(
        Case(
            ITEMS / "23-ghcli-invalid-signature/sigstoreBundle-invalid-signature.json",
            [
                Want(
                    "sigstore-bundle",
                    V03,
                    None,
                    "brian@dehamer.com",
                    "intoto/0.0.2",
                    "failed",
                    "log-body: logged signature differs",
                )
            ],
            code=1,
        ),
        id="INV 23 invalid signature",
    ),
    pytest.param(
        Case(
            ITEMS / f"{NPM9}-invalidsigprov.tgz.json",
            [_key_signed(), _npm_provenance("failed", "log-body: ")],
            registry=True,
            code=1,
        ),
        id="INV 09 npm document, provenance signature",
    ),
    pytest.param(
        Case(
            ITEMS / f"{NPM9}-invalidsigpub.tgz.json",
            [_key_signed("failed", "log-body: "), _npm_provenance()],
            registry=True,
            code=1,
        ),
        id="INV 09 npm document, publish signature",
    ),
    pytest.param(
        _conformance("intoto-log-entry-mismatch_fail", "log-body: "),
        id="INV 13 intoto log entry mismatch",
    ),
    pytest.param(
        _conformance(
            "intoto-set-outside-signing-cert-validity_fail", "certificate-validity: integrated time"
        ),
        id="INV 13 SET outside the certificate's validity",
    ),
    pytest.param(
        _conformance(
            "intoto-tsa-timestamp-outside-cert-validity_fail", "certificate-validity: timestamp"
        ),
        id="INV 13 TSA timestamp outside the certificate's validity",
    ),
    pytest.param(
        _conformance("intoto-missing-inclusion-proof_fail", "inclusion-proof: "),
        id="INV 13 v0.2 bundle without inclusion proof",
    ),
    pytest.param(
        _conformance("rekor2-dsse-invalid-sig_fail", "VerificationError: DSSE: invalid signature"),
        id="INV 13 Rekor v2 DSSE invalid signature",
    ),
    pytest.param(
        _conformance(
            "dsse-mismatch-envelope_fail",
            "VerificationError: log entry payload hash does not match",
            root=False,
        ),
        id="INV 13 dsse log entry does not match the envelope",
    ),
]


def registry_keys(tmp_path: Path) -> Path:
    """The npm registry's keys document for item 16's publish_key.pub."""
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    entry = {
        "keyid": NPM_KEYID,
        "keytype": "ecdsa-sha2-nistp256",
        "scheme": "ecdsa-sha2-nistp256",
        "key": spki,
        "expires": None,
    }
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [entry]}))
    return path


def inspect(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["inspect", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _claims(bundle: dict[str, object], want: Want) -> None:
    assert bundle["container"] == want.container
    assert bundle["mediaType"] == want.media_type
    statement = bundle["statement"]
    predicate = statement["predicateType"] if isinstance(statement, dict) else None
    assert predicate == want.predicate_type
    signer = bundle["signer"]
    assert isinstance(signer, dict)
    if signer["kind"] == "key":
        assert signer["hint"] == want.signer
    else:
        assert signer["san"] == want.signer
        assert signer["issuer"] is not None
    entries = bundle["tlogEntries"]
    assert isinstance(entries, list)
    assert [f"{e['kind']}/{e['version']}" for e in entries] == [want.log]


@pytest.mark.parametrize("case", CASES)
def test_without_trusted_root_nothing_is_verified(
    case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = inspect(capsys, "--format", "json", case.file)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["trustedRoot"] is None
    assert len(report["bundles"]) == len(case.bundles)
    for bundle, want in zip(report["bundles"], case.bundles, strict=True):
        _claims(bundle, want)
        assert bundle["verification"] == {
            "status": "not verified",
            "reason": "no --trusted-root given: nothing in this bundle was verified",
            "signingTime": None,
        }
    code, text, err = inspect(capsys, case.file)
    assert (code, err) == (0, "")
    assert text.count("verified: NOT VERIFIED: no --trusted-root given") == len(case.bundles)
    assert "(claimed, not verified)" in text
    assert "verified: yes" not in text
    assert "(verified)" not in text


@pytest.mark.parametrize("case", CASES)
def test_with_trusted_root(case: Case, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    extra = ["--registry-keys", registry_keys(tmp_path)] if case.registry else []
    code, out, err = inspect(
        capsys, "--format", "json", "--trusted-root", case.root, *extra, case.file
    )
    assert (code, err) == (case.code, "")
    report = json.loads(out)
    assert report["trustedRoot"]["source"] == str(case.root)
    for bundle, want in zip(report["bundles"], case.bundles, strict=True):
        _claims(bundle, want)
        verification = bundle["verification"]
        assert verification["status"] == want.status, verification["reason"]
        assert verification["reason"].startswith(want.reason)
        if want.status == "verified":
            assert verification["signingTime"] == {
                "integratedTime": want.integrated,
                "timestamps": want.stamps,
            }
        else:
            assert verification["signingTime"] is None
    code, text, _ = inspect(capsys, "--trusted-root", case.root, *extra, case.file)
    assert code == case.code
    verified = sum(w.status == "verified" for w in case.bundles)
    assert text.count("  verified: yes: ") == verified
    assert text.count("  verified: NO") == len(case.bundles) - verified
    assert "NOT VERIFIED" not in text


def test_text_shows_fulcio_extensions_and_signing_time(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = inspect(capsys, "--trusted-root", PROD, ITEMS / f"{NPM9}.tgz.json")
    assert code == 1  # the publish attestation needs --registry-keys
    for line in (
        "  predicate type hint (unsigned): https://slsa.dev/provenance/v0.2",
        "  signer (verified):",
        f"    identity (SAN): {NPM_TEST}",
        f"    issuer: {GHA}",
        "    sourceRepositoryURI: https://github.com/laurentsimon/provenance-npm-test",
        "    buildSignerDigest: 0779f7bec68e2bf54a7b0a32bf4763f25ab29702",
        "    buildTrigger: workflow_dispatch",
        "    runnerEnvironment: github-hosted",
        (
            "  log entry: intoto/0.0.2 index 20994759, 2023-05-18T17:57:53Z"
            " (no inclusion proof, signed entry timestamp)"
        ),
        "  signing time (verified): 2023-05-18T17:57:53Z",
        f"  signer (claimed, not verified): public key '{NPM_KEYID}'",
    ):
        assert line in text.splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--trusted-root", PROD, ITEMS / "28-witness-sbom-collections/spdx-att.json"],
            "--trusted-root: the inputs hold no Sigstore bundle to verify",
            id="--trusted-root with envelopes only",
        ),
        pytest.param(
            ["--registry-keys", "{keys}", ITEMS / f"{NPM9}.tgz.json"],
            "--registry-keys needs --trusted-root",
            id="--registry-keys without --trusted-root",
        ),
        pytest.param(
            [
                "--trusted-root",
                PROD,
                "--registry-keys",
                "{keys}",
                ITEMS / "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore",
            ],
            "--registry-keys: the inputs hold no key-signed Sigstore bundle",
            id="--registry-keys and no key-signed bundle",
        ),
        pytest.param(
            [
                "--key",
                ITEMS / "28-witness-sbom-collections/testpub.pem",
                ITEMS / "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore",
            ],
            "--key checks DSSE envelopes; the inputs hold only Sigstore bundles",
            id="--key with bundles only",
        ),
        pytest.param(
            ["--trusted-root", "{bad_keys}", ITEMS / f"{NPM9}.tgz.json"],
            "not a usable Sigstore trusted root",
            id="--trusted-root that is not a trusted root",
        ),
        pytest.param(
            ["--trusted-root", PROD, "--registry-keys", "{bad_keys}", ITEMS / f"{NPM9}.tgz.json"],
            'not a registry keys document {"keys": [...]}',
            id="--registry-keys that is not a keys document",
        ),
    ],
)
def test_flags_that_do_not_apply_are_errors(
    argv: list[object], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [], "extra": 1}')
    paths = {"{keys}": registry_keys(tmp_path), "{bad_keys}": bad}
    code, out, err = inspect(capsys, *(paths.get(str(a), a) for a in argv))
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('{"mediaType": "a", "mediaType": "b"}', "duplicate", id="duplicate keys"),
        pytest.param(
            '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
            "no DSSE envelope or Sigstore bundle",
            id="bundle without members",
        ),
        pytest.param("[" * 10000, "no DSSE envelope or Sigstore bundle", id="too deep"),
    ],
)
def test_hostile_bundles_are_input_errors(
    content: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "b.sigstore.json"
    path.write_text(content)
    code, out, err = inspect(capsys, "--format", "json", path)
    assert code == 2
    assert message in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            '{"attestations": [{"predicateType": "x", "bundle": {"mediaType":'
            ' "application/vnd.dev.sigstore.bundle+json;version=0.1"}}]}',
            "attestations[0].bundle.verificationMaterial: required member is missing",
            id="npm document with a bundle missing its material",
        ),
        pytest.param(
            '{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=9"}',
            "unknown bundle media type",
            id="unknown bundle media type",
        ),
    ],
)
def test_broken_container_says_why(
    content: str, reason: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content)
    code, out, err = inspect(capsys, "--format", "json", path)
    assert code == 2
    report = json.loads(out)
    assert report["bundles"] == []
    [skipped] = report["skipped"]
    assert reason in skipped["reason"]
    assert "payloadType" not in skipped["reason"]  # not judged as a DSSE envelope
    assert err == f"intoto-policy: {path}: no DSSE envelope or Sigstore bundle in this file\n"


V01_BUNDLE = ITEMS / "08-slsaverifier-bundle-v0.1-slsa1draft/attestation.intoto.sigstore"


@pytest.mark.parametrize(
    ("integrated", "stamp"),
    [
        pytest.param("9" * 5000, None, id="integrated time of 5000 digits"),
        pytest.param("\u00b2", None, id="integrated time a non-ASCII digit"),
        pytest.param(-1, None, id="negative integrated time"),
        pytest.param(10**20, None, id="integrated time past year 9999"),
        pytest.param("1674857943", "not base64 at all", id="unreadable RFC 3161 timestamp"),
        pytest.param("1674857943", "AAAA", id="RFC 3161 timestamp of garbage DER"),
    ],
)
def test_hostile_claims_are_shown_as_unreadable_and_never_verify(
    integrated: object, stamp: str | None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = json.loads(V01_BUNDLE.read_text())
    doc["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = integrated
    if stamp is not None:
        doc["verificationMaterial"]["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": stamp}]
        }
    path = tmp_path / "hostile.sigstore.json"
    path.write_text(json.dumps(doc))
    code, out, err = inspect(capsys, "--format", "json", path)
    assert (code, err) == (0, "")
    [bundle] = json.loads(out)["bundles"]
    claimed = bundle["tlogEntries"][0]["integratedTime"]
    assert claimed in (None, "2023-01-27T22:19:03Z")
    if stamp is not None:
        assert bundle["timestamps"] == [None]
    code, out, err = inspect(capsys, "--format", "json", "--trusted-root", PROD, path)
    assert (code, err) == (1, "")
    assert json.loads(out)["bundles"][0]["verification"]["status"] == "failed"


SPDX_ENVELOPE = ITEMS / "28-witness-sbom-collections/spdx-att.json"


def _bundle_and_garbage(tmp_path: Path) -> list[Path]:
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(json.loads(V01_BUNDLE.read_text())) + "\ngarbage\n")
    return [path]


# (inputs, what escaped verification): --trusted-root was asked for, so an item it
# did not check (skipped, or a DSSE envelope it does not cover) makes the exit code 1.
ESCAPED = [
    pytest.param(_bundle_and_garbage, ["two.jsonl:2"], id="bundle-and-skipped-line"),
    pytest.param(lambda _: [V01_BUNDLE, SPDX_ENVELOPE], ["spdx-att.json"],
                 id="bundle-and-envelope-without-key"),
    pytest.param(lambda _: [V01_BUNDLE], [], id="bundle-only-all-verified"),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "escaped"), ESCAPED)
def test_trusted_root_with_an_item_it_did_not_verify_exits_1(
    inputs, escaped: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = inputs(tmp_path)
    code, out, err = inspect(capsys, "--format", "json", "--trusted-root", PROD, *files)
    assert err == ""
    report = json.loads(out)
    assert report["bundles"][0]["verification"]["status"] == "verified"
    missed = [Path(m["location"]).name for m in report["notVerified"]]
    assert missed == escaped
    assert code == (1 if escaped else 0)
    code, text, _ = inspect(capsys, "--trusted-root", PROD, *files)
    assert code == (1 if escaped else 0)
    assert ("NOT VERIFIED: " in text) is bool(escaped)
    code, _, _ = inspect(capsys, *files)  # no verification asked for: a listing
    assert code == 0


HOSTILE_HINT = "k\x9b31mRED\u202egnp.exe"


def test_inspect_escapes_hidden_characters_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = json.loads(V01_BUNDLE.read_text())
    material = doc["verificationMaterial"]
    material.pop("x509CertificateChain", None)
    material["publicKey"] = {"hint": HOSTILE_HINT}
    path = tmp_path / "hint.sigstore.json"
    path.write_text(json.dumps(doc))
    code, out, _ = inspect(capsys, "--format", "json", path)
    assert code == 0
    assert "\x9b" not in out
    assert "\u202e" not in out
    assert '"hint": "k\\u009b31mRED\\u202egnp.exe"' in out
    assert json.loads(out)["bundles"][0]["signer"]["hint"] == HOSTILE_HINT
    code, text, _ = inspect(capsys, path)
    assert "public key 'k\\x9b31mRED\\u202egnp.exe'" in text  # escaped once, not twice
