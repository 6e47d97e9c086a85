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
      "skipped": [{"location": STR, "reason": STR}],  # entries that are not envelopes
      "notVerified": [{"location": STR, "reason": STR}],  # with --key or --trusted-root only
                                         # (additive): items neither checked; non-empty: exit 1
      "trustedRoot": null or {"source": PATH, "sha256": HEX},   # --trusted-root (additive)
      "registryKeys": null or {"source": PATH, "keyids": [STR]},   # (additive)
      "bundles": [                       # every Sigstore bundle, in input order (additive)
        {"location": "FILE", "FILE:LINE" or "FILE#N (PATH IN DOCUMENT)",
         "container": "sigstore-bundle" or "npm-attestations" or
                      "pep740-attestation" or "pep740-provenance",
         "mediaType": STR,               # PEP 740 objects read as v0.3 bundles
         "predicateTypeHint": null or STR,   # npm's unsigned label next to the bundle
         "payloadType": null or STR,     # null: a message-signature bundle
         "statement": null or {...},     # as for envelopes
         "statementError": null or STR,
         "signer": null or {"kind": "certificate", "san": STR or null,
                            "issuer": STR or null, "extensions": {NAME: STR},
                            "notBefore": RFC3339, "notAfter": RFC3339,
                            "fingerprint": SHA256_OF_DER}
                   or {"kind": "key", "hint": STR},
         "signerError": null or STR,     # why the certificate cannot be read
         "tlogEntries": [{"kind": STR, "version": STR, "logIndex": STR,
                          "integratedTime": null or RFC3339,
                          "inclusionPromise": BOOL, "inclusionProof": BOOL}],
         "timestamps": [null or RFC3339],  # RFC 3161 times (null: unreadable)
         "verification": {"status": "not verified" (no --trusted-root) or
                                    "verified" or "failed" or "unsupported",
                          "reason": STR,
                          "signingTime": null or {"integratedTime": null or RFC3339,
                                                  "timestamps": [RFC3339]}}}
      ]
    }

Everything in a bundle entry except ``verification`` is what the bundle
*claims*: nothing is checked unless ``--trusted-root`` is given, and then
only ``verification.status == "verified"`` (with its ``signingTime``)
says the signature, certificate chain and log entry were verified, by the
same code as ``verify`` (:func:`~intoto_policy.crypto._keyless.verify_bundle`;
key-signed bundles with :func:`~intoto_policy.crypto._rekor.verify_keyed`
against ``--registry-keys``, as for an ``npmRegistryKeys`` functionary).
``verification.signingTime`` is not compared with a verification time:
``verify --at`` does that.

Exit codes: 2 for bad input (a file with nothing to inspect); with
``--key`` or ``--trusted-root``, 1 when something does not verify or an
input item escaped the verification asked for (``notVerified``); else 0.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._errors import IntotoPolicyError, UsageError, ValidationError
from ..model._json import DEFAULT_LIMITS
from ..sources._files import (
    load_envelopes,
    load_public_key_file,
    read_file,
)
from ._classic_doc import classic_document, classic_summary
from ._common import EXIT_FAILED, EXIT_INPUT, EXIT_OK, _error, _safe, _write_out, subcommand

if TYPE_CHECKING:
    from ..crypto._keyless import BundleRecord, SigstoreTrustedRoot
    from ..crypto._keys import PublicKey
    from ..crypto._rekor import RegistryKey
    from ..crypto._x509 import CertificateIdentity
    from ..model._attestations import Attestation
    from ..model._dsse import Envelope

__all__ = ["INSPECT_FORMAT"]


