"""CLI subcommands ``store ingest`` and ``store query``.

``store ingest --store URL (FILE... | --from SOURCE...)`` keeps the exact
bytes of every envelope or bundle found in the files (directories are read
recursively, attestation file names only) and of every item the explicit
fetching step returns for each ``--from`` source (all sources are fetched
before anything is written; a source that fails fails the command, exit 2),
deduplicated by digest. Each source gets one summary line on stderr.
Inputs that do not parse are recorded as rejected and listed; the exit code
is then 1.

``store query --store URL --subject-digest ALG:HEX`` lists what the store
holds about an artifact (exit 1 when nothing matches). With
``--format json`` it prints one object::

    {"format": "intoto-policy/store-query/v1",
     "attestations": [{"digest": "sha256:HEX", "kind": "envelope"|"bundle",
                       "source": STR, "ingestedAt": RFC3339,
                       "subjects": ["ALG:HEX"], "predicateTypes": [URI],
                       "signers": [{"kind": "keyid"|"fingerprint"|"certificate"
                                            |"identity"|"issuer", "value": STR}]}]}

Signers are what the signatures claim, unverified: the store is evidence,
verification (``verify --store``, ``audit``) decides.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from .._errors import UsageError
from ._common import EXIT_FAILED, EXIT_OK, PROG, _safe, now, positive_int, subcommand

__all__: list[str] = []

QUERY_FORMAT: Final = "intoto-policy/store-query/v1"


def add_store_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--store URL``."""
    parser.add_argument(
        "--store",
        required=required,
        metavar="URL",
        help="attestation store: sqlite:///PATH or postgresql://USER@HOST/DB",
    )


def _ingest_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="envelopes, bundles or JSON Lines of them; directories are read recursively",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=500,
        metavar="N",
        help="items per transaction (default 500)",
    )
    from ._fetch import add_from_arguments, add_subject_arguments  # noqa: PLC0415

    add_from_arguments(parser, purpose="ingesting")
    add_subject_arguments(parser, what=", for --from")
    parser.add_argument(
        "--predicate-type",
        action="append",
        default=[],
        metavar="URI",
        help="from --from sources keep only this predicate type (repeatable)",
    )


@subcommand(
    "store ingest",
    help="keep attestations (exact bytes) in a store, indexed by subject, type and signer",
    arguments=_ingest_arguments,
)
def _store_ingest(args: argparse.Namespace) -> int:
    at = now()
    from .._errors import UsageError  # noqa: PLC0415
    from ..store import IngestResult, ingest_items, ingest_paths, open_store  # noqa: PLC0415
    from ._fetch import fetch_each, refuse_source_options_without_from, subjects_of  # noqa: PLC0415

    refuse_source_options_without_from(args)
    from_only = (
        ("--subject", args.subject),
        ("--subject-digest", args.subject_digest),
        ("--predicate-type", args.predicate_type),
    )
    if not args.from_sources and any(v for _, v in from_only):
        given = [n for n, v in from_only if v]
        raise UsageError(f"{', '.join(given)}: only apply with --from")
    if not args.files and not args.from_sources:
        raise UsageError("nothing to ingest: give FILE... or --from SOURCE")
    # Every source is fetched before the store is opened: a failing source leaves it untouched.
    fetched = fetch_each(args, subjects_of(args))
    with open_store(args.store, create=True) as store:
        result = (
            ingest_paths(
                store, [Path(p) for p in args.files], ingested_at=at, batch_size=args.batch_size
            )
            if args.files
            else IngestResult()
        )
        for got in fetched:
            source = got.sources[0].source
            # The fetch filter keeps items whose type it cannot read (it only
            # saves downloads); the store decides from the parsed statements.
            part = ingest_items(
                store,
                [(item.raw, f"{source} {item.location}") for item in got.items],
                ingested_at=at,
                batch_size=args.batch_size,
                predicate_types=args.predicate_type,
            )
            skipped = f", other predicate types {part.skipped}" if args.predicate_type else ""
            sys.stderr.write(
                f"{PROG}: {_safe(source)}: {len(got.items)} item(s) fetched; stored {part.stored}, "
                f"already present {part.duplicates}, rejected {part.rejected}{skipped}\n"
            )
            result.merge(part)
    for source, reason in result.rejections:
        sys.stdout.write(f"{_safe(source)}: rejected: {_safe(' '.join(reason.split()))}\n")
    if result.rejected > len(result.rejections):
        sys.stdout.write(f"... and {result.rejected - len(result.rejections)} more rejected\n")
    sys.stdout.write(
        f"stored {result.stored}, already present {result.duplicates}, rejected {result.rejected}\n"
    )
    return EXIT_FAILED if result.rejected else EXIT_OK


