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
from typing import TYPE_CHECKING, Final

from .._errors import InputError, IntotoPolicyError, JSONError, KeyFormatError, ValidationError
from ..model._digests import DigestSet
from ..model._json import DEFAULT_LIMITS, JSONLimits, loads

if TYPE_CHECKING:  # loaded where used: reading a file needs neither keys nor envelopes
    from ..crypto._keys import PrivateKey, PublicKey
    from ..model._dsse import Envelope

__all__ = [
    "KEY_LIMITS",
    "EnvelopeEntry",
    "PassphraseSource",
    "hash_file",
    "load_envelopes",
    "load_private_key_file",
    "load_public_key_file",
    "open_regular",
    "read_file",
]

#: Bounds for key files: no real key file is anywhere near a megabyte.
KEY_LIMITS: Final = JSONLimits(max_bytes=1024 * 1024, max_depth=8)

#: A passphrase, or a function that supplies one when (and only when) the
#: key turns out to be encrypted.
PassphraseSource = bytes | Callable[[], bytes] | None

#: One entry of :func:`load_envelopes`: the envelope (``None`` when the
#: entry could not be used), where it came from (``FILE`` or ``FILE:LINE``)
#: and why it was skipped (``""`` for a usable envelope).
EnvelopeEntry = tuple["Envelope | None", str, str]

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
            # Sized by the file (a buffer of max_bytes would be mapped afresh
            # for every file); a file that grew meanwhile is read on, to the bound.
            data = fh.read(size + 1)
            if len(data) > size:
                data += fh.read(limits.max_bytes + 1 - len(data))
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
    from ..crypto._keys import load_public_key_pem, public_key_from_dict  # noqa: PLC0415

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
    from ..crypto._keys import load_private_key_pem, private_key_from_dict  # noqa: PLC0415

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
    from ..model._dsse import Envelope  # noqa: PLC0415

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


#: What ``_output_kind`` says of a symbolic link to a device or FIFO.
_LINK_TO_STREAM: Final = stat.S_IFLNK
