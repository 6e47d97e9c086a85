"""CLI subcommands ``verify``, ``layout sign`` and ``layout check``.

Heavy modules (CEL, YAML, JSON Schema, sigstore, the classic verifier) are
imported inside the handlers so that ``intoto-policy --help`` and the other
subcommands start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ._cli import EXIT_FAILED, EXIT_OK, _passphrase_source, now, subcommand
from ._errors import InputError, ParameterError, UsageError
from ._files import (
    load_private_key_file,
    load_public_key_file,
    read_file,
    refuse_overwriting_inputs,
    write_file,
)
from ._json import LAYOUT_LIMITS

__all__: list[str] = []


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
    from ._json import PARAMS_LIMITS, loads  # noqa: PLC0415
    from ._layout import check_params_shape  # noqa: PLC0415

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
    from ._time import parse_rfc3339  # noqa: PLC0415

    try:
        return parse_rfc3339(text)
    except InputError as exc:
        raise UsageError(f"--at: {exc.problem}") from None


def _color(mode: str, stream: Any) -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "layout", metavar="LAYOUT", help="the layout (attestation or classic in-toto)"
    )
    parser.add_argument(
        "--layout-key",
        action="append",
        default=[],
        metavar="PUB",
        help="public key of a layout owner; every one given must have signed (repeatable)",
    )
    parser.add_argument(
        "--unsigned-layout",
        action="store_true",
        help="accept a layout that is not signed (the report records it)",
    )
    parser.add_argument(
        "--attestations",
        action="append",
        default=[],
        metavar="PATH",
        help="file or directory of attestations or links (repeatable; default: the layout's directory)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="take the evidence about --subject/--subject-digest from an attestation store "
        "(sqlite:///PATH or postgresql://...)",
    )
    subj = parser.add_mutually_exclusive_group()
    subj.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="FILE",
        help="the artifact being deployed: it must be a subject of the layout's subject steps",
    )
    subj.add_argument(
        "--subject-digest",
        action="append",
        default=[],
        metavar="ALG:HEX",
        help="the artifact's digest, e.g. sha256:abc... (repeatable)",
    )
    subj.add_argument(
        "--no-subject",
        action="store_true",
        help="bind no artifact (a layout with subjectSteps fails without --subject otherwise)",
    )
    _add_parameter_arguments(parser)
    parser.add_argument("--at", metavar="TIME", help="verification time, RFC 3339 (default: now)")
    parser.add_argument(
        "--trusted-root",
        metavar="FILE",
        help=(
            "Sigstore trusted_root.json for keyless attestations, given out of band (it must "
            "match the layout's trustedRoot sha256 if the layout records one)"
        ),
    )
    parser.add_argument(
        "--format",
        default="text",
        choices=["text", "json", "sarif", "junit", "markdown", "vsa"],
        help="report format",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument(
        "--color",
        default="auto",
        choices=["auto", "always", "never"],
        help="colour in text output (auto: only on a terminal, and not with NO_COLOR)",
    )
    parser.add_argument(
        "--vsa-key", metavar="PRIV", help="private key that signs the VSA (--format vsa)"
    )
    parser.add_argument("--vsa-verifier-id", metavar="URI", help="verifier.id of the VSA")
    parser.add_argument("--vsa-resource-uri", metavar="URI", help="resourceUri of the VSA")
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="environment variable holding the VSA key's passphrase",
    )
    classic = parser.add_argument_group("classic in-toto layouts")
    classic.add_argument(
        "--gpg", nargs="+", default=[], metavar="KEYID", help="layout owners' GPG key ids"
    )
    classic.add_argument("--gpg-home", metavar="DIR", help="GnuPG home directory for --gpg")
    classic.add_argument(
        "--run-inspections",
        action="store_true",
        help="run the layout's inspections (they run commands)",
    )
    classic.add_argument(
        "--workdir", metavar="DIR", help="where inspections run (default: current directory)"
    )


def _subject_digests(args: argparse.Namespace) -> list[Any]:
    from ._files import hash_file  # noqa: PLC0415

    # sha512 too: some ecosystems (npm) name artifacts by sha512 only.
    out: list[Any] = [hash_file(path, ("sha256", "sha512")) for path in args.subject]
    for text in args.subject_digest:
        alg, sep, value = text.partition(":")
        if not sep:
            raise UsageError(f"--subject-digest expects ALG:HEX, got {text!r}")
        out.append(_digest(alg, value))
    return out


def _digest(alg: str, value: str) -> Any:
    from ._digests import DigestSet  # noqa: PLC0415
    from ._errors import ValidationError  # noqa: PLC0415

    try:
        return DigestSet({alg: value})
    except ValidationError as exc:
        raise UsageError(f"--subject-digest: {exc.problem}") from None


@subcommand(
    "verify",
    help="verify attestations (or classic links) against a layout",
    arguments=_verify_arguments,
)
def _verify(args: argparse.Namespace) -> int:
    at = _at(args.at)
    layout_path = Path(args.layout)
    data = read_file(layout_path, LAYOUT_LIMITS)
    layout_keys = [load_public_key_file(p) for p in args.layout_key]
    attestation_paths = [Path(p) for p in args.attestations] or [layout_path.parent]
    if args.output:
        # Before any work: a report written over the evidence would destroy it.
        inputs: list[str | os.PathLike[str]] = [layout_path, *attestation_paths, *args.layout_key]
        inputs += [p for p in (args.trusted_root, args.params_file) if p]
        refuse_overwriting_inputs(args.output, inputs)

    from ._classic import is_classic_layout  # noqa: PLC0415

    if is_classic_layout(data):
        from ._classic import verify_classic  # noqa: PLC0415

        # Flags a classic verification cannot honour are refused, never ignored.
        # Classic links carry no subject binding yet, so --subject too.
        refused = [
            flag
            for flag, given in (
                ("--subject", args.subject),
                ("--subject-digest", args.subject_digest),
                ("--param", args.param),
                ("--params-file", args.params_file),
                ("--unsigned-layout", args.unsigned_layout),
                ("--trusted-root", args.trusted_root),
                ("--store", args.store),
            )
            if given
        ]
        if refused:
            raise UsageError(f"{', '.join(refused)}: not supported for classic in-toto layouts")
        if len(attestation_paths) != 1 or not attestation_paths[0].is_dir():
            raise UsageError("a classic layout takes one --attestations directory of links")
        report = verify_classic(
            layout_path,
            layout_keys=layout_keys,
            gpg_keyids=args.gpg,
            gpg_home=Path(args.gpg_home) if args.gpg_home else None,
            link_dir=attestation_paths[0],
            at=at,
            run_inspections=args.run_inspections,
            workdir=Path(args.workdir) if args.workdir else None,
        )
    else:
        if args.gpg or args.run_inspections:
            raise UsageError("--gpg and --run-inspections apply to classic in-toto layouts only")
        from ._api import load_trusted_root_file, verify  # noqa: PLC0415
        from ._loading import load_attestations, load_layout  # noqa: PLC0415

        loaded = load_layout(
            layout_path,
            params=_params(args),
            layout_keys=layout_keys,
            allow_unsigned=args.unsigned_layout,
            data=data,
        )
        trusted_root = (
            load_trusted_root_file(Path(args.trusted_root)) if args.trusted_root else None
        )
        from ._progress import Progress  # noqa: PLC0415

        if args.store:
            from ._cmd_store import store_evidence  # noqa: PLC0415

            attestations = store_evidence(args, _subject_digests(args))
        else:
            attestations = load_attestations(attestation_paths, skip=[layout_path])
        # Drawn on stderr and only on a terminal, so machine output stays clean.
        with Progress(
            len(attestations) if len(attestations) >= 200 else 0, "verifying", sys.stderr
        ) as bar:
            report = verify(
                loaded,
                attestations,
                at=at,
                subject=_subject_digests(args),
                trusted_root=trusted_root,
                progress=bar.advance,
                no_subject=args.no_subject,
            )
    _emit(args, report)
    return EXIT_OK if report else EXIT_FAILED


def _emit(args: argparse.Namespace, report: Any) -> None:
    from ._render import render  # noqa: PLC0415

    options: dict[str, Any] = {}
    if args.format == "text":
        options["color"] = (
            _color(args.color, sys.stdout) if not args.output else args.color == "always"
        )
    if args.format == "vsa":
        if not args.vsa_key:
            raise UsageError("--format vsa needs --vsa-key to sign the VSA")
        options["key"] = load_private_key_file(
            args.vsa_key, _passphrase_source(args.passphrase_env, args.vsa_key)
        )
        options["verified_levels"] = report.layout.verified_levels
        if args.vsa_verifier_id:
            options["verifier_id"] = args.vsa_verifier_id
        if args.vsa_resource_uri:
            options["resource_uri"] = args.vsa_resource_uri
    text = render(report, args.format, **options)
    if not text.endswith("\n"):
        text += "\n"
    if args.output:
        write_file(args.output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


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

    from ._dsse import Envelope  # noqa: PLC0415
    from ._loading import parse_layout_document, validate_layout_schema  # noqa: PLC0415

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
    keys = [load_private_key_file(k, _passphrase_source(args.passphrase_env, k)) for k in args.key]
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
    from ._lint import lint_layout  # noqa: PLC0415
    from ._loading import layout_envelope, parse_layout_document  # noqa: PLC0415

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
