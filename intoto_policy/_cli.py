"""The ``intoto-policy`` command line.

Subcommands live in a small registry: a subcommand is one function
decorated with :func:`subcommand`, which names it (``"keygen"``, or
``"layout sign"`` for a nested one), says how to add its arguments, and
runs it. Adding a subcommand touches nothing else in this module.

Exit codes, for every subcommand:

* 0: success.
* 1: a verification failure (for ``inspect --key``: some envelope has no
  signature that verifies under any given key).
* 2: bad input or usage, with a one-line ``intoto-policy: SOURCE: problem``
  on stderr (argparse's own usage errors also exit 2).

``inspect --format json`` prints one JSON object::

    {
      "format": "intoto-policy/inspect/v1",
      "keys": [                          # the --key files, in order
        {"source": PATH, "keyid": ID, "keytype": T, "scheme": S,
         "fingerprint": SHA256_OF_SPKI_DER}
      ],
      "envelopes": [                     # every usable envelope, in input order
        {"location": "FILE" or "FILE:LINE",
         "payloadType": STR,
         "statement": null or {"type": URI, "predicateType": URI,
                               "subjects": [{"name": STR or null,
                                             "digest": {ALG: HEX}}]},
         "statementError": null or STR,  # why the payload is not a Statement
         "signatures": [{"index": N, "keyid": STR,
                         "keys": [{"key": INDEX_INTO_keys, "verified": BOOL}]}],
         "verified": null (no --key) or BOOL}   # some signature verifies
      ],
      "skipped": [{"location": STR, "reason": STR}]   # entries that are not envelopes
    }
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, TextIO

from ._digests import DigestSet
from ._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from ._errors import InputError, IntotoPolicyError, UsageError
from ._files import (
    append_line,
    hash_file,
    load_envelopes,
    load_private_key_file,
    load_public_key_file,
    read_file,
    write_file,
    write_new_file,
)
from ._json import loads
from ._keys import PublicKey, generate_private_key
from ._statement import STATEMENT_V1, ResourceDescriptor, Statement

__all__ = ["main", "now", "subcommand"]

PROG: Final = "intoto-policy"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_INPUT: Final = 2

INSPECT_FORMAT: Final = "intoto-policy/inspect/v1"

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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        _error(f"{command}: {message} (see --help)" if command else f"{message} (see --help)")
        raise SystemExit(EXIT_INPUT)


def _build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the subcommand it names is built.

    Building every subcommand's parser costs milliseconds (argparse looks up
    translations for each message) and a subcommand's arguments may need
    imports, so when the command line names a known subcommand only its
    parsers are made. ``--help`` or an unknown command gets them all.
    """
    parser = _Parser(
        prog=PROG,
        description="Verify in-toto attestations against layouts.",
        epilog="Exit codes: 0 success, 1 verification failure, 2 bad input or usage.",
    )
    groups: dict[tuple[str, ...], Any] = {(): parser.add_subparsers(dest="command", required=True)}
    named = [cmd for cmd in _REGISTRY if argv and cmd.words[0] == argv[0]]
    for cmd in named or _REGISTRY:
        for depth in range(1, len(cmd.words)):
            prefix = cmd.words[:depth]
            if prefix not in groups:
                group = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                groups[prefix] = group.add_subparsers(dest=f"command_{depth}", required=True)
        sub = groups[cmd.words[:-1]].add_parser(cmd.words[-1], help=cmd.help, description=cmd.help)
        if argv is None or tuple(argv[: len(cmd.words)]) == cmd.words:
            cmd.configure(sub)
        sub.set_defaults(handler=cmd.run)
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``intoto-policy`` command line.

    Args:
        argv: The arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        The exit code: 0 success, 1 verification failure, 2 bad input or usage.
    """
    if argv is None:
        argv = sys.argv[1:]
    parser = _build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    handler: Handler = args.handler
    try:
        return handler(args)
    except IntotoPolicyError as exc:
        _error(str(exc))
        return EXIT_INPUT


# --------------------------------------------------------------------------
# Shared helpers


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


# --------------------------------------------------------------------------
# keygen


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
    key = generate_private_key(args.type)
    write_new_file(private_path, key.private_pem(passphrase), mode=0o600, overwrite=args.force)
    write_new_file(public_path, key.public_pem(), mode=0o644, overwrite=args.force)
    _write_out(
        sys.stdout,
        f"wrote {_safe(private_path)} and {_safe(public_path)}\n"
        f"keyid {key.keyid} ({key.public_key.scheme})\n",
    )
    return EXIT_OK


# --------------------------------------------------------------------------
# attest


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


@subcommand(
    "attest", help="sign an in-toto Statement into a DSSE envelope", arguments=_attest_arguments
)
def _attest(args: argparse.Namespace) -> int:
    if not args.subjects:
        raise UsageError("give at least one --subject or --subject-digest", source="attest")
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
    key = load_private_key_file(args.key, _passphrase_source(args.passphrase_env, args.key))
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


# --------------------------------------------------------------------------
# inspect


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a DSSE envelope (JSON) or a JSON Lines bundle of envelopes",
    )
    parser.add_argument(
        "--key",
        dest="keys",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a PEM or JSON public key to check signatures with (repeatable)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _describe_envelope(
    envelope: Envelope, location: str, keys: Sequence[PublicKey], check: bool
) -> dict[str, Any]:
    statement: dict[str, Any] | None = None
    error: str | None = None
    try:
        parsed = envelope.statement()
    except IntotoPolicyError as exc:
        error = exc.problem
    else:
        statement = {
            "type": parsed.type,
            "predicateType": parsed.predicate_type,
            "subjects": [
                {"name": s.name, "digest": s.digest.to_dict() if s.digest else {}}
                for s in parsed.subject
            ],
        }
    message = envelope.pae
    signatures = []
    any_verified = False
    for index, sig in enumerate(envelope.signatures):
        results = [
            {"key": i, "verified": key.verify(sig.sig, message)} for i, key in enumerate(keys)
        ]
        any_verified = any_verified or any(r["verified"] for r in results)
        signatures.append({"index": index, "keyid": sig.keyid, "keys": results})
    return {
        "location": location,
        "payloadType": envelope.payload_type,
        "statement": statement,
        "statementError": error,
        "signatures": signatures,
        "verified": any_verified if check else None,
    }


def _text_report(report: dict[str, Any], sources: Sequence[str]) -> str:
    lines: list[str] = []
    keys = report["keys"]
    for env in report["envelopes"]:
        lines.append(f"{_safe(env['location'])}:")
        lines.append(f"  payload type: {_safe(env['payloadType'])}")
        stmt = env["statement"]
        if stmt is None:
            lines.append(f"  not an in-toto Statement: {_safe(env['statementError'])}")
        else:
            lines.append(f"  statement type: {_safe(stmt['type'])}")
            lines.append(f"  predicate type: {_safe(stmt['predicateType'])}")
            lines.append(f"  subjects ({len(stmt['subjects'])}):")
            for sub in stmt["subjects"]:
                digests = " ".join(f"{_safe(a)}:{_safe(v)}" for a, v in sub["digest"].items())
                name = "<no name>" if sub["name"] is None else _safe(sub["name"])
                lines.append(f"    {name}  {digests}")
        lines.append(f"  signatures ({len(env['signatures'])}):")
        for sig in env["signatures"]:
            keyid = _safe(sig["keyid"]) if sig["keyid"] else "<no keyid>"
            lines.append(f"    [{sig['index']}] keyid {keyid}")
            for result in sig["keys"]:
                verdict = "verifies" if result["verified"] else "does not verify"
                key = keys[result["key"]]
                source = _safe(sources[result["key"]])
                lines.append(f"        {verdict} with {source} ({key['keyid']})")
        if env["verified"] is not None:
            verified = "yes" if env["verified"] else "NO (no signature verifies)"
            lines.append(f"  verified: {verified}")
    for skipped in report["skipped"]:
        lines.append(f"{_safe(skipped['location'])}: skipped: {_safe(skipped['reason'])}")
    return "\n".join(lines) + "\n"


@subcommand(
    "inspect",
    help="show and check DSSE envelopes and JSON Lines bundles",
    arguments=_inspect_arguments,
)
def _inspect(args: argparse.Namespace) -> int:
    sources: list[str] = args.keys
    keys = [load_public_key_file(path) for path in sources]
    envelopes: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    empty_files: list[str] = []
    for path in args.files:
        entries = load_envelopes(path)
        if not any(env is not None for env, _, _ in entries):
            empty_files.append(path)
        for env, location, reason in entries:
            if env is None:
                skipped.append({"location": location, "reason": reason})
            else:
                envelopes.append(_describe_envelope(env, location, keys, bool(keys)))
    report = {
        "format": INSPECT_FORMAT,
        "keys": [
            {
                "source": src,
                "keyid": k.keyid,
                "keytype": k.keytype,
                "scheme": k.scheme,
                "fingerprint": k.fingerprint,
            }
            for src, k in zip(sources, keys, strict=True)
        ],
        "envelopes": envelopes,
        "skipped": skipped,
    }
    if args.format == "json":
        _write_out(sys.stdout, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        _write_out(sys.stdout, _text_report(report, sources))
    for path in empty_files:
        _error(f"{path}: no DSSE envelope in this file")
    if empty_files:
        return EXIT_INPUT
    if keys and not all(env["verified"] for env in envelopes):
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())


# Subcommands defined in other modules register themselves when imported;
# their heavy dependencies load inside their handlers.
for _module in ("_cmd_verify", "_cmd_demo", "_cmd_store", "_cmd_audit"):
    importlib.import_module(f"{__package__}.{_module}")
