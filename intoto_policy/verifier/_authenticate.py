"""Phase 1 of a verification: authenticate every attestation.

A DSSE envelope is checked against the layout's keys (one verification per
signature, through the key index) and, when it carries certificates,
against the layout's X.509 functionaries; a Sigstore bundle is checked
against the trusted root, either keyless (certificate identity matched
against the Sigstore functionaries) or key-signed (npm registry keys). Each
signer becomes a :class:`~intoto_policy.report.Signer` whose principal is
the key (or identity) that made the signature; certificates link a key's
principal to its identity's. An attestation that does not authenticate is
rejected with the reason, and the rest go on as :class:`Authentic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

from .._errors import JSONError, ValidationError
from ..crypto._keys import PublicKey
from ..model._attestations import Attestation
from ..model._dsse import MAX_TRIAL_SIGNATURES, Envelope
from ..policy._functionaries import SIGNATURE_OVER_RAW, RegistryKeysFunctionary
from ..report._model import (
    AttestationRef,
    RejectReason,
    Signer,
    SigningTime,
    SigningTimeSource,
)
from ._context import LINK_V03, Authentic, Context

if TYPE_CHECKING:  # Sigstore bundles and certificates only: loaded where used
    from ..crypto._keyless import KeylessResult
    from ..crypto._x509 import CertificateIdentity


def authenticate(ctx: Context) -> list[Authentic]:
    """The attestations that authenticate, in input order; the others are rejected."""
    out = []
    for att in ctx.attestations:
        auth = _authenticate_one(ctx, att)
        if auth is not None:
            out.append(auth)
        if ctx.progress is not None:
            ctx.progress(1)
    return out


def _authenticate_one(ctx: Context, att: Attestation) -> Authentic | None:
    if att.problem is not None:
        ctx.reject(att, RejectReason.MALFORMED, att.problem)
        return None
    signers: dict[str, Signer] = {}
    signing_times: tuple[SigningTime, ...] = ()
    extensions: Mapping[str, str] = {}
    payload_type: str
    payload: bytes
    if att.envelope is not None:
        env = att.envelope
        payload_type, payload = env.payload_type, env.payload
        checks = env.check_signatures(ctx.key_index)
        for check in checks:
            for key in check.verified_by:
                for func_id, signer in _key_signers(ctx, key.fingerprint):
                    signers[func_id] = signer
        signers.update(_raw_payload_signers(ctx, env))
        x509_signers, x509_problem = _certificate_signers(ctx, att, env)
        signers.update(x509_signers)
        if not signers:
            hinted = {s.keyid for s in env.signatures if ctx.key_index.named(s.keyid)}
            if x509_problem:
                ctx.reject(att, RejectReason.BAD_SIGNATURE, x509_problem)
            elif any(s.cert for s in env.signatures):
                ctx.reject(
                    att,
                    RejectReason.UNSUPPORTED,
                    "signed with a certificate but carries no transparency-log entry or timestamp, "
                    "so the signing time cannot be established offline; it needs an online Rekor "
                    "lookup, or an X.509 functionary in the layout",
                )
            elif hinted:
                ctx.reject(
                    att,
                    RejectReason.BAD_SIGNATURE,
                    f"signature claims key {sorted(hinted)[0][:12]} of the layout but does not verify",
                )
            else:
                hints = ", ".join(sorted({s.keyid[:12] or "<no keyid>" for s in env.signatures}))
                untried = sum(c.untried for c in checks)
                ctx.reject(
                    att,
                    RejectReason.UNKNOWN_SIGNER,
                    f"no signature verifies under a key of the layout (signature key ids: {hints or 'none'})"
                    + (
                        f"; {untried} signature(s) naming no layout key were not tried, past "
                        f"the first {MAX_TRIAL_SIGNATURES}"
                        if untried
                        else ""
                    ),
                )
            return None
    elif att.bundle is not None and _is_key_signed(att.bundle.bundle_json):
        keyed = _registry_signed(ctx, att)
        if keyed is None:
            return None
        payload_type, payload, signers, logged = keyed
        signing_times = (SigningTime(logged, SigningTimeSource.TRANSPARENCY_LOG),)
    else:
        assert att.bundle is not None
        result = _keyless(ctx, att)
        if result is None:
            return None
        payload_type = result.payload_type or ""
        payload = result.payload or b""
        identity = result.identity
        assert identity is not None
        signing_times = _signing_times(identity)
        extensions = identity.extensions
        if identity.key_principal_id in ctx.revoked_principals:
            ctx.reject(
                att,
                RejectReason.REVOKED,
                f"signed with key {identity.key_fingerprint[:12]}, which the layout revokes",
            )
            return None
        ctx.links.link(identity.principal_id, identity.key_principal_id)
        problems_all: list[str] = []
        for sfunc in ctx.sigstore_functionaries:
            if sfunc.identity is not None:
                problems = sfunc.identity.matches(identity)
                if problems:
                    problems_all.append(f"{sfunc.id}: {'; '.join(problems)}")
                    continue
                signers[sfunc.id] = Signer(
                    principal=identity.principal_id,
                    kind="sigstore",
                    keyid=sfunc.id,
                    identity=identity.san,
                    issuer=identity.issuer,
                    extensions=_relevant(identity.extensions, sfunc.identity.extensions),
                )
        if not signers:
            ref = AttestationRef(
                source=att.source,
                digest=att.digest,
                signers=(
                    Signer(
                        principal=identity.principal_id,
                        kind="sigstore",
                        identity=identity.san,
                        issuer=identity.issuer,
                        extensions=_relevant(identity.extensions, {}),
                    ),
                ),
                signing_times=signing_times,
            )
            ctx.refs[id(att)] = ref
            detail = (
                "; ".join(problems_all)
                if problems_all
                else "the layout lists no Sigstore identities"
            )
            ctx.reject(
                att,
                RejectReason.UNKNOWN_SIGNER,
                f"signed by {identity.san} ({identity.issuer}), which matches no functionary: {detail}",
            )
            return None
    ctx.refs[id(att)] = AttestationRef(
        source=att.source,
        digest=att.digest,
        signers=tuple(signers.values()),
        signing_times=signing_times,
    )
    if payload_type != "application/vnd.in-toto+json":
        ctx.reject(
            att,
            RejectReason.WRONG_PAYLOAD_TYPE,
            f"payloadType is {payload_type!r}, not 'application/vnd.in-toto+json'",
        )
        return None
    try:
        statement = Envelope(payload_type, payload, ()).statement()
    except (ValidationError, JSONError) as exc:
        ctx.reject(att, RejectReason.MALFORMED, f"statement is malformed: {exc}")
        return None
    name = statement.predicate.get("name") if statement.predicate_type == LINK_V03 else None
    ref = AttestationRef(
        source=att.source,
        digest=att.digest,
        predicate_type=statement.predicate_type,
        name=name if isinstance(name, str) else None,
        signers=tuple(signers.values()),
        signing_times=signing_times,
    )
    ctx.refs[id(att)] = ref
    return Authentic(att, statement, signers, signing_times, ref, extensions)


def _key_signers(ctx: Context, fingerprint: str) -> list[tuple[str, Signer]]:
    found = ctx.key_signers.get(fingerprint)
    if found is None:
        found = []
        for key in ctx.key_index.with_material(fingerprint):
            kf = ctx.functionary_of[id(key)]
            found.append((kf.id, Signer(principal=key.principal_id, kind="key", keyid=kf.id)))
        ctx.key_signers[fingerprint] = found
    return found


def _raw_payload_signers(ctx: Context, env: Envelope) -> dict[str, Signer]:
    """Signatures over the raw payload, by keys the layout marks ``raw-payload``.

    Google Cloud Build signs the payload bytes, not the PAE; only a key the
    layout explicitly declares so is tried that way (never the PAE keys).
    """
    raw = [f for f in ctx.key_functionaries if f.signature_over == SIGNATURE_OVER_RAW]
    found: dict[str, Signer] = {}
    for sig in env.signatures[:MAX_TRIAL_SIGNATURES] if raw else ():
        for func in raw:
            if func.id not in found and func.public_key.verify(sig.sig, env.payload):
                key = func.public_key
                found[func.id] = Signer(principal=key.principal_id, kind="key", keyid=func.id)
    return found


def _certificate_signers(
    ctx: Context, att: Attestation, env: Envelope
) -> tuple[dict[str, Signer], str | None]:
    x509s = ctx.x509_functionaries
    if not x509s or not any(s.cert for s in env.signatures):
        return {}, None
    from ..crypto._keyless import verify_certificate_signatures  # noqa: PLC0415

    signers: dict[str, Signer] = {}
    problems: list[str] = []
    for func in x509s:
        assert func.constraints is not None
        try:
            results = verify_certificate_signatures(
                env, func.constraints, at=ctx.at, source=att.source
            )
        except ValidationError as exc:
            # A malformed certificate spoils this attestation, not the run.
            problems.append(f"{func.id}: {exc.problem}")
            continue
        for result in results:
            if not result.verified or result.identity is None:
                problems.append(f"{func.id}: {result.reason}")
                continue
            mismatch = func.constraints.matches(result.identity)
            if mismatch:
                problems.append(f"{func.id}: {'; '.join(mismatch)}")
                continue
            # The principal is the certified key (one key is one principal
            # under every functionary kind), linked to the certificate's
            # identity (one identity holding two keys is one principal).
            principal = result.identity.key_principal_id
            ctx.links.link(principal, result.identity.principal_id)
            held = signers.get(func.id)
            if held is not None and held.principal not in ctx.revoked_principals:
                continue  # an unrevoked key of this functionary already signed
            signers[func.id] = Signer(
                principal=principal,
                kind="x509",
                keyid=func.id,
                identity=result.identity.san,
                issuer=result.identity.certificate_issuer,
            )
    return signers, ("; ".join(problems) if problems and not signers else None)


def _is_key_signed(bundle_json: bytes) -> bool:
    # _rekor is imported here, on the first bundle, not by every verification.
    from ..crypto._rekor import is_key_signed  # noqa: PLC0415

    return is_key_signed(bundle_json)


def _registry_signed(
    ctx: Context, att: Attestation
) -> tuple[str, bytes, dict[str, Signer], datetime] | None:
    """Verify a key-signed bundle against the layout's registry keys."""
    assert att.bundle is not None
    funcs = [f for f in ctx.layout.functionaries.values() if isinstance(f, RegistryKeysFunctionary)]
    if ctx.trusted_root is None:
        ctx.reject(
            att,
            RejectReason.UNSUPPORTED,
            "a Sigstore bundle needs a trusted root (--trusted-root or the layout's trustedRoot)",
        )
        return None
    if not funcs:
        ctx.reject(
            att,
            RejectReason.UNKNOWN_SIGNER,
            "key-signed bundle, and the layout lists no npmRegistryKeys functionary",
        )
        return None
    signers: dict[str, Signer] = {}
    found: tuple[str, bytes, datetime] | None = None
    problems: list[str] = []
    checks: set[str] = set()
    for func in funcs:
        from ..crypto._rekor import verify_keyed  # noqa: PLC0415

        result = verify_keyed(att.bundle.bundle_json, ctx.trusted_root.rekor, func.keys, at=ctx.at)
        if not result.ok or result.outcome is None:
            checks.add(result.check)
            problems.append(f"{func.id}: {result.reason}")
            continue
        out = result.outcome
        assert out.registry_key is not None
        found = (out.payload_type, out.payload, out.integrated_time)
        signers[func.id] = Signer(
            principal=PublicKey.from_crypto(out.registry_key.key).principal_id,
            kind="key",
            keyid=out.registry_key.keyid,
        )
    if found is None:
        reason = RejectReason.BAD_SIGNATURE
        if checks == {"signer-key"}:
            reason = RejectReason.UNKNOWN_SIGNER
        elif checks == {"unsupported"}:
            reason = RejectReason.UNSUPPORTED
        ctx.reject(att, reason, "; ".join(problems))
        return None
    return found[0], found[1], signers, found[2]


