"""The per-subject audit task: the same function for every engine.

An :class:`AuditConfig` is plain, picklable data (the layout's bytes,
owner keys as key dicts, the trusted root's bytes, the store URL, the
verification time): it crosses to worker processes and Ray actors. Each
worker turns it into an :class:`AuditContext` once (the layout parsed,
checked and its rules compiled; the store opened) and then runs
:func:`audit_subject` for each subject it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from .._errors import IntotoPolicyError

__all__ = ["VERDICTS", "AuditConfig", "AuditContext", "audit_subject", "config_digest"]

#: Every verdict an audit line can carry.
VERDICTS: Final = ("pass", "fail", "no-evidence", "error")


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """What a worker needs to audit subjects (picklable).

    Attributes:
        layout_path: The layout file as given (for reports).
        layout_data: The layout's bytes, read once by the caller.
        store_url: The store to take evidence from.
        at: The verification time (timezone-aware).
        params: Layout parameters.
        layout_keys: Owner keys as ``(keyid, key dict)``.
        allow_unsigned: Accept an unsigned layout.
        trusted_root: ``(source, bytes)`` of a trusted root given out of band.
        vsa: Put a VSA statement in the result of each passing subject.
        verifier_id: ``verifier.id`` of those VSAs (default: the project's).
    """

    layout_path: str
    layout_data: bytes
    store_url: str
    at: datetime
    params: Mapping[str, str] = field(default_factory=dict)
    layout_keys: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    allow_unsigned: bool = False
    trusted_root: tuple[str, bytes] | None = None
    vsa: bool = False
    verifier_id: str | None = None

    def __post_init__(self) -> None:
        # Plain dicts: the config is pickled to every helper process, and a
        # read-only mapping (MappingProxyType) cannot be.
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(
            self, "layout_keys", tuple((kid, dict(doc)) for kid, doc in self.layout_keys)
        )


def _redacted_store(url: str) -> str:
    # The password never enters a results file, even hashed (a digest of a
    # short password can be guessed offline); scheme, user, host, port,
    # database or path still tell stores apart.
    import urllib.parse  # noqa: PLC0415

    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=user + host))


def config_digest(config: AuditConfig) -> str:
    """The digest of everything that decides a subject's verdict.

    Recorded on every results line so that a resumed audit reuses only
    lines made under the same configuration: the layout's bytes, the
    parameters, the verification time, the store (its URL without a
    password), the layout owner keys, the trusted root's bytes and whether
    an unsigned layout is accepted. The engine, the worker count and the
    VSA settings do not change a verdict and are left out.

    Args:
        config: The audit's configuration.

    Returns:
        ``sha256:HEX`` over a canonical JSON form of those settings.
    """
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415
    from datetime import UTC  # noqa: PLC0415

    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def canonical(value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")

    doc = {
        "v": 1,
        "layout": sha256(config.layout_data),
        "params": sorted(config.params.items()),
        "at": config.at.astimezone(UTC).isoformat(),
        "store": _redacted_store(config.store_url),
        "layoutKeys": sorted(sha256(canonical(key)) for _, key in config.layout_keys),
        "trustedRoot": sha256(config.trusted_root[1]) if config.trusted_root else None,
        "unsignedLayout": config.allow_unsigned,
    }
    return f"sha256:{sha256(canonical(doc))}"


class AuditContext:
    """A worker's compiled layout and open store.

    Raises:
        InputError: (from :meth:`build`) the layout, keys, trusted root or
            store are unusable.
    """

    def __init__(self, config: AuditConfig, loaded: Any, trusted_root: Any, checks: Any) -> None:
        self.config = config
        self.loaded = loaded
        self.trusted_root = trusted_root
        self.checks = checks
        self.config_digest = config_digest(config)
        from ..store import open_store  # noqa: PLC0415

        self.store = open_store(config.store_url)

    @classmethod
    def build(cls, config: AuditConfig) -> AuditContext:
        """Parse, authenticate and compile the layout; open the store.

        Raises:
            InputError: The layout, keys, trusted root or store are unusable.
            UsageError: With ``vsa``: the layout's ``verifiedLevels`` could
                not be declared in a VSA.
        """
        from .._api import _bound_trusted_root  # noqa: PLC0415
        from ..crypto._keys import public_key_from_dict  # noqa: PLC0415
        from ..policy._loading import load_layout  # noqa: PLC0415

        keys = [public_key_from_dict(doc, keyid) for keyid, doc in config.layout_keys]
        loaded = load_layout(
            Path(config.layout_path),
            params=dict(config.params),
            layout_keys=keys,
            allow_unsigned=config.allow_unsigned,
            data=config.layout_data,
        )
        if config.vsa:
            # Once, before any subject (and any helper's first batch): a
            # layout whose levels no VSA could declare fails here.
            from ..report._vsa import check_verified_levels  # noqa: PLC0415

            check_verified_levels(loaded.layout.verified_levels)
        given = None
        if config.trusted_root is not None:
            # Only then: the Sigstore modules (protobuf) are a large part of a helper's start.
            from ..crypto._keyless import load_trusted_root  # noqa: PLC0415

            given = load_trusted_root(config.trusted_root[1], source=config.trusted_root[0])
        # Once per worker: a root the layout names by path is read and
        # checked here, not for every subject.
        # verify_attestations checks the root against the pin again and adds
        # the report's check for it.
        root = _bound_trusted_root(loaded.layout, given)
        return cls(config, loaded, root, loaded.checks)

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def audit_subject(context: AuditContext, subject: str) -> dict[str, Any]:
    """Verify one artifact against the layout with the store's evidence about it.

    Args:
        context: The worker's context.
        subject: The artifact as ``ALG:HEX``.

    Returns:
        One result: ``subject``, ``verdict`` (``pass``, ``fail``,
        ``no-evidence`` when the store holds nothing about the subject, or
        ``error`` when it could not be audited), ``failures`` (reasons),
        ``evidence`` (sha256 of the attestations that counted),
        ``considered`` (how many were read), ``layoutDigest``,
        ``configDigest`` (:func:`config_digest`), ``verifiedAt``, and with ``vsa`` a ``vsaStatement`` on a pass.
    """
    from ..store import attestations_for, parse_digest  # noqa: PLC0415
    from ..verifier._core import verify_attestations  # noqa: PLC0415

    config = context.config
    out: dict[str, Any] = {
        "subject": subject,
        "verdict": "error",
        "failures": [],
        "evidence": [],
        "considered": 0,
        "layoutDigest": f"sha256:{context.loaded.info.digest}",
        "configDigest": context.config_digest,
        "verifiedAt": config.at.isoformat().replace("+00:00", "Z"),
    }
    try:
        digest = parse_digest(subject, what="subject")
        evidence = attestations_for(context.store, [digest])
    except IntotoPolicyError as exc:
        out["failures"] = [str(exc)]
        return out
    out["considered"] = len(evidence)
    if not evidence:
        out["verdict"] = "no-evidence"
        out["failures"] = ["the store holds no attestation about this subject"]
        return out
    report = verify_attestations(
        context.loaded.layout,
        evidence,
        at=config.at,
        subjects=(digest,),
        trusted_root=context.trusted_root,
        layout_info=context.loaded.info,
        layout_checks=context.checks,
    )
    out["verdict"] = report.verdict
    out["failures"] = [c.message for c in report.failures]
    out["evidence"] = sorted(
        {f"sha256:{a.digest}" for step in report.steps for a in step.attestations if a.digest}
    )
    if config.vsa and report.passed:
        from ..report._vsa import DEFAULT_VERIFIER_ID, vsa_statement  # noqa: PLC0415

        out["vsaStatement"] = vsa_statement(
            report,
            verifier_id=config.verifier_id or DEFAULT_VERIFIER_ID,
            verified_levels=context.loaded.layout.verified_levels,
            # Signed with the VSA: a resumed audit reuses it only under this configuration.
            config_digest=context.config_digest,
        )
    return out