def _query_arguments(parser: argparse.ArgumentParser) -> None:
    from ..store._base import SIGNER_KINDS  # noqa: PLC0415 - the store loads on use

    add_store_argument(parser)
    parser.add_argument(
        "--subject-digest",
        action="append",
        required=True,
        metavar="ALG:HEX",
        help="a digest of the artifact (repeatable: any of them matches)",
    )
    parser.add_argument("--predicate-type", metavar="URI", help="only this predicate type")
    parser.add_argument(
        "--signer",
        metavar="VALUE",
        help="only attestations whose signatures claim this key id, key fingerprint, "
        "certificate identity or issuer",
    )
    parser.add_argument(
        "--signer-kind",
        choices=SIGNER_KINDS,
        help="with --signer: match only this kind of claim (an identity URL and an issuer "
        "URL are both just strings otherwise)",
    )
    parser.add_argument("--format", default="text", choices=["text", "json"], help="output")


@subcommand(
    "store query",
    help="list what a store holds about an artifact",
    arguments=_query_arguments,
)
def _store_query(args: argparse.Namespace) -> int:
    from ..store import open_store, parse_digest, stored_attestations  # noqa: PLC0415

    if args.signer_kind and not args.signer:
        raise UsageError("--signer-kind applies with --signer only")
    subjects = [parse_digest(text) for text in args.subject_digest]
    with open_store(args.store) as store:
        found = stored_attestations(
            store,
            subjects,
            predicate_type=args.predicate_type,
            signer=args.signer,
            signer_kind=args.signer_kind,
        )
    if args.format == "json":
        doc: dict[str, Any] = {
            "format": QUERY_FORMAT,
            "attestations": [a.to_dict() for a in found],
        }
        from ..report._common import dump_json  # noqa: PLC0415

        # dump_json escapes what could act on a terminal (bidi overrides, C1).
        sys.stdout.write(dump_json(doc, indent=2) + "\n")
    else:
        for a in found:
            types = ",".join(a.predicate_types) or "-"
            sys.stdout.write(
                f"sha256:{a.digest}  {_safe(types)}  {a.ingested_at}  {_safe(a.source)}\n"
            )
        sys.stdout.write(f"{len(found)} attestation(s)\n")
    return EXIT_OK if found else EXIT_FAILED


def store_evidence(args: argparse.Namespace, subjects: list[Any]) -> list[Any]:
    """``verify --store``: the attestations the store holds about the subjects.

    Raises:
        UsageError: ``--store`` is combined with ``--attestations`` or
            ``--no-subject``, or no subject is given.
        InputError: The store cannot be opened or read; ``--output`` names
            the store file.
    """
    from .._errors import UsageError  # noqa: PLC0415
    from ..sources._outputs import refuse_overwriting_inputs  # noqa: PLC0415
    from ..store import attestations_for, open_store  # noqa: PLC0415

    if args.attestations:
        raise UsageError("--store and --attestations are exclusive: evidence comes from one")
    if not subjects:
        raise UsageError("--store needs --subject or --subject-digest: it finds evidence by digest")
    if args.output and args.store.startswith("sqlite:///"):
        refuse_overwriting_inputs(args.output, [args.store.removeprefix("sqlite:///")])
    with open_store(args.store) as store:
        return attestations_for(store, subjects)
