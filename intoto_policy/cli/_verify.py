"""The ``verify`` command: a layout, evidence and a time -> a report and an exit code.

Heavy modules (CEL, YAML, JSON Schema, sigstore, the classic verifier) are
imported inside the handlers so that ``intoto-policy --help`` and the other
subcommands start fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ..model._json import LAYOUT_LIMITS
from ..sources._files import load_public_key_file, read_file
from ..sources._outputs import refuse_overwriting_inputs, write_file
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    _add_parameter_arguments,
    _at,
    _params,
    _signing_keys,
    subcommand,
)

__all__: list[str] = []


def _color(mode: str | None, stream: Any) -> bool:
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
        help="bind no artifact (a layout with subjectSteps fails without --subject otherwise; "
        "attestation layouts only)",
    )
    _add_parameter_arguments(parser)
    from ._fetch import add_from_arguments  # noqa: PLC0415

    add_from_arguments(parser)
    parser.add_argument("--at", metavar="TIME", help="verification time, RFC 3339 (default: now)")
    parser.add_argument(
        "--trusted-root",
        metavar="FILE",
        help=(
            "Sigstore trusted_root.json for keyless attestations, given out of band (a layout "
            "with Sigstore functionaries only; it must match the layout's trustedRoot sha256 if "
            "the layout records one)"
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
        choices=["auto", "always", "never"],
        help="colour in text output (--format text only; default auto: only on a terminal, "
        "and not with NO_COLOR)",
    )
    parser.add_argument(
        "--sarif-category",
        metavar="ID",
        help="the run's automationDetails.id, which GitHub code scanning uses to keep the "
        "alerts of several layouts apart (--format sarif only; default "
        "intoto-policy/<layout file name>/)",
    )
    parser.add_argument(
        "--vsa-key", metavar="PRIV", help="private key that signs the VSA (--format vsa only)"
    )
    parser.add_argument(
        "--vsa-verifier-id", metavar="URI", help="verifier.id of the VSA (--format vsa only)"
    )
    parser.add_argument(
        "--vsa-resource-uri", metavar="URI", help="resourceUri of the VSA (--format vsa only)"
    )
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="environment variable holding the VSA key's passphrase (an encrypted --vsa-key)",
    )
    from ._tuf import add_tuf_verify_arguments  # noqa: PLC0415

    add_tuf_verify_arguments(parser)
    classic = parser.add_argument_group("classic in-toto layouts")
    classic.add_argument(
        "--gpg", nargs="+", default=[], metavar="KEYID", help="layout owners' GPG key ids"
    )
    classic.add_argument("--gpg-home", metavar="DIR", help="GnuPG home directory (with --gpg)")
    classic.add_argument(
        "--run-inspections",
        action="store_true",
        help="run the layout's inspections (they run commands)",
    )
    classic.add_argument(
        "--workdir",
        metavar="DIR",
        help="where inspections run (with --run-inspections; default: current directory)",
    )


def _refuse(flags: list[tuple[str, Any]], why: str) -> None:
    """A flag that cannot apply is an error, never silently ignored."""
    # Given at all counts, even as an empty string: defaults are None, False or [].
    given = [flag for flag, value in flags if value is not None and value not in (False, [])]
    if given:
        raise UsageError(f"{', '.join(given)}: {why}")


_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def _uri(flag: str, text: str) -> str:
    """``text`` if it is an absolute URI (RFC 3986: a scheme, no blanks), else refused.

    Raises:
        UsageError: It has no scheme, or contains whitespace or control characters.
    """
    if not _URI_SCHEME.fullmatch(text) or not text.isprintable():
        raise UsageError(
            f"{flag}: not an absolute URI (e.g. https://verifier.example/v1): {text!r}"
        )
    return text


def _refuse_inapplicable(args: argparse.Namespace) -> None:
    """Refuse flags that depend on other flags (before any input is read).

    Raises:
        UsageError: A flag is given that the rest of the command line makes
            meaningless.
    """
    from ._fetch import refuse_source_options_without_from  # noqa: PLC0415

    refuse_source_options_without_from(args)
    if args.format != "vsa":
        vsa = [
            ("--vsa-key", args.vsa_key),
            ("--vsa-verifier-id", args.vsa_verifier_id),
            ("--vsa-resource-uri", args.vsa_resource_uri),
            ("--passphrase-env", args.passphrase_env),
        ]
        _refuse(vsa, "only used with --format vsa")
    else:  # checked before any input is read
        for flag, value in (
            ("--vsa-verifier-id", args.vsa_verifier_id),
            ("--vsa-resource-uri", args.vsa_resource_uri),
        ):
            if value is not None:
                _uri(flag, value)
    if args.format != "text":
        _refuse([("--color", args.color)], "only used with --format text")
    if args.format != "sarif":
        _refuse([("--sarif-category", args.sarif_category)], "only used with --format sarif")
    if not args.gpg:
        _refuse([("--gpg-home", args.gpg_home)], "only used with --gpg")
    if not args.run_inspections:
        _refuse([("--workdir", args.workdir)], "only used with --run-inspections")


def _refuse_unused_params(params: dict[str, str], raw: Any) -> None:
    """A parameter the layout never uses (a typo?) is refused, never ignored.

    Raises:
        UsageError: A given parameter occurs nowhere in the layout (nor in
            another parameter's value).
    """
    from ..policy._layout import parameters_used  # noqa: PLC0415

    used = set(parameters_used(raw))
    for value in params.values():
        used |= parameters_used(value)
    unused = sorted(set(params) - used)
    if unused:
        names = ", ".join(repr(n) for n in unused)
        raise UsageError(f"--param/--params-file: the layout never uses parameter {names}")


def _subject_digests(args: argparse.Namespace) -> list[Any]:
    from ..sources._files import hash_file  # noqa: PLC0415

    # sha512 too: some ecosystems (npm) name artifacts by sha512 only.
    out: list[Any] = [hash_file(path, ("sha256", "sha512")) for path in args.subject]
    for text in args.subject_digest:
        alg, sep, value = text.partition(":")
        if not sep:
            raise UsageError(f"--subject-digest expects ALG:HEX, got {text!r}")
        out.append(_digest(alg, value))
    return out


def _digest(alg: str, value: str) -> Any:
    from .._errors import ValidationError  # noqa: PLC0415
    from ..model._digests import DigestSet  # noqa: PLC0415

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
    _refuse_inapplicable(args)
    at = _at(args.at)
    from ._tuf import verify_tuf, wants_tuf  # noqa: PLC0415

    if wants_tuf(args):  # tuf:PATH: the layout and its keys come through TUF
        tuf_report = verify_tuf(args, at, params=_params(args), subjects=_subject_digests(args))
        _emit(args, tuf_report)
        return EXIT_OK if tuf_report else EXIT_FAILED
    layout_path = Path(args.layout)
    data = read_file(layout_path, LAYOUT_LIMITS)
    layout_keys = [load_public_key_file(p) for p in args.layout_key]
    # With --from, the layout's directory is not searched unless named.
    default_paths = [] if args.from_sources else [layout_path.parent]
    attestation_paths = [Path(p) for p in args.attestations] or default_paths
    if args.output:
        # Before any work: a report written over the evidence would destroy it.
        inputs: list[str | os.PathLike[str]] = [layout_path, *attestation_paths, *args.layout_key]
        inputs += [p for p in (args.trusted_root, args.params_file) if p]
        refuse_overwriting_inputs(args.output, inputs)

    from ..classic import is_classic_layout  # noqa: PLC0415

    if is_classic_layout(data):
        from ..classic import verify_classic  # noqa: PLC0415

        # Flags a classic verification cannot honour are refused, never ignored.
        # Classic links carry no subject binding yet, so --subject too.
        attestation_only = [
            ("--subject", args.subject),
            ("--subject-digest", args.subject_digest),
            ("--no-subject", args.no_subject),
            ("--param", args.param),
            ("--params-file", args.params_file),
            ("--unsigned-layout", args.unsigned_layout),
            ("--trusted-root", args.trusted_root),
            ("--from", args.from_sources),
            ("--store", args.store),
        ]
        _refuse(attestation_only, "not supported for classic in-toto layouts")
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
        classic_only = [
            ("--gpg", args.gpg),
            ("--gpg-home", args.gpg_home),
            ("--run-inspections", args.run_inspections),
            ("--workdir", args.workdir),
        ]
        _refuse(classic_only, "apply to classic in-toto layouts only")
        from ..policy._loading import load_layout  # noqa: PLC0415

        params = _params(args)
        loaded = load_layout(
            layout_path,
            params=params,
            layout_keys=layout_keys,
            allow_unsigned=args.unsigned_layout,
            data=data,
        )
        if args.unsigned_layout and loaded.info.signed:
            raise UsageError("--unsigned-layout: the layout is signed (its signature was checked)")
        report = verify_loaded(args, loaded, params, attestation_paths, at=at, skip=[layout_path])
    _emit(args, report)
    return EXIT_OK if report else EXIT_FAILED


def verify_loaded(
    args: argparse.Namespace,
    loaded: Any,
    params: dict[str, str],
    attestation_paths: list[Path],
    *,
    at: Any,
    skip: list[Path] | tuple[Path, ...] = (),
) -> Any:
    """Everything after loading an attestation layout, for a file and a ``tuf:`` layout alike.

    The post-load checks (unused parameters, an inapplicable trusted root),
    then the evidence (``--from`` sources first, then files), then the
    verification. One function, so that no layout source can skip a check
    or ignore a flag.

    Args:
        args: The parsed ``verify`` command line.
        loaded: The ``LoadedLayout``.
        params: The parameters given (``--param``, ``--params-file``).
        attestation_paths: Files and directories of attestations.
        at: The verification time.
        skip: Paths not to read as attestations (the layout file).

    Returns:
        The report (with the fetched sources recorded, if any).

    Raises:
        UsageError: A parameter the layout never uses, or ``--trusted-root``
            with a layout that has no functionary checked against it.
        IntotoPolicyError: An input cannot be read or a source cannot be fetched.
    """
    from .._api import load_trusted_root_file, verify  # noqa: PLC0415
    from ..policy._loading import load_attestations  # noqa: PLC0415
    from ._fetch import fetch_from  # noqa: PLC0415
    from ._progress import Progress  # noqa: PLC0415

    _refuse_unused_params(params, loaded.layout.raw)
    if args.trusted_root and not any(
        f.needs_trusted_root for f in loaded.layout.functionaries.values()
    ):
        # Only Sigstore identities and registry keys are checked against the root.
        raise UsageError(
            "--trusted-root: the layout names no Sigstore or registry-key functionary, "
            "so it would be unused"
        )
    trusted_root = load_trusted_root_file(Path(args.trusted_root)) if args.trusted_root else None
    # Fetched first, verified after: verification itself stays offline.
    fetched = fetch_from(args, _subject_digests(args))
    if args.store:
        from ._store import store_evidence  # noqa: PLC0415

        attestations = store_evidence(args, _subject_digests(args))
    else:
        attestations = load_attestations(attestation_paths, skip=list(skip))
    if fetched is not None:
        attestations += fetched.attestations
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
    if fetched is not None:
        from dataclasses import replace  # noqa: PLC0415

        report = replace(report, sources=fetched.sources)
    return report


def _emit(args: argparse.Namespace, report: Any) -> None:
    from ..report._render import render  # noqa: PLC0415

    options: dict[str, Any] = {}
    if args.format == "text":
        options["color"] = (
            _color(args.color, sys.stdout) if not args.output else args.color == "always"
        )
    if args.format == "sarif" and args.sarif_category:
        options["category"] = args.sarif_category
    if args.format == "vsa":
        if not args.vsa_key:
            raise UsageError("--format vsa needs --vsa-key to sign the VSA")
        (options["key"],) = _signing_keys([args.vsa_key], args.passphrase_env)
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
