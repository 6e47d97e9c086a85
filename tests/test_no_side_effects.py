"""Verification over the shared corpus opens no socket, runs no command, writes no file.

An audit hook (which cannot be removed) watches while an ``armed`` flag is
set, only around the ``verify`` calls of this test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from intoto_policy.cli._main import main

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "attestation-verifier"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
AT = "2026-11-22T00:00:00Z"

_ARMED: list[str] = []
_SEEN: list[str] = []
# Executables a run may start: GPG-signed classic layouts are checked by
# securesystemslib, which runs gpg; nothing else may be run.
_ALLOWED_EXEC: set[str] = set()
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _ARMED:
        return
    if event == "subprocess.Popen" and _ALLOWED_EXEC and Path(str(args[0])).name in _ALLOWED_EXEC:
        return
    if event.startswith(("socket.", "os.exec")) or event in (
        "subprocess.Popen",
        "os.system",
        "os.posix_spawn",
        "os.fork",
    ):
        _SEEN.append(f"{event} {args!r}"[:200])
    elif event == "open" and len(args) >= 3:
        path, mode, flags = args[0], args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE
        )
        # The report's own file, or the temporary it is written to atomically.
        out = Path(_ARMED[-1])
        own = str(path) == str(out) or (
            Path(str(path)).parent == out.parent
            and Path(str(path)).name.startswith(f".{out.name}.")
        )
        if writing and not own:
            _SEEN.append(f"open {path!r} {mode!r}")


sys.addaudithook(_hook)


def _derived() -> list[str]:
    folder = CORPUS / "derived-scenarios"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _run_armed(
    argv: list[str], *, allowed_output: Path, capsys: Any, allow_exec: frozenset[str] = frozenset()
) -> int:
    """Run the CLI with the audit hook armed; it must decide and do nothing else."""
    _ARMED.append(str(allowed_output))
    _ALLOWED_EXEC.update(allow_exec)
    _SEEN.clear()
    try:
        code = main(argv)
    finally:
        _ARMED.clear()
        _ALLOWED_EXEC.clear()
    capsys.readouterr()
    assert code in (0, 1)
    assert _SEEN == []
    return code


@pytest.mark.parametrize("name", _derived())
@pytest.mark.parametrize("output", [False, True], ids=["stdout", "output"])
def test_verify_has_no_side_effects(
    name: str, output: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = CORPUS / "derived-scenarios" / name
    out = tmp_path / "report.json"
    argv = ["verify", str(folder / "layout.yml"), "--unsigned-layout", "--at", AT]
    argv += ["--attestations", str(folder / "attestations"), "--format", "json"]
    if output:
        argv += ["--output", str(out)]
    _run_armed(argv, allowed_output=out, capsys=capsys)
    assert out.exists() == output


@pytest.mark.parametrize("target", ["layout", "attestation"])
def test_output_onto_an_input_is_refused(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = CORPUS / "derived-scenarios" / "00-baseline-pass"
    layout = tmp_path / "layout.yml"
    layout.write_bytes((folder / "layout.yml").read_bytes())
    atts = tmp_path / "atts"
    atts.mkdir()
    for f in (folder / "attestations").iterdir():
        (atts / f.name).write_bytes(f.read_bytes())
    victim = layout if target == "layout" else next(atts.iterdir())
    before = victim.read_bytes()
    argv = ["verify", str(layout), "--unsigned-layout", "--at", AT, "--attestations", str(atts)]
    code = main([*argv, "--output", str(victim)])
    capsys.readouterr()
    assert victim.read_bytes() == before
    assert code == 2


def _real_world() -> list[Any]:
    try:
        from test_realworld import CASES  # the real-world table, reused
    except ImportError:  # pragma: no cover - sigstore missing
        return []
    return CASES


@pytest.mark.parametrize("item", _real_world(), ids=lambda c: c.name)
def test_real_world_verify_has_no_side_effects(
    item: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_realworld import ITEMS, _layout

    # sigstore imports urllib3, whose import probes IPv6 support by binding a
    # socket to ('::1', 0): no traffic, but a socket event. Import it unarmed
    # so the hook watches verification itself (reported to the lead).
    pytest.importorskip("urllib3")
    argv = ["verify", str(_layout(tmp_path, item)), "--unsigned-layout", "--at", AT]
    for f in item.files:
        argv += ["--attestations", str(ITEMS / f)]
    if item.root is not None:
        argv += ["--trusted-root", str(item.root)]
    if item.subject_digest:
        argv += ["--subject-digest", item.subject_digest]
    _run_armed(argv, allowed_output=tmp_path / "none", capsys=capsys)


SCENARIOS = CORPUS.parent / "intoto-reference" / "scenarios"


def _scenarios() -> list[dict[str, Any]]:
    index = SCENARIOS / "index.json"
    if not index.is_file():
        return []
    entries: list[dict[str, Any]] = json.loads(index.read_text())
    return entries


@pytest.mark.parametrize("entry", _scenarios(), ids=lambda e: e["dir"])
def test_classic_scenario_verify_has_no_side_effects(
    entry: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Classic verification without --run-inspections runs nothing (gpg aside) and writes nothing.

    The scenarios are read in place (read-only): any write attempt would also fail there.
    """
    root = SCENARIOS / entry["dir"]
    argv = ["verify", str(root / "root.layout"), "--attestations", str(root)]
    mode, gpg = "", False
    for arg in entry["command"][1:]:
        if arg.startswith("--"):
            mode = arg
            argv += [arg] if arg in ("--gpg", "--gpg-home") else []
            gpg = gpg or arg == "--gpg"
        elif mode == "--verification-keys":
            argv += ["--layout-key", str(root / arg)]
        elif mode == "--gpg-home":
            argv.append(str(root / arg))
        elif mode == "--gpg":
            argv.append(arg)
    if gpg and shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    if gpg:
        # gpg writes into its home (trustdb, lock files): give it a private copy.
        home = tmp_path / "gnupg"
        source = Path(argv[argv.index("--gpg-home") + 1])
        shutil.copytree(source, home)
        home.chmod(0o700)
        argv[argv.index("--gpg-home") + 1] = str(home)
    code = _run_armed(
        argv,
        allowed_output=tmp_path / "none",
        capsys=capsys,
        allow_exec=frozenset({"gpg", "gpg2"}) if gpg else frozenset(),
    )
    # Without inspections a layout that has them cannot pass; otherwise the
    # verdict is the reference's.
    if entry["exit_code"] == 1:
        assert code == 1