def _keyless(ctx: Context, att: Attestation) -> KeylessResult | None:
    assert att.bundle is not None
    if ctx.trusted_root is None:
        ctx.reject(
            att,
            RejectReason.UNSUPPORTED,
            "a Sigstore bundle needs a trusted root (--trusted-root or the layout's trustedRoot)",
        )
        return None
    from ..crypto._keyless import verify_bundle  # noqa: PLC0415

    result = verify_bundle(att.bundle, ctx.trusted_root, at=ctx.at)
    if result.status == "unsupported":
        ctx.reject(att, RejectReason.UNSUPPORTED, result.reason)
        return None
    if result.status != "verified":
        ctx.reject(att, RejectReason.BAD_SIGNATURE, result.reason)
        return None
    return result


_SHOWN_EXTENSIONS: Final = (
    "sourceRepositoryURI",
    "sourceRepositoryRef",
    "sourceRepositoryDigest",
    "buildSignerURI",
    "buildTrigger",
    "runnerEnvironment",
)


def _signing_times(identity: CertificateIdentity) -> tuple[SigningTime, ...]:
    log = () if identity.integrated_time is None else (identity.integrated_time,)
    return tuple(SigningTime(t, SigningTimeSource.TRANSPARENCY_LOG) for t in log) + tuple(
        SigningTime(t, SigningTimeSource.TIMESTAMP_AUTHORITY) for t in identity.timestamps
    )


def _relevant(extensions: Mapping[str, str], constrained: Mapping[str, object]) -> dict[str, str]:
    names = set(_SHOWN_EXTENSIONS) | set(constrained)
    return {k: v for k, v in extensions.items() if k in names}
