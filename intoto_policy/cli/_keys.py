"""The ``keygen`` command."""

from __future__ import annotations

import argparse
import os
import sys

from .._errors import InputError
from ..sources._outputs import write_new_file
from ._common import EXIT_OK, _env_passphrase, _safe, _write_out, subcommand


def _keygen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--type",
        required=True,
        choices=("ed25519", "ecdsa", "rsa"),
        help="ed25519, ecdsa (P-256) or rsa (3072-bit, RSASSA-PSS-SHA256)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="NAME",
        help="write the private key to NAME (mode 0600), the public key to NAME.pub",
    )
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="encrypt the private key with the passphrase in env variable VAR",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


@subcommand("keygen", help="generate a signing key pair", arguments=_keygen_arguments)
def _keygen(args: argparse.Namespace) -> int:
    private_path: str = args.out
    public_path = private_path + ".pub"
    passphrase = _env_passphrase(args.passphrase_env) if args.passphrase_env else None
    if not args.force:
        for path in (private_path, public_path):
            if os.path.lexists(path):  # a dangling link counts too
                raise InputError("file exists (use --force to overwrite)", source=path)
    from ..crypto._keys import generate_private_key  # noqa: PLC0415

    key = generate_private_key(args.type)
    write_new_file(private_path, key.private_pem(passphrase), mode=0o600, overwrite=args.force)
    write_new_file(public_path, key.public_pem(), mode=0o644, overwrite=args.force)
    _write_out(
        sys.stdout,
        f"wrote {_safe(private_path)} and {_safe(public_path)}\n"
        f"keyid {key.keyid} ({key.public_key.scheme})\n",
    )
    return EXIT_OK
