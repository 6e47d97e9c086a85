"""Real-world classic layouts: in-toto-golang (items 29, 30) and in-toto (items 31, 32)."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy.classic import is_classic_layout, verify_classic
from intoto_policy.classic._sig import keyid_aliases
from intoto_policy.sources._files import load_public_key_file

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
ITEMS = CORPUS / "real-world" / "items"

pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not available")

# Within every layout's validity (they expire in 2030 and later).
AT = datetime(2025, 6, 1, tzinfo=UTC)

CASES = [
    ("29-intoto-golang-demo-metablock", "demo.layout"),
    ("29-intoto-golang-demo-metablock", "demo.dsse.layout"),
    ("30-intoto-golang-dsse-only", "dsse-only.root.layout"),
    ("31-intoto-python-demo-metablock", "root.layout.DERIVED-locally-signed"),
    ("32-intoto-python-demo-dsse", "root.layout.DERIVED-locally-signed"),
]


def _copy(item: str, tmp_path: Path) -> Path:
    target = tmp_path / item
    shutil.copytree(ITEMS / item, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return target


@pytest.mark.parametrize(("item", "layout"), CASES)
def test_realworld_layout_verifies(
    item: str, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy(item, tmp_path)
    # Items 31/32 inspect with "python ./scripts/tar ...": put this
    # interpreter first on PATH, as the corpus notes say.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")
    assert is_classic_layout((root / layout).read_bytes())
    report = verify_classic(
        root / layout,
        layout_keys=[load_public_key_file(root / "alice.pub")],
        link_dir=root,
        at=AT,
        run_inspections=True,
        workdir=root,
    )
    assert report.passed, [c.message for c in report.failures]
    assert report.layout.signed_by
    binding = [c for c in report.checks if c.kind.value == "subject-binding"]
    assert [c.message.startswith("no subject bound") for c in binding] == [True]
    assert '"subject-binding"' in json.dumps(report.to_dict())


@pytest.mark.parametrize(("item", "layout"), CASES)
def test_realworld_tampered_link_fails(item: str, layout: str, tmp_path: Path) -> None:
    root = _copy(item, tmp_path)
    link = sorted(root.glob("*.link"))[0]
    data = json.loads(link.read_bytes())
    if "signed" in data:
        data["signed"]["command"] = ["evil"]
    else:
        sig = data["signatures"][0]["sig"]
        data["signatures"][0]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    link.write_text(json.dumps(data))
    report = verify_classic(
        root / layout,
        layout_keys=[load_public_key_file(root / "alice.pub")],
        link_dir=root,
        at=AT,
        run_inspections=False,
        workdir=root,
    )
    assert not report.passed
    assert report.rejected


def test_go_keyid_convention() -> None:
    # in-toto-golang names alice.pub 70ca5750...: the legacy key id over the
    # PEM without its final newline (INDEX.md, items 29 and 30).
    key = load_public_key_file(ITEMS / "29-intoto-golang-demo-metablock" / "alice.pub")
    assert "70ca5750c2eda80b18f41f4ec5f92146789b5d68dd09577be422a0159bd13680" in keyid_aliases(key)


def test_go_layout_extra_fields_are_signed(tmp_path: Path) -> None:
    # rootcas/intermediatecas are part of what in-toto-golang signed: the
    # signature must fail once they change.
    root = _copy("29-intoto-golang-demo-metablock", tmp_path)
    data = json.loads((root / "demo.layout").read_bytes())
    assert "rootcas" in data["signed"]
    data["signed"]["rootcas"] = {"x": {"keyid": "x"}}
    (root / "demo.layout").write_text(json.dumps(data))
    report = verify_classic(
        root / "demo.layout",
        layout_keys=[load_public_key_file(root / "alice.pub")],
        link_dir=root,
        at=AT,
        run_inspections=True,
        workdir=root,
    )
    assert not report.passed
    assert not report.layout.signed_by


def test_expired_at_reference_time(tmp_path: Path) -> None:
    root = _copy("30-intoto-golang-dsse-only", tmp_path)
    report = verify_classic(
        root / "dsse-only.root.layout",
        layout_keys=[load_public_key_file(root / "alice.pub")],
        link_dir=root,
        at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    assert not report.passed
    assert [c.kind.value for c in report.failures] == ["freshness"]


REFUSED = [
    ("subject file", ["--subject", "alice.pub"]),
    ("subject digest", ["--subject-digest", "sha256:" + "a" * 64]),
    ("param", ["--param", "x=y"]),
    ("params file", ["--params-file", "alice.pub"]),
    ("unsigned layout", ["--unsigned-layout"]),
    ("trusted root", ["--trusted-root", "alice.pub"]),
]


@pytest.mark.parametrize(("name", "extra"), REFUSED, ids=[r[0] for r in REFUSED])
def test_classic_refuses_flags_it_cannot_honour(
    name: str,
    extra: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from intoto_policy.cli._main import main

    root = _copy("30-intoto-golang-dsse-only", tmp_path)
    monkeypatch.chdir(root)
    argv = ["verify", "dsse-only.root.layout", "--layout-key", "alice.pub", "--attestations", "."]
    argv += ["--at", "2025-06-01T00:00:00Z"]
    # the same command without the flag is accepted, so exit 2 is the flag's doing
    assert main(argv) != 2, name
    capsys.readouterr()
    assert main([*argv, *extra]) == 2, name
    err = capsys.readouterr().err
    assert "not supported for classic" in err
    assert len(err.strip().splitlines()) == 1
