"""The ``layout`` commands: ``sign``, ``check``, ``functionary``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._errors import InputError, UsageError
from ..classic._load import Document
from ..model._json import LAYOUT_LIMITS
from ..sources._files import load_public_key_file, read_file
from ..sources._outputs import write_file
from ._classic_doc import classic_document, classic_findings
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    _add_parameter_arguments,
    _at,
    _params,
    _safe,
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
    parser.add_argument(
        "--at", metavar="TIME", help="judge expiry at this RFC 3339 time (default: now)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="sign even though 'layout check' finds errors or unresolved key parameters",
    )
    _add_parameter_arguments(parser)


@subcommand(
    "layout sign",
    help="check a layout (as 'layout check') and sign it into a DSSE envelope",
    arguments=_sign_arguments,
)
def _layout_sign(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from ..model._dsse import Envelope  # noqa: PLC0415
    from ..policy._lint import UNRESOLVED_PARAMETER, lint_layout  # noqa: PLC0415
    from ..policy._loading import (  # noqa: PLC0415
        layout_envelope,
        parse_layout_document,
        validate_layout_schema,
    )

    path = Path(args.layout)
    data = read_file(path, LAYOUT_LIMITS)
    classic = classic_document(data, str(path))
    if classic is not None:
        if classic.signatures:
            raise UsageError(
                f"already signed: a classic in-toto {classic.type} with "
                f"{len(classic.signatures)} signature(s)",
                source=str(path),
            )
        raise UsageError(
            f"a classic in-toto {classic.type}: 'layout sign' signs attestation layouts; "
            "sign classic layouts with in-toto's own tools (in-toto-sign)",
            source=str(path),
        )
    envelope = layout_envelope(data, source=str(path))
    if envelope is not None:
        raise UsageError(
            f"already signed: a DSSE envelope with {len(envelope.signatures)} signature(s); "
            "sign the layout document itself",
            source=str(path),
        )
    doc, lines = parse_layout_document(data, source=str(path))
    errors = validate_layout_schema(doc, source=str(path), lines=lines)
    if errors:
        raise errors[0]
    params = _params(args)
    if params:
        data, doc = _written_in(doc, params)
    # The same semantics as 'layout check': a signature vouches for the
    # layout, so an expired one, CEL that does not compile or a signer left
    # for the verifier to choose ({parameter}) is refused unless forced.
    blocking = [
        f
        for f in lint_layout(doc, source=str(path), lines=lines, at=_at(args.at))
        if f.severity == "error" or f.code == UNRESOLVED_PARAMETER
    ]
    if blocking and not args.force:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        raise InputError(
            f"refusing to sign: {first.message}{more}; see 'intoto-policy layout check', "
            "or sign anyway with --force",
            source=f"{path}:{first.line}" if first.line else str(path),
        )
    payload_type = (
        "application/vnd.intoto-policy.layout+json"
        if params or data.lstrip().startswith(b"{")
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


def _written_in(doc: Any, params: dict[str, str]) -> tuple[bytes, Any]:
    """The layout with ``params`` written in, as JSON bytes, and as a document.

    The layout owner chooses the values (the key of a functionary, a
    repository) by signing them, instead of leaving them to whoever runs the
    verification. The values go through the same substitution as at
    verification time (text, never syntax) and the result is serialised as
    JSON, so no value can change the document's structure.

    Raises:
        UsageError: A parameter the layout never uses.
        ParameterError: A value that may not be substituted.
    """
    import json  # noqa: PLC0415

    from ..policy._layout import parameters_used, substitute_parameters  # noqa: PLC0415

    used = set(parameters_used(doc))
    for value in params.values():
        used |= parameters_used(value)
    unused = sorted(set(params) - used)
    if unused:
        raise UsageError(
            f"--param/--params-file: the layout never uses parameter {', '.join(unused)}"
        )
    resolved = substitute_parameters(doc, params)
    text = json.dumps(resolved, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8"), resolved


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", metavar="LAYOUT", help="the layout to check (signed or not)")
    _add_parameter_arguments(parser)
    parser.add_argument(
        "--at", metavar="TIME", help="judge expiry at this RFC 3339 time (default: now)"
    )


@subcommand(
    "layout check",
    help="lint a layout (attestation or classic in-toto): schema errors with lines, "
    "and semantic problems",
    arguments=_check_arguments,
)
def _layout_check(args: argparse.Namespace) -> int:
    from ..policy._lint import lint_layout  # noqa: PLC0415
    from ..policy._loading import layout_envelope, parse_layout_document  # noqa: PLC0415

    path = Path(args.layout)
    data = read_file(path, LAYOUT_LIMITS)
    classic = classic_document(data, str(path))
    if classic is not None:
        return _check_classic(args, path, classic)
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


def _check_classic(args: argparse.Namespace, path: Path, doc: Document) -> int:
    if doc.type != "layout":
        raise UsageError(
            f"a classic in-toto {doc.type}, not a layout (see 'intoto-policy inspect')",
            source=str(path),
        )
    if args.param or args.params_file:
        flag = "--param" if args.param else "--params-file"
        raise UsageError(f"{flag}: classic in-toto layouts have no parameters")
    findings = classic_findings(doc, _at(args.at))
    sys.stdout.write(f"{path}: classic in-toto layout ({doc.format})\n")
    for severity, message in findings:
        sys.stdout.write(f"{path}: {severity}: {_safe(message)}\n")
    errors = sum(1 for severity, _ in findings if severity == "error")
    sys.stdout.write(f"{path}: {errors} error(s), {len(findings) - errors} warning(s)\n")
    return EXIT_FAILED if errors else EXIT_OK


def _functionary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "keys", nargs="+", metavar="PUB", help="public keys (PEM or JSON key dicts)"
    )
    parser.add_argument(
        "--format",
        default="yaml",
        choices=["yaml", "json", "value"],
        help="output format (value: only each key's keyVal.public, one per line: the value "
        "of a layout parameter such as {builder-key})",
    )
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

    from ..model._time import parse_rfc3339  # noqa: PLC0415

    window: dict[str, str] = {}
    when: dict[str, Any] = {}
    for flag, name, value in (
        ("--not-before", "notBefore", args.not_before),
        ("--not-after", "notAfter", args.not_after),
    ):
        if value is None:
            continue
        try:
            when[flag] = parse_rfc3339(value)  # a malformed time is refused here, not at verify
        except InputError as exc:
            raise UsageError(f"{flag}: {exc.problem}") from None
        window[name] = value
    if len(when) == 2 and when["--not-after"] <= when["--not-before"]:
        raise UsageError(
            f"--not-after {args.not_after} is not after --not-before {args.not_before}: "
            "the window would admit no signature"
        )
    entries: dict[str, Any] = {}
    for path in args.keys:
        key = load_public_key_file(path)
        entry = {**key.to_dict(camel=True), **window}
        entries[key.keyid] = entry
    doc = {"functionaries": entries}
    if args.format == "value":
        if window:
            flags = " and ".join(f for f in ("--not-before", "--not-after") if f in when)
            raise UsageError(f"{flags}: not used with --format value (a bare key has no window)")
        for entry in entries.values():
            sys.stdout.write(f"{entry['keyVal']['public']}\n")
        return EXIT_OK
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(_yaml_text(doc))
    return EXIT_OK


def _yaml_text(doc: Any) -> str:
    """YAML with multi-line strings (PEM keys) as literal block scalars.

    PyYAML's default folds a PEM key into a quoted string with blank lines
    between its lines: valid, but unreadable and easy to break by hand.
    """
    import yaml  # noqa: PLC0415

    class _Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000)
