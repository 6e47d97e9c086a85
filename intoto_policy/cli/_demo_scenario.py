"""The ``intoto-policy demo``: sign a sample build, verify it, tamper, verify again.

Everything happens in a :class:`tempfile.TemporaryDirectory` that is removed
before :func:`run_demo` returns: fresh Ed25519 keys for the pipeline's CI,
builder and scanner and for the layout owner; signed attestations for a
sample build (a clone link, a test result, SLSA provenance, a vulnerability
scan and an SPDX SBOM); and the shipped ``full-chain.yml`` layout with the
fresh keys written in, an expiry 30 days after the verification time, signed
by the owner key. The evidence is verified as signed (it must pass), then
one attestation is tampered with (it must fail, for the expected reason).

Nothing here reads the clock: the verification time is a parameter, and
every time in the evidence is derived from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from .._errors import InputError, ValidationError
from ..crypto._keys import PrivateKey, generate_private_key, load_public_key_pem
from ..model._attestations import Attestation, parse_attestations
from ..model._digests import DigestSet
from ..model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from ..policy._loading import load_layout
from ..report._model import RejectReason, Report
from ..verifier._core import verify_attestations

__all__ = ["TAMPERINGS", "DemoOutcome", "Tampering", "run_demo"]

LAYOUT_NAME: Final = "full-chain.yml"
LAYOUT_PAYLOAD_TYPE: Final = "application/vnd.intoto-policy.layout+yaml"
ARTIFACT: Final = "example-app-1.2.3.tar.gz"
BUILDER_ID: Final = "https://ci.example.com/builders/hermetic@v1"
BUILD_TYPE: Final = "https://ci.example.com/buildtypes/make@v1"

# The sample source tree and the artifact built from it (stand-in bytes).
_SOURCES: Final[Mapping[str, bytes]] = {
    "pyproject.toml": b"[project]\nname = 'example-app'\nversion = '1.2.3'\n",
    "src/app.py": b"print('hello from example-app')\n",
    "src/util.py": b"def helper() -> int:\n    return 42\n",
}
_ARTIFACT_BYTES: Final = b"example-app 1.2.3 release archive (demo stand-in)\n"
_EXPIRES_LINE: Final = re.compile(rb"^expires:.*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Tampering:
    """One way the demo tampers with the evidence.

    Attributes:
        name: The ``--tamper`` value.
        description: What is changed, for the narrative.
        file: The evidence file that is changed.
        detected_as: The rejection reasons the verifier may give it.
    """

    name: str
    description: str
    file: str
    detected_as: frozenset[RejectReason]


#: The tamperings the demo knows, by name; the first is the default.
TAMPERINGS: Final[Mapping[str, Tampering]] = {
    t.name: t
    for t in (
        Tampering(
            "product-digest",
            "the build provenance's product digest is edited after signing",
            "provenance.intoto.jsonl",
            # The signature no longer verifies under any key. The verifier
            # calls that a bad signature only when the envelope's keyid hint
            # names a functionary id; the layout's ids are names, so it
            # reports an unknown signer instead.
            frozenset({RejectReason.BAD_SIGNATURE, RejectReason.UNKNOWN_SIGNER}),
        ),
        Tampering(
            "unauthorized-signer",
            "the build provenance is re-signed by a key the layout does not trust",
            "provenance.intoto.jsonl",
            frozenset({RejectReason.UNKNOWN_SIGNER}),
        ),
        Tampering(
            "untested-source",
            "the builder signs provenance for a source file that was never cloned or tested",
            "provenance.intoto.jsonl",
            frozenset({RejectReason.FAILED_RULES}),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    """What the demo found.

    Attributes:
        passing: The report on the evidence as signed.
        tampered: The report after the tampering.
        tampering: What was tampered with.
        files: The files the demo wrote in its temporary directory (relative names).
    """

    passing: Report
    tampered: Report
    tampering: Tampering
    files: tuple[str, ...]

    @property
    def detected(self) -> bool:
        """Whether the tampered evidence was rejected for the expected reason."""
        return any(
            r.reason in self.tampering.detected_as and r.attestation.source == self.tampering.file
            for r in self.tampered.rejected
        )

    @property
    def as_expected(self) -> bool:
        """Both outcomes as they should be: a pass, then a failure that names the tampering."""
        return bool(self.passing) and not self.tampered and self.detected


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _statement(
    predicate_type: str, subjects: Mapping[str, str], predicate: Mapping[str, Any]
) -> bytes:
    return _dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(subjects.items())],
            "predicateType": predicate_type,
            "predicate": dict(predicate),
        }
    )


def _signed_line(payload: bytes, key: PrivateKey) -> bytes:
    return _dumps(Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [key]).to_dict()) + b"\n"


def _provenance(at: datetime, sources: Mapping[str, str], artifact: str) -> bytes:
    return _statement(
        "https://slsa.dev/provenance/v1",
        {ARTIFACT: artifact},
        {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"target": "release", "version": "1.2.3"},
                "resolvedDependencies": [
                    {"name": n, "digest": {"sha256": d}} for n, d in sorted(sources.items())
                ],
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID},
                "metadata": {
                    "invocationId": "https://ci.example.com/runs/1",
                    "startedOn": _rfc3339(at - timedelta(hours=2, minutes=10)),
                    "finishedOn": _rfc3339(at - timedelta(hours=2)),
                },
            },
        },
    )


def _evidence(at: datetime, keys: Mapping[str, PrivateKey], artifact: str) -> dict[str, bytes]:
    """The sample build's signed attestations: file name -> one JSON line."""
    sources = {name: _sha256(data) for name, data in _SOURCES.items()}
    clone = _statement(
        "https://in-toto.io/attestation/link/v0.3",
        sources,
        {
            "name": "clone",
            "command": ["git", "clone", "https://github.com/example-org/example-app"],
            "materials": [],
        },
    )
    tests = _statement(
        "https://in-toto.io/attestation/test-result/v0.1",
        sources,
        {"result": "PASSED", "passedTests": ["test_app", "test_util"], "failedTests": []},
    )
    scan = _statement(
        "https://in-toto.io/attestation/vulns/v0.2",
        {ARTIFACT: artifact},
        {
            "scanner": {
                "uri": "https://scanner.example.net/scanner@4.2.0",
                "result": [
                    {"id": "CVE-2025-0001", "severity": [{"method": "nvd", "score": "low"}]}
                ],
            },
            "metadata": {
                "scanStartedOn": _rfc3339(at - timedelta(hours=1, minutes=5)),
                "scanFinishedOn": _rfc3339(at - timedelta(hours=1)),
            },
        },
    )
    sbom = _statement(
        "https://spdx.dev/Document",
        {ARTIFACT: artifact},
        {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "example-app-1.2.3",
            "documentNamespace": "https://example.com/spdx/example-app-1.2.3",
            "creationInfo": {
                "created": _rfc3339(at - timedelta(hours=2)),
                "creators": ["Tool: intoto-policy-demo"],
            },
            "packages": [{"SPDXID": "SPDXRef-app", "name": "example-app", "versionInfo": "1.2.3"}],
        },
    )
    return {
        "clone.intoto.jsonl": _signed_line(clone, keys["ci"]),
        "test.intoto.jsonl": _signed_line(tests, keys["ci"]),
        "provenance.intoto.jsonl": _signed_line(
            _provenance(at, sources, artifact), keys["builder"]
        ),
        "scan.intoto.jsonl": _signed_line(scan, keys["scanner"]),
        "sbom.intoto.jsonl": _signed_line(sbom, keys["builder"]),
    }


