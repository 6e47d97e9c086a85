"""CLI subcommands ``tuf init``, ``tuf add-layout``, ``tuf delegate``, ``tuf publish``.

They write a TUF repository that distributes layouts and their owner keys
(see :mod:`intoto_policy.policy._tuf._repository`); ``verify tuf:PATH`` is the
client. python-tuf is imported only inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import InputError, UsageError
from ..sources._files import load_private_key_file, load_public_key_file, read_file
from ._common import EXIT_OK, _passphrase_source, now, subcommand

__all__: list[str] = []

_ROLES = ("root", "targets", "snapshot", "timestamp")


def _time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    from ..model._time import parse_rfc3339  # noqa: PLC0415

    try:
        return parse_rfc3339(text)
    except InputError as exc:
        raise UsageError(f"{option}: {exc.problem}") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", metavar="DIR", help="the repository directory")
    parser.add_argument(
        "--at", metavar="TIME", help="the time expiry dates count from, RFC 3339 (default: now)"
    )
    parser.add_argument(
        "--passphrase-env", metavar="VAR", help="environment variable holding key passphrases"
    )


def _private_keys(args: argparse.Namespace, paths: list[str]) -> list[Any]:
    return [load_private_key_file(p, _passphrase_source(args.passphrase_env, p)) for p in paths]


def _at(args: argparse.Namespace) -> datetime:
    return _time("--at", args.at) or now()


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    for role in _ROLES:
        parser.add_argument(
            f"--{role}-key",
            action="append",
            required=True,
            metavar="PRIV",
            help=f"a private key of the {role} role (repeatable)",
        )
        parser.add_argument(
            f"--{role}-threshold",
            type=int,
            default=1,
            metavar="N",
            help=f"signatures the {role} role needs (default 1)",
        )


@subcommand(
    "tuf init",
    help="create a TUF repository for layouts (root, targets, snapshot, timestamp)",
    arguments=_init_arguments,
)
def _tuf_init(args: argparse.Namespace) -> int:
    from ..policy._tuf._repository import RoleKeys, init_repository  # noqa: PLC0415

    roles = {
        role: RoleKeys(
            _private_keys(args, getattr(args, f"{role}_key")),
            getattr(args, f"{role}_threshold"),
        )
        for role in _ROLES
    }
    init_repository(Path(args.repo), at=_at(args), **roles)
    sys.stdout.write(
        f"{args.repo}: TUF repository created (pin {args.repo}/metadata/1.root.json)\n"
    )
    return EXIT_OK


def _add_layout_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("layout", metavar="LAYOUT", help="the signed layout (see 'layout sign')")
    parser.add_argument(
        "--name",
        required=True,
        metavar="PATH",
        help="its target path, e.g. policies/acme/layout.json",
    )
    parser.add_argument(
        "--layout-key",
        action="append",
        required=True,
        metavar="PUB",
        help="a layout owner's public key; all must have signed (repeatable; replaces the old set)",
    )
    parser.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="PRIV",
        help="a private key of the role that lists the layout (repeatable)",
    )
    parser.add_argument(
        "--role", default="targets", metavar="NAME", help="the delegated role (default: targets)"
    )
    parser.add_argument("--expires", metavar="TIME", help="the role's new expiry (RFC 3339)")


@subcommand(
    "tuf add-layout",
    help="add or replace a layout target and its owner-key targets",
    arguments=_add_layout_arguments,
)
def _tuf_add_layout(args: argparse.Namespace) -> int:
    from ..policy._tuf._repository import add_layout  # noqa: PLC0415

    keys = [(load_public_key_file(p), read_file(p)) for p in args.layout_key]
    written = add_layout(
        Path(args.repo),
        read_file(args.layout),
        name=args.name,
        layout_keys=keys,
        signing_keys=_private_keys(args, args.key),
        at=_at(args),
        role=args.role,
        expires=_time("--expires", args.expires),
    )
    sys.stdout.write(
        f"{args.repo}: role {args.role} lists {', '.join(written)} (run 'tuf publish')\n"
    )
    return EXIT_OK


def _delegate_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--role", required=True, metavar="NAME", help="the project's role name")
    parser.add_argument(
        "--paths",
        action="append",
        required=True,
        metavar="GLOB",
        help="target paths the role may publish, e.g. 'policies/acme/*' (repeatable)",
    )
    parser.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="PUB",
        help="a public key of the role's maintainers (repeatable; replaces the old set)",
    )
    parser.add_argument("--threshold", type=int, default=1, metavar="N", help="signatures needed")
    parser.add_argument(
        "--targets-key",
        action="append",
        required=True,
        metavar="PRIV",
        help="a private key of the top-level targets role (repeatable)",
    )
    parser.add_argument("--expires", metavar="TIME", help="targets' new expiry (RFC 3339)")


@subcommand(
    "tuf delegate",
    help="delegate target paths (one project's policies) to a role and its keys",
    arguments=_delegate_arguments,
)
def _tuf_delegate(args: argparse.Namespace) -> int:
    from ..policy._tuf._repository import delegate  # noqa: PLC0415

    delegate(
        Path(args.repo),
        role=args.role,
        paths=args.paths,
        keys=[load_public_key_file(p) for p in args.key],
        threshold=args.threshold,
        targets_keys=_private_keys(args, args.targets_key),
        at=_at(args),
        expires=_time("--expires", args.expires),
    )
    sys.stdout.write(f"{args.repo}: {', '.join(args.paths)} delegated to {args.role}\n")
    return EXIT_OK


def _publish_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    for role in ("snapshot", "timestamp"):
        parser.add_argument(
            f"--{role}-key",
            action="append",
            required=True,
            metavar="PRIV",
            help=f"a private key of the {role} role (repeatable)",
        )
        parser.add_argument(f"--{role}-expires", metavar="TIME", help=f"the {role}'s expiry")


@subcommand(
    "tuf publish",
    help="publish: a new snapshot and timestamp over the newest role versions",
    arguments=_publish_arguments,
)
def _tuf_publish(args: argparse.Namespace) -> int:
    from ..policy._tuf._repository import publish  # noqa: PLC0415

    snapshot, timestamp = publish(
        Path(args.repo),
        snapshot_keys=_private_keys(args, args.snapshot_key),
        timestamp_keys=_private_keys(args, args.timestamp_key),
        at=_at(args),
        snapshot_expires=_time("--snapshot-expires", args.snapshot_expires),
        timestamp_expires=_time("--timestamp-expires", args.timestamp_expires),
    )
    sys.stdout.write(f"{args.repo}: published snapshot v{snapshot}, timestamp v{timestamp}\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# verify tuf:PATH (the arguments are added by ``verify``; the work is here)

#: The ``verify`` options that only a ``tuf:PATH`` layout takes.
TUF_FLAGS = ("--tuf-url", "--tuf-root", "--tuf-cache", "--offline")


def add_tuf_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--tuf-*`` options of ``verify``."""
    group = parser.add_argument_group("layouts from TUF (LAYOUT is tuf:TARGET_PATH)")
    group.add_argument(
        "--tuf-url", metavar="URL", help="the TUF repository (http(s):// or file://)"
    )
    group.add_argument("--tuf-root", metavar="ROOT.json", help="the pinned, trusted root metadata")
    group.add_argument(
        "--tuf-cache", metavar="DIR", help="keep TUF metadata and targets here between runs"
    )
    group.add_argument(
        "--offline",
        action="store_true",
        help="never use the network: only --tuf-cache or a file:// --tuf-url",
    )


