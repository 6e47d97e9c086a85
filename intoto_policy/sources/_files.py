"""The file edge: every byte the CLI reads from or writes to a user's file.

Operating-system failures (a missing file, a permission problem, a
directory where a file was expected) become :class:`~intoto_policy.InputError`
naming the file here, where the file is touched, so no caller needs a broad
``except``. Sizes are checked before content is read in full.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final

from .._errors import InputError, IntotoPolicyError, JSONError, KeyFormatError, ValidationError
from ..crypto._keys import (
    PrivateKey,
    PublicKey,
    load_private_key_pem,
    load_public_key_pem,
    private_key_from_dict,
    public_key_from_dict,
)
from ..model._digests import DigestSet
from ..model._dsse import Envelope
from ..model._json import DEFAULT_LIMITS, JSONLimits, loads

__all__ = [
    "KEY_LIMITS",
    "EnvelopeEntry",
    "PassphraseSource",
    "append_line",
    "hash_file",
    "load_envelopes",
    "load_private_key_file",
    "load_public_key_file",
    "open_regular",
    "read_file",
    "refuse_overwriting_inputs",
    "write_file",
    "write_new_file",
]

#: Bounds for key files: no real key file is anywhere near a megabyte.
KEY_LIMITS: Final = JSONLimits(max_bytes=1024 * 1024, max_depth=8)

#: A passphrase, or a function that supplies one when (and only when) the
#: key turns out to be encrypted.
PassphraseSource = bytes | Callable[[], bytes] | None

#: One entry of :func:`load_envelopes`: the envelope (``None`` when the
#: entry could not be used), where it came from (``FILE`` or ``FILE:LINE``)
#: and why it was skipped (``""`` for a usable envelope).
EnvelopeEntry = tuple[Envelope | None, str, str]

_CHUNK: Final = 1024 * 1024


def _os_problem(verb: str, exc: OSError) -> str:
    return f"cannot {verb}: {exc.strerror or exc}"


def open_regular(name: str) -> int:
    """Open ``name`` for reading, refusing anything that is not a regular file.

    Named pipes, sockets and devices would block forever or never end, so
    they are refused. The file is opened with ``O_NONBLOCK`` (so opening a
    FIFO with no writer returns at once) and checked with ``fstat`` on the
    opened descriptor, so a swap between a check and the open cannot
    smuggle in a different kind of file.

    Returns:
        An open file descriptor (the caller closes it).

    Raises:
        InputError: The path cannot be opened or is not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing
            raise InputError(
                "cannot read: not a regular file (a socket or device)", source=name
            ) from None
        raise InputError(_os_problem("read", exc), source=name) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"cannot read: not a regular file ({_file_kind(mode)})", source=name)  # noqa: TRY301
        # Back to blocking reads: a regular file never blocks anyway.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def read_file(path: str | os.PathLike[str], limits: JSONLimits = DEFAULT_LIMITS) -> bytes:
    """Read a whole regular file, refusing files larger than ``limits.max_bytes``.

    The size is checked from the open file's metadata before anything is read,
    and again while reading (for files that grow). Pipes, sockets and devices
    are refused (see :func:`open_regular`).

    Args:
        path: The file.
        limits: ``max_bytes`` bounds the size.

    Returns:
        The file's bytes.

    Raises:
        InputError: The file cannot be opened or read, is not a regular
            file, or is too large.
    """
    name = os.fspath(path)
    fd = open_regular(name)
    try:
        with os.fdopen(fd, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.max_bytes:
                raise InputError(
                    f"file is {size} bytes, above the limit of {limits.max_bytes}", source=name
                )
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise InputError(_os_problem("read", exc), source=name) from None
    if len(data) > limits.max_bytes:
        raise InputError(f"file is above the limit of {limits.max_bytes} bytes", source=name)
    return data


def hash_file(path: str | os.PathLike[str], algorithms: tuple[str, ...] = ("sha256",)) -> DigestSet:
    """The DigestSet of a regular file, read in chunks (artifacts may be large).

    Args:
        path: The file.
        algorithms: hashlib names to compute (default sha256 only).

    Raises:
        InputError: The file cannot be opened or read, or is not a regular file.
    """
    name = os.fspath(path)
    digests = {alg: hashlib.new(alg) for alg in algorithms}
    fd = open_regular(name)
    try:
        with os.fdopen(fd, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                for digest in digests.values():
                    digest.update(chunk)
    except OSError as exc:
        raise InputError(_os_problem("read", exc), source=name) from None
    return DigestSet({alg: d.hexdigest() for alg, d in digests.items()})


def _is_json(data: bytes) -> bool:
    return data.lstrip(b" \t\r\n").startswith(b"{")


def load_public_key_file(path: str | os.PathLike[str]) -> PublicKey:
    """Load a public key from a PEM file or a JSON key dict, whichever it is.

    A PEM key gets the securesystemslib key id; a JSON key dict keeps its own
    ``keyid``/``keyID`` when it has one. Both the snake_case securesystemslib
    form and the camelCase attestation-layout form are accepted.

    Raises:
        InputError: The file cannot be read.
        JSONError: The file looks like JSON but is not acceptable JSON.
        KeyFormatError: The content is not a supported public key.
    """
    name = os.fspath(path)
    data = read_file(name, KEY_LIMITS)
    try:
        if _is_json(data):
            return public_key_from_dict(loads(data, source=name, limits=KEY_LIMITS))
        if b"-----BEGIN" in data:
            return load_public_key_pem(data, source=name)
    except IntotoPolicyError as exc:
        raise exc.with_source(name) from None
    raise KeyFormatError("not a PEM public key or a JSON key dict", source=name)


def _pem_is_encrypted(data: bytes) -> bool:
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data


def load_private_key_file(
    path: str | os.PathLike[str], passphrase: PassphraseSource = None
) -> PrivateKey:
    """Load a private key from a PEM file or a securesystemslib JSON key dict.

    Args:
        path: The key file.
        passphrase: The passphrase of an encrypted PEM key, or a function
            that returns it; the function is called only when the key is
            encrypted, so a caller can prompt lazily.

    Returns:
        The signing key.

    Raises:
        InputError: The file cannot be read (or the passphrase function
            could not supply a passphrase).
        JSONError: The file looks like JSON but is not acceptable JSON.
        KeyFormatError: The content is not a supported private key, or it is
            encrypted and no passphrase was given.
        SigningError: The passphrase is wrong.
    """
    name = os.fspath(path)
    data = read_file(name, KEY_LIMITS)
    if _is_json(data):
        doc = loads(data, source=name, limits=KEY_LIMITS)
        try:
            return private_key_from_dict(doc, source=name)
        except IntotoPolicyError as exc:
            raise exc.with_source(name) from None
    if b"-----BEGIN" not in data:
        raise KeyFormatError("not a PEM private key or a JSON key dict", source=name)
    secret: bytes | None = None
    if _pem_is_encrypted(data):
        secret = passphrase() if callable(passphrase) else passphrase
    elif isinstance(passphrase, bytes):
        secret = passphrase
    return load_private_key_pem(data, passphrase=secret, source=name)


def _entry(data: bytes, limits: JSONLimits) -> tuple[Envelope | None, str, str]:
    """Parse one document: (envelope or None, reason, "object"/"other"/"invalid")."""
    try:
        doc = loads(data, limits=limits)
    except JSONError as exc:
        return None, exc.problem, "invalid"
    kind = "object" if isinstance(doc, dict) else "other"
    try:
        return Envelope.from_dict(doc), "", kind
    except ValidationError as exc:
        return None, exc.problem, kind


def load_envelopes(
    path: str | os.PathLike[str], limits: JSONLimits = DEFAULT_LIMITS
) -> list[EnvelopeEntry]:
    """Load the DSSE envelopes of a file: one envelope JSON, or a JSON Lines bundle.

    A file that is one JSON document is one entry located at ``FILE``.
    Otherwise, if it has several non-blank lines and at least one of them is
    a JSON object on its own, it is read as JSON Lines: every non-blank line
    is an entry located at ``FILE:LINE`` (1-based); a line that is not
    acceptable JSON or not a DSSE envelope becomes an entry with no envelope
    and the reason. Each line is judged on its own, and the choice between
    the two readings does not depend on the order of lines. A file that is
    neither is one entry with no envelope and the reason.

    Args:
        path: The file.
        limits: Bounds on the file size and on each document.

    Returns:
        ``(envelope or None, location, reason)`` per entry, in file order.

    Raises:
        InputError: The file cannot be read or is too large.
    """
    name = os.fspath(path)
    data = read_file(name, limits)
    envelope, reason, kind = _entry(data, limits)
    if kind != "invalid":
        return [(envelope, name, reason)]
    lines = [
        (number, line.rstrip(b"\r"))
        for number, line in enumerate(data.split(b"\n"), start=1)
        if line.strip()
    ]
    parsed = [(number, *_entry(line, limits)) for number, line in lines]
    if len(parsed) < 2 or all(line_kind != "object" for *_, line_kind in parsed):
        return [(None, name, reason)]
    return [(env, f"{name}:{number}", why) for number, env, why, _ in parsed]


def _fsync_write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


#: What ``_output_kind`` says of a symbolic link to a device or FIFO.
_LINK_TO_STREAM: Final = stat.S_IFLNK


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
    """Append one line to a JSON Lines file, creating the file if needed.

    A newline is added first when the file does not end with one, so the new
    line never fuses with a truncated last line.

    Raises:
        InputError: The file cannot be opened or written.
    """
    name = os.fspath(path)
    if b"\n" in line.rstrip(b"\n"):
        raise InputError("a JSON Lines entry must be one line", source=name)
    payload = line.rstrip(b"\n") + b"\n"
    if _output_kind(name) not in (None, stat.S_IFREG):
        raise InputError("can only append to a regular JSON Lines file", source=name)
    try:
        fd = os.open(name, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError("can only append to a regular JSON Lines file", source=name)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload
            _fsync_write(fd, payload)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(_os_problem("append to", exc), source=name) from None
