"""Reading refuses pipes, sockets and devices instead of blocking forever (issue #9)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from intoto_policy import InputError
from intoto_policy.model._json import JSONLimits
from intoto_policy.sources._files import hash_file, read_file


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.json"
    os.mkfifo(path)
    return path


def _symlink_to_fifo(tmp: Path) -> Path:
    link = tmp / "link.json"
    link.symlink_to(_fifo(tmp))
    return link


def _socket(tmp: Path) -> Path:
    path = tmp / "s.json"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fspath(path))
    sock.close()
    return path


def _directory(tmp: Path) -> Path:
    return tmp


@pytest.mark.parametrize(
    "make",
    [_fifo, _symlink_to_fifo, _socket, _directory],
    ids=["fifo", "symlink-to-fifo", "unix-socket", "directory"],
)
@pytest.mark.parametrize("reader", [read_file, hash_file], ids=["read_file", "hash_file"])
def test_non_regular_file_is_refused(
    tmp_path: Path, make: Callable[[Path], Path], reader: Callable[[Path], object]
) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError) as info:
        reader(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_dev_null_is_refused() -> None:
    with pytest.raises(InputError, match="not a regular file"):
        read_file("/dev/null")


# Regular files whose size in their metadata is not what reading gives: the
# buffer is sized by the metadata, and reading goes on up to the limit.
@pytest.mark.parametrize(
    ("limit", "whole"),
    [(1024 * 1024, True), (16, False)],
    ids=["within the limit", "above the limit"],
)
def test_file_larger_than_its_stat_size_is_read_to_the_limit(limit: int, whole: bool) -> None:
    path = Path("/proc/self/status")  # a regular file whose st_size is 0
    if not path.is_file() or path.stat().st_size != 0:
        pytest.skip("needs Linux /proc (regular files of size 0 with content)")
    limits = JSONLimits(max_bytes=limit, max_depth=8)
    if whole:
        assert read_file(path, limits).startswith(b"Name:")
    else:
        with pytest.raises(InputError, match="above the limit of 16 bytes"):
            read_file(path, limits)
