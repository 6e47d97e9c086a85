"""What every verification phase shares: the :class:`Context` and its records.

A :class:`Context` holds the inputs of one verification (layout,
attestations, subjects, time, trusted root, flags), the tables derived from
the layout once (key signers, key index, revoked principals) and the results
the phases accumulate (rejections, references, counted attestations and
statements, principal links). Each phase module is a set of functions whose
first parameter is the context; they share nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .._errors import ValidationError
from ..crypto._keys import PublicKey
from ..model._attestations import Attestation
from ..model._digests import DigestSet
from ..model._dsse import KeyIndex
from ..model._statement import Statement
from ..model.predicates import view_for
from ..model.predicates._base import PredicateView
from ..policy._functionaries import KeyFunctionary, SigstoreFunctionary, X509Functionary
from ..policy._layout import Layout
from ..report._model import (
    AttestationRef,
    Check,
    Location,
    RejectedAttestation,
    RejectReason,
    Signer,
    SigningTime,
)

if TYPE_CHECKING:
    from ..crypto._keyless import SigstoreTrustedRoot  # Sigstore only: loaded where used

LINK_V03: Final = "https://in-toto.io/attestation/link/v0.3"


@dataclass(slots=True)
class Authentic:
    """An attestation whose signature verified under some functionary."""

    att: Attestation
    statement: Statement
    # functionary id -> signer record
    signers: dict[str, Signer]
    # Verified times of signing (keyless only); empty for key signatures.
    signing_times: tuple[SigningTime, ...]
    ref: AttestationRef
    # The full extensions of a keyless certificate, for CEL's ``signer``.
    extensions: Mapping[str, str] = field(default_factory=dict)
    _activation: dict[str, Any] | None = None
    _view: PredicateView | None = None
    _view_error: str | None = None

    @property
    def view(self) -> PredicateView:
        """The typed predicate view, built on first use (most checks need none).

        Raises:
            ValidationError: The predicate violates its type's schema.
        """
        if self._view is None:
            if self._view_error is not None:
                raise ValidationError(self._view_error)
            try:
                self._view = view_for(self.statement)
            except ValidationError as exc:
                self._view_error = str(exc)
                raise
        return self._view

    def activation(self) -> dict[str, Any]:
        """The CEL activation of the statement, built on first use."""
        if self._activation is None:
            self._activation = {
                "predicate": self.statement.predicate_json,
                "subject": self.statement.subject_json,
                "predicateType": self.statement.predicate_type,
            }
        return self._activation

    def signer_value(self, signer: Signer) -> dict[str, Any]:
        """CEL's ``signer`` for one of this attestation's signers (see ``SIGNER_FIELDS``).

        Only verified facts: the signer record made when the signature
        verified, and the verified signing times; a field without a value is
        left out, so a rule reading it fails (or is an absent claim).
        """
        out: dict[str, Any] = {"kind": signer.kind, "principal": signer.principal}
        for fid, held in self.signers.items():
            if held is signer:
                out["functionary"] = fid
                break
        if signer.kind in ("key", "gpg") and signer.keyid:
            out["keyid"] = signer.keyid
        if signer.identity is not None:
            out["identity"] = signer.identity
        if signer.issuer is not None:
            out["issuer"] = signer.issuer
        out["extensions"] = dict(self.extensions) if signer.kind == "sigstore" else {}
        if self.signing_times:
            out["signedAt"] = fmt_time(min(t.time for t in self.signing_times))
        return out


@dataclass(slots=True)
class Candidate:
    """An authentic attestation considered for one expected predicate, and its checks."""

    auth: Authentic
    principals: dict[str, Signer]  # principal id -> signer (authorized, valid)
    checks: list[Check] = field(default_factory=list)
    failed: bool = False

    def add(self, check: Check) -> None:
        self.checks.append(check)
        self.failed = self.failed or check.failed

    def extend(self, checks: Iterable[Check]) -> None:
        for check in checks:
            self.add(check)


def fmt_time(when: datetime) -> str:
    """``when`` in RFC 3339 with ``Z`` for UTC, as reports show times."""
    return when.isoformat().replace("+00:00", "Z")


def _rank(name: str) -> tuple[bool, str]:
    # An identity names a principal more readably than a key fingerprint.
    return (name.startswith("key:"), name)


class PrincipalLinks:
    """Which principal names stand for one principal.

    A principal is the key that made a signature. A certificate ties its key
    to an identity (Sigstore identity and issuer, or X.509 issuer and
    subject), and one identity may hold several keys (Sigstore keys are
    ephemeral), so a verified certificate links its key's name and its
    identity's name; thresholds count linked groups, each named by its
    first member in :func:`_rank` order (deterministic whatever the input
    order). Linking only merges, so it can only lower a count (fail closed).
    """

    __slots__ = ("_parent",)

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def canonical(self, name: str) -> str:
        """The name of the group ``name`` belongs to."""
        root = name
        while (up := self._parent.get(root, root)) != root:
            root = up
        while name != root:  # path compression
            name, self._parent[name] = self._parent[name], root
        return root

    def link(self, a: str, b: str) -> None:
        """Record that ``a`` and ``b`` name the same principal."""
        ra, rb = self.canonical(a), self.canonical(b)
        if ra != rb:
            keep, drop = sorted((ra, rb), key=_rank)
            self._parent[drop] = keep


@dataclass(slots=True)
class Context:
    """The state of one verification, passed to every phase function.

    Build it with :meth:`create`; the phases read the inputs and tables and
    add to the results.
    """

    layout: Layout
    attestations: Sequence[Attestation]
    subjects: tuple[DigestSet, ...]
    at: datetime
    trusted_root: SigstoreTrustedRoot | None
    progress: Callable[[int], object] | None
    no_subject: bool
    key_functionaries: list[KeyFunctionary]
    keys: list[PublicKey]
    # id(public key) -> its functionary
    functionary_of: dict[int, KeyFunctionary]
    # Key fingerprint -> (functionary id, Signer) for every id listing that
    # key; filled as keys sign, so a layout's size costs nothing per key.
    key_signers: dict[str, list[tuple[str, Signer]]]
    # Built once: a signature naming its key (under any key-id convention)
    # then costs one verification however many keys the layout lists.
    key_index: KeyIndex
    x509_functionaries: list[X509Functionary]
    sigstore_functionaries: list[SigstoreFunctionary]
    revoked_fingerprints: set[str]
    # A revoked key is revoked under every functionary kind: also when a
    # certificate of an X.509 functionary (or Sigstore) certifies it.
    revoked_principals: set[str]
    links: PrincipalLinks
    counted_statements: dict[str, list[Statement]]
    rejections: dict[str, list[RejectedAttestation]] = field(default_factory=dict)
    refs: dict[int, AttestationRef] = field(default_factory=dict)
    counted: set[int] = field(default_factory=set)
    # Locations are the same for every attestation checked against a rule.
    locations: dict[str, Location] = field(default_factory=dict)
    # Attribute rule pointer -> its passing check, built once.
    passes: dict[str, Check] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        layout: Layout,
        attestations: Sequence[Attestation],
        *,
        subjects: Sequence[DigestSet],
        at: datetime,
        trusted_root: SigstoreTrustedRoot | None,
        progress: Callable[[int], object] | None = None,
        no_subject: bool = False,
    ) -> Context:
        """The context of verifying ``attestations`` against ``layout`` at ``at``."""
        keys = [f for f in layout.functionaries.values() if isinstance(f, KeyFunctionary)]
        revoked_fingerprints = {
            f.public_key.fingerprint for f in keys if f.id in layout.revoked_keys
        }
        public_keys = [f.public_key for f in keys]
        return cls(
            layout=layout,
            attestations=attestations,
            subjects=tuple(subjects),
            at=at,
            trusted_root=trusted_root,
            progress=progress,
            no_subject=no_subject,
            key_functionaries=keys,
            keys=public_keys,
            functionary_of={id(kf.public_key): kf for kf in keys},
            key_signers={},
            # Only PAE keys check PAE signatures; raw-payload keys are tried apart.
            key_index=KeyIndex([f.public_key for f in keys if f.signature_over == "pae"]),
            x509_functionaries=[
                f for f in layout.functionaries.values() if isinstance(f, X509Functionary)
            ],
            sigstore_functionaries=[
                f
                for f in layout.functionaries.values()
                if isinstance(f, SigstoreFunctionary) and f.identity is not None
            ],
            revoked_fingerprints=revoked_fingerprints,
            revoked_principals={f"key:{fp}" for fp in revoked_fingerprints},
            links=PrincipalLinks(),
            counted_statements={s.name: [] for s in layout.steps},
        )

    def loc(self, pointer: str) -> Location:
        """The location in the layout of a JSON pointer (cached)."""
        found = self.locations.get(pointer)
        if found is None:
            found = Location(
                file=self.layout.source, line=self.layout.line_of(pointer), pointer=pointer
            )
            self.locations[pointer] = found
        return found

    def reject(
        self, att: Attestation, reason: RejectReason, message: str, step: str | None = None
    ) -> None:
        """Record that ``att`` was rejected (an attestation may collect several reasons)."""
        ref = self.refs.get(id(att)) or AttestationRef(source=att.source, digest=att.digest)
        self.rejections.setdefault(att.source + "\0" + att.digest, []).append(
            RejectedAttestation(attestation=ref, reason=reason, message=message, step=step)
        )
