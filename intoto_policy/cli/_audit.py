"""CLI subcommand ``audit``: every subject of a list or of a store, one layout.

``audit LAYOUT --store URL (--subjects FILE | --all) --output results.jsonl``
verifies each subject with the evidence the store holds about it and
appends one JSON line per subject to ``--output``::

    {"subject": "ALG:HEX", "verdict": "pass"|"fail"|"no-evidence"|"error",
     "failures": [STR], "evidence": ["sha256:HEX"], "considered": N,
     "layoutDigest": "sha256:HEX", "verifiedAt": RFC3339,
     "vsa": ENVELOPE}          # with --vsa-key, on a pass

Every line also carries ``configDigest``: a digest of the whole effective
configuration (layout bytes, parameters, ``--at``, store, layout keys,
trusted root, ``--unsigned-layout``). It is resumable: subjects already in
``--output`` are skipped when their line carries this run's configuration
digest; a line made under another configuration is an error (exit 2), never
reused. Lines whose verdict was ``error`` are audited again and the later
line wins; with ``--vsa-key`` so is a ``pass`` line whose VSA that key does
not verify. The lines are not authenticated otherwise: whoever can write
``--output`` can forge them (see the guide). A summary table goes to
stdout, a progress bar to stderr on a terminal. Exit 0 when every subject
passed, 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Final

from .._errors import InputError, IntotoPolicyError, UsageError
from ..model._json import LAYOUT_LIMITS, TRUSTED_ROOT_LIMITS, JSONLimits
from ..sources._files import load_private_key_file, load_public_key_file, read_file
from ..sources._outputs import LineAppender, refuse_overwriting_inputs
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    _add_parameter_arguments,
    _at,
    _params,
    _passphrase_source,
    _safe,
    positive_int,
    subcommand,
)
from ._store import add_store_argument

__all__: list[str] = []

#: Bounds for reading back an --output to resume (one line per subject).
RESULTS_LIMITS: Final = JSONLimits(max_bytes=4 * 1024 * 1024 * 1024, max_depth=64)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("layout", metavar="LAYOUT", help="the attestation layout")
    add_store_argument(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--subjects", metavar="FILE", help="subjects to audit, one ALG:HEX a line")
    which.add_argument("--all", action="store_true", help="every subject in the store")
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="JSON Lines results (appended, resumable)"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes auditing: this one and N-1 helpers; with --engine ray, N actors "
        "(default 1)",
    )
    parser.add_argument("--engine", default="local", choices=["local", "ray"], help="engine")
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="Ray cluster to run on (--engine ray; default RAY_ADDRESS, else a local instance)",
    )
    parser.add_argument(
        "--layout-key",
        action="append",
        default=[],
        metavar="PUB",
        help="public key of a layout owner; every one given must have signed (repeatable)",
    )
    parser.add_argument(
        "--unsigned-layout", action="store_true", help="accept a layout that is not signed"
    )
    _add_parameter_arguments(parser)
    parser.add_argument("--at", metavar="TIME", help="verification time, RFC 3339 (default: now)")
    parser.add_argument(
        "--trusted-root", metavar="FILE", help="Sigstore trusted_root.json, given out of band"
    )
    parser.add_argument(
        "--vsa-key", metavar="PRIV", help="sign a VSA for each passing subject with this key"
    )
    parser.add_argument("--vsa-verifier-id", metavar="URI", help="verifier.id of the VSAs")
    parser.add_argument(
        "--passphrase-env", metavar="VAR", help="environment variable with the VSA key passphrase"
    )


def _subjects_file(path: str) -> list[str]:
    from ..store import parse_digest  # noqa: PLC0415

    data = read_file(path, RESULTS_LIMITS)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=path) from None
    out: dict[str, None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            digest = parse_digest(line, what="subject")
        except UsageError as exc:
            raise InputError(exc.problem, source=f"{path}:{number}") from None
        [(alg, value)] = digest.items()
        out[f"{alg}:{value}"] = None
    return list(out)


def _done(
    path: str, layout_digest: str, config_digest: str, vsa_key: Any = None, at: str = ""
) -> dict[str, str]:
    """Verdicts already in the results file (subject -> verdict).

    A line that does not parse (the last one, cut by a kill) is ignored:
    its subject is audited again. Every other line must carry this run's
    configuration digest: a line made under other parameters, another
    time, store, owner keys, trusted root or unsigned flag is refused, not
    reused. With ``vsa_key`` a passing line counts only if its VSA is
    signed by that key for that subject, time, layout and configuration
    digest (inside the signed VSA); otherwise the
    subject is audited again.

    Raises:
        InputError: The file holds results for another layout or another
            configuration.
    """
    from ..audit import VERDICTS  # noqa: PLC0415

    if not Path(path).exists():
        return {}
    done: dict[str, str] = {}
    for number, line in enumerate(read_file(path, RESULTS_LIMITS).split(b"\n"), start=1):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not (
            isinstance(doc, dict)
            and isinstance(doc.get("subject"), str)
            and doc.get("verdict") in VERDICTS
        ):
            continue
        if doc.get("layoutDigest") != layout_digest:
            raise InputError(
                f"line {number} holds a result for another layout "
                f"({_safe(str(doc.get('layoutDigest'))[:80])}): write to a new --output",
                source=path,
            )
        if doc.get("configDigest") != config_digest:
            raise InputError(
                f"line {number}: results file was written for another configuration "
                "(parameters, --at, --store, --layout-key, --trusted-root or "
                "--unsigned-layout differ): write to a new --output",
                source=path,
            )
        verdict = doc["verdict"]
        if (
            verdict == "pass"
            and vsa_key is not None
            and not _vsa_vouches(doc, vsa_key, at, config_digest)
        ):
            verdict = "error"  # not authenticated: audited again
        done[doc["subject"]] = verdict
    # A subject that could not be audited (a store error) is tried again;
    # its later line supersedes the earlier one.
    return {subject: verdict for subject, verdict in done.items() if verdict != "error"}


def _vsa_vouches(doc: dict[str, Any], key: Any, at: str, config_digest: str) -> bool:
    """Whether a line's VSA is signed by ``key`` and passes its subject at ``at``.

    The configuration digest is compared inside the signed statement: the
    line's own ``configDigest`` is not authenticated, so a VSA made under
    other parameters (or by ``verify --format vsa``, which records none)
    does not vouch for this run.
    """
    from ..model._dsse import Envelope  # noqa: PLC0415
    from ..report._vsa import CONFIG_DIGEST_ANNOTATION  # noqa: PLC0415

    try:
        envelope = Envelope.from_dict(doc["vsa"])
        if not envelope.verified_keys([key]):
            return False
        statement = json.loads(envelope.payload)
        predicate = statement["predicate"]
        alg, _, value = doc["subject"].partition(":")
        digest = "sha256:" + predicate["policy"]["digest"]["sha256"]
        return bool(
            predicate["verificationResult"] == "PASSED"
            and predicate["timeVerified"] == at
            and digest == doc["layoutDigest"]
            and predicate["policy"]["annotations"][CONFIG_DIGEST_ANNOTATION] == config_digest
            and any(s.get("digest", {}).get(alg) == value for s in statement["subject"])
        )
    except (IntotoPolicyError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _check_flags(args: argparse.Namespace) -> None:
    if args.ray_address and args.engine != "ray":
        raise UsageError("--ray-address applies to --engine ray only")
    if (args.vsa_verifier_id or args.passphrase_env) and not args.vsa_key:
        raise UsageError("--vsa-verifier-id and --passphrase-env apply with --vsa-key only")


@subcommand(
    "audit",
    help="verify every subject of a list or a store against a layout (JSON Lines results)",
    arguments=_arguments,
)
def _audit(args: argparse.Namespace) -> int:
    at = _at(args.at)  # the one clock read
    _check_flags(args)
    import hashlib  # noqa: PLC0415

    from ..audit import AuditConfig, AuditContext, config_digest, run_local  # noqa: PLC0415

    inputs: list[Any] = [args.layout, *args.layout_key]
    inputs += [p for p in (args.trusted_root, args.params_file, args.subjects) if p]
    if args.store.startswith("sqlite:///"):
        inputs.append(args.store.removeprefix("sqlite:///"))
    refuse_overwriting_inputs(args.output, inputs)
    layout_data = read_file(args.layout, LAYOUT_LIMITS)
    keys = [load_public_key_file(p) for p in args.layout_key]
    vsa_key = (
        load_private_key_file(args.vsa_key, _passphrase_source(args.passphrase_env, args.vsa_key))
        if args.vsa_key
        else None
    )
    config = AuditConfig(
        layout_path=args.layout,
        layout_data=layout_data,
        store_url=args.store,
        at=at,
        params=_params(args),
        layout_keys=tuple((k.keyid, k.to_dict()) for k in keys),
        allow_unsigned=args.unsigned_layout,
        trusted_root=(
            (args.trusted_root, read_file(args.trusted_root, TRUSTED_ROOT_LIMITS))
            if args.trusted_root
            else None
        ),
        vsa=vsa_key is not None,
        verifier_id=args.vsa_verifier_id,
    )
    # Built here first: a bad layout, key or store fails once, before any worker starts.
    context = AuditContext.build(config)
    try:
        subjects = (
            [f"{alg}:{value}" for alg, value in context.store.key_subjects()]
            if args.all
            else _subjects_file(args.subjects)
        )
        layout_digest = f"sha256:{hashlib.sha256(layout_data).hexdigest()}"
        done = _done(
            args.output,
            layout_digest,
            config_digest(config),
            vsa_key.public_key if vsa_key is not None else None,
            at.isoformat().replace("+00:00", "Z"),
        )
        todo = [s for s in subjects if s not in done]
        counts = {"pass": 0, "fail": 0, "no-evidence": 0, "error": 0}
        for subject in subjects:
            if subject in done:
                counts[done[subject]] += 1
        from ._progress import Progress  # noqa: PLC0415

        # Opened once, synced every few hundred lines: an fsync per line
        # cost more than the audits themselves (bench/README.md, #14).
        output = LineAppender(args.output) if todo else None
        with Progress(len(todo), "auditing", sys.stderr) as bar, output or nullcontext():

            def record(result: dict[str, Any]) -> None:
                assert output is not None, "results arrive only for subjects to audit"
                statement = result.pop("vsaStatement", None)
                if statement is not None and vsa_key is not None:
                    result["vsa"] = _sign_vsa(statement, vsa_key)
                output.append(_line(result))
                counts[result["verdict"]] += 1
                bar.advance()

            if args.engine == "ray":
                from ..audit._ray import run_ray  # noqa: PLC0415

                run_ray(
                    config, todo, workers=args.workers, on_result=record, address=args.ray_address
                )
            else:
                run_local(config, todo, workers=args.workers, on_result=record, context=context)
    finally:
        context.close()
    _summary(len(subjects), counts, len(subjects) - len(todo), args.output)
    return EXIT_OK if counts["pass"] == len(subjects) else EXIT_FAILED


def _sign_vsa(statement: dict[str, Any], key: Any) -> dict[str, Any]:
    from ..model._dsse import INTOTO_PAYLOAD_TYPE, Envelope  # noqa: PLC0415
    from ..report._common import dump_json  # noqa: PLC0415

    payload = dump_json(statement, indent=None, sort_keys=True).encode("utf-8")
    return Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [key]).to_dict()


def _line(result: dict[str, Any]) -> bytes:
    from ..report._common import dump_json  # noqa: PLC0415

    return dump_json(result, indent=None).encode("utf-8") + b"\n"


def _summary(total: int, counts: dict[str, int], resumed: int, output: str) -> None:
    rows = [
        ("subjects", total),
        ("passed", counts["pass"]),
        ("failed", counts["fail"]),
        ("no evidence", counts["no-evidence"]),
    ]
    if counts["error"]:
        rows.append(("errors", counts["error"]))
    text = "".join(f"{name:<12} {value:>9}\n" for name, value in rows)
    if resumed:
        text += f"({resumed} already in {_safe(output)}, skipped)\n"
    sys.stdout.write(text)
    sys.stdout.flush()
