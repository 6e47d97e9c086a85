"""What every command shares: exit codes, the subcommand registry, the one
clock read (:func:`now`), the one error printer, passphrases, output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TextIO

from .._errors import InputError, KeyFormatError, ParameterError, UsageError
from ..sources._files import (
    load_private_key_file,
    read_file,
)

if TYPE_CHECKING:  # keys load when a command reads one
    from ..crypto._keys import PrivateKey

__all__ = [
    "EXIT_FAILED",
    "EXIT_INPUT",
    "EXIT_OK",
    "PROG",
    "Configure",
    "Handler",
    "now",
    "subcommand",
]


PROG: Final = "intoto-policy"


EXIT_OK: Final = 0


EXIT_FAILED: Final = 1


EXIT_INPUT: Final = 2


Handler = Callable[[argparse.Namespace], int]


Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True, slots=True)
class _Subcommand:
    words: tuple[str, ...]
    help: str
    configure: Configure
    run: Handler


_REGISTRY: list[_Subcommand] = []


def subcommand(name: str, *, help: str, arguments: Configure) -> Callable[[Handler], Handler]:  # noqa: A002
    """Register a subcommand.

    Args:
        name: Its words, space-separated (``"layout sign"`` nests ``sign``
            under ``layout``).
        help: One line for ``--help``.
        arguments: Adds the subcommand's arguments to its parser.

    Returns:
        A decorator for the function that runs the subcommand and returns
        its exit code.
    """

    def register(run: Handler) -> Handler:
        _REGISTRY.append(_Subcommand(tuple(name.split()), help, arguments, run))
        return run

    return register


def now() -> datetime:
    """The current time: the CLI's one clock read, passed to the library as ``at``."""
    return datetime.now(UTC)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _safe(text: str) -> str:
    """Untrusted text made safe for a terminal (no control characters)."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: {_safe(_one_line(message))}\n")
    sys.stderr.flush()


def _env_passphrase(var: str) -> bytes:
    value = os.environ.get(var)
    if value is None:
        raise InputError(f"environment variable {var} is not set", source="--passphrase-env")
    if not value:
        raise InputError(f"environment variable {var} is empty", source="--passphrase-env")
    return value.encode("utf-8")


def _passphrase_source(var: str | None, key_path: str) -> Callable[[], bytes]:
    def supply() -> bytes:
        if var is not None:
            return _env_passphrase(var)
        if sys.stdin is not None and sys.stdin.isatty():
            import getpass  # noqa: PLC0415 - only to prompt

            return getpass.getpass(f"Passphrase for {key_path}: ").encode("utf-8")
        raise InputError(
            "private key is encrypted: give --passphrase-env VAR (no terminal to prompt on)",
            source=key_path,
        )

    return supply


def _dump_line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _write_out(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _add_parameter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        type=_param,
        metavar="NAME=VALUE",
        help="a layout parameter (repeatable)",
    )
    parser.add_argument("--params-file", metavar="FILE", help="JSON object of layout parameters")


def _params(args: argparse.Namespace) -> dict[str, str]:
    from ..model._json import PARAMS_LIMITS, loads  # noqa: PLC0415
    from ..policy._layout import check_params_shape  # noqa: PLC0415

    merged: dict[str, str] = {}
    if args.params_file:
        doc = loads(
            read_file(args.params_file, PARAMS_LIMITS),
            source=args.params_file,
            limits=PARAMS_LIMITS,
        )
        if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
            raise ParameterError(
                "a params file must be a JSON object of string values", source=args.params_file
            )
        merged.update(doc)
    merged.update(check_params_shape(args.param or []))
    return merged


def _at(text: str | None) -> datetime:
    if text is None:
        return now()
    from ..model._time import parse_rfc3339  # noqa: PLC0415

    try:
        return parse_rfc3339(text)
    except InputError as exc:
        raise UsageError(f"--at: {exc.problem}") from None


#: The shortest RSA key this tool signs with (NIST SP 800-131A: 2048 bits).
MIN_RSA_BITS: Final = 2048


def _refuse_weak(path: str, key: PrivateKey) -> None:
    """Refuse to sign with an RSA key under :data:`MIN_RSA_BITS` bits.

    Raises:
        KeyFormatError: The key is RSA and too short.
    """
    if key.public_key.keytype != "rsa":
        return
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    public = serialization.load_pem_public_key(key.public_pem())
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise KeyFormatError(
            f"an RSA key of {public.key_size} bits is too weak to sign with "
            f"(at least {MIN_RSA_BITS} bits)",
            source=path,
        )


def _signing_keys(paths: Sequence[str], var: str | None) -> list[PrivateKey]:
    """Load private keys; a ``--passphrase-env`` that no key needs is refused.

    Raises:
        UsageError: ``var`` is given but none of the keys is encrypted (the
            passphrase would be ignored).
        KeyFormatError: An RSA key shorter than :data:`MIN_RSA_BITS`.
        IntotoPolicyError: A key cannot be loaded (see ``load_private_key_file``).
    """
    asked: list[str] = []

    def source(path: str) -> Callable[[], bytes]:
        supply = _passphrase_source(var, path)

        def tracked() -> bytes:
            asked.append(path)  # only encrypted keys ask
            return supply()

        return tracked

    keys = [load_private_key_file(path, source(path)) for path in paths]
    for path, key in zip(paths, keys, strict=True):
        _refuse_weak(path, key)
    if var is not None and not asked:
        which = "the key is" if len(paths) == 1 else f"none of the {len(paths)} keys is"
        raise UsageError(
            f"--passphrase-env given, but {which} encrypted (the passphrase would be ignored)",
            source=paths[0] if len(paths) == 1 else None,
        )
    return keys


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