INSPECT_FORMAT: Final = "intoto-policy/inspect/v1"
# The status of a bundle when no trusted root was given: claims only.
NOT_VERIFIED: Final = "not verified"
# Unix seconds up to year 9999 have 12 digits; longer claims are not shown.
_MAX_TIME_DIGITS: Final = 12


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=(
            "a DSSE envelope, a Sigstore bundle (v0.1-v0.3), an npm attestations document, "
            "a PEP 740 attestation or provenance object, or JSON Lines of these"
        ),
    )
    parser.add_argument(
        "--key",
        dest="keys",
        action="append",
        default=[],
        metavar="PUBLIC_KEY",
        help="a PEM or JSON public key to check signatures with (repeatable)",
    )
    parser.add_argument(
        "--trusted-root",
        metavar="TRUSTED_ROOT",
        help=(
            "Sigstore trusted_root.json: verify each Sigstore bundle against it, with the same "
            "code as 'verify' (without it, nothing in a bundle is verified)"
        ),
    )
    parser.add_argument(
        "--registry-keys",
        metavar="KEYS_JSON",
        help=(
            'the npm registry\'s keys document ({"keys": [...]}, as served at '
            "/-/npm/v1/keys): key-signed bundles are verified against it (needs --trusted-root)"
        ),
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _statement(envelope: Envelope) -> tuple[dict[str, Any] | None, str | None]:
    """The envelope's in-toto Statement described, or None and why not."""
    try:
        parsed = envelope.statement()
    except IntotoPolicyError as exc:
        return None, exc.problem
    return {
        "type": parsed.type,
        "predicateType": parsed.predicate_type,
        "subjects": [
            {"name": s.name, "digest": s.digest.to_dict() if s.digest else {}}
            for s in parsed.subject
        ],
    }, None


def _describe_envelope(
    envelope: Envelope, location: str, keys: Sequence[PublicKey], check: bool
) -> dict[str, Any]:
    statement, error = _statement(envelope)
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


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _claimed_signer(material: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Who the bundle's verification material names, read and NOT verified."""
    from ..crypto._x509 import certificate_identity, load_certificate  # noqa: PLC0415

    hint = material.get("publicKey")
    if isinstance(hint, dict):
        return {"kind": "key", "hint": str(hint.get("hint", ""))}, None
    holder = material.get("certificate")
    if holder is None:
        chain = material.get("x509CertificateChain") or {}
        holder = (chain.get("certificates") or [None])[0]
    if not isinstance(holder, dict) or not isinstance(holder.get("rawBytes"), str):
        return None, "no signing certificate or public key hint"
    try:
        # parse_bundles checked the base64 and DER already.
        certificate = load_certificate(base64.b64decode(holder["rawBytes"]))
        identity = certificate_identity(certificate)
    except IntotoPolicyError as exc:
        return None, exc.problem
    return _certificate_signer(identity), None


def _certificate_signer(identity: CertificateIdentity) -> dict[str, Any]:
    return {
        "kind": "certificate",
        "san": identity.san,
        "issuer": identity.issuer,
        "extensions": {k: v for k, v in identity.extensions.items() if k != "issuer"},
        "notBefore": _rfc3339(identity.not_before),
        "notAfter": _rfc3339(identity.not_after),
        "fingerprint": identity.fingerprint,
    }


def _claimed_tlog(material: dict[str, Any]) -> list[dict[str, Any]]:
    """The bundle's transparency-log entries as claimed (nothing checked)."""
    out = []
    for entry in material.get("tlogEntries") or []:
        if not isinstance(entry, dict):
            continue
        kv = entry.get("kindVersion")
        kv = kv if isinstance(kv, dict) else {}
        out.append(
            {
                "kind": str(kv.get("kind")),
                "version": str(kv.get("version")),
                "logIndex": str(entry.get("logIndex")),
                "integratedTime": _claimed_time(entry.get("integratedTime")),
                "inclusionPromise": isinstance(entry.get("inclusionPromise"), dict),
                "inclusionProof": isinstance(entry.get("inclusionProof"), dict),
            }
        )
    return out


def _claimed_time(raw: Any) -> str | None:
    """A log entry's integrated time (Unix seconds), or None if absent or unreadable."""
    # Short ASCII digits only: int() of a huge or non-ASCII digit string raises.
    if type(raw) is int:
        text = str(raw) if 0 <= raw < 10**_MAX_TIME_DIGITS else ""
    else:
        text = raw if type(raw) is str else ""
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_TIME_DIGITS):
        return None
    seconds = int(text)
    if seconds == 0:
        return None  # Rekor v2 entries carry none: RFC 3161 timestamps date them.
    try:
        return _rfc3339(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, ValueError, OSError):
        return None


def _claimed_timestamps(material: dict[str, Any]) -> list[str | None]:
    """The times RFC 3161 timestamps claim (nothing checked; None: unreadable)."""
    data = material.get("timestampVerificationData")
    stamps = data.get("rfc3161Timestamps") if isinstance(data, dict) else None
    out: list[str | None] = []
    for stamp in stamps if isinstance(stamps, list) else []:
        try:
            from rfc3161_client import decode_timestamp_response  # noqa: PLC0415

            response = decode_timestamp_response(base64.b64decode(stamp["signedTimestamp"]))
            out.append(_rfc3339(response.tst_info.gen_time))
        except Exception:  # noqa: BLE001 - shown as unreadable; verification decides
            out.append(None)
    return out


def _describe_bundle(
    att: Attestation, root: SigstoreTrustedRoot | None, registry: Sequence[RegistryKey]
) -> dict[str, Any]:
    from ..model._dsse import Envelope  # noqa: PLC0415
    from ..model._json import loads  # noqa: PLC0415

    record = att.bundle
    assert record is not None
    doc = loads(record.bundle_json, source=att.source)
    material = doc["verificationMaterial"]
    statement: dict[str, Any] | None = None
    error: str | None = None
    payload_type: str | None = None
    if doc.get("dsseEnvelope") is not None:
        try:
            envelope = Envelope.from_dict(doc["dsseEnvelope"])
        except IntotoPolicyError as exc:
            error = exc.problem
        else:
            payload_type = envelope.payload_type
            statement, error = _statement(envelope)
    else:
        error = "a message-signature bundle (no DSSE envelope, no Statement)"
    signer, signer_error = _claimed_signer(material)
    verification, identity = _verify_bundle(record, root, registry)
    if identity is not None:
        # Verified: show the identity verification established, not the claim.
        signer, signer_error = _certificate_signer(identity), None
    return {
        "location": att.source,
        "container": record.container,
        "mediaType": record.media_type,
        "predicateTypeHint": record.predicate_type_hint,
        "payloadType": payload_type,
        "statement": statement,
        "statementError": error,
        "signer": signer,
        "signerError": signer_error,
        "tlogEntries": _claimed_tlog(material),
        "timestamps": _claimed_timestamps(material),
        "verification": verification,
    }


def _verify_bundle(
    record: BundleRecord, root: SigstoreTrustedRoot | None, registry: Sequence[RegistryKey]
) -> tuple[dict[str, Any], CertificateIdentity | None]:
    """Verify with the code ``verify`` uses; without a root, say nothing was."""
    from ..crypto._keyless import verify_bundle  # noqa: PLC0415
    from ..crypto._rekor import is_key_signed, verify_keyed  # noqa: PLC0415

    if root is None:
        return {
            "status": NOT_VERIFIED,
            "reason": "no --trusted-root given: nothing in this bundle was verified",
            "signingTime": None,
        }, None
    if registry and is_key_signed(record.bundle_json):
        # As verify does for an npmRegistryKeys functionary.
        keyed = verify_keyed(record.bundle_json, root.rekor, registry, at=None)
        if not keyed.ok or keyed.outcome is None:
            return {"status": "failed", "reason": keyed.reason, "signingTime": None}, None
        return {
            "status": "verified",
            "reason": keyed.reason,
            "signingTime": {
                "integratedTime": _rfc3339(keyed.outcome.integrated_time),
                "timestamps": [_rfc3339(t) for t in keyed.outcome.timestamps],
            },
        }, None
    # No verification time: inspect shows evidence; 'verify --at' judges it.
    result = verify_bundle(record, root, at=None)
    signing = None
    if result.verified and result.identity is not None:
        integrated = result.identity.integrated_time
        signing = {
            "integratedTime": None if integrated is None else _rfc3339(integrated),
            "timestamps": [_rfc3339(t) for t in result.identity.timestamps],
        }
    verification = {"status": result.status, "reason": result.reason, "signingTime": signing}
    return verification, result.identity if result.verified else None


def _bundle_lines(bundle: dict[str, Any]) -> list[str]:
    verification = bundle["verification"]
    verified = verification["status"] == "verified"
    # Until verified, every value below is only what the bundle claims.
    claimed = "" if verified else " (claimed, not verified)"
    media = _safe(bundle["mediaType"])
    lines = [
        f"{_safe(bundle['location'])}:",
        f"  Sigstore bundle: {media} (container: {bundle['container']})",
    ]
    if bundle["predicateTypeHint"] is not None:
        lines.append(f"  predicate type hint (unsigned): {_safe(bundle['predicateTypeHint'])}")
    if bundle["payloadType"] is not None:
        lines.append(f"  payload type: {_safe(bundle['payloadType'])}")
    stmt = bundle["statement"]
    if stmt is None:
        lines.append(f"  not an in-toto Statement: {_safe(bundle['statementError'])}")
    else:
        lines += _statement_lines(stmt)
    signer = bundle["signer"]
    if signer is None:
        lines.append(f"  signer: unreadable: {_safe(bundle['signerError'])}")
    elif signer["kind"] == "key":
        lines.append(
            f"  signer{claimed or ' (verified)'}: public key {_safe(repr(signer['hint']))}"
        )
    else:
        lines.append(f"  signer{claimed or ' (verified)'}:")
        lines.append(f"    identity (SAN): {_safe(str(signer['san']))}")
        lines.append(f"    issuer: {_safe(str(signer['issuer']))}")
        lines.append(f"    certificate valid: {signer['notBefore']} to {signer['notAfter']}")
        for name, value in signer["extensions"].items():
            lines.append(f"    {_safe(name)}: {_safe(value)}")
    for entry in bundle["tlogEntries"]:
        proof = "inclusion proof" if entry["inclusionProof"] else "no inclusion proof"
        promise = ", signed entry timestamp" if entry["inclusionPromise"] else ""
        when = entry["integratedTime"] or "no integrated time"
        lines.append(
            f"  log entry{claimed}: {_safe(entry['kind'])}/{_safe(entry['version'])}"
            f" index {_safe(entry['logIndex'])}, {when} ({proof}{promise})"
        )
    if not bundle["tlogEntries"]:
        lines.append("  log entry: none")
    for stamp in bundle["timestamps"]:
        lines.append(f"  RFC 3161 timestamp{claimed}: {stamp or 'unreadable'}")
    signing = verification["signingTime"]
    if signing is not None:
        times = ([signing["integratedTime"]] if signing["integratedTime"] else []) + signing[
            "timestamps"
        ]
        lines.append(f"  signing time (verified): {', '.join(times)}")
    label = {
        "verified": "yes",
        "failed": "NO",
        "unsupported": "NO (unsupported)",
        NOT_VERIFIED: "NOT VERIFIED",
    }[verification["status"]]
    lines.append(f"  verified: {label}: {_safe(verification['reason'])}")
    return lines


def _statement_lines(stmt: dict[str, Any]) -> list[str]:
    lines = [
        f"  statement type: {_safe(stmt['type'])}",
        f"  predicate type: {_safe(stmt['predicateType'])}",
        f"  subjects ({len(stmt['subjects'])}):",
    ]
    for sub in stmt["subjects"]:
        digests = " ".join(f"{_safe(a)}:{_safe(v)}" for a, v in sub["digest"].items())
        name = "<no name>" if sub["name"] is None else _safe(sub["name"])
        lines.append(f"    {name}  {digests}")
    return lines


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
            lines += _statement_lines(stmt)
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
    for bundle in report["bundles"]:
        lines += _bundle_lines(bundle)
    for skipped in report["skipped"]:
        lines.append(f"{_safe(skipped['location'])}: skipped: {_safe(skipped['reason'])}")
    missed = report.get("notVerified") or []
    if missed:
        lines.append(
            f"NOT VERIFIED: {len(missed)} input item(s) escaped the verification asked for:"
        )
        lines += [f"  {_safe(m['location'])}: {_safe(m['reason'])}" for m in missed]
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


def _not_verified(report: dict[str, Any], keys: bool, root: bool) -> list[dict[str, str]]:
    """The input items that verification, asked for, did not cover (location, why).

    With ``--key`` or ``--trusted-root`` every item must be checked by one
    of them: a skipped entry, an envelope without ``--key``, a bundle
    without ``--trusted-root`` or a classic metablock was not, and makes
    the exit code 1 rather than letting a pass cover it.
    """
    out = [
        {"location": item["location"], "reason": f"skipped: {item['reason']}"}
        for item in report["skipped"]
    ]
    if not keys:
        out += [
            {"location": env["location"], "reason": "a DSSE envelope: checked with --key only"}
            for env in report["envelopes"]
        ]
    if not root:
        out += [
            {"location": b["location"], "reason": "a Sigstore bundle: checked with --trusted-root"}
            for b in report["bundles"]
        ]
    out += [
        {"location": m["location"], "reason": "a classic metablock: checked by 'verify'"}
        for m in report["metablocks"]
    ]
    return out


@subcommand(
    "inspect",
    help="show and check DSSE envelopes, Sigstore bundles and classic in-toto links/layouts",
    arguments=_inspect_arguments,
)
def _inspect(args: argparse.Namespace) -> int:
    sources: list[str] = args.keys
    keys = [load_public_key_file(path) for path in sources]
    root = _trusted_root(args.trusted_root)
    registry = _registry_keys(args.registry_keys)
    if registry and root is None:
        raise UsageError("--registry-keys needs --trusted-root (the log's key checks the entry)")
    envelopes: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    metablocks: list[dict[str, Any]] = []
    bundles: list[dict[str, Any]] = []
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
        found = (
            _with_bundles(path, any(env is not None for env, _, _ in entries))
            if any(env is None for env, _, _ in entries)
            else None
        )
        if found is not None:
            if not any(att.bundle is not None or att.envelope is not None for att in found):
                empty_files.append(path)
            # The same reading as 'verify': envelopes, bundles and their containers.
            for att in found:
                if att.bundle is not None:
                    bundles.append(_describe_bundle(att, root, registry))
                elif att.envelope is not None:
                    envelopes.append(_describe_envelope(att.envelope, att.source, keys, bool(keys)))
                else:
                    skipped.append({"location": att.source, "reason": att.problem or ""})
            continue
        if not any(env is not None for env, _, _ in entries):
            empty_files.append(path)
        for env, location, reason in entries:
            if env is None:
                skipped.append({"location": location, "reason": reason})
            else:
                envelopes.append(_describe_envelope(env, location, keys, bool(keys)))
    # Flags that do not apply to the inputs are errors, never silently unused.
    if root is not None and not bundles and not empty_files:
        raise UsageError("--trusted-root: the inputs hold no Sigstore bundle to verify")
    if registry and not any((b["signer"] or {}).get("kind") == "key" for b in bundles):
        raise UsageError("--registry-keys: the inputs hold no key-signed Sigstore bundle")
    if keys and not envelopes and bundles and not empty_files:
        raise UsageError(
            "--key checks DSSE envelopes; the inputs hold only Sigstore bundles"
            " (check them with --trusted-root)"
        )
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
        "trustedRoot": None if root is None else {"source": root.source, "sha256": root.sha256},
        "registryKeys": None
        if args.registry_keys is None
        else {"source": args.registry_keys, "keyids": [k.keyid for k in registry]},
        "bundles": bundles,
    }
    if keys or root is not None:
        report["notVerified"] = _not_verified(report, bool(keys), root is not None)
    if args.format == "json":
        from ..report._common import dump_json  # noqa: PLC0415

        # The one JSON writer: hidden and control characters come out as escapes.
        _write_out(sys.stdout, dump_json(report, indent=2) + "\n")
    else:
        _write_out(sys.stdout, _text_report(report, sources))
    for path in empty_files:
        _error(f"{path}: no DSSE envelope or Sigstore bundle in this file")
    if empty_files:
        return EXIT_INPUT
    if report.get("notVerified"):
        return EXIT_FAILED  # verification was asked for and an item escaped it
    if keys and not all(env["verified"] for env in envelopes):
        return EXIT_FAILED
    if root is not None and not all(b["verification"]["status"] == "verified" for b in bundles):
        return EXIT_FAILED
    return EXIT_OK


