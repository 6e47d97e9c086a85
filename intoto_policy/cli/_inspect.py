"""The ``inspect`` command: show what envelopes say and who signed them.

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
         "classic": null or {"type": "link" or "layout", "format": "dsse",
                             "name": STR or null},  # a classic in-toto payload
         "signatures": [{"index": N, "keyid": STR,
                         "keys": [{"key": INDEX_INTO_keys, "verified": BOOL}]}],
         "verified": null (no --key) or BOOL}   # some signature verifies
      ],
      "metablocks": [{"location": FILE, "type": "link" or "layout",   # classic in-toto
                      "format": "metablock", "name": STR or null,
                      "signatures": [KEYID or null]}],
      "skipped": [{"location": STR, "reason": STR}]   # entries that are not envelopes
    }
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from .._errors import IntotoPolicyError, UsageError
from ..sources._files import (
    load_envelopes,
    load_public_key_file,
    read_file,
)
from ._classic_doc import classic_document, classic_summary
from ._common import EXIT_FAILED, EXIT_INPUT, EXIT_OK, _error, _safe, _write_out, subcommand

if TYPE_CHECKING:
    from ..crypto._keys import PublicKey
    from ..model._dsse import Envelope

__all__ = ["INSPECT_FORMAT"]


INSPECT_FORMAT: Final = "intoto-policy/inspect/v1"


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
        "classic": _classic_payload(envelope) if statement is None else None,
        "signatures": signatures,
        "verified": any_verified if check else None,
    }


def _classic_payload(envelope: Envelope) -> dict[str, Any] | None:
    """A classic in-toto link or layout carried in a DSSE envelope, or None."""
    from ..classic._load import ENVELOPE_PAYLOAD_TYPE  # noqa: PLC0415
    from ..model._json import loads  # noqa: PLC0415

    if envelope.payload_type != ENVELOPE_PAYLOAD_TYPE:
        return None
    try:
        doc = loads(envelope.payload, source="payload")
    except IntotoPolicyError:
        return None
    if not isinstance(doc, dict) or doc.get("_type") not in ("link", "layout"):
        return None
    name = doc.get("name")
    return {"type": doc["_type"], "format": "dsse", "name": name if isinstance(name, str) else None}


def _classic_line(classic: dict[str, Any]) -> str:
    name = "" if classic["name"] is None else f" {_safe(repr(classic['name']))}"
    return f"  classic in-toto {classic['type']}{name} ({classic['format']})"


def _text_report(report: dict[str, Any], sources: Sequence[str]) -> str:
    lines: list[str] = []
    keys = report["keys"]
    for env in report["envelopes"]:
        lines.append(f"{_safe(env['location'])}:")
        lines.append(f"  payload type: {_safe(env['payloadType'])}")
        stmt = env["statement"]
        if env["classic"] is not None:
            lines.append(_classic_line(env["classic"]))
        elif stmt is None:
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
    for meta in report["metablocks"]:
        lines.append(f"{_safe(meta['location'])}:")
        lines.append(_classic_line(meta))
        lines.append(f"  signatures ({len(meta['signatures'])}):")
        for index, keyid in enumerate(meta["signatures"]):
            lines.append(f"    [{index}] keyid {_safe(keyid) if keyid else '<no keyid>'}")
    for skipped in report["skipped"]:
        lines.append(f"{_safe(skipped['location'])}: skipped: {_safe(skipped['reason'])}")
    return "\n".join(lines) + "\n"


def _metablock(path: str) -> dict[str, Any] | None:
    """A classic in-toto metablock (link or layout) file, described; else None."""
    from ..classic._load import LINK_LIMITS  # noqa: PLC0415

    doc = classic_document(read_file(path, LINK_LIMITS), path)
    if doc is None or doc.format != "metablock":
        return None
    keyids = [sig.get("keyid") if isinstance(sig, dict) else None for sig in doc.signatures]
    return {
        "location": path,
        **classic_summary(doc),
        "signatures": [k if isinstance(k, str) else None for k in keyids],
    }


@subcommand(
    "inspect",
    help="show and check DSSE envelopes, JSON Lines bundles and classic in-toto links/layouts",
    arguments=_inspect_arguments,
)
def _inspect(args: argparse.Namespace) -> int:
    sources: list[str] = args.keys
    keys = [load_public_key_file(path) for path in sources]
    envelopes: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    metablocks: list[dict[str, Any]] = []
    empty_files: list[str] = []
    for path in args.files:
        entries = load_envelopes(path)
        meta = _metablock(path) if len(entries) == 1 and entries[0][0] is None else None
        if meta is not None:
            if keys:
                raise UsageError(
                    "--key checks DSSE signatures; a classic metablock's signatures are "
                    "checked by 'intoto-policy verify'",
                    source=path,
                )
            metablocks.append(meta)
            continue
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
        "metablocks": metablocks,
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
