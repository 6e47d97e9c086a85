"""Regenerate the example evidence for the key-based layouts in ``layouts/``.

Usage (from the repository root, with the package installed)::

    python layouts/examples/generate.py           # rewrite layouts/examples/*
    python layouts/examples/generate.py --check   # exit 1 if anything is out of date

Everything is deterministic: the TEST-ONLY keys are derived from fixed seeds
(Ed25519 signatures are deterministic too), times are fixed, and JSON is
written with sorted keys, so running the script twice gives the same bytes
and ``tests/test_layouts.py`` can check that the committed files are what
this script makes.

The evidence is dated so that it passes at :data:`AT`
(``2026-01-15T12:00:00Z``), the verification time the tests and the
README's commands use; the shipped layouts expire in 2030.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519

from intoto_policy.crypto._keys import PrivateKey
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope

__all__ = [
    "APP",
    "AT",
    "EXAMPLES",
    "LAYOUTS",
    "OTHER_APP",
    "build_examples",
    "example_key",
    "main",
    "sha256",
]

HERE: Final = Path(__file__).resolve().parent
LAYOUTS: Final = HERE.parent

#: The verification time the examples are made for (RFC 3339).
AT: Final = "2026-01-15T12:00:00Z"

LAYOUT_PAYLOAD_TYPE: Final = "application/vnd.intoto-policy.layout+yaml"
STATEMENT_V1: Final = "https://in-toto.io/Statement/v1"
PROVENANCE_V1: Final = "https://slsa.dev/provenance/v1"
LINK_V03: Final = "https://in-toto.io/attestation/link/v0.3"
TEST_RESULT: Final = "https://in-toto.io/attestation/test-result/v0.1"
VULNS_V02: Final = "https://in-toto.io/attestation/vulns/v0.2"
RELEASE_V01: Final = "https://in-toto.io/attestation/release/v0.1"
SPDX: Final = "https://spdx.dev/Document"
CYCLONEDX: Final = "https://cyclonedx.org/bom"

BUILDER_ID: Final = "https://ci.example.com/builders/hermetic@v1"
BUILD_TYPE: Final = "https://ci.example.com/buildtypes/make@v1"
REPOSITORY: Final = "example-org/example-app"
PACKAGE: Final = "pkg:generic/example-app"


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


#: The release archive the examples are about (stand-in bytes; only the
#: digest matters) and another one, for "wrong artifact" variants.
APP: Final = ("app-1.2.3.tar.gz", sha256(b"example-app 1.2.3 release archive (stand-in)\n"))
OTHER_APP: Final = ("app-1.2.3.tar.gz", sha256(b"example-app 1.2.3, a different build\n"))

#: The cloned source tree of the full-chain example: name -> sha256.
SOURCES: Final[Mapping[str, str]] = {
    "pyproject.toml": sha256(b"[project]\nname = 'example-app'\nversion = '1.2.3'\n"),
    "src/app.py": sha256(b"print('hello from example-app')\n"),
    "src/util.py": sha256(b"def helper() -> int:\n    return 42\n"),
}


def example_key(name: str) -> PrivateKey:
    """The TEST-ONLY Ed25519 key called ``name`` (derived from a fixed seed)."""
    seed = hashlib.sha256(f"intoto-policy layouts/examples TEST-ONLY key: {name}".encode()).digest()
    return PrivateKey.from_crypto(ed25519.Ed25519PrivateKey.from_private_bytes(seed))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _statement(
    predicate_type: str, subjects: Iterable[tuple[str, str]], predicate: Mapping[str, Any]
) -> bytes:
    return _dumps(
        {
            "_type": STATEMENT_V1,
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in subjects],
            "predicateType": predicate_type,
            "predicate": dict(predicate),
        }
    )


def _sign(payload: bytes, *signers: str) -> bytes:
    envelope = Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [example_key(s) for s in signers])
    return _dumps(envelope.to_dict()) + b"\n"


def _tamper_payload(line: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The envelope with its statement edited and the old signatures kept."""
    envelope = json.loads(line)
    statement = json.loads(Envelope.from_dict(envelope).payload)
    edit(statement)
    envelope["payload"] = base64.b64encode(_dumps(statement)).decode()
    return _dumps(envelope) + b"\n"


