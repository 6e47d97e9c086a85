"""Recording an inspection's artifacts: symlinked folders followed, loops bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intoto_policy.classic._inspect import record_artifacts


def _tree(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "src" / "deep").mkdir(parents=True)
    (work / "src" / "a.txt").write_text("a")
    (work / "src" / "deep" / "b.txt").write_text("b")
    return work


def _self_loop(work: Path) -> None:
    (work / "src" / "loop").symlink_to("..")


def _mutual_loop(work: Path) -> None:
    (work / "x").mkdir()
    (work / "y").mkdir()
    (work / "x" / "to-y").symlink_to("../y")
    (work / "y" / "to-x").symlink_to("../x")


def _root_loop(work: Path) -> None:
    (work / "src" / "deep" / "up").symlink_to(work)


@pytest.mark.parametrize(
    "make", [_self_loop, _mutual_loop, _root_loop], ids=["parent-loop", "mutual-loop", "root-loop"]
)
def test_symlink_loops_end(make: object, tmp_path: Path) -> None:
    work = _tree(tmp_path)
    make(work)  # type: ignore[operator]
    recorded = record_artifacts(work)
    assert {"src/a.txt", "src/deep/b.txt"} <= set(recorded)
    assert all(len(Path(name).parts) < 12 for name in recorded)


def test_two_links_to_one_folder_are_both_recorded_like_in_toto(tmp_path: Path) -> None:
    runlib = pytest.importorskip("in_toto.runlib")
    work = _tree(tmp_path)
    (work / "one").symlink_to("src")
    (work / "two").symlink_to("src")
    ours = record_artifacts(work)
    cwd = Path.cwd()
    os.chdir(work)
    try:
        theirs = runlib.record_artifacts_as_dict(["."], follow_symlink_dirs=True)
    finally:
        os.chdir(cwd)
    assert {"one/a.txt", "two/deep/b.txt"} <= set(ours)
    assert set(ours) == set(theirs)
    assert all(ours[k]["sha256"] == theirs[k]["sha256"] for k in ours)