_UPSTREAM = CORPUS / "attestation-verifier"


def _upstream() -> list[Any]:
    cases = [
        pytest.param(["layout.yml"], ["test-data"], None, id="layout"),
        pytest.param(["layout-npm.yml"], ["test-data-npm"], "npm-sigstore.json", id="layout-npm"),
    ]
    return cases if _UPSTREAM.is_dir() else []


@pytest.mark.parametrize(("layout", "data", "params"), _upstream())
def test_upstream_attestation_verifier_layouts_have_no_side_effects(
    layout: list[str],
    data: list[str],
    params: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["verify", str(_UPSTREAM / "layouts" / layout[0]), "--unsigned-layout", "--at", AT]
    for folder in data:
        argv += ["--attestations", str(_UPSTREAM / folder)]
    if params is not None:
        argv += ["--params-file", str(_UPSTREAM / "parameters" / params)]
    argv += ["--no-subject", "--format", "sarif"]
    assert _run_armed(argv, allowed_output=tmp_path / "none", capsys=capsys) == 0


@pytest.mark.skipif(not (SCENARIOS / "index.json").is_file(), reason="shared corpus not present")
def test_the_hook_sees_an_inspection_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The harness can fail: with --run-inspections a classic layout does run a command."""
    root = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "pass_single_signed", root)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    argv = ["verify", str(root / "root.layout"), "--attestations", str(root)]
    argv += ["--layout-key", str(root / "keys" / "rsa_public.pem")]
    argv += ["--run-inspections", "--workdir", str(root)]
    with pytest.raises(AssertionError):
        _run_armed(argv, allowed_output=tmp_path / "none", capsys=capsys)
    assert any("subprocess.Popen" in seen or "os.posix_spawn" in seen for seen in _SEEN)
