"""Keyless evidence dated after the verification time, and malformed bundles.

Real corpus bundles (INDEX.md items 04 and 14) are verified with ``at``
before, equal to and after their verified signing time; and mutated copies
of a real bundle (each member given each wrong JSON type) must reject only
their own attestation, never abort the verification.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from intoto_policy.cli._main import main
from intoto_policy.crypto._keyless import load_trusted_root, parse_bundles, verify_bundle

pytest.importorskip("sigstore")

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
TRUST = CORPUS / "trust"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

V04 = "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore"
V14 = "14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json"
PROD = TRUST / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
STAGING = TRUST / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json"

# (case id, bundle, root, which verified time bounds the verification time)
_TIMED = [
    ("04-integrated-time", V04, PROD, "integrated"),
    ("14-tsa-timestamp", V14, STAGING, "timestamp"),
]
_OFFSETS = [
    ("before", timedelta(seconds=-1), "failed"),
    ("equal", timedelta(0), "verified"),
    ("after", timedelta(seconds=1), "verified"),
]


@pytest.mark.parametrize(
    ("rel", "root", "which", "offset", "status"),
    [
        pytest.param(rel, root, which, off, status, id=f"{cid}-{oid}")
        for cid, rel, root, which in _TIMED
        for oid, off, status in _OFFSETS
    ],
)
def test_signing_time_bounds_verification_time(
    rel: str, root: Path, which: str, offset: timedelta, status: str
) -> None:
    trusted = load_trusted_root(root.read_bytes(), source=root.name)
    (record,) = parse_bundles((ITEMS / rel).read_bytes(), source=rel)
    baseline = verify_bundle(record, trusted)
    assert baseline.verified, baseline.reason
    assert baseline.identity is not None
    if which == "integrated":
        when = baseline.identity.integrated_time
    else:
        assert baseline.identity.integrated_time is None
        when = baseline.identity.timestamps[0]
    assert when is not None
    result = verify_bundle(record, trusted, at=when + offset)
    assert result.status == status, result.reason
    if status == "failed":
        assert "after the verification time" in result.reason
        assert (
            "integrated time" if which == "integrated" else "RFC 3161 timestamp"
        ) in result.reason
        assert result.identity is None


GHA = "https://token.actions.githubusercontent.com"
GENERIC = (
    r"https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/"
    r"generator_generic_slsa3\.yml@refs/(heads|tags)/.+"
)


def _layout(tmp_path: Path) -> Path:
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {
            "expected": {"type": "sigstore", "identityRegex": GENERIC, "issuer": GHA}
        },
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v0.2",
                        "functionaries": ["expected"],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, *files: Path
) -> tuple[int, dict[str, Any]]:
    argv = ["verify", str(_layout(tmp_path)), "--unsigned-layout", "--trusted-root", str(PROD)]
    argv += ["--at", at, "--format", "json"]
    for f in files:
        argv += ["--attestations", str(f)]
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("at", "code"),
    [
        pytest.param("2020-01-01T00:00:00Z", 1, id="at-before-integrated-time-rejected"),
        pytest.param("2026-11-22T00:00:00Z", 0, id="at-after-integrated-time-passes"),
    ],
)
def test_cli_rejects_bundle_signed_after_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, code: int
) -> None:
    got, report = _run(tmp_path, capsys, at, ITEMS / V04)
    assert got == code, report
    if code:
        (rejected,) = report["rejected"]
        assert "after the verification time" in json.dumps(rejected)


def _set(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


_WRONG_TYPES: list[tuple[str, object]] = [
    ("object", {"x": 1}),
    ("array", [1]),
    ("string-junk", "12x!"),
    ("number", 7),
    ("boolean", True),
]
_ENTRY = ("verificationMaterial", "tlogEntries", 0)
_FIELDS: list[tuple[str, tuple[str | int, ...]]] = [
    ("mediaType", ("mediaType",)),
    ("verificationMaterial", ("verificationMaterial",)),
    ("tlogEntries", ("verificationMaterial", "tlogEntries")),
    ("certificate.rawBytes", ("verificationMaterial", "certificate", "rawBytes")),
    ("logIndex", (*_ENTRY, "logIndex")),
    ("logId", (*_ENTRY, "logId")),
    ("logId.keyId", (*_ENTRY, "logId", "keyId")),
    ("kindVersion", (*_ENTRY, "kindVersion")),
    ("kindVersion.kind", (*_ENTRY, "kindVersion", "kind")),
    ("integratedTime", (*_ENTRY, "integratedTime")),
    ("inclusionPromise", (*_ENTRY, "inclusionPromise")),
    ("signedEntryTimestamp", (*_ENTRY, "inclusionPromise", "signedEntryTimestamp")),
    ("inclusionProof", (*_ENTRY, "inclusionProof")),
    ("inclusionProof.logIndex", (*_ENTRY, "inclusionProof", "logIndex")),
    ("inclusionProof.rootHash", (*_ENTRY, "inclusionProof", "rootHash")),
    ("inclusionProof.hashes", (*_ENTRY, "inclusionProof", "hashes")),
    ("checkpoint", (*_ENTRY, "inclusionProof", "checkpoint")),
    ("checkpoint.envelope", (*_ENTRY, "inclusionProof", "checkpoint", "envelope")),
    ("canonicalizedBody", (*_ENTRY, "canonicalizedBody")),
    ("timestampVerificationData", ("verificationMaterial", "timestampVerificationData")),
    ("dsseEnvelope", ("dsseEnvelope",)),
    ("payload", ("dsseEnvelope", "payload")),
    ("payloadType", ("dsseEnvelope", "payloadType")),
    ("signatures", ("dsseEnvelope", "signatures")),
    ("sig", ("dsseEnvelope", "signatures", 0, "sig")),
]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set(path, value), id=f"{name}-{kind}")
        for name, path in _FIELDS
        for kind, value in _WRONG_TYPES
    ],
)
def test_mutated_bundle_rejects_only_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, Any]], None]
) -> None:
    good = json.loads((ITEMS / V04).read_bytes())
    bad = copy.deepcopy(good)
    change(bad)
    bad_path = tmp_path / "bad.sigstore.json"
    bad_path.write_text(json.dumps(bad))
    code, report = _run(tmp_path, capsys, "2026-11-22T00:00:00Z", bad_path, ITEMS / V04)
    assert code == 0, report  # the valid attestation still counts
    rejected = report["rejected"]
    assert len(rejected) == 1, rejected
    assert rejected[0]["message"]
    assert "bad.sigstore.json" in json.dumps(rejected[0])
