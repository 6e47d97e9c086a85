"""The layout binds its Sigstore trusted root by SHA-256.

A trusted root named only by path is not covered by the layout's signature
and by default sits next to the evidence, so whoever controls the evidence
folder would choose the root. These cases verify a real bundle (INDEX.md
item 04, PROD root) with every combination of layout ``trustedRoot`` and
``--trusted-root``; a root that is not bound is bad input (exit 2, one line
naming the file), never a pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from intoto_policy import InputError, Layout, Report, load_attestations, verify, verify_attestations
from intoto_policy.cli._main import main
from intoto_policy.crypto._keyless import SigstoreTrustedRoot, load_trusted_root
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document

pytest.importorskip("sigstore")

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
TRUST = CORPUS / "trust"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

V04 = ITEMS / "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore"
PROD = TRUST / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
STAGING = TRUST / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json"
PROD_SHA = hashlib.sha256(PROD.read_bytes()).hexdigest() if PROD.is_file() else "0" * 64
STAGING_SHA = hashlib.sha256(STAGING.read_bytes()).hexdigest() if STAGING.is_file() else "1" * 64
AT = "2026-11-22T00:00:00Z"
GHA = "https://token.actions.githubusercontent.com"
GENERIC = (
    r"https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/"
    r"generator_generic_slsa3\.yml@refs/(heads|tags)/.+"
)
_ABSENT = object()


@dataclass(frozen=True)
class Case:
    """One combination of layout trustedRoot, root file next to it and --trusted-root."""

    trusted_root: Any = _ABSENT  # the layout's trustedRoot value
    beside: Path | None = PROD  # what is copied to trusted_root.json next to the layout
    given: Path | None = None  # --trusted-root
    code: int = 0
    # Text the one-line error must contain; "{layout}"/"{root}" are filled in.
    says: tuple[str, ...] = field(default=())


CASES = {
    "matching-digest": Case({"path": "trusted_root.json", "sha256": PROD_SHA}),
    "mismatching-digest": Case(
        {"path": "trusted_root.json", "sha256": STAGING_SHA},
        code=2,
        says=("{root}: ", PROD_SHA, STAGING_SHA),
    ),
    "evidence-folder-root-swapped": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA},
        beside=STAGING,
        code=2,
        says=("{root}: ", STAGING_SHA, PROD_SHA),
    ),
    "path-only": Case(
        "trusted_root.json", code=2, says=("{layout}: ", "records no sha256", "--trusted-root")
    ),
    "path-only-out-of-band-root": Case("trusted_root.json", beside=STAGING, given=PROD),
    "out-of-band-root-no-trustedRoot": Case(beside=None, given=PROD),
    "out-of-band-root-matching-layout-digest": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA}, beside=STAGING, given=PROD
    ),
    "out-of-band-root-matching-digest-only": Case({"sha256": PROD_SHA}, beside=None, given=PROD),
    "out-of-band-root-mismatching-layout-digest": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA},
        given=STAGING,
        code=2,
        says=(f"{STAGING}: ", STAGING_SHA, PROD_SHA),
    ),
    "digest-only-no-root-given": Case(
        {"sha256": PROD_SHA}, beside=None, code=2, says=("{layout}: ", "names no file")
    ),
    "digest-uppercase": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA.upper()}, code=2, says=("trustedRoot",)
    ),
    "digest-too-short": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA[:63]}, code=2, says=("trustedRoot",)
    ),
    "digest-with-algorithm-prefix": Case(
        {"path": "trusted_root.json", "sha256": "sha256:" + PROD_SHA},
        code=2,
        says=("trustedRoot",),
    ),
    "digest-not-a-string": Case(
        {"path": "trusted_root.json", "sha256": 12}, code=2, says=("trustedRoot",)
    ),
    "digest-missing": Case({"path": "trusted_root.json"}, code=2, says=("trustedRoot",)),
    "unknown-member": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA, "sha512": "00"},
        code=2,
        says=("trustedRoot",),
    ),
    "root-file-missing": Case(
        {"path": "trusted_root.json", "sha256": PROD_SHA},
        beside=None,
        code=2,
        says=("{root}",),
    ),
    "no-root-at-all": Case(beside=None, code=1),  # the bundle is rejected: unsupported
}


def _layout_doc(trusted_root: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"builder": {"type": "sigstore", "identityRegex": GENERIC, "issuer": GHA}},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v0.2",
                        "functionaries": ["builder"],
                    }
                ],
            }
        ],
    }
    if trusted_root is not _ABSENT:
        doc["trustedRoot"] = trusted_root
    return doc


@pytest.mark.parametrize("name", list(CASES))
def test_trusted_root_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    case = CASES[name]
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps(_layout_doc(case.trusted_root)))
    root = tmp_path / "trusted_root.json"
    if case.beside is not None:
        root.write_bytes(case.beside.read_bytes())
    argv = ["verify", str(layout), "--unsigned-layout", "--at", AT, "--format", "json"]
    argv += ["--attestations", str(V04)]
    if case.given is not None:
        argv += ["--trusted-root", str(case.given)]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == case.code, (out, err)
    if code == 2:
        assert out == ""
        assert err.count("\n") == 1, err  # one line, no traceback
        for needle in case.says:
            assert needle.format(layout=layout, root=root) in err, err
        return
    report = json.loads(out)
    if code == 1:
        assert {r["reason"] for r in report["rejected"]} == {"unsupported"}
        return
    (root_check,) = [c for c in report["checks"] if "trustedRoot" in c.get("details", {})]
    used = case.given or case.beside
    assert used is not None
    assert (
        root_check["details"]["trustedRoot"]["sha256"]
        == hashlib.sha256(used.read_bytes()).hexdigest()
    )
    assert root_check["status"] == "pass"


# -- the library: the same rules for a root passed as an object ----------------------


@pytest.mark.parametrize(
    ("trusted_root", "given", "error"),
    [
        pytest.param({"sha256": PROD_SHA}, PROD, None, id="object-matches"),
        pytest.param({"sha256": PROD_SHA}, STAGING, "records trustedRoot sha256", id="mismatch"),
        pytest.param("trusted_root.json", None, "records no sha256", id="path-only"),
        pytest.param({"sha256": PROD_SHA}, None, "names no file", id="digest-only"),
    ],
)
def test_api_binds_trusted_root(
    tmp_path: Path, trusted_root: Any, given: Path | None, error: str | None
) -> None:
    (tmp_path / "trusted_root.json").write_bytes(PROD.read_bytes())
    layout = Layout.from_dict(_layout_doc(trusted_root), source=str(tmp_path / "layout.json"))
    root = load_trusted_root(given.read_bytes(), source=given.name) if given else None
    at = datetime(2026, 11, 22, tzinfo=UTC)
    if error is None:
        assert verify(layout, [V04], at=at, trusted_root=root).passed
        return
    with pytest.raises(InputError, match=error):
        verify(layout, [V04], at=at, trusted_root=root)


def _without_digest(root: SigstoreTrustedRoot, digest: Any) -> SigstoreTrustedRoot:
    # A root object whose digest was not taken over bytes (built by hand).
    return dataclasses.replace(root, sha256=digest)


# (layout trustedRoot, root given, how the root object is altered, expected error)
ENTRY_POINT_CASES = [
    pytest.param({"sha256": PROD_SHA}, PROD, None, None, id="pinned-match"),
    pytest.param(_ABSENT, PROD, None, None, id="unpinned-given"),
    pytest.param({"sha256": STAGING_SHA}, PROD, None, "records trustedRoot sha256", id="mismatch"),
    pytest.param({"sha256": PROD_SHA}, PROD, "", "records no SHA-256", id="empty-digest"),
    pytest.param(_ABSENT, PROD, "", "records no SHA-256", id="empty-digest-unpinned"),
    pytest.param({"sha256": PROD_SHA}, PROD, "<none>", "records no SHA-256", id="no-digest"),
    pytest.param(
        {"sha256": PROD_SHA}, PROD, PROD_SHA.upper(), "records no SHA-256", id="upper-digest"
    ),
]


@pytest.mark.parametrize("entry", ["verify", "verify_attestations"])
@pytest.mark.parametrize(("trusted_root", "given", "digest", "error"), ENTRY_POINT_CASES)
def test_every_entry_point_binds_the_given_root(
    entry: str, trusted_root: Any, given: Path, digest: Any, error: str | None
) -> None:
    # verify_attestations() once skipped the pin: a layout pinning one root
    # passed with a bundle verified under another (issue #9).
    layout = Layout.from_dict(_layout_doc(trusted_root), source="layout.json")
    root = load_trusted_root(given.read_bytes(), source=given.name)
    if digest is not None:
        root = _without_digest(root, None if digest == "<none>" else digest)
    at = datetime(2026, 11, 22, tzinfo=UTC)

    def run() -> Report:
        if entry == "verify":
            return verify(layout, [V04], at=at, trusted_root=root)
        return verify_attestations(layout, load_attestations([V04]), at=at, trusted_root=root)

    if error is not None:
        with pytest.raises(InputError, match=error):
            run()
        return
    report = run()
    assert report.passed
    bound = [c for c in report.checks if "Sigstore trusted root" in c.message]
    assert len(bound) == 1
    assert root.sha256 in bound[0].message


# -- layout check ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted_root", "finding"),
    [
        pytest.param("trusted_root.json", "records no sha256", id="path-only-is-an-error"),
        pytest.param({"path": "r.json", "sha256": PROD_SHA}, None, id="pinned-is-clean"),
        pytest.param({"sha256": PROD_SHA}, None, id="digest-only-is-clean"),
        pytest.param({"path": "r.json", "sha256": "ABC"}, "schema", id="bad-digest-is-an-error"),
    ],
)
def test_layout_check_reports_unbound_trusted_root(trusted_root: Any, finding: str | None) -> None:
    text = yaml.safe_dump(_layout_doc(trusted_root), sort_keys=False).encode()
    parsed, lines = parse_layout_document(text, source="l.yml")
    findings = lint_layout(parsed, source="l.yml", lines=lines, at=datetime(2026, 1, 1, tzinfo=UTC))
    if finding is None:
        assert findings == []
        return
    (hit,) = [f for f in findings if f.pointer.startswith("/trustedRoot")]
    assert hit.severity == "error"
    assert finding in hit.message
    assert hit.line is not None
