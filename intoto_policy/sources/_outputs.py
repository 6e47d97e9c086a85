"""Writing outputs (reports, keys, fetched evidence, TUF metadata): new files
atomically, never over an input, through links to devices and FIFOs only.
Verification never writes; commands and the TUF repository tools do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .._errors import InputError
from ._files import _LINK_TO_STREAM, _file_kind, _os_problem

__all__ = [
    "LineAppender",
    "append_line",
    "refuse_overwriting_inputs",
    "write_file",
    "write_new_file",
]


def _fsync_write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _output_kind(name: str) -> int | None:
    """The file type of an output target (``None`` when it does not exist).

    A symbolic link to a regular file (or a dangling one) is refused rather
    than followed or replaced: replacing it would silently leave its target
    stale, and following it would let a planted link redirect a write. A
    link to a device or FIFO (``/dev/stdout``) is written through. Sockets, directories and block devices
    are refused too; character devices and FIFOs are written straight into,
    since renaming a temporary file over them would replace the device node
    or pipe itself (as root, ``--output /dev/null`` would break the machine).

    Raises:
        InputError: The target is a symbolic link or a kind of file that
            cannot take an output.
    """
    try:
        mode = os.lstat(name).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(_os_problem("write", exc), source=name) from None
    if stat.S_ISLNK(mode):
        # A link to a device or pipe (``/dev/stdout`` is one) is written
        # through; a link to a file, or a dangling one, is refused.
        try:
            mode = os.stat(name).st_mode  # noqa: PTH116 - follows the link on purpose
        except OSError:
            mode = 0
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return _LINK_TO_STREAM
        raise InputError("is a symbolic link; name the file it points to instead", source=name)
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return stat.S_IFMT(mode)
    raise InputError(f"cannot write to {_file_kind(mode)}", source=name)


def _write_stream(name: str, data: bytes, *, follow: bool = False) -> None:
    """Write into an existing character device or FIFO, never replacing it."""
    # No O_CREAT or O_TRUNC: the node exists and stays what it is. O_NOFOLLOW
    # closes the window between the lstat above and this open, except for a
    # link already seen to point at a device or pipe (the fstat below checks
    # what was opened).
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(name, flags if follow else flags | os.O_NOFOLLOW)
    try:
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(kind) or stat.S_ISFIFO(kind)):
            raise InputError("changed while it was being opened", source=name)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_new_file(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, overwrite: bool = False
) -> None:
    """Write an output file, atomically where it is (or will be) a regular file.

    For a regular file or a new path the content goes to a temporary file in
    the same directory, created with mode 0600 (so a private key is never
    readable by others, not even briefly), set to ``mode``, then moved into
    place: with ``overwrite`` by an atomic rename, without it by a hard link
    that fails if the target already exists (so an existing file is never
    clobbered, even in a race). A character device or FIFO is written
    straight into (it is not a file that could be clobbered); a symbolic
    link, directory, socket or block device is refused.

    Args:
        path: The target file.
        data: Its content.
        mode: Its permission bits.
        overwrite: Replace an existing regular file.

    Raises:
        InputError: The target exists (and ``overwrite`` is false), is not a
            regular file, device or FIFO, or the file cannot be written.
    """
    name = os.fspath(path)
    target = Path(name)
    directory = target.parent
    tmp_name: str | None = None
    try:
        kind = _output_kind(name)
        if kind is not None and kind != stat.S_IFREG:
            _write_stream(name, data, follow=kind == _LINK_TO_STREAM)
            return
        import tempfile  # noqa: PLC0415 - only writing needs it

        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, mode)
            _fsync_write(fd, data)
        finally:
            os.close(fd)
        if overwrite:
            # A symlink or device planted since the check above would be
            # replaced by the rename: check again right before it.
            if _output_kind(name) not in (None, stat.S_IFREG):
                raise InputError("changed while it was being written", source=name)
            Path(tmp_name).replace(target)
        else:
            try:
                os.link(tmp_name, name)
            except FileExistsError:
                raise InputError("file exists (use --force to overwrite)", source=name) from None
            Path(tmp_name).unlink()
        tmp_name = None
    except OSError as exc:
        raise InputError(_os_problem("write", exc), source=name) from None
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)


def refuse_overwriting_inputs(
    output: str | os.PathLike[str], inputs: list[str | os.PathLike[str]]
) -> None:
    """Refuse an output that is one of the inputs (or a file inside an input folder).

    Files are compared by device and inode, so a second name, a hard link or
    a relative spelling of an input is caught as well.

    Raises:
        InputError: The output names an input.
    """
    name = os.fspath(output)
    try:
        out = Path(name).stat()
    except OSError:
        return  # does not exist (yet): it cannot be an input
    if not stat.S_ISREG(out.st_mode):
        return
    wanted = (out.st_dev, out.st_ino)
    for item in inputs:
        try:
            info = Path(item).stat()
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == wanted:
            raise InputError(
                f"is an input ({os.fspath(item)}); refusing to overwrite it", source=name
            )
        if stat.S_ISDIR(info.st_mode) and os.path.commonpath(
            [os.path.realpath(item), os.path.realpath(name)]
        ) == os.path.realpath(item):
            raise InputError(
                f"lies in the input folder {os.fspath(item)}; refusing to overwrite evidence",
                source=name,
            )


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write (or atomically replace) a world-readable output file.

    Raises:
        InputError: The file cannot be written.
    """
    write_new_file(path, data, mode=0o644, overwrite=True)


