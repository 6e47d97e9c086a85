"""The ``attest`` command: sign an in-toto statement about files or digests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import InputError, IntotoPolicyError, UsageError
from ..model._digests import DigestSet
from ..model._json import loads
from ..sources._files import (
    hash_file,
    read_file,
)
from ..sources._outputs import append_line, write_file
from ._common import EXIT_OK, _dump_line, _safe, _signing_keys, _write_out, subcommand

if TYPE_CHECKING:  # the DSSE and statement models load when attest runs
    from ..model._statement import ResourceDescriptor


def _subject_file(text: str) -> tuple[str, str]:
    return ("file", text)


def _subject_digest(text: str) -> tuple[str, str]:
    return ("digest", text)


def _attest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predicate-type", required=True, metavar="URI")
    parser.add_argument(
        "--predicate", required=True, metavar="FILE", help="a JSON object: the predicate"
    )
    parser.add_argument(
        "--subject",
        dest="subjects",
        action="append",
        type=_subject_file,
        metavar="FILE",
        help="a subject file, hashed with sha256 (repeatable)",
    )
    parser.add_argument(
        "--subject-digest",
        dest="subjects",
        action="append",
        type=_subject_digest,
        metavar="NAME=ALG:HEX",
        help="a subject given by name and digest (repeatable)",
    )
    parser.add_argument(
        "--key",
        required=True,
        metavar="PRIVATE_KEY",
        help="PEM (PKCS#8, PKCS#1, SEC1) or securesystemslib JSON private key",
    )
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="passphrase of an encrypted key, from environment variable VAR",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="FILE", help="write the envelope to FILE")
    where.add_argument(
        "--append", metavar="BUNDLE", help="append the envelope to a JSON Lines bundle"
    )


def _parse_subject_digest(text: str) -> tuple[str, DigestSet]:
    name, eq, spec = text.rpartition("=")
    alg, colon, value = spec.partition(":")
    if not eq or not name or not colon or not alg or not value:
        raise InputError(f"expected NAME=ALG:HEX, got {text!r}", source="--subject-digest")
    try:
        return name, DigestSet({alg: value})
    except IntotoPolicyError as exc:
        raise InputError(exc.problem, source="--subject-digest") from None


def _is_utf8(text: str) -> bool:
    # A file name that is not UTF-8 reaches Python as lone surrogates.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _subjects(specs: Sequence[tuple[str, str]]) -> tuple[ResourceDescriptor, ...]:
    from ..model._statement import ResourceDescriptor  # noqa: PLC0415

    merged: dict[str, dict[str, str]] = {}
    for kind, text in specs:
        if kind == "file":
            name, digests = text, hash_file(text)
        else:
            name, digests = _parse_subject_digest(text)
        if not _is_utf8(name):
            raise InputError(f"subject name {_safe(name)!r} is not valid UTF-8", source="--subject")
        have = merged.setdefault(name, {})
        for alg, value in digests.items():
            if have.get(alg, value) != value:
                raise InputError(
                    f"subject {name!r} is given two different {alg} digests", source="--subject"
                )
            have[alg] = value
    return tuple(ResourceDescriptor(name=n, digest=DigestSet(d)) for n, d in merged.items())


def _refuse_non_jsonl(path: str) -> None:
    """An existing bundle must be JSON Lines before a line is added to it.

    Appending to a pretty-printed JSON document, or to any other file, would
    corrupt it (what was there would no longer parse). Every non-blank line
    must be a JSON object on its own (an envelope, a Sigstore bundle...).

    Raises:
        InputError: The file exists, is not empty, and some non-blank line is
            not a JSON object on its own.
    """
    import os  # noqa: PLC0415

    if not os.path.lexists(path):
        return  # append_line creates it
    from ..model._json import DEFAULT_LIMITS  # noqa: PLC0415

    data = read_file(path, DEFAULT_LIMITS)
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            value = loads(line, source=where, limits=DEFAULT_LIMITS)
        except IntotoPolicyError as exc:
            raise InputError(
                f"not JSON Lines (line {number}: {exc.problem}); refusing to append", source=path
            ) from None
        if not isinstance(value, dict):
            raise InputError(
                f"not JSON Lines (line {number} is not a JSON object); refusing to append",
                source=path,
            )


@subcommand(
    "attest", help="sign an in-toto Statement into a DSSE envelope", arguments=_attest_arguments
)
def _attest(args: argparse.Namespace) -> int:
    from ..model._dsse import INTOTO_PAYLOAD_TYPE, Envelope  # noqa: PLC0415
    from ..model._statement import STATEMENT_V1, Statement  # noqa: PLC0415

    if not args.subjects:
        raise UsageError("give at least one --subject or --subject-digest", source="attest")
    if args.append:
        _refuse_non_jsonl(args.append)  # before any work, and before a passphrase prompt
    import urllib.parse  # noqa: PLC0415 - only attest parses URIs

    ptype: str = args.predicate_type
    if not urllib.parse.urlsplit(ptype).scheme or any(ch.isspace() for ch in ptype):
        raise InputError(f"not a URI: {ptype!r}", source="--predicate-type")
    predicate = loads(read_file(args.predicate), source=args.predicate)
    if not isinstance(predicate, dict):
        raise InputError("the predicate must be a JSON object", source=args.predicate)
    statement = Statement(
        type=STATEMENT_V1,
        subject=_subjects(args.subjects),
        predicate_type=ptype,
        predicate=predicate,
    )
    (key,) = _signing_keys([args.key], args.passphrase_env)
    payload = _dump_line(statement.to_dict()).rstrip(b"\n")
    envelope = Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [key])
    line = _dump_line(envelope.to_dict())
    if args.append:
        append_line(args.append, line)
    elif args.out:
        write_file(args.out, line)
    else:
        _write_out(sys.stdout, line.decode("utf-8"))
    return EXIT_OK