def _shipped_layout(name: str) -> bytes:
    """A layout shipped with the package (installed data, or the source tree's ``layouts/``)."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_data" / "layouts" / name, here.parent / "layouts" / name):
        if candidate.is_file():
            return candidate.read_bytes()
    raise InputError(f"the shipped layout {name} is missing from the installation")


def _layout_text(at: datetime, keys: Mapping[str, PrivateKey]) -> bytes:
    """``full-chain.yml`` with the fresh keys written in and a 30-day expiry."""
    text = _shipped_layout(LAYOUT_NAME)
    for name in ("ci", "builder", "scanner"):
        placeholder = f"{{{name}-key}}".encode()
        if placeholder not in text:
            raise InputError(f"the shipped {LAYOUT_NAME} has no {placeholder.decode()} parameter")
        text = text.replace(placeholder, keys[name].public_key.public.encode())
    expires = f'expires: "{_rfc3339(at + timedelta(days=30))}"'.encode()
    text, count = _EXPIRES_LINE.subn(expires, text, count=1)
    if count != 1:
        raise InputError(f"the shipped {LAYOUT_NAME} has no expires line")
    return text


def _write(root: Path, name: str, data: bytes, files: list[str]) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    files.append(name)
    return path


def _verify(
    layout_file: Path, owner_pub: Path, evidence: list[Path], subject: DigestSet, at: datetime
) -> Report:
    """Verify from the files on disk; the report names them without the temporary path."""
    owner = load_public_key_pem(owner_pub.read_bytes(), source=owner_pub.name)
    loaded = load_layout(Path(layout_file.name), data=layout_file.read_bytes(), layout_keys=[owner])
    attestations: list[Attestation] = []
    for path in evidence:
        attestations.extend(parse_attestations(path.read_bytes(), source=path.name))
    return verify_attestations(
        loaded.layout,
        attestations,
        at=at,
        subjects=(subject,),
        layout_info=loaded.info,
        layout_checks=loaded.checks,
    )


def run_demo(at: datetime, *, tampering: str = "product-digest") -> DemoOutcome:
    """Run the demo at verification time ``at``.

    Args:
        at: The verification time (timezone-aware); the evidence is dated
            a few hours before it and the layout expires 30 days after it.
        tampering: A key of :data:`TAMPERINGS`.

    Returns:
        Both reports; :attr:`DemoOutcome.as_expected` says whether the demo
        showed what it should.

    Raises:
        ValidationError: ``at`` is naive or ``tampering`` is unknown.
        InputError: The shipped layout is missing from the installation.
    """
    if at.tzinfo is None:
        raise ValidationError("the verification time must be timezone-aware")
    chosen = TAMPERINGS.get(tampering)
    if chosen is None:
        raise ValidationError(
            f"unknown tampering {tampering!r}: use one of {', '.join(TAMPERINGS)}"
        )
    files: list[str] = []
    with tempfile.TemporaryDirectory(prefix="intoto-policy-demo-") as tmp:
        root = Path(tmp)
        keys = {name: generate_private_key("ed25519") for name in ("ci", "builder", "scanner")}
        owner = generate_private_key("ed25519")
        for name, key in (*keys.items(), ("owner", owner)):
            _write(root, f"keys/{name}.key", key.private_pem(), files)
            _write(root, f"keys/{name}.pub", key.public_pem(), files)

        artifact = _sha256(_write(root, ARTIFACT, _ARTIFACT_BYTES, files).read_bytes())
        subject = DigestSet({"sha256": artifact})

        signed = Envelope.sign(_layout_text(at, keys), LAYOUT_PAYLOAD_TYPE, [owner])
        layout = _write(root, "root.layout", _dumps(signed.to_dict()) + b"\n", files)
        owner_pub = root / "keys" / "owner.pub"

        evidence = _evidence(at, keys, artifact)
        good = [_write(root, f"evidence/{n}", d, files) for n, d in evidence.items()]
        passing = _verify(layout, owner_pub, good, subject, at)

        changed = _tampered_evidence(chosen, evidence, at, artifact, keys)
        bad = [_write(root, f"tampered/{n}", d, files) for n, d in changed.items()]
        tampered = _verify(layout, owner_pub, bad, subject, at)
    return DemoOutcome(passing, tampered, chosen, tuple(files))


def _tampered_evidence(
    tampering: Tampering,
    evidence: Mapping[str, bytes],
    at: datetime,
    artifact: str,
    keys: Mapping[str, PrivateKey],
) -> dict[str, bytes]:
    out = dict(evidence)
    sources = {name: _sha256(data) for name, data in _SOURCES.items()}
    if tampering.name == "product-digest":
        envelope = json.loads(evidence[tampering.file])
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["subject"][0]["digest"]["sha256"] = _sha256(b"a different archive\n")
        envelope["payload"] = base64.b64encode(_dumps(statement)).decode()
        out[tampering.file] = _dumps(envelope) + b"\n"
    elif tampering.name == "unauthorized-signer":
        intruder = generate_private_key("ed25519")
        out[tampering.file] = _signed_line(_provenance(at, sources, artifact), intruder)
    elif tampering.name == "untested-source":
        # Signed with the real builder key: only the artifact rules can catch it.
        patched = dict(sources, **{"src/app.py": _sha256(b"print('patched after the tests')\n")})
        out[tampering.file] = _signed_line(_provenance(at, patched, artifact), keys["builder"])
    else:
        raise ValidationError(f"unknown tampering {tampering.name!r}")
    return out