# --------------------------------------------------------------------------
# Predicates


def provenance(
    subject: tuple[str, str],
    *,
    builder_id: str = BUILDER_ID,
    sources: Mapping[str, str] | None = None,
) -> bytes:
    """A SLSA provenance v1 statement for ``subject`` built from ``sources``."""
    deps: list[dict[str, Any]] = [
        {
            "uri": f"git+https://github.com/{REPOSITORY}@refs/tags/v1.2.3",
            "digest": {"gitCommit": "5f3b9c1d2e4a6b8c0d1e2f3a4b5c6d7e8f9a0b1c"},
        }
    ]
    if sources is not None:
        # Named descriptors are the build's materials for artifact rules.
        deps = [{"name": n, "digest": {"sha256": d}} for n, d in sorted(sources.items())]
    return _statement(
        PROVENANCE_V1,
        [subject],
        {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"target": "release", "version": "1.2.3"},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": builder_id},
                "metadata": {
                    "invocationId": "https://ci.example.com/runs/4711",
                    "startedOn": "2026-01-14T08:00:00Z",
                    "finishedOn": "2026-01-14T08:12:00Z",
                },
            },
        },
    )


def scan(subject: tuple[str, str], *, day: str, critical: bool = False) -> bytes:
    """A vulns v0.2 statement for ``subject``."""
    findings: list[dict[str, Any]] = [
        {
            "id": "CVE-2025-0001",
            "severity": [
                {"method": "nvd", "score": "low"},
                {"method": "cvss_score", "score": "3.1"},
            ],
        },
        {
            "id": "GHSA-xxxx-yyyy-zzzz",
            "severity": [{"method": "nvd", "score": "medium"}],
        },
    ]
    if critical:
        findings.append(
            {
                "id": "CVE-2025-9999",
                "severity": [
                    {"method": "nvd", "score": "CRITICAL"},
                    {"method": "cvss_score", "score": "9.8"},
                ],
            }
        )
    return _statement(
        VULNS_V02,
        [subject],
        {
            "scanner": {
                "uri": "https://scanner.example.net/scanner@4.2.0",
                "version": "4.2.0",
                "db": {
                    "uri": "https://scanner.example.net/vulndb",
                    "version": "2026.01.14",
                    "lastUpdate": "2026-01-14T06:00:00Z",
                },
                "result": findings,
            },
            "metadata": {
                "scanStartedOn": f"{day}T09:25:00Z",
                "scanFinishedOn": f"{day}T09:30:00Z",
            },
        },
    )


def spdx(subject: tuple[str, str]) -> bytes:
    """An SPDX 2.3 SBOM statement for ``subject``."""
    return _statement(
        SPDX,
        [subject],
        {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "example-app-1.2.3",
            "documentNamespace": "https://example.com/spdx/example-app-1.2.3",
            "creationInfo": {
                "created": "2026-01-14T08:13:00Z",
                "creators": ["Tool: example-sbom-generator-1.0"],
            },
            "packages": [
                {
                    "SPDXID": "SPDXRef-Package-example-app",
                    "name": "example-app",
                    "versionInfo": "1.2.3",
                    "downloadLocation": "NOASSERTION",
                },
                {
                    "SPDXID": "SPDXRef-Package-requests",
                    "name": "requests",
                    "versionInfo": "2.32.3",
                    "downloadLocation": "NOASSERTION",
                },
            ],
        },
    )


def cyclonedx(subject: tuple[str, str]) -> bytes:
    """A CycloneDX 1.5 SBOM statement for ``subject``."""
    return _statement(
        CYCLONEDX,
        [subject],
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {
                "timestamp": "2026-01-14T08:13:00Z",
                "component": {"type": "application", "name": "example-app", "version": "1.2.3"},
            },
            "components": [
                {
                    "type": "library",
                    "name": "requests",
                    "version": "2.32.3",
                    "purl": "pkg:pypi/requests@2.32.3",
                }
            ],
        },
    )


