"""The library's front door: load a layout and evidence, verify, get a Report."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from ._errors import InputError, UsageError, ValidationError
from .crypto._keys import PublicKey
from .model._attestations import Attestation
from .model._digests import DigestSet
from .model._json import TRUSTED_ROOT_LIMITS
from .policy._layout import Layout
from .policy._loading import LoadedLayout, load_attestations, load_layout
from .report._model import Check, Report
from .sources._files import read_file
from .verifier._core import bind_trusted_root, verify_attestations

if TYPE_CHECKING:
    from .crypto._keyless import SigstoreTrustedRoot  # Sigstore only: loaded where used
    from .policy._tuf import TUFPolicySource

__all__ = ["load_trusted_root_file", "verify"]


def _is_tuf_source(layout: object) -> TypeGuard[TUFPolicySource]:
    # An instance exists only once its class's module was imported, so the TUF
    # client (python-tuf and all) is never imported just to ask.
    client = sys.modules.get("intoto_policy.policy._tuf._client")
    return client is not None and isinstance(layout, client.TUFPolicySource)


def load_trusted_root_file(path: Path) -> SigstoreTrustedRoot:
    """Read a Sigstore ``trusted_root.json``.

    Raises:
        InputError: The file cannot be read or is not a trusted root.
    """
    from .crypto._keyless import load_trusted_root  # noqa: PLC0415

    return load_trusted_root(read_file(path, TRUSTED_ROOT_LIMITS), source=str(path))


def _bound_trusted_root(
    layout: Layout, given: SigstoreTrustedRoot | None
) -> SigstoreTrustedRoot | None:
    """The trusted root to verify with, checked against the layout's digest.

    A root given by the caller (``--trusted-root``) is out of band: trusted
    as given, but it must match the digest the layout records, if any
    (:func:`bind_trusted_root`, which :func:`verify_attestations` applies
    again and which adds the report's check). A root the layout names by
    path is read only when the layout also records its SHA-256, checked over
    the exact bytes before they are parsed: a path alone is not covered by
    the layout's signature and usually sits next to the evidence, so
    whoever controls that folder would choose the root.

    Raises:
        InputError: The given root does not match the layout's digest; the
            layout names a root by path without a digest, or records a
            digest without a path, and no root was given; the root file
            cannot be read, does not match the digest or is not a root.
    """
    pinned = layout.trusted_root_sha256
    if given is not None:
        bind_trusted_root(layout, given)  # refused before any evidence is read
        return given
    if layout.trusted_root is None and pinned is None:
        return None
    if pinned is None:
        raise InputError(
            f"trustedRoot names {layout.trusted_root} but records no sha256, so the layout "
            "does not bind it: write trustedRoot as {path, sha256} (sha256 of the file), "
            "or give the root out of band with --trusted-root",
            source=layout.source,
        )
    if layout.trusted_root is None:
        raise InputError(
            f"trustedRoot pins sha256 {pinned} but names no file: give the root with "
            "--trusted-root",
            source=layout.source,
        )
    root_path = Path(layout.trusted_root)
    if not root_path.is_absolute():
        root_path = Path(layout.source).parent / root_path
    data = read_file(root_path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != pinned:
        raise InputError(
            f"trusted root has sha256 {actual}, but the layout {layout.source} records "
            f"trustedRoot sha256 {pinned}",
            source=str(root_path),
        )
    from .crypto._keyless import load_trusted_root  # noqa: PLC0415

    root = load_trusted_root(data, source=str(root_path))
    bind_trusted_root(layout, root)
    return root


def _subjects(
    subject: DigestSet | Mapping[str, str] | Sequence[DigestSet | Mapping[str, str]] | None,
) -> tuple[DigestSet, ...]:
    if subject is None:
        return ()
    if isinstance(subject, Mapping):
        return (subject if isinstance(subject, DigestSet) else DigestSet(subject),)
    return tuple(s if isinstance(s, DigestSet) else DigestSet(s) for s in subject)


def verify(
    layout: Layout | LoadedLayout | TUFPolicySource | Path | str,
    attestations: Iterable[Attestation] | Iterable[Path | str] | Path | str,
    *,
    at: datetime,
    subject: DigestSet | Mapping[str, str] | Sequence[DigestSet | Mapping[str, str]] | None = None,
    params: Mapping[str, str] | None = None,
    layout_keys: Sequence[PublicKey] = (),
    allow_unsigned: bool = False,
    trusted_root: SigstoreTrustedRoot | None = None,
    progress: Callable[[int], object] | None = None,
    no_subject: bool = False,
) -> Report:
    """Verify attestations against an attestation layout.

    Args:
        layout: A parsed :class:`Layout`, a :class:`LoadedLayout`, a path
            to a layout file (signed, or unsigned with ``allow_unsigned``),
            or a :class:`TUFPolicySource` (the layout and its owner keys
            fetched through TUF; a TUF failure is a failed ``tuf`` check).
        attestations: Parsed :class:`Attestation` objects, or paths of
            files (DSSE envelopes, JSON Lines bundles, Sigstore bundles) and
            directories (read recursively).
        at: The verification time (timezone-aware). Never defaulted from
            the clock: the caller decides what "now" is.
        subject: Digest set(s) of the artifact being deployed. Without one,
            the report says that no artifact was bound.
        params: Values for the layout's ``{name}`` parameters.
        layout_keys: Owner keys that must all have signed a layout file.
        allow_unsigned: Accept an unsigned layout file.
        trusted_root: Sigstore trusted root for keyless attestations, given
            out of band; it must match the SHA-256 the layout's
            ``trustedRoot`` records, if any. If absent, the layout's
            ``trustedRoot`` file is read when the layout records both its
            path and its SHA-256 (a path alone is refused).
        progress: Called with 1 as each attestation is checked (for a
            progress bar); never called for output.
        no_subject: Explicitly bind no artifact. A layout that declares
            ``subjectSteps`` fails without a ``subject`` unless this is true;
            the report records the opt-out.

    Returns:
        The report. ``bool(report)`` is the verdict.

    Raises:
        InputError: The layout or an attestation file cannot be read, or the
            layout is invalid (schema, semantics, parameters, signature setup);
            or the trusted root is not bound: its SHA-256 differs from the
            layout's ``trustedRoot`` digest, or the layout names a root by
            path without a digest (or a digest without a path) and none was
            given.
        ValidationError: ``at`` is naive, or a subject digest is invalid.
        UsageError: ``no_subject`` is given together with ``subject``.
    """
    if at.tzinfo is None:
        raise ValidationError("the verification time must be timezone-aware")
    checks: tuple[Check, ...] = ()
    info = None
    if _is_tuf_source(layout):
        from .policy._tuf import load_tuf_layout  # noqa: PLC0415 - only for TUF sources

        fetched = load_tuf_layout(layout, at=at, params=params)
        if isinstance(fetched, Report):  # TUF refused: never an unverified layout
            return replace(fetched, subjects=tuple(s.to_dict() for s in _subjects(subject)))
        layout = fetched
    if isinstance(layout, (str, Path)):
        loaded = load_layout(
            Path(layout), params=params, layout_keys=layout_keys, allow_unsigned=allow_unsigned
        )
    elif isinstance(layout, LoadedLayout):
        loaded = layout
    elif isinstance(layout, Layout):
        loaded = None
        if params:
            layout = Layout.from_dict(
                layout.raw, source=layout.source, params=params, lines=layout.lines
            )
    else:
        raise UsageError("layout must be a Layout, a LoadedLayout or a path")
    if loaded is not None:
        layout, info, checks = loaded.layout, loaded.info, loaded.checks
    assert isinstance(layout, Layout)
    # Before any evidence is read: an unbound or mismatching root is refused.
    trusted_root = _bound_trusted_root(layout, trusted_root)

    if isinstance(attestations, (str, Path)):
        attestations = [Path(attestations)]
    items = list(attestations)
    if items and all(isinstance(a, (str, Path)) for a in items):
        skip = [Path(layout.source)] if Path(layout.source).exists() else []
        parsed = load_attestations([Path(a) for a in items], skip=skip)  # type: ignore[arg-type]
    elif all(isinstance(a, Attestation) for a in items):
        parsed = items  # type: ignore[assignment]
    else:
        raise UsageError("attestations must all be Attestation objects or all be paths")

    return verify_attestations(
        layout,
        parsed,
        at=at,
        subjects=_subjects(subject),
        trusted_root=trusted_root,
        layout_info=info,
        layout_checks=checks,
        progress=progress,
        no_subject=no_subject,
    )
