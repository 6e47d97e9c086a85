"""Functionaries: the parties a layout trusts to attest to its steps.

Three kinds, chosen by a registry keyed on the functionary's ``type`` (or,
for securesystemslib-style key dicts, its ``keyType``):

* a public key (ed25519, ecdsa, rsa), whose signatures cover the DSSE PAE,
  or, only where the layout says ``signatureOver: raw-payload``, the raw
  payload (Google Cloud Build's Container Analysis provenance);
* a Sigstore identity: certificate identity and OIDC issuer (exact or
  anchored regex) plus optional Fulcio extension constraints;
* X.509 constraints: trusted CA certificates plus name constraints;
* registry keys (``npmRegistryKeys``): the keys a package registry
  publishes (npm's ``/-/npm/v1/keys`` document), each with its own expiry;
  they verify key-signed Sigstore bundles (npm publish attestations).

Every kind may carry a validity window (``notBefore`` / ``notAfter``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from .._errors import KeyFormatError, ValidationError
from ..crypto._keys import PublicKey
from ..model._time import parse_rfc3339

if TYPE_CHECKING:  # keyless, X.509 and registry kinds only: loaded where used
    from ..crypto._keyless import SigstoreIdentity
    from ..crypto._rekor import RegistryKey
    from ..crypto._x509 import ValuePattern, X509Constraints

__all__ = [
    "Functionary",
    "KeyFunctionary",
    "RegistryKeysFunctionary",
    "SigstoreFunctionary",
    "X509Functionary",
    "functionary_from_dict",
]


@dataclass(frozen=True, slots=True)
class Functionary:
    """What every functionary has.

    Attributes:
        id: The id the layout lists it under.
        not_before: Start of its validity window, if any.
        not_after: End of its validity window, if any.
    """

    id: str
    not_before: datetime | None
    not_after: datetime | None

    kind: str = "key"

    @property
    def needs_trusted_root(self) -> bool:
        """Whether its signatures are checked against a Sigstore trusted root."""
        return False

    def window_problem(self, when: datetime, what: str) -> str | None:
        """Why ``when`` is outside the validity window, or None if inside."""
        if self.not_before is not None and when < self.not_before:
            return (
                f"{what} {_fmt(when)} is before the functionary's notBefore {_fmt(self.not_before)}"
            )
        if self.not_after is not None and when > self.not_after:
            return f"{what} {_fmt(when)} is after the functionary's notAfter {_fmt(self.not_after)}"
        return None


#: The two things a key functionary's signatures may cover (``signatureOver``).
SIGNATURE_OVER_PAE: Final = "pae"
SIGNATURE_OVER_RAW: Final = "raw-payload"
_SIGNATURE_OVER: Final = (SIGNATURE_OVER_PAE, SIGNATURE_OVER_RAW)

#: What a key id looks like (a sha256 hex digest), as opposed to a chosen name.
_KEYID_SHAPE: Final = re.compile(r"[0-9a-f]{64}")


def _fmt(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class KeyFunctionary(Functionary):
    """A functionary identified by a public key.

    Attributes:
        key: The verification key.
        signature_over: What its signatures cover: ``pae`` (the DSSE
            pre-authentication encoding, the default and the standard) or
            ``raw-payload`` (the payload bytes alone, as Google Cloud Build
            signs). A key verifies signatures of its one kind only: a PAE
            signature never counts for a ``raw-payload`` key, nor the reverse.
    """

    key: PublicKey | None = None
    signature_over: str = SIGNATURE_OVER_PAE

    @property
    def public_key(self) -> PublicKey:
        """The key (always set for this kind)."""
        assert self.key is not None  # set by the constructor function
        return self.key


@dataclass(frozen=True, slots=True)
class SigstoreFunctionary(Functionary):
    """A keyless functionary: a Sigstore (Fulcio) identity.

    Attributes:
        identity: Constraints on the certificate identity, issuer and extensions.
    """

    identity: SigstoreIdentity | None = None

    @property
    def needs_trusted_root(self) -> bool:
        """Fulcio certificates and log entries are checked against the root."""
        return True


@dataclass(frozen=True, slots=True)
class X509Functionary(Functionary):
    """A functionary identified by an X.509 certificate chain and names.

    Attributes:
        constraints: Trusted CAs and name constraints.
    """

    constraints: X509Constraints | None = None


@dataclass(frozen=True, slots=True)
class RegistryKeysFunctionary(Functionary):
    """A package registry, identified by the signing keys it publishes.

    Attributes:
        keys: The registry's keys; a signature counts only if made before
            its key's ``expires``.
    """

    keys: tuple[RegistryKey, ...] = ()

    @property
    def needs_trusted_root(self) -> bool:
        """The registry's signatures count only with a log entry (its SET) verified
        against the trusted root's log keys."""
        return True


