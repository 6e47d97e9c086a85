"""CLI subcommand ``fetch``, and the ``--from`` option that ``verify`` borrows.

The fetching package (and httpx) is imported inside the handlers only, so
no other subcommand, and ``verify`` without ``--from``, pays for it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._errors import UsageError
from ._common import EXIT_FAILED, EXIT_OK, PROG, _safe, positive_int, subcommand

__all__ = ["add_from_arguments", "add_subject_arguments", "fetch_each", "fetch_from", "subjects_of"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 3600], got {text!r}")
    return value


_SOURCE_OPTIONS: tuple[str, ...] = (
    "github_api",
    "npm_registry",
    "pypi_url",
    "max_response_bytes",
    "max_attestations",
    "timeout",
    "source_timeout",
    "retries",
)


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fetching")
    group.add_argument(
        "--github-api", metavar="URL", help="GitHub API base URL (env INTOTO_POLICY_GITHUB_API)"
    )
    group.add_argument(
        "--npm-registry", metavar="URL", help="npm registry URL (env INTOTO_POLICY_NPM_REGISTRY)"
    )
    group.add_argument(
        "--pypi-url", metavar="URL", help="PyPI base URL (env INTOTO_POLICY_PYPI_URL)"
    )
    group.add_argument(
        "--max-response-bytes", type=positive_int, metavar="N", help="largest response accepted"
    )
    group.add_argument(
        "--max-attestations", type=positive_int, metavar="N", help="most attestations per source"
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="total time for one request, connecting to last byte (default 30)",
    )
    group.add_argument(
        "--source-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="total time for one source: all requests, retries and waits (default 300)",
    )
    group.add_argument(
        "--retries", type=int, choices=range(11), metavar="N", help="retries on 429/5xx (0-10)"
    )


def add_from_arguments(parser: argparse.ArgumentParser, *, purpose: str = "verifying") -> None:
    """Add ``--from SOURCE`` (repeatable) and the fetching options to ``parser``."""
    parser.add_argument(
        "--from",
        dest="from_sources",
        action="append",
        default=[],
        metavar="SOURCE",
        help=f"fetch attestations from SOURCE before {purpose} (oci://, github:, npm:, pypi:, "
        "https://, file:; repeatable)",
    )
    _add_source_options(parser)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from ..sources._fetch import FetchLimits  # noqa: PLC0415

    overrides = {
        name: getattr(args, name)
        for name in (
            "max_response_bytes",
            "max_attestations",
            "timeout",
            "source_timeout",
            "retries",
        )
        if getattr(args, name) is not None
    }
    base_urls = {
        service: url
        for service, url in (
            ("github", args.github_api),
            ("npm", args.npm_registry),
            ("pypi", args.pypi_url),
        )
        if url
    }
    return {"limits": FetchLimits(**overrides), "base_urls": base_urls}


def _fetch_each(sources: list[str], args: argparse.Namespace, subjects: list[Any]) -> list[Any]:
    from ..sources._client import redact_url  # noqa: PLC0415
    from ..sources._fetch import fetch  # noqa: PLC0415
    from ._progress import Meter  # noqa: PLC0415

    options = _options(args)
    results = []
    for index, source in enumerate(sources, start=1):
        # Never a password from a URL on the screen, even one the fetch will refuse.
        shown = redact_url(source)
        label = (
            f"fetching {index}/{len(sources)} {shown}" if len(sources) > 1 else f"fetching {shown}"
        )
        # Bytes received so far, drawn on stderr and only on a terminal.
        with Meter(label, sys.stderr) as meter:
            results.append(
                fetch(
                    source,
                    subjects=subjects,
                    predicate_types=getattr(args, "predicate_type", None) or (),
                    progress=meter,
                    **options,
                )
            )
    return results


def _run(sources: list[str], args: argparse.Namespace, subjects: list[Any]) -> Any:
    from ..sources._fetch import FetchResult  # noqa: PLC0415

    results = _fetch_each(sources, args, subjects)
    return FetchResult(
        tuple(a for r in results for a in r.attestations),
        tuple(i for r in results for i in r.items),
        tuple(s for r in results for s in r.sources),
    )


def _summary(result: Any) -> None:
    for record in result.sources:
        sys.stderr.write(f"{PROG}: {_safe(record.source)}: {record.attestations} attestation(s)\n")
    for bad in (a for a in result.attestations if a.problem is not None):
        sys.stderr.write(f"{PROG}: {_safe(bad.source)}: unusable: {_safe(bad.problem)}\n")
    sys.stderr.flush()


def refuse_source_options_without_from(args: argparse.Namespace) -> None:
    """Fetching options without ``--from`` would be silently ignored: refuse them.

    Raises:
        UsageError: A fetching option is given without any ``--from``.
    """
    if args.from_sources:
        return
    given = [
        "--" + name.replace("_", "-") for name in _SOURCE_OPTIONS if getattr(args, name) is not None
    ]
    if given:
        raise UsageError(f"{', '.join(given)}: only apply with --from")


def fetch_from(args: argparse.Namespace, subjects: list[Any]) -> Any:
    """Run ``verify --from``: fetch every source (before any verification).

    Returns:
        A ``FetchResult``, or None when no ``--from`` was given.

    Raises:
        FetchError: A source failed (the whole command fails: exit 2).
    """
    if not args.from_sources:
        return None
    result = _run(args.from_sources, args, subjects)
    _summary(result)
    return result


def fetch_each(args: argparse.Namespace, subjects: list[Any]) -> list[Any]:
    """Fetch every ``--from`` source (all of them before the caller uses any).

    Returns:
        One ``FetchResult`` per source, in the order given (empty without ``--from``).

    Raises:
        FetchError: A source failed (the whole command fails: exit 2).
    """
    if not args.from_sources:
        return []
    return _fetch_each(args.from_sources, args, subjects)


def add_subject_arguments(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    """``--subject FILE`` and ``--subject-digest ALG:HEX`` (repeatable)."""
    parser.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="FILE",
        help="an artifact of interest" + what,
    )
    parser.add_argument(
        "--subject-digest",
        action="append",
        default=[],
        metavar="ALG:HEX",
        help="an artifact's digest, e.g. sha256:abc... (repeatable)" + what,
    )


def _fetch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="where to fetch from")
    add_subject_arguments(parser)
    parser.add_argument(
        "--predicate-type",
        action="append",
        default=[],
        metavar="URI",
        help="keep only this predicate type (repeatable)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="BUNDLE.jsonl",
        help="write what was found here (JSON Lines)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    _add_source_options(parser)


def subjects_of(args: argparse.Namespace) -> list[Any]:
    """The digest sets named by ``--subject`` and ``--subject-digest``.

    Raises:
        UsageError: A ``--subject-digest`` is not ``ALG:HEX``.
        InputError: A ``--subject`` file cannot be read.
    """
    from .._errors import ValidationError  # noqa: PLC0415
    from ..model._digests import DigestSet  # noqa: PLC0415
    from ..sources._files import hash_file  # noqa: PLC0415

    out: list[Any] = [hash_file(path, ("sha256", "sha512")) for path in args.subject]
    for text in args.subject_digest:
        alg, sep, value = text.partition(":")
        if not sep:
            raise UsageError(f"--subject-digest expects ALG:HEX, got {text!r}")
        try:
            out.append(DigestSet({alg: value}))
        except ValidationError as exc:
            raise UsageError(f"--subject-digest: {exc.problem}") from None
    return out


@subcommand(
    "fetch",
    help="fetch attestations from registries and APIs into a JSON Lines file",
    arguments=_fetch_arguments,
)
def _fetch(args: argparse.Namespace) -> int:
    from ..sources._fetch import jsonl  # noqa: PLC0415
    from ..sources._outputs import write_new_file  # noqa: PLC0415

    result = _run(args.sources, args, subjects_of(args))
    _summary(result)
    if not any(a.problem is None for a in result.attestations):
        sys.stderr.write(f"{PROG}: no attestations found; {_safe(args.out)} not written\n")
        return EXIT_FAILED
    # Written only once every source succeeded: a failure leaves nothing behind.
    write_new_file(args.out, jsonl(result.items), mode=0o644, overwrite=args.force)
    return EXIT_OK