def append_line(path: str | os.PathLike[str], line: bytes) -> None:
    """Append one line to a JSON Lines file, creating the file if needed, durably.

    A newline is added first when the file does not end with one, so the new
    line never fuses with a truncated last line.

    Raises:
        InputError: The file cannot be opened or written, or ``line`` holds
            a newline before its end (checked before the file is touched).
    """
    _check_line(line, os.fspath(path))
    with LineAppender(path) as out:
        out.append(line)


def _check_line(line: bytes, name: str) -> None:
    if b"\n" in line.rstrip(b"\n"):
        raise InputError("a JSON Lines entry must be one line", source=name)


class LineAppender:
    """Appends lines to one JSON Lines file, opened once (``with LineAppender(path) as out``).

    Each line reaches the operating system when appended (a killed process
    loses nothing it appended); the file is synced to disk every
    ``sync_every`` lines and when closed, not after every line: an fsync per
    line cost more than the audits of a 10,000-subject batch
    (bench/README.md, issue #14). A machine crash can lose the lines since
    the last sync; a resumed audit redoes those subjects.

    The file is created if needed (never through a symbolic link) and must
    be a regular file; a newline is added first when it does not end with
    one, so the first new line never fuses with a truncated last line.

    Raises:
        InputError: The file cannot be opened, written or synced, or is not
            a regular file; a line holds a newline before its end.
    """

    def __init__(self, path: str | os.PathLike[str], *, sync_every: int = 256) -> None:
        self._name = os.fspath(path)
        self._sync_every = sync_every
        self._unsynced = 0
        self._fd: int | None = None

    def __enter__(self) -> LineAppender:
        name = self._name
        if _output_kind(name) not in (None, stat.S_IFREG):
            raise InputError("can only append to a regular JSON Lines file", source=name)
        try:
            self._fd = os.open(name, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise InputError("can only append to a regular JSON Lines file", source=name)  # noqa: TRY301
            size = os.fstat(self._fd).st_size
            if size and os.pread(self._fd, 1, size - 1) != b"\n":
                self._write(b"\n")
        except BaseException as exc:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if isinstance(exc, OSError):
                raise InputError(_os_problem("append to", exc), source=name) from None
            raise
        return self

    def append(self, line: bytes) -> None:
        """Append ``line`` (its trailing newline optional).

        Raises:
            InputError: The line holds a newline before its end, or writing fails.
        """
        _check_line(line, self._name)
        try:
            self._write(line.rstrip(b"\n") + b"\n")
            self._unsynced += 1
            if self._unsynced >= self._sync_every:
                self._sync()
        except OSError as exc:
            raise InputError(_os_problem("append to", exc), source=self._name) from None

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc_type is None:  # an error already on its way wins
                raise InputError(_os_problem("append to", exc), source=self._name) from None
        finally:
            os.close(fd)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise InputError("appended to outside its with block", source=self._name)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
        self._unsynced = 0