def _window(data: Mapping[str, Any], path: str) -> tuple[datetime | None, datetime | None]:
    out: list[datetime | None] = []
    for name in ("notBefore", "notAfter"):
        value = data.get(name)
        if value is None:
            out.append(None)
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be an RFC 3339 time", path=path)
        try:
            out.append(parse_rfc3339(value))
        except ValidationError as exc:
            raise ValidationError(f"{name}: {exc.problem}", path=path) from None
    nb, na = out
    if nb is not None and na is not None and na <= nb:
        raise ValidationError("notAfter must be after notBefore", path=path)
    return nb, na


def _pattern(data: Mapping[str, Any], name: str, path: str) -> ValuePattern | str | None:
    from ..crypto._x509 import ValuePattern  # noqa: PLC0415

    exact = data.get(name)
    regex = data.get(f"{name}Regex")
    if exact is not None and regex is not None:
        raise ValidationError(f"give {name} or {name}Regex, not both", path=path)
    for value, label in ((exact, name), (regex, f"{name}Regex")):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(f"{label} must be a non-empty string", path=path)
    if regex is not None:
        return ValuePattern(regex=regex)
    return exact


def _key(fid: str, data: Mapping[str, Any], path: str) -> Functionary:
    nb, na = _window(data, path)
    over = data.get("signatureOver", SIGNATURE_OVER_PAE)
    if over not in _SIGNATURE_OVER:
        raise ValidationError(
            f"signatureOver must be one of {', '.join(_SIGNATURE_OVER)} (got {over!r})", path=path
        )
    try:
        key = PublicKey.from_dict(
            {
                k: v
                for k, v in data.items()
                if k not in ("notBefore", "notAfter", "type", "signatureOver")
            },
            fid,
        )
    except KeyFormatError as exc:
        raise ValidationError(exc.problem, path=path) from None
    # A key id the layout writes (the key's own keyid field, or a functionary
    # id shaped like one) must be this key's id under one of the two
    # conventions; otherwise reports would attribute signatures to an id that
    # is not the key's.
    claimed = [data.get(n) for n in ("keyid", "keyID") if data.get(n) is not None]
    if _KEYID_SHAPE.fullmatch(fid):
        claimed.append(fid)
    if claimed:
        valid = {key.computed_keyid("securesystemslib"), key.computed_keyid("legacy")}
        for kid in claimed:
            if kid not in valid:
                raise ValidationError(
                    f"key id {str(kid)[:16]}... is not this key's id under either key-id "
                    "convention (securesystemslib or legacy)",
                    path=path,
                )
    return KeyFunctionary(
        id=fid, not_before=nb, not_after=na, kind="key", key=key, signature_over=over
    )


def _sigstore(fid: str, data: Mapping[str, Any], path: str) -> Functionary:
    from ..crypto._keyless import SigstoreIdentity  # noqa: PLC0415
    from ..crypto._x509 import ValuePattern  # noqa: PLC0415

    nb, na = _window(data, path)
    # The attestation-verifier's sigstore branch nests identity/issuer in keyVal.
    body = data.get("keyVal") if isinstance(data.get("keyVal"), Mapping) else data
    assert isinstance(body, Mapping)
    identity = _pattern(body, "identity", path)
    issuer = _pattern(body, "issuer", path)
    if identity is None or issuer is None:
        raise ValidationError(
            "a Sigstore functionary needs both an identity (identity or identityRegex) "
            "and an issuer (issuer or issuerRegex)",
            path=path,
        )
    ext_raw = data.get("extensions")
    if ext_raw is None:
        ext_raw = {}
    if not isinstance(ext_raw, Mapping):
        raise ValidationError("extensions must be an object", path=path)
    extensions: dict[str, str | ValuePattern] = {}
    for name, value in ext_raw.items():
        if isinstance(value, str):
            extensions[name] = value
        elif (
            isinstance(value, Mapping)
            and set(value) == {"regex"}
            and isinstance(value["regex"], str)
        ):
            extensions[name] = ValuePattern(regex=value["regex"])
        else:
            raise ValidationError(
                f"extension {name!r} must be a string or {{regex: ...}}", path=path
            )
    try:
        constraint = SigstoreIdentity(
            identity=identity if isinstance(identity, str) else None,
            identity_regex=identity.regex if isinstance(identity, ValuePattern) else None,
            issuer=issuer if isinstance(issuer, str) else None,
            issuer_regex=issuer.regex if isinstance(issuer, ValuePattern) else None,
            extensions=MappingProxyType(extensions),
        )
    except ValidationError as exc:
        raise ValidationError(exc.problem, path=path) from None
    return SigstoreFunctionary(
        id=fid, not_before=nb, not_after=na, kind="sigstore", identity=constraint
    )


