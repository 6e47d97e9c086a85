"""Output targets: atomic only onto regular files, straight into devices and
FIFOs, symbolic links and other node kinds refused, inputs never overwritten."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from intoto_policy._errors import InputError
from intoto_policy.sources._outputs import (
    append_line,
    refuse_overwriting_inputs,
    write_file,
    write_new_file,
)

WRITERS: list[tuple[str, Callable[[Path, bytes], None]]] = [
    ("write_file", write_file),
    ("write_new_file-force", lambda p, d: write_new_file(p, d, mode=0o600, overwrite=True)),
    ("write_new_file", lambda p, d: write_new_file(p, d, mode=0o600)),
    ("append_line", append_line),
]
WRITER_IDS = [name for name, _ in WRITERS]
WRITER_FUNCS = [func for _, func in WRITERS]


@pytest.mark.parametrize("writer", WRITER_FUNCS, ids=WRITER_IDS)
def test_new_path_is_created(writer: Callable[[Path, bytes], None], tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    writer(target, b"{}\n")
    assert target.read_bytes() == b"{}\n"
    assert stat.S_ISREG(target.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary left


def _symlink(tmp_path: Path) -> tuple[Path, Path]:
    real = tmp_path / "real.json"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    return link, real


def _dangling(tmp_path: Path) -> tuple[Path, Path]:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere.json")
    return link, tmp_path / "nowhere.json"


@pytest.mark.parametrize("make", [_symlink, _dangling], ids=["symlink", "dangling-symlink"])
@pytest.mark.parametrize("writer", WRITER_FUNCS, ids=WRITER_IDS)
def test_symlink_is_refused(
    writer: Callable[[Path, bytes], None],
    make: Callable[[Path], tuple[Path, Path]],
    tmp_path: Path,
) -> None:
    link, real = make(tmp_path)
    before = real.read_bytes() if real.exists() else None
    with pytest.raises(InputError, match="symbolic link") as info:
        writer(link, b"{}\n")
    assert "\n" not in str(info.value)
    assert link.is_symlink()  # the link is not replaced by a file
    assert (real.read_bytes() if real.exists() else None) == before


def _directory(tmp_path: Path) -> Path:
    target = tmp_path / "dir"
    target.mkdir()
    return target


def _socket(tmp_path: Path) -> Path:
    target = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fspath(target))
    sock.close()
    return target


@pytest.mark.parametrize("make", [_directory, _socket], ids=["directory", "unix-socket"])
@pytest.mark.parametrize("writer", WRITER_FUNCS, ids=WRITER_IDS)
def test_other_node_kinds_are_refused(
    writer: Callable[[Path, bytes], None], make: Callable[[Path], Path], tmp_path: Path
) -> None:
    target = make(tmp_path)
    kind = stat.S_IFMT(target.lstat().st_mode)
    with pytest.raises(InputError):
        writer(target, b"{}\n")
    assert stat.S_IFMT(target.lstat().st_mode) == kind


def _written_through(fifo: Path, target: Path, writer: Callable[[Path, bytes], None]) -> bytes:
    """Write ``target`` with ``writer`` while a thread reads ``fifo``; what it read."""
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    writer(target, b"report\n")
    reader.join(timeout=30)
    return b"".join(received)


@pytest.mark.parametrize("writer", WRITER_FUNCS[:3], ids=WRITER_IDS[:3])
def test_fifo_is_written_into_not_replaced(
    writer: Callable[[Path, bytes], None], tmp_path: Path
) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    assert _written_through(fifo, fifo, writer) == b"report\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_append_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="regular JSON Lines file"):
        append_line(fifo, b"{}")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
@pytest.mark.parametrize("writer", WRITER_FUNCS[:3], ids=WRITER_IDS[:3])
def test_character_device_is_written_into_not_replaced(
    writer: Callable[[Path, bytes], None], tmp_path: Path
) -> None:
    # Major 1, minor 3 is the null device: writing to this private node is
    # harmless, and the machine's own /dev/null is never touched.
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    writer(node, b"report\n")
    info = node.lstat()
    assert stat.S_ISCHR(info.st_mode)
    assert info.st_rdev == os.makedev(1, 3)


def test_regular_file_is_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    inode = target.stat().st_ino
    write_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != inode  # a rename, not an in-place rewrite


def test_existing_file_is_kept_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_bytes(b"secret")
    with pytest.raises(InputError, match="file exists"):
        write_new_file(target, b"other")
    assert target.read_bytes() == b"secret"


def _same(tmp_path: Path, inp: Path) -> Path:
    return inp


def _hardlink(tmp_path: Path, inp: Path) -> Path:
    other = tmp_path / "other-name.json"
    os.link(inp, other)
    return other


def _relative(tmp_path: Path, inp: Path) -> Path:
    return Path(os.path.relpath(inp))


def _in_folder(tmp_path: Path, inp: Path) -> Path:
    return inp.parent / "evidence" / "a.json"


@pytest.mark.parametrize(
    "spelling",
    [_same, _hardlink, _relative, _in_folder],
    ids=["same-path", "hard-link", "relative-path", "file-in-input-folder"],
)
def test_output_onto_an_input_is_refused(
    spelling: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    inp = tmp_path / "layout.json"
    inp.write_bytes(b"{}")
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.json").write_bytes(b"{}")
    with pytest.raises(InputError, match="input"):
        refuse_overwriting_inputs(spelling(tmp_path, inp), [inp, folder])


@pytest.mark.parametrize(
    "name", ["report.json", "evidence/new.json"], ids=["unrelated-file", "new-file-in-folder"]
)
def test_other_outputs_are_allowed(name: str, tmp_path: Path) -> None:
    inp = tmp_path / "layout.json"
    inp.write_bytes(b"{}")
    (tmp_path / "evidence").mkdir()
    (tmp_path / "report.json").write_bytes(b"old")
    refuse_overwriting_inputs(tmp_path / name, [inp, tmp_path / "evidence"])


@pytest.mark.parametrize("writer", WRITER_FUNCS[:3], ids=WRITER_IDS[:3])
def test_symlink_to_a_fifo_is_written_through(
    writer: Callable[[Path, bytes], None], tmp_path: Path
) -> None:
    # /dev/stdout is such a link (to /proc/self/fd/1): it must keep working.
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    assert _written_through(fifo, link, writer) == b"report\n"
    assert link.is_symlink()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
