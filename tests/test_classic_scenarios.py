"""The 40 scenarios of the in-toto reference corpus: same exit codes as in-toto-verify 3.1.0."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intoto_policy.classic import is_classic_layout, verify_classic
from intoto_policy.report._model import Report
from intoto_policy.sources._files import load_public_key_file

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SCENARIOS = CORPUS / "intoto-reference" / "scenarios"

pytestmark = pytest.mark.skipif(
    not (SCENARIOS / "index.json").is_file(), reason="shared corpus not available"
)


def _index() -> list[dict[str, Any]]:
    if not (SCENARIOS / "index.json").is_file():
        return []
    entries: list[dict[str, Any]] = json.loads((SCENARIOS / "index.json").read_text())
    return entries


def _copy(name: str, tmp_path: Path) -> Path:
    # Inspections write into the directory they run in, and the corpus is
    # read-only: work on a writable copy.
    target = tmp_path / name
    shutil.copytree(SCENARIOS / name, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return target


def _run(entry: dict[str, Any], root: Path, *, run_inspections: bool) -> Report:
    """Map the scenario's in-toto-verify command onto verify_classic."""
    args: list[str] = entry["command"][1:]
    keys, gpg, home, layout, mode = [], [], None, None, ""
    for arg in args:
        if arg.startswith("--"):
            mode = arg
        elif mode == "--layout":
            layout = root / arg
        elif mode == "--verification-keys":
            keys.append(load_public_key_file(root / arg))
        elif mode == "--gpg":
            gpg.append(arg)
        elif mode == "--gpg-home":
            home = root / arg
    assert layout is not None
    return verify_classic(
        layout,
        layout_keys=keys,
        gpg_keyids=gpg,
        gpg_home=home,
        link_dir=root,
        at=datetime.now(UTC),
        run_inspections=run_inspections,
        workdir=root,
    )


def _payload(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    if "signed" in data:
        return data["signed"] if isinstance(data["signed"], dict) else {}
    if "payload" in data:
        return json.loads(base64.b64decode(data["payload"]))  # type: ignore[no-any-return]
    return {}


def _has_inspections(root: Path) -> bool:
    """Whether the layout or any sublayout below ``root`` has inspections."""
    layouts = [root / "root.layout", *root.rglob("*.link")]
    return any(_payload(p).get("_type") == "layout" and _payload(p).get("inspect") for p in layouts)


def _needs_gpg(entry: dict[str, Any]) -> bool:
    return "--gpg" in entry["command"]


@pytest.mark.parametrize("entry", _index(), ids=lambda e: e["dir"])
def test_scenario_agrees_with_reference(entry: dict[str, Any], tmp_path: Path) -> None:
    if _needs_gpg(entry) and shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    root = _copy(entry["dir"], tmp_path)
    assert is_classic_layout((root / "root.layout").read_bytes())
    # in-toto-verify always runs inspections.
    report = _run(entry, root, run_inspections=True)
    assert (0 if report.passed else 1) == entry["exit_code"], [c.message for c in report.failures]
    assert report.layout.format == "classic"
    if not report.passed:
        # The report names what failed, not just that something did.
        assert report.failures
        assert all(c.message for c in report.failures)


@pytest.mark.parametrize("entry", _index(), ids=lambda e: e["dir"])
def test_scenario_without_run_inspections(entry: dict[str, Any], tmp_path: Path) -> None:
    if _needs_gpg(entry) and shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    root = _copy(entry["dir"], tmp_path)
    before = sorted(p.name for p in root.iterdir())
    report = _run(entry, root, run_inspections=False)
    if _has_inspections(root):
        assert not report.passed
        assert any("--run-inspections" in c.message for c in report.failures)
        # Nothing ran: the directory is as it was.
        assert sorted(p.name for p in root.iterdir()) == before
    else:
        assert (0 if report.passed else 1) == entry["exit_code"]


def test_rule_failure_names_step_rule_and_paths(tmp_path: Path) -> None:
    entry = next(e for e in _index() if e["dir"] == "fail_step_rule_modify_disallow")
    report = _run(entry, _copy(entry["dir"], tmp_path), run_inspections=True)
    failed = [c for c in report.failures if c.rule is not None]
    assert failed
    check = failed[0]
    assert check.step == "write-code"
    assert check.rule == "DISALLOW *"
    assert check.details["paths"] == ["foo.py"]


def test_inspection_writes_only_in_workdir(tmp_path: Path) -> None:
    entry = next(e for e in _index() if e["dir"] == "pass_single_signed")
    root = _copy(entry["dir"], tmp_path)
    outside = sorted(p.name for p in tmp_path.iterdir())
    report = _run(entry, root, run_inspections=True)
    assert report.passed
    assert (root / "foo.py").is_file()  # the inspection untarred it there
    assert sorted(p.name for p in tmp_path.iterdir()) == outside
