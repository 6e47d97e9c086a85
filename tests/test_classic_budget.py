"""Classic sublayouts: the total work of one verification is bounded (issue #9).

Depth (MAX_SUBLAYOUT_DEPTH) and loops were bounded, but not fan-out: one
functionary can sign a sublayout whose N steps each delegate to a sublayout
again, reaching N + N**2 + ... + N**8 sublayouts from a few files (link
folders are symlinks to the next level's folder). Each case must fail with
a reason, having verified no more than the budget allows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy import Report
from intoto_policy.classic import verify_classic
from intoto_policy.classic._verify import MAX_SUBLAYOUTS, MAX_TOTAL_STEPS
from tests.test_classic_unit import key, key_dict, layout, sign, step

AT = datetime(2025, 1, 1, tzinfo=UTC)
LEVELS = 9


def _fan_out(root: Path, width: int, *, hard_links: bool) -> Path:
    """A root layout whose one step bob fulfils with a sublayout of ``width``
    steps, each fulfilled by bob with the same sublayout again, every level
    deep. ``hard_links``: the sublayouts of one level are one file (inode);
    otherwise each is a copy of its own."""
    alice, bob = key("alice"), key("bob")
    k8 = bob.keyid[:8]
    (root / "root.layout").write_bytes(
        sign(layout([step("build", [bob.keyid])], {bob.keyid: key_dict(bob)}), [alice], "metablock")
    )
    sub = layout([step(f"s{i}", [bob.keyid]) for i in range(width)], {bob.keyid: key_dict(bob)})
    sub_bytes = sign(sub, [bob], "metablock")
    (root / f"build.{k8}.link").write_bytes(sub_bytes)
    levels = [root / f"L{d}" for d in range(1, LEVELS + 1)]
    for folder in levels:
        folder.mkdir()
    (root / f"build.{k8}").symlink_to(levels[0])
    for k, folder in enumerate(levels[:-1]):
        master = folder / "master.layout"
        master.write_bytes(sub_bytes)
        for i in range(width):
            target = folder / f"s{i}.{k8}.link"
            if hard_links:
                os.link(master, target)
            else:
                target.write_bytes(sub_bytes)
            (folder / f"s{i}.{k8}").symlink_to(levels[k + 1])
    return root / "root.layout"


def _tree(root: Path, width: int, depth: int) -> Path:
    """The same shape with a real folder per sublayout and a copy of the
    sublayout per link: every (file, folder) pair differs, ``depth`` levels."""
    alice, bob = key("alice"), key("bob")
    k8 = bob.keyid[:8]
    (root / "root.layout").write_bytes(
        sign(layout([step("build", [bob.keyid])], {bob.keyid: key_dict(bob)}), [alice], "metablock")
    )
    sub = layout([step(f"s{i}", [bob.keyid]) for i in range(width)], {bob.keyid: key_dict(bob)})
    sub_bytes = sign(sub, [bob], "metablock")
    (root / f"build.{k8}.link").write_bytes(sub_bytes)
    level = [root / f"build.{k8}"]
    for _ in range(depth - 1):
        below = []
        for folder in level:
            folder.mkdir()
            for i in range(width):
                (folder / f"s{i}.{k8}.link").write_bytes(sub_bytes)
                below.append(folder / f"s{i}.{k8}")
        level = below
    return root / "root.layout"


def _sublayout_checks(report: Report) -> list[str]:
    # Nested steps are listed flat in the report (named parent/child).
    return [c.message for s in report.steps for c in s.checks if c.message.startswith("sublayout ")]


CASES = [
    # The reviewer's shape: each level's sublayouts are one file (hard
    # links) and their folders symlinks to one folder.
    pytest.param("hard-links", 3, "already verified in this run", id="same-pair-hard-links"),
    # Copies, folders still shared: the same file name in the same folder.
    pytest.param("copies", 3, "already verified in this run", id="same-pair-copies"),
    # Every pair differs (364 sublayouts of 3 steps): the sublayout budget.
    pytest.param("tree-3x6", 0, f"more than {MAX_SUBLAYOUTS} sublayouts", id="sublayout-budget"),
    # 101 sublayouts of 100 steps (10,101 steps with the root): the step budget.
    pytest.param("tree-100x2", 0, f"more than {MAX_TOTAL_STEPS} steps", id="step-budget"),
]


def _build(root: Path, shape: str, width: int) -> Path:
    if shape.startswith("tree-"):
        w, d = shape.removeprefix("tree-").split("x")
        return _tree(root, int(w), int(d))
    return _fan_out(root, width, hard_links=shape == "hard-links")


@pytest.mark.parametrize(("shape", "width", "reason"), CASES)
def test_sublayout_fan_out_is_bounded(tmp_path: Path, shape: str, width: int, reason: str) -> None:
    path = _build(tmp_path, shape, width)
    report = verify_classic(path, link_dir=tmp_path, at=AT, layout_keys=[key("alice").public_key])
    assert not report.passed
    messages = _sublayout_checks(report)
    assert any(reason in m for m in messages), messages[:5]
    followed = [m for m in messages if m.endswith((" verified", " failed verification"))]
    assert len(followed) <= MAX_SUBLAYOUTS
    assert len(report.steps) <= MAX_TOTAL_STEPS