def wants_tuf(args: argparse.Namespace) -> bool:
    """Whether this ``verify`` names a TUF layout or gives a ``--tuf-*`` option."""
    return bool(
        args.layout.startswith("tuf:")
        or args.tuf_url
        or args.tuf_root
        or args.tuf_cache
        or args.offline
    )


def verify_tuf(
    args: argparse.Namespace, at: datetime, *, params: dict[str, str], subjects: list[Any]
) -> Any:
    """Run ``verify tuf:PATH``: fetch the layout and its keys through TUF, then verify.

    Returns:
        The report: a failed TUF check when TUF refused, else the usual one.

    Raises:
        UsageError: Options that do not apply to a TUF layout, or missing ones.
        InputError: Unreadable inputs, or an invalid layout.
    """
    import os  # noqa: PLC0415

    from ..policy._tuf import TUFPolicySource, load_tuf_layout  # noqa: PLC0415
    from ..report._model import Report  # noqa: PLC0415
    from ..sources._outputs import refuse_overwriting_inputs  # noqa: PLC0415

    if not args.layout.startswith("tuf:"):
        given = [f for f in TUF_FLAGS if getattr(args, f[2:].replace("-", "_"))]
        raise UsageError(f"{', '.join(given)}: apply to a tuf:TARGET_PATH layout only")
    missing = [f for f in ("--tuf-url", "--tuf-root") if not getattr(args, f[2:].replace("-", "_"))]
    if missing:
        raise UsageError(f"a tuf: layout needs {' and '.join(missing)}")
    # The layout's keys come from TUF, so nothing may stand in for them.
    refused = [
        flag
        for flag, given in (
            ("--layout-key", args.layout_key),
            ("--unsigned-layout", args.unsigned_layout),
            ("--gpg", args.gpg),
            ("--gpg-home", args.gpg_home),
            ("--run-inspections", args.run_inspections),
            ("--workdir", args.workdir),
        )
        if given
    ]
    if refused:
        raise UsageError(f"{', '.join(refused)}: not supported for tuf: layouts")
    if not args.attestations and not args.from_sources:
        raise UsageError(
            "a tuf: layout needs --attestations or --from (it has no directory of its own)"
        )
    if args.output:
        inputs: list[str | os.PathLike[str]] = [*args.attestations, args.tuf_root]
        inputs += [p for p in (args.trusted_root, args.params_file) if p]
        refuse_overwriting_inputs(args.output, inputs)
    source = TUFPolicySource.from_files(
        args.layout.removeprefix("tuf:"),
        url=args.tuf_url,
        root=args.tuf_root,
        cache=args.tuf_cache,
        offline=args.offline,
    )
    loaded = load_tuf_layout(source, at=at, params=params)
    if isinstance(loaded, Report):
        from dataclasses import replace  # noqa: PLC0415

        # The report still says which artifact was asked about.
        return replace(loaded, subjects=tuple(s.to_dict() for s in subjects))
    from ._verify import verify_loaded  # noqa: PLC0415

    # The same post-load checks and evidence gathering as a layout file: no flag is ignored.
    return verify_loaded(args, loaded, params, [Path(p) for p in args.attestations], at=at)