def _patterns(data: Mapping[str, Any], name: str, path: str) -> tuple[str | ValuePattern, ...]:
    from ..crypto._x509 import ValuePattern  # noqa: PLC0415

    raw = data.get(name) or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ValidationError(f"{name} must be a list", path=path)
    out: list[str | ValuePattern] = []
    for value in raw:
        if isinstance(value, str):
            out.append(value)
        elif (
            isinstance(value, Mapping)
            and set(value) == {"regex"}
            and isinstance(value["regex"], str)
        ):
            out.append(ValuePattern(regex=value["regex"]))
        else:
            raise ValidationError(f"{name} entries must be strings or {{regex: ...}}", path=path)
    return tuple(out)


def _x509(fid: str, data: Mapping[str, Any], path: str) -> Functionary:
    from ..crypto._x509 import ValuePattern, X509Constraints, load_pem_certificates  # noqa: PLC0415

    nb, na = _window(data, path)
    roots = data.get("roots")
    if isinstance(roots, str):
        roots = [roots]
    if not isinstance(roots, list) or not roots or not all(isinstance(r, str) for r in roots):
        raise ValidationError("an X.509 functionary needs roots: PEM CA certificates", path=path)
    inter = data.get("intermediates") or []
    if isinstance(inter, str):
        inter = [inter]
    if not isinstance(inter, list) or not all(isinstance(r, str) for r in inter):
        raise ValidationError("intermediates must be PEM certificates", path=path)
    cn = data.get("commonName")
    cn_pattern: str | ValuePattern | None
    if isinstance(cn, Mapping) and set(cn) == {"regex"} and isinstance(cn["regex"], str):
        cn_pattern = ValuePattern(regex=cn["regex"])
    elif cn is None or isinstance(cn, str):
        cn_pattern = cn
    else:
        raise ValidationError("commonName must be a string or {regex: ...}", path=path)
    try:
        constraints = X509Constraints(
            roots=tuple(c for pem in roots for c in load_pem_certificates(pem.encode())),
            intermediates=tuple(c for pem in inter for c in load_pem_certificates(pem.encode())),
            common_name=cn_pattern,
            emails=_patterns(data, "emails", path),
            uris=_patterns(data, "uris", path),
            dns_names=_patterns(data, "dnsNames", path),
            organizations=_patterns(data, "organizations", path),
        )
    except ValidationError as exc:
        raise ValidationError(exc.problem, path=path) from None
    return X509Functionary(
        id=fid, not_before=nb, not_after=na, kind="x509", constraints=constraints
    )


_REGISTRY_FIELDS: Final = frozenset({"type", "keys", "notBefore", "notAfter"})


def _registry_keys(fid: str, data: Mapping[str, Any], path: str) -> Functionary:
    from ..crypto._rekor import parse_registry_keys  # noqa: PLC0415

    nb, na = _window(data, path)
    unknown = sorted(set(data) - _REGISTRY_FIELDS)
    if unknown:
        raise ValidationError(
            f"unknown npmRegistryKeys fields: {', '.join(map(str, unknown))}", path=path
        )
    raw = data.get("keys")
    # The registry's whole keys document ({"keys": [...]}) may be pasted as is.
    if isinstance(raw, Mapping):
        if set(raw) != {"keys"}:
            raise ValidationError(
                "keys must be the registry's key array or its {keys: [...]} document", path=path
            )
        raw = raw["keys"]
    keys = parse_registry_keys(raw, path=f"{path}.keys" if path else "keys")
    return RegistryKeysFunctionary(
        id=fid, not_before=nb, not_after=na, kind="npmRegistryKeys", keys=keys
    )


_Builder = Callable[[str, Mapping[str, Any], str], Functionary]

#: Functionary kinds by their ``type`` field; key dicts are recognised by keyType.
FUNCTIONARY_TYPES: Final[Mapping[str, _Builder]] = MappingProxyType(
    {
        "key": _key,
        "sigstore": _sigstore,
        "sigstore-oidc": _sigstore,
        "x509": _x509,
        "npmRegistryKeys": _registry_keys,
    }
)


def functionary_from_dict(fid: str, data: Any, *, path: str = "") -> Functionary:
    """Build a functionary from its layout entry.

    Raises:
        ValidationError: Unknown type, missing or malformed fields, or a key
            that does not load.
    """
    if not isinstance(fid, str):
        raise ValidationError("a functionary id must be a string", path=path)
    if not isinstance(data, Mapping):
        raise ValidationError("a functionary must be an object", path=path)
    kind = data.get("type")
    if kind is None:
        key_type = data.get("keyType", data.get("keytype"))
        kind = "sigstore-oidc" if key_type == "sigstore-oidc" else "key"
    builder = FUNCTIONARY_TYPES.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise ValidationError(
            f"unknown functionary type {kind!r}: use one of {', '.join(sorted(FUNCTIONARY_TYPES))}",
            path=path,
        )
    return builder(fid, data, path)
