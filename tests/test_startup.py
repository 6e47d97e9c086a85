"""Start-up stays cheap: a command path imports only the heavy modules it uses.

Each case runs, in a fresh interpreter, one command path and lists the
modules it imported (``sys.modules``); heavy dependencies it does not need
must be absent. Structural, so it can fail without timing anything
(bench/bench_startup.py measures the time).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from intoto_policy.policy._loading import parse_layout_document

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SCENARIO = CORPUS / "attestation-verifier" / "derived-scenarios" / "00-baseline-pass"
CLASSIC = CORPUS / "real-world" / "items" / "30-intoto-golang-dsse-only"
BUNDLE = (
    CORPUS
    / "real-world"
    / "items"
    / "04-slsaverifier-bundle-valid-v0.3"
    / "valid-v0.3.intoto.sigstore"
)

# Imported by a command path and dumped to a file (stdout holds the report).
DRIVER = """
import json, sys
from intoto_policy.cli._main import main
out, argv = sys.argv[1], sys.argv[2:]
code = main(argv) if argv else 0
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

NEVER_AT_START = [
    "jsonschema",
    "yaml",
    "sigstore",
    "securesystemslib",
    "cel_expr_python",
    "cryptography.x509",
    "in_toto",
    "intoto_policy.classic._verify",
    "intoto_policy._api",
    "intoto_policy.report._render",
    # The version is looked up only for --version (email, zipfile, csv...).
    "importlib.metadata",
]
# Importing the CLI or printing its help reads no key: no cryptography.
NO_KEYS_AT_START = [*NEVER_AT_START, "cryptography", "intoto_policy.crypto._keys"]
# Sigstore bundles, X.509 certificates and registry keys: imported by the
# code that handles them, never by a path that meets none of them.
KEYLESS_MODULES = [
    "intoto_policy.crypto._keyless",
    "intoto_policy.crypto._x509",
    "intoto_policy.crypto._rekor",
]
SIGNED_BY_KEYS = [  # a layout whose functionaries are keys: no certificates, no Sigstore
    "sigstore",
    "securesystemslib",
    "cryptography.x509",
    "intoto_policy.classic._verify",
    # A valid layout is accepted by the quick schema check; jsonschema is
    # imported only to list the errors of an invalid one.
    "jsonschema",
    "referencing",
    # Only the views of the predicate types present (link, test-result and
    # SLSA provenance v1 here) are imported.
    "intoto_policy.model.predicates._sbom",
    "intoto_policy.model.predicates._ecosystems",
    *KEYLESS_MODULES,
    "importlib.metadata",
]
JSON_LAYOUT = [*SIGNED_BY_KEYS, "yaml", "intoto_policy.policy._yaml"]
CLASSIC_NEEDS_NONE_OF = [
    "jsonschema",
    "yaml",
    "sigstore",
    "securesystemslib",
    "cel_expr_python",
    "cryptography.x509",
    "intoto_policy._api",
    "intoto_policy.policy._layout",
    "intoto_policy.model.predicates",
    *KEYLESS_MODULES,
    # Classic links are parsed by classic._load, not by the DSSE model.
    "intoto_policy.model._dsse",
    "intoto_policy.model._statement",
    "importlib.metadata",
]

ATTESTATION = [
    "verify",
    str(SCENARIO / "layout.yml"),
    "--unsigned-layout",
    "--attestations",
    str(SCENARIO / "attestations"),
    "--at",
    "2026-11-22T00:00:00Z",
]
CLASSIC_VERIFY = [
    "verify",
    "{classic}/dsse-only.root.layout",
    "--layout-key",
    "{classic}/alice.pub",
    "--attestations",
    "{classic}",
    "--at",
    "2025-06-01T00:00:00Z",
]

ATTESTATION_JSON = [
    "verify",
    "{tmp}/layout.json",
    *ATTESTATION[2:],
]
INVALID_LAYOUT = ["verify", "{tmp}/invalid.json", *ATTESTATION[2:]]
# The scenario's attestations plus a Sigstore bundle (rejected: no trusted
# root), so the keyless modules load: their absence above is not vacuous.
WITH_BUNDLE = [*ATTESTATION[:4], "{tmp}/with-bundle", *ATTESTATION[5:]]

# (name, argv, modules that must be absent, modules that must be present):
# the "present" lists show that each absence is not vacuous.
CASES = [
    ("import _cli", [], NO_KEYS_AT_START, []),
    ("help", ["--help"], NO_KEYS_AT_START, []),
    ("version", ["--version"], KEYLESS_MODULES, ["importlib.metadata"]),
    (
        "keygen",
        ["keygen", "--type", "ed25519", "--out", "{tmp}/k"],
        NEVER_AT_START,
        ["intoto_policy.crypto._keys"],
    ),
    (
        "verify attestation layout",
        ATTESTATION,
        SIGNED_BY_KEYS,
        [
            "yaml",
            "intoto_policy.model.predicates._slsa",
            "intoto_policy.model.predicates._intoto",
            "intoto_policy.model._dsse",
            "intoto_policy.crypto._keys",
        ],
    ),
    (
        "verify JSON attestation layout",
        ATTESTATION_JSON,
        JSON_LAYOUT,
        ["intoto_policy.policy._loading"],
    ),
    ("verify invalid layout lists errors", INVALID_LAYOUT, ["yaml"], ["jsonschema"]),
    ("verify with a Sigstore bundle", WITH_BUNDLE, ["importlib.metadata"], KEYLESS_MODULES),
    (
        "verify classic layout",
        CLASSIC_VERIFY,
        CLASSIC_NEEDS_NONE_OF,
        ["intoto_policy.classic._verify", "intoto_policy.crypto._keys"],
    ),
]


def _json_layouts(tmp: Path) -> None:
    """The scenario's YAML layout as JSON, valid and with a schema violation."""
    doc, _ = parse_layout_document((SCENARIO / "layout.yml").read_bytes(), source="layout.yml")
    (tmp / "layout.json").write_text(json.dumps(doc), encoding="utf-8")
    doc["steps"][0]["expectedPredicates"] = "not a list"
    (tmp / "invalid.json").write_text(json.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize(("name", "argv", "absent", "present"), CASES, ids=[c[0] for c in CASES])
def test_command_path_imports_no_unneeded_heavy_module(
    name: str, argv: list[str], absent: list[str], present: list[str], tmp_path: Path
) -> None:
    if argv[:1] == ["verify"] and not (SCENARIO.is_dir() and CLASSIC.is_dir() and BUNDLE.is_file()):
        pytest.skip("shared corpus not present")
    classic = tmp_path / "classic"
    if CLASSIC.is_dir():
        shutil.copytree(CLASSIC, classic)
        for path in [classic, *classic.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    if SCENARIO.is_dir():
        _json_layouts(tmp_path)
        shutil.copytree(SCENARIO / "attestations", tmp_path / "with-bundle")
        if BUNDLE.is_file():
            shutil.copyfile(BUNDLE, tmp_path / "with-bundle" / "bundle.json")
    out = tmp_path / "modules.json"
    args = [a.format(classic=classic, tmp=tmp_path) for a in argv]
    subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), *args],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert result["code"] in ((2,) if "invalid" in name else (0, 1)), name
    loaded = set(result["modules"])
    assert "intoto_policy.cli._main" in loaded
    assert [m for m in absent if m in loaded] == [], name
    assert [m for m in present if m not in loaded] == [], name
