"""JSON Lines appends: each line reaches the OS at once, the disk every few hundred lines.

``sources._outputs.LineAppender`` is what ``audit --output`` writes through;
``append_line`` (``attest --append``) is one line through it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intoto_policy import InputError
from intoto_policy.sources import _outputs
from intoto_policy.sources._outputs import LineAppender, append_line


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(_outputs.os, "fsync", counting)
    return calls


@pytest.mark.parametrize(
    ("lines", "every", "expected"),
    [(0, 3, 1), (2, 3, 1), (3, 3, 2), (7, 3, 3), (256, 256, 2), (1000, 256, 4)],
    ids=["none", "under", "exactly-one-batch", "two-batches-and-close", "default", "many"],
)
def test_synced_every_n_lines_and_on_close(
    tmp_path: Path, fsyncs: list[int], lines: int, every: int, expected: int
) -> None:
    path = tmp_path / "out.jsonl"
    with LineAppender(path, sync_every=every) as out:
        for n in range(lines):
            out.append(b'{"n": %d}' % n)
    assert len(fsyncs) == expected
    assert path.read_bytes() == b"".join(b'{"n": %d}\n' % n for n in range(lines))


def test_each_line_is_visible_before_the_next_sync(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with LineAppender(path, sync_every=1000) as out:
        out.append(b"{}")
        # Another process (a resumed run, tail -f) sees it: nothing is buffered here.
        assert path.read_bytes() == b"{}\n"
        out.append(b"[]\n")
        assert path.read_bytes() == b"{}\n[]\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [(b"", b"{}\n"), (b"{}\n", b"{}\n{}\n"), (b'{"trunc', b'{"trunc\n{}\n')],
    ids=["empty", "ends-with-newline", "truncated-last-line"],
)
def test_a_truncated_last_line_is_closed_first(tmp_path: Path, before: bytes, after: bytes) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(before)
    with LineAppender(path) as out:
        out.append(b"{}")
    assert path.read_bytes() == after


def test_a_line_with_a_newline_inside_is_refused_before_the_file_is_made(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match="must be one line"):
        append_line(path, b"{}\n{}")
    assert not path.exists()
    with LineAppender(path) as out, pytest.raises(InputError, match="must be one line"):
        out.append(b"{}\n{}\n")
    assert path.read_bytes() == b""


def test_use_outside_the_with_block_is_an_error(tmp_path: Path) -> None:
    out = LineAppender(tmp_path / "out.jsonl")
    with pytest.raises(InputError, match="outside its with block"):
        out.append(b"{}")


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_only_regular_files_are_appended_to(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target.jsonl"
    target.write_bytes(b"")
    path = tmp_path / "out.jsonl"
    if kind == "symlink":
        path.symlink_to(target)
    else:
        path.mkdir()
    with pytest.raises(InputError), LineAppender(path):
        pass