def release(subject: tuple[str, str], *, note: str = "") -> bytes:
    """A release v0.1 statement (a maintainer's approval) for ``subject``."""
    predicate: dict[str, Any] = {"purl": f"{PACKAGE}@1.2.3", "releaseId": "1.2.3"}
    if note:
        predicate["note"] = note
    return _statement(RELEASE_V01, [subject], predicate)


def link_clone() -> bytes:
    """The clone step's in-toto link v0.3: products are the cloned files."""
    return _statement(
        LINK_V03,
        sorted(SOURCES.items()),
        {
            "name": "clone",
            "command": ["git", "clone", f"https://github.com/{REPOSITORY}", "--branch", "v1.2.3"],
            "materials": [],
            "byproducts": {"returnValue": 0},
        },
    )


def tests_passed(sources: Mapping[str, str]) -> bytes:
    """The test step's test-result: its subjects are the files tested."""
    return _statement(
        TEST_RESULT,
        sorted(sources.items()),
        {
            "result": "PASSED",
            "passedTests": ["test_app", "test_util"],
            "warnedTests": [],
            "failedTests": [],
            "url": "https://ci.example.com/runs/4710/tests",
        },
    )


# --------------------------------------------------------------------------
# The examples


def _key_files(names: Sequence[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in names:
        key = example_key(name)
        out[f"{name}.pub"] = key.public_pem()
        out[f"{name}.TEST-ONLY.key"] = key.private_pem()
    return out


def _hex(name: str) -> str:
    return example_key(name).public_key.public


def _signed_layout(layout: str, params: Mapping[str, str]) -> bytes:
    """The layout with every parameter written in, signed by the owner key."""
    text = (LAYOUTS / layout).read_text(encoding="utf-8")
    for name, value in params.items():
        text = text.replace("{" + name + "}", value)
    envelope = Envelope.sign(text.encode("utf-8"), LAYOUT_PAYLOAD_TYPE, [example_key("owner")])
    return _dumps(envelope.to_dict()) + b"\n"


#: Example name -> (layout file, signer key names, params).
EXAMPLES: Final[Mapping[str, tuple[str, tuple[str, ...], Mapping[str, str]]]] = {
    "provenance-trusted-builder": (
        "provenance-trusted-builder.yml",
        ("builder", "intruder", "owner"),
        {"builder-key": _hex("builder"), "repository": REPOSITORY},
    ),
    "multi-party-release": (
        "multi-party-release.yml",
        ("maintainer-1", "maintainer-2", "maintainer-3", "intruder", "owner"),
        {
            "maintainer-1-key": _hex("maintainer-1"),
            "maintainer-2-key": _hex("maintainer-2"),
            "maintainer-3-key": _hex("maintainer-3"),
            "package": PACKAGE,
        },
    ),
    "third-party-scan": (
        "third-party-scan.yml",
        ("scanner", "builder", "owner"),
        {"scanner-key": _hex("scanner")},
    ),
    "sbom-required": (
        "sbom-required.yml",
        ("sbom-generator", "builder", "owner"),
        {"sbom-key": _hex("sbom-generator"), "sbom-type": SPDX},
    ),
    "full-chain": (
        "full-chain.yml",
        ("ci", "builder", "scanner", "intruder", "owner"),
        {"ci-key": _hex("ci"), "builder-key": _hex("builder"), "scanner-key": _hex("scanner")},
    ),
}

#: Days of the scans: one day before AT (fresh), and 26 days before (stale).
FRESH_SCAN: Final = "2026-01-14"
STALE_SCAN: Final = "2025-12-20"


def _evidence(example: str) -> dict[str, bytes]:
    """Attestation files (relative path -> bytes) of one example."""
    if example == "provenance-trusted-builder":
        good = provenance(APP)
        return {
            "provenance.intoto.jsonl": _sign(good, "builder"),
            "tampered/wrong-signer.intoto.jsonl": _sign(good, "intruder"),
            "tampered/wrong-builder-id.intoto.jsonl": _sign(
                provenance(APP, builder_id="https://ci.example.com/builders/laptop@v0"), "builder"
            ),
            "tampered/other-artifact.intoto.jsonl": _sign(provenance(OTHER_APP), "builder"),
        }
    if example == "multi-party-release":
        approval = release(APP)
        return {
            "release.intoto.jsonl": _sign(approval, "maintainer-1")
            + _sign(approval, "maintainer-2"),
            "tampered/one-maintainer.intoto.jsonl": _sign(approval, "maintainer-1"),
            # Two envelopes from one maintainer, one of them signed twice.
            "tampered/same-maintainer-twice.intoto.jsonl": _sign(approval, "maintainer-1")
            + _sign(release(APP, note="approved again"), "maintainer-1", "maintainer-1"),
            "tampered/maintainer-and-intruder.intoto.jsonl": _sign(approval, "maintainer-1")
            + _sign(approval, "intruder"),
            "tampered/other-artifact.intoto.jsonl": _sign(release(OTHER_APP), "maintainer-1")
            + _sign(release(OTHER_APP), "maintainer-2"),
        }
    if example == "third-party-scan":
        return {
            "scan.intoto.jsonl": _sign(scan(APP, day=FRESH_SCAN), "scanner"),
            "tampered/stale-scan.intoto.jsonl": _sign(scan(APP, day=STALE_SCAN), "scanner"),
            "tampered/critical-finding.intoto.jsonl": _sign(
                scan(APP, day=FRESH_SCAN, critical=True), "scanner"
            ),
            "tampered/scanned-by-builder.intoto.jsonl": _sign(scan(APP, day=FRESH_SCAN), "builder"),
        }
    if example == "sbom-required":
        return {
            "sbom-spdx.intoto.jsonl": _sign(spdx(APP), "sbom-generator"),
            "sbom-cyclonedx.intoto.jsonl": _sign(cyclonedx(APP), "sbom-generator"),
            "tampered/missing-sbom.intoto.jsonl": _sign(provenance(APP), "sbom-generator"),
            "tampered/other-artifact.intoto.jsonl": _sign(spdx(OTHER_APP), "sbom-generator"),
        }
    if example == "full-chain":
        clone = _sign(link_clone(), "ci")
        tests = _sign(tests_passed(SOURCES), "ci")
        build = _sign(provenance(APP, sources=SOURCES), "builder")
        scanned = _sign(scan(APP, day=FRESH_SCAN), "scanner")
        sbom = _sign(spdx(APP), "builder")

        def swap_product(statement: dict[str, Any]) -> None:
            statement["subject"][0]["digest"]["sha256"] = OTHER_APP[1]

        patched = dict(SOURCES, **{"src/app.py": sha256(b"print('patched after the tests')\n")})
        return {
            "chain.intoto.jsonl": clone + tests + build + scanned + sbom,
            # The build's product digest edited after signing.
            "tampered/build-product-swapped.intoto.jsonl": clone
            + tests
            + _tamper_payload(build, swap_product)
            + scanned
            + sbom,
            # A validly signed provenance, but by a key the layout does not trust.
            "tampered/rebuilt-by-intruder.intoto.jsonl": clone
            + tests
            + _sign(provenance(APP, sources=SOURCES), "intruder")
            + scanned
            + sbom,
            # The builder built from a source file that was never cloned or tested.
            "tampered/untested-source.intoto.jsonl": clone
            + tests
            + _sign(provenance(APP, sources=patched), "builder")
            + scanned
            + sbom,
            "tampered/missing-sbom.intoto.jsonl": clone + tests + build + scanned,
        }
    raise KeyError(example)


#: Evidence that passes only with another value of a parameter than the
#: example's params.json: example -> file -> (parameter, value).
_OTHER_PARAMS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "sbom-required": {"sbom-cyclonedx.intoto.jsonl": ("sbom-type", CYCLONEDX)},
}


def _readme() -> bytes:
    lines = [
        "# Example evidence for the key-based layouts",
        "",
        "**Every private key in these folders (`*.TEST-ONLY.key`) is a published test",
        "fixture: anyone can sign with it. Never trust these keys for anything real.**",
        "",
        "The files are made by `generate.py` (run it from the repository root; `--check`",
        "only compares) and are checked by `tests/test_layouts.py`. They are dated for the",
        f"verification time `{AT}`: pass `--at {AT}`.",
        "",
        "Each folder has:",
        "",
        "* `*.pub` / `*.TEST-ONLY.key`: the example keys (Ed25519, PEM). `owner` signs layouts;",
        "  `intruder` is a key no layout trusts.",
        "* `params.json`: the layout's parameters for `--params-file` (the keys as the 64 hex",
        "  digits the layouts expect).",
        "* `root.layout`: the layout with every parameter written in, signed by `owner`",
        "  (the recommended production form: verify it with `--layout-key owner.pub`).",
        "* the evidence that passes, and `tampered/`: variants that must fail.",
        "",
        f"The artifact is `{APP[0]}` with sha256 `{APP[1]}`",
        "(stand-in bytes; only the digest matters).",
        "",
    ]
    for example, (layout, _signers, _params) in EXAMPLES.items():
        evidence = _evidence(example)
        good = sorted(p for p in evidence if not p.startswith("tampered/"))
        bad = sorted(p for p in evidence if p.startswith("tampered/"))
        # What passes with other parameter values than the signed layout's
        # (which has them written in): not evidence for root.layout.
        other = {p: v for p, v in _OTHER_PARAMS.get(example, {}).items() if p in good}
        good = [p for p in good if p not in other]
        folder = f"layouts/examples/{example}"
        tail = f"--subject-digest sha256:{APP[1]} --at {AT}"
        lines += [
            f"## {example}",
            "",
            "```console",
            f"intoto-policy verify {folder}/root.layout \\",
            f"    --layout-key {folder}/owner.pub \\",
            f"    --attestations {folder}/{good[0]} \\",
            f"    {tail}",
            "```",
            "",
            "or, unsigned with parameters:",
            "",
            "```console",
            f"intoto-policy verify layouts/{layout} --unsigned-layout \\",
            f"    --params-file {folder}/params.json \\",
            f"    --attestations {folder}/{good[0]} \\",
            f"    {tail}",
            "```",
            "",
            "Passing evidence: " + ", ".join(f"`{p}`" for p in good) + ".",
            "Failing variants: " + ", ".join(f"`{p.removeprefix('tampered/')}`" for p in bad) + ".",
            "",
        ]
        for path, (name, value) in other.items():
            lines += [
                f"`{path}` passes only where the layout asks for it: with the unsigned layout",
                f"and `--param {name}={value}` (the signed `root.layout` has another value",
                "written in, so it rejects this evidence):",
                "",
                "```console",
                f"intoto-policy verify layouts/{layout} --unsigned-layout \\",
                f"    --params-file {folder}/params.json --param {name}={value} \\",
                f"    --attestations {folder}/{path} \\",
                f"    {tail}",
                "```",
                "",
            ]
    return "\n".join(lines).encode()


def build_examples() -> dict[str, bytes]:
    """Every generated file: path relative to ``layouts/examples`` -> bytes."""
    files: dict[str, bytes] = {"README.md": _readme()}
    for example, (layout, signers, params) in EXAMPLES.items():
        parts: dict[str, bytes] = {
            **_key_files(signers),
            "params.json": json.dumps(dict(params), indent=2, sort_keys=True).encode() + b"\n",
            "root.layout": _signed_layout(layout, params),
            **_evidence(example),
        }
        files.update({f"{example}/{name}": data for name, data in parts.items()})
    return files


def _existing(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != "generate.py" and "__pycache__" not in p.parts
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the examples; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    args = parser.parse_args(argv)
    root: Path = args.out
    files = build_examples()
    stale = sorted(_existing(root) - set(files)) if root.exists() else []
    changed = sorted(
        name
        for name, data in files.items()
        if not (root / name).is_file() or (root / name).read_bytes() != data
    )
    if args.check:
        for name in changed:
            sys.stdout.write(f"out of date: {name}\n")
        for name in stale:
            sys.stdout.write(f"not generated: {name}\n")
        return 1 if changed or stale else 0
    for name in changed:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        sys.stdout.write(f"wrote {name}\n")
    for name in stale:
        sys.stdout.write(f"note: {name} is not generated by this script\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
