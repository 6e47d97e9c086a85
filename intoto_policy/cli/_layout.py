"""The ``layout`` commands: ``sign``, ``check``, ``functionary``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..model._json import LAYOUT_LIMITS
from ..sources._files import load_public_key_file, read_file
from ..sources._outputs import write_file
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    _add_parameter_arguments,
    _at,
    _params,
    _signing_keys,
    subcommand,
)


def _sign_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", metavar="LAYOUT", help="the layout file (YAML or JSON) to sign")
    parser.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="PRIV",
        help="a layout owner's private key (repeatable: each one signs)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="where to write the signed layout (default: stdout)"
    )
    parser.add_argument(
        "--passphrase-env", metavar="VAR", help="environment variable holding the key passphrase"
    )


@subcommand("layout sign", help="sign a layout into a DSSE envelope", arguments=_sign_arguments)
def _layout_sign(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from ..model._dsse import Envelope  # noqa: PLC0415
    from ..policy._loading import parse_layout_document, validate_layout_schema  # noqa: PLC0415

    path = Path(args.layout)
    data = read_file(path, LAYOUT_LIMITS)
    doc, lines = parse_layout_document(data, source=str(path))
    errors = validate_layout_schema(doc, source=str(path), lines=lines)
    if errors:
        raise errors[0]
    payload_type = (
        "application/vnd.intoto-policy.layout+json"
        if data.lstrip().startswith(b"{")
        else "application/vnd.intoto-policy.layout+yaml"
    )
    keys = _signing_keys(args.key, args.passphrase_env)
    envelope = Envelope.sign(data, payload_type, keys)
    text = json.dumps(envelope.to_dict(), indent=2) + "\n"
    if args.out:
        write_file(args.out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", metavar="LAYOUT", help="the layout to check (signed or not)")
    _add_parameter_arguments(parser)
    parser.add_argument(
        "--at", metavar="TIME", help="judge expiry at this RFC 3339 time (default: now)"
    )


@subcommand(
    "layout check",
    help="lint a layout: schema errors with lines, and semantic problems",
    arguments=_check_arguments,
)
def _layout_check(args: argparse.Namespace) -> int:
    from ..policy._lint import lint_layout  # noqa: PLC0415
    from ..policy._loading import layout_envelope, parse_layout_document  # noqa: PLC0415

    path = Path(args.layout)
    data = read_file(path, LAYOUT_LIMITS)
    envelope = layout_envelope(data, source=str(path))
    if envelope is not None:
        data = envelope.payload
    doc, lines = parse_layout_document(data, source=str(path))
    findings = lint_layout(
        doc, source=str(path), lines=lines, at=_at(args.at), params=_params(args)
    )
    for f in findings:
        where = f"{path}:{f.line}" if f.line else str(path)
        sys.stdout.write(f"{where}: {f.severity}: {f.message}\n")
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    sys.stdout.write(f"{path}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_FAILED if errors else EXIT_OK


def _functionary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "keys", nargs="+", metavar="PUB", help="public keys (PEM or JSON key dicts)"
    )
    parser.add_argument("--format", default="yaml", choices=["yaml", "json"], help="output format")
    parser.add_argument(
        "--not-before", metavar="TIME", help="start of the keys' validity window (RFC 3339)"
    )
    parser.add_argument(
        "--not-after", metavar="TIME", help="end of the keys' validity window (RFC 3339)"
    )


@subcommand(
    "layout functionary",
    help="print layout functionary entries (key id -> key) for public keys",
    arguments=_functionary_arguments,
)
def _layout_functionary(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    entries: dict[str, Any] = {}
    for path in args.keys:
        key = load_public_key_file(path)
        entry = key.to_dict(camel=True)
        for option, name in ((args.not_before, "notBefore"), (args.not_after, "notAfter")):
            if option is not None:
                entry[name] = option
                _at(option)  # reject a malformed time here, not at verification
        entries[key.keyid] = entry
    doc = {"functionaries": entries}
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        import yaml  # noqa: PLC0415

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, width=1000))
    return EXIT_OK
