"""Google Cloud Build provenance: DSSE signatures over the raw payload.

Cloud Build's Container Analysis documents (corpus item 11) carry DSSE
envelopes whose signature covers the payload bytes, not the PAE. Such a
signature counts only for a key functionary the layout declares with
``signatureOver: raw-payload``; a PAE signature never counts for that key,
and a raw-payload signature never counts for an ordinary (PAE) key.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from intoto_policy.cli._main import main
from intoto_policy.crypto._keys import PrivateKey, generate_private_key
from intoto_policy.model._dsse import Envelope
from intoto_policy.sources._files import load_public_key_file

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
GCB = CORPUS / "items" / "11-slsaverifier-gcb-v0.3"
IMAGE = "sha256:f472ca4b68898c951ac3b476cba919d0d56fca4ced631fabcead51e4b2b690e7"
PROV01 = "https://slsa.dev/provenance/v0.1"
AT = "2026-11-22T00:00:00Z"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _layout(tmp_path: Path, key: dict[str, object], predicate: str = PROV01) -> Path:
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"gcb": key},
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": predicate, "functionaries": ["gcb"]}],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


def _key(path: Path, over: str | None) -> dict[str, object]:
    key = load_public_key_file(path).to_dict(camel=True)
    if over is not None:
        key["signatureOver"] = over
    return key


def _verify(
    capsys: pytest.CaptureFixture[str], layout: Path, attestation: Path, digest: str
) -> tuple[int, dict[str, object], str]:
    code = main(
        [
            "verify",
            str(layout),
            "--unsigned-layout",
            "--at",
            AT,
            "--attestations",
            str(attestation),
            "--subject-digest",
            digest,
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


@pytest.mark.skipif(not GCB.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("document", "key", "over", "code", "rejected"),
    [
        pytest.param("github", "us-west2", "raw-payload", 0, None, id="V raw-payload key"),
        pytest.param(
            "mismatch-payload-digest",
            "us-west2",
            "raw-payload",
            1,
            "unknown-signer",
            id="INV payload changed after signing",
        ),
        pytest.param(
            "invalid-signature-encoding",
            "us-west2",
            "raw-payload",
            1,
            "malformed",
            id="INV signature is not base64",
        ),
        pytest.param(
            "github", "us-west2", None, 1, "unknown-signer", id="the same key by default (PAE)"
        ),
        pytest.param(
            "github", "us-west2", "pae", 1, "unknown-signer", id="the same key, PAE explicitly"
        ),
        pytest.param(
            "github", "global", "raw-payload", 1, "unknown-signer", id="another region's key"
        ),
        pytest.param(
            "github", "global-pae", "raw-payload", 1, "unknown-signer", id="the PAE key as raw"
        ),
    ],
)
def test_cloud_build_item(
    document: str,
    key: str,
    over: str | None,
    code: int,
    rejected: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    layout = _layout(tmp_path, _key(GCB / "keys" / f"{key}.key", over))
    got, report, err = _verify(capsys, layout, GCB / f"gcloud-container-{document}.json", IMAGE)
    assert (got, err) == (code, "")
    reasons = [r["reason"] for r in report["rejected"]]  # type: ignore[union-attr]
    assert reasons == ([] if rejected is None else [rejected])


@pytest.mark.parametrize("signed", ["pae", "raw-payload"])
@pytest.mark.parametrize("declared", [None, "pae", "raw-payload"])
def test_a_key_verifies_only_its_own_kind_of_signature(
    signed: str, declared: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private: PrivateKey = generate_private_key("ecdsa")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "ab" * 32}}],
        "predicateType": PROV01,
        "predicate": {},
    }
    payload = json.dumps(statement).encode()
    payload_type = "application/vnd.in-toto+json"
    if signed == "pae":
        envelope = Envelope.sign(payload, payload_type, [private]).to_dict()
    else:
        envelope = {
            "payloadType": payload_type,
            "payload": b64encode(payload),
            "signatures": [{"keyid": "", "sig": b64encode(private.sign(payload))}],
        }
    attestation = tmp_path / "att.json"
    attestation.write_text(json.dumps(envelope))
    key = private.public_key.to_dict(camel=True)
    if declared is not None:
        key["signatureOver"] = declared
    layout = _layout(tmp_path, key)
    code, report, err = _verify(capsys, layout, attestation, "sha256:" + "ab" * 32)
    assert err == ""
    # Only the diagonal passes: a PAE key with a PAE signature, a raw key with a raw one.
    assert code == (0 if (declared or "pae") == signed else 1), report


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"signatureOver": "raw"}, "signatureOver", id="unknown value"),
        pytest.param({"signatureOver": None}, "signatureOver", id="null"),
    ],
)
def test_signature_over_is_checked(
    extra: dict[str, object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = generate_private_key("ecdsa").public_key.to_dict(camel=True)
    layout = _layout(tmp_path, {**key, **extra})
    attestation = tmp_path / "att.json"
    attestation.write_text("{}")
    code, _, err = _verify(capsys, layout, attestation, "sha256:" + "ab" * 32)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_signature_over_only_on_key_functionaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sigstore = {
        "type": "sigstore",
        "identity": "https://example.com/x",
        "issuer": "https://example.com",
        "signatureOver": "raw-payload",
    }
    layout = _layout(tmp_path, sigstore)
    attestation = tmp_path / "att.json"
    attestation.write_text("{}")
    code, _, err = _verify(capsys, layout, attestation, "sha256:" + "ab" * 32)
    assert code == 2
    assert err.count("\n") == 1


@pytest.mark.skipif(not GCB.is_dir(), reason="shared corpus not present")
def test_inspect_shows_the_envelopes_of_a_container_analysis_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["inspect", "--format", "json", str(GCB / "gcloud-container-github.json")])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    [envelope] = json.loads(out)["envelopes"]
    assert envelope["location"].endswith("#0 (provenance_summary.provenance[0].envelope)")
    assert envelope["statement"]["predicateType"] == PROV01
    assert envelope["statement"]["subjects"][0]["digest"] == {"sha256": IMAGE[len("sha256:") :]}