def _trusted_root(path: str | None) -> SigstoreTrustedRoot | None:
    if path is None:
        return None
    from .._api import load_trusted_root_file  # noqa: PLC0415

    return load_trusted_root_file(Path(path))


def _registry_keys(path: str | None) -> tuple[RegistryKey, ...]:
    if path is None:
        return ()
    from ..crypto._rekor import parse_registry_keys  # noqa: PLC0415
    from ..model._json import loads  # noqa: PLC0415

    doc = loads(read_file(path, DEFAULT_LIMITS), source=path)
    if not isinstance(doc, dict) or set(doc) != {"keys"}:
        raise ValidationError('not a registry keys document {"keys": [...]}', source=path)
    try:
        return parse_registry_keys(doc["keys"])
    except ValidationError as exc:
        raise ValidationError(exc.problem, path=exc.path, source=path) from None


def _with_bundles(path: str, has_envelopes: bool) -> list[Attestation] | None:
    """The file read as ``verify`` reads it, if that finds more; else None.

    More: a Sigstore bundle, or envelopes where the plain reading found none
    (a Google Container Analysis document), or a container that does not parse.
    """
    from ..model._attestations import is_bundle_container, parse_attestations  # noqa: PLC0415
    from ..model._json import loads  # noqa: PLC0415

    data = read_file(path, DEFAULT_LIMITS)
    found = parse_attestations(data, source=path)
    if any(att.bundle is not None for att in found):
        return found
    if not has_envelopes and any(att.envelope is not None for att in found):
        return found
    # A container that does not parse: say why as verify would, not "not an envelope".
    try:
        whole = loads(data, source=path)
    except IntotoPolicyError:
        return None
    return found if is_bundle_container(whole) else None
