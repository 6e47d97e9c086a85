"""X.509 certificates as signer identities.

This module turns a signing certificate into a :class:`CertificateIdentity`
(subject alternative names, subject attributes, the OIDC issuer and every
Fulcio extension by a readable name) and checks certificates against
:class:`X509Constraints`: trusted root and intermediate CA certificates plus
constraints on the names the leaf certificate carries.

Nothing here reads files, the network or the clock: callers pass
certificates as bytes and the time to verify at.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from .._errors import UsageError, ValidationError

# cryptography.x509 costs about 15 ms to import: it loads in the functions
# that need it, so a verification without certificates never pays for it.
if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "FULCIO_EXTENSIONS",
    "CertificateIdentity",
    "ValuePattern",
    "X509Constraints",
    "certificate_identity",
    "load_certificate",
    "load_pem_certificates",
]

FULCIO_OID_PREFIX: Final = "1.3.6.1.4.1.57264.1."
_ISSUER_V1: Final = FULCIO_OID_PREFIX + "1"
_ISSUER_V2: Final = FULCIO_OID_PREFIX + "8"
_OTHERNAME_SAN: Final = FULCIO_OID_PREFIX + "7"
# 1.1 to 1.6 hold the raw bytes of the string; 1.8 and later a DER UTF8String.
_RAW_VALUE_ARCS: Final = frozenset(range(1, 7))

FULCIO_EXTENSIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        FULCIO_OID_PREFIX + "1": "issuer",
        FULCIO_OID_PREFIX + "2": "githubWorkflowTrigger",
        FULCIO_OID_PREFIX + "3": "githubWorkflowSHA",
        FULCIO_OID_PREFIX + "4": "githubWorkflowName",
        FULCIO_OID_PREFIX + "5": "githubWorkflowRepository",
        FULCIO_OID_PREFIX + "6": "githubWorkflowRef",
        FULCIO_OID_PREFIX + "8": "issuer",
        FULCIO_OID_PREFIX + "9": "buildSignerURI",
        FULCIO_OID_PREFIX + "10": "buildSignerDigest",
        FULCIO_OID_PREFIX + "11": "runnerEnvironment",
        FULCIO_OID_PREFIX + "12": "sourceRepositoryURI",
        FULCIO_OID_PREFIX + "13": "sourceRepositoryDigest",
        FULCIO_OID_PREFIX + "14": "sourceRepositoryRef",
        FULCIO_OID_PREFIX + "15": "sourceRepositoryIdentifier",
        FULCIO_OID_PREFIX + "16": "sourceRepositoryOwnerURI",
        FULCIO_OID_PREFIX + "17": "sourceRepositoryOwnerIdentifier",
        FULCIO_OID_PREFIX + "18": "buildConfigURI",
        FULCIO_OID_PREFIX + "19": "buildConfigDigest",
        FULCIO_OID_PREFIX + "20": "buildTrigger",
        FULCIO_OID_PREFIX + "21": "runInvocationURI",
        FULCIO_OID_PREFIX + "22": "sourceRepositoryVisibilityAtSigning",
        FULCIO_OID_PREFIX + "23": "deploymentEnvironment",
    }
)
"""Readable names of the Fulcio certificate extensions, by dotted OID.

Both issuer extensions (``.1.1``, raw string, and ``.1.8``, DER) map to
``issuer``; ``.1.8`` wins when a certificate carries both. Extensions under
``1.3.6.1.4.1.57264.1.`` that are not listed here keep their dotted OID as
their name.
"""

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})


def _extension_name_known(name: str) -> bool:
    return name in FULCIO_EXTENSIONS.values() or (
        name.startswith(FULCIO_OID_PREFIX) and name[len(FULCIO_OID_PREFIX) :].isdigit()
    )


@dataclass(frozen=True, slots=True)
class ValuePattern:
    """One string constraint: an exact value or an anchored regular expression.

    The regular expression must match the whole value (``re.fullmatch``), so
    ``https://github\\.com/org/.*`` does not match a value that merely
    contains such a URL.

    Attributes:
        exact: The value that must be equal, or None.
        regex: The Python regular expression that must match the whole
            value, or None.

    Raises:
        ValidationError: Neither or both of ``exact`` and ``regex`` are set,
            or ``regex`` does not compile.
    """

    exact: str | None = None
    regex: str | None = None
    _compiled: re.Pattern[str] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if (self.exact is None) == (self.regex is None):
            raise ValidationError("give exactly one of an exact value and a regular expression")
        if self.regex is not None:
            try:
                compiled = re.compile(self.regex)
            except re.error as exc:
                raise ValidationError(f"invalid regular expression {self.regex!r}: {exc}") from exc
            object.__setattr__(self, "_compiled", compiled)

    def matches(self, value: str) -> bool:
        """Return whether ``value`` satisfies this pattern."""
        if self._compiled is not None:
            return self._compiled.fullmatch(value) is not None
        return value == self.exact

    def __str__(self) -> str:
        if self.regex is not None:
            return f"re:{self.regex}"
        return str(self.exact)


def _as_pattern(value: str | ValuePattern) -> ValuePattern:
    if isinstance(value, ValuePattern):
        return value
    if isinstance(value, str):
        return ValuePattern(exact=value)
    raise ValidationError(f"expected a string or ValuePattern, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """Who a signing certificate names, read from the certificate.

    For a Fulcio certificate ``san`` is the signer identity (a workflow URI,
    an email address or a username) and ``issuer`` the OIDC issuer that
    vouched for it.

    Attributes:
        san: The primary subject alternative name: the first URI, else the
            first email address, else the Fulcio username (otherName), else
            the first DNS name; None if the certificate has none.
        issuer: The OIDC issuer (Fulcio extension ``.1.8``, else ``.1.1``),
            or None for a certificate without one.
        extensions: Every Fulcio extension (``1.3.6.1.4.1.57264.1.*``) by
            readable name (see :data:`FULCIO_EXTENSIONS`); a value that is
            not a valid string encoding is left out.
        subject: The subject distinguished name (RFC 4514).
        certificate_issuer: The issuing CA's distinguished name (RFC 4514).
        common_names: Subject common names.
        organizations: Subject organization names.
        emails: Email addresses (SAN rfc822Name, then subject emailAddress).
        uris: SAN URIs (SPIFFE IDs included).
        dns_names: SAN DNS names.
        not_before: Start of the certificate's validity (UTC).
        not_after: End of the certificate's validity (UTC).
        integrated_time: Time the transparency log integrated the entry,
            when verified through an inclusion promise; else None.
        timestamps: Times from verified RFC 3161 signed timestamps.
        fingerprint: SHA-256 of the certificate's DER encoding, hex.
        key_fingerprint: SHA-256 of the certified public key's
            SubjectPublicKeyInfo DER, hex: the same value as
            :attr:`PublicKey.fingerprint` for that key.
    """

    san: str | None
    issuer: str | None
    extensions: Mapping[str, str] = field(hash=False)
    subject: str
    certificate_issuer: str
    common_names: tuple[str, ...]
    organizations: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]
    dns_names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    fingerprint: str
    integrated_time: datetime | None = None
    timestamps: tuple[datetime, ...] = ()
    key_fingerprint: str = ""

    @property
    def key_principal_id(self) -> str:
        """The principal of the certified key: ``key:{key_fingerprint}``.

        The same name a key functionary with this key has, so one key counts
        once whether it signs under a key id or under a certificate.
        """
        return f"key:{self.key_fingerprint}"

    @property
    def principal_id(self) -> str:
        """A stable name of this signer, for counting distinct signers.

        ``sigstore:{issuer}|{san}`` for certificates with an OIDC issuer,
        else ``x509:{certificate issuer DN}|{subject DN}|{san}``.
        """
        if self.issuer is not None:
            return f"sigstore:{self.issuer}|{self.san or ''}"
        return f"x509:{self.certificate_issuer}|{self.subject}|{self.san or ''}"

    @property
    def signing_times(self) -> tuple[datetime, ...]:
        """All verified times of signing: the integrated time, then timestamps."""
        head = () if self.integrated_time is None else (self.integrated_time,)
        return head + self.timestamps


def _der_utf8string(data: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0C); None if ``data`` is anything else."""
    if len(data) < 2 or data[0] != 0x0C:
        return None
    first = data[1]
    if first < 0x80:
        length, start = first, 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        length = int.from_bytes(data[2 : 2 + count], "big")
        start = 2 + count
        if length < 0x80 or data[2] == 0:  # not the shortest (DER) form
            return None
    if len(data) != start + length:
        return None
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _name_values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [a.value for a in name.get_attributes_for_oid(oid) if isinstance(a.value, str)]


def _dedup(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def certificate_identity(
    certificate: x509.Certificate,
    *,
    integrated_time: datetime | None = None,
    timestamps: Sequence[datetime] = (),
) -> CertificateIdentity:
    """Read the identity a certificate names.

    This does not verify anything: call it on a certificate whose chain and
    signature were verified.

    Args:
        certificate: The signing (leaf) certificate.
        integrated_time: Verified log integration time, if any.
        timestamps: Verified RFC 3161 timestamp times, if any.

    Returns:
        The certificate's identity.

    Raises:
        ValidationError: The certificate's extensions or names cannot be
            parsed (duplicates, malformed encodings), or its public key
            cannot be read.
    """
    from cryptography import x509  # noqa: PLC0415
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        Encoding,
        PublicFormat,
    )
    from cryptography.x509.oid import ExtensionOID, NameOID  # noqa: PLC0415

    try:
        extensions = list(certificate.extensions)
    except (x509.DuplicateExtension, ValueError) as exc:
        raise ValidationError(f"certificate extensions cannot be parsed: {exc}") from exc

    uris: list[str] = []
    emails: list[str] = []
    dns_names: list[str] = []
    usernames: list[str] = []
    raw_fulcio: dict[str, str] = {}
    for ext in extensions:
        if ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
            assert isinstance(ext.value, x509.SubjectAlternativeName)
            uris.extend(ext.value.get_values_for_type(x509.UniformResourceIdentifier))
            emails.extend(ext.value.get_values_for_type(x509.RFC822Name))
            dns_names.extend(ext.value.get_values_for_type(x509.DNSName))
            for other in ext.value.get_values_for_type(x509.OtherName):
                if other.type_id.dotted_string == _OTHERNAME_SAN:
                    username = _der_utf8string(other.value)
                    if username is not None:
                        usernames.append(username)
            continue
        dotted = ext.oid.dotted_string
        if not dotted.startswith(FULCIO_OID_PREFIX) or not isinstance(
            ext.value, x509.UnrecognizedExtension
        ):
            continue
        arc = dotted[len(FULCIO_OID_PREFIX) :]
        raw = ext.value.value
        if arc.isdigit() and int(arc) in _RAW_VALUE_ARCS:
            try:
                value: str | None = raw.decode("utf-8")
            except UnicodeDecodeError:
                value = None
        else:
            value = _der_utf8string(raw)
        if value is not None:
            raw_fulcio[dotted] = value

    named: dict[str, str] = {}
    for dotted, value in raw_fulcio.items():
        if dotted == _ISSUER_V1 and _ISSUER_V2 in raw_fulcio:
            continue
        named[FULCIO_EXTENSIONS.get(dotted, dotted)] = value

    try:
        spki = certificate.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValidationError(f"certificate public key cannot be read: {exc}") from exc

    san = next(iter(uris or emails or usernames or dns_names), None)
    try:
        # cryptography parses names lazily: a malformed one raises here
        # (ValueError, or TypeError for an attribute of the wrong type).
        subject = certificate.subject
        emails.extend(_name_values(subject, NameOID.EMAIL_ADDRESS))
        subject_text = subject.rfc4514_string()
        issuer_text = certificate.issuer.rfc4514_string()
        common_names = tuple(_name_values(subject, NameOID.COMMON_NAME))
        organizations = tuple(_name_values(subject, NameOID.ORGANIZATION_NAME))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"certificate names cannot be parsed: {exc}") from exc
    return CertificateIdentity(
        san=san,
        issuer=named.get("issuer"),
        extensions=MappingProxyType(named) if named else _EMPTY,
        subject=subject_text,
        certificate_issuer=issuer_text,
        common_names=common_names,
        organizations=organizations,
        emails=_dedup(emails),
        uris=tuple(uris),
        dns_names=tuple(dns_names),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint=hashlib.sha256(
            certificate.public_bytes(encoding=Encoding.DER),
        ).hexdigest(),
        integrated_time=integrated_time,
        timestamps=tuple(timestamps),
        key_fingerprint=hashlib.sha256(spki).hexdigest(),
    )


def load_pem_certificates(
    data: bytes, *, source: str | None = None
) -> tuple[x509.Certificate, ...]:
    """Parse one or more PEM certificates.

    Args:
        data: Concatenated PEM ``CERTIFICATE`` blocks.
        source: Name of the input, for error messages.

    Returns:
        The certificates, in order.

    Raises:
        ValidationError: ``data`` holds no certificate or a malformed one.
    """
    from cryptography import x509  # noqa: PLC0415

    try:
        certificates = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion) as exc:
        # InvalidVersion (a bad version field) is not a ValueError.
        raise ValidationError(f"not PEM certificates: {exc}", source=source) from exc
    return tuple(certificates)


def load_certificate(data: bytes | str, *, source: str | None = None) -> x509.Certificate:
    """Parse one certificate, PEM or DER.

    Args:
        data: The certificate; PEM text (``str`` or ``bytes``) or DER bytes.
        source: Name of the input, for error messages.

    Returns:
        The certificate.

    Raises:
        ValidationError: ``data`` is not exactly one well-formed certificate.
    """
    from cryptography import x509  # noqa: PLC0415

    raw = data.encode("utf-8") if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        certificates = load_pem_certificates(raw, source=source)
        if len(certificates) != 1:
            raise ValidationError(
                f"expected one PEM certificate, found {len(certificates)}", source=source
            )
        return certificates[0]
    try:
        return x509.load_der_x509_certificate(raw)
    except (ValueError, x509.InvalidVersion) as exc:
        raise ValidationError(f"not a DER certificate: {exc}", source=source) from exc


def _patterns(values: Iterable[str | ValuePattern], what: str) -> tuple[ValuePattern, ...]:
    if isinstance(values, str):
        raise ValidationError(f"{what}: expected a list of values, got one string")
    return tuple(_as_pattern(v) for v in values)


@dataclass(frozen=True, slots=True)
class X509Constraints:
    """Trust anchors and name constraints for certificate-signed envelopes.

    A certificate satisfies these constraints when it chains to one of
    ``roots`` (through ``intermediates`` and intermediates shipped with the
    signature) at the time of signing, and every listed name constraint is
    met: ``common_name`` must match a subject common name, and each entry of
    ``emails``, ``uris``, ``dns_names`` and ``organizations`` must match at
    least one value of that kind in the certificate. Entries are exact
    strings or :class:`ValuePattern`.

    Use :meth:`check_chain` for the chain and :meth:`matches` for the names.

    Attributes:
        roots: Trusted root CA certificates.
        intermediates: Trusted intermediate CA certificates.
        common_name: Required subject common name, or None.
        emails: Required email addresses.
        uris: Required SAN URIs (SPIFFE IDs included).
        dns_names: Required SAN DNS names.
        organizations: Required subject organizations.

    Raises:
        ValidationError: No root, a non-certificate in ``roots`` or
            ``intermediates``, or no name constraint at all (a CA alone names
            no signer).
    """

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    common_name: str | ValuePattern | None = None
    emails: tuple[str | ValuePattern, ...] = ()
    uris: tuple[str | ValuePattern, ...] = ()
    dns_names: tuple[str | ValuePattern, ...] = ()
    organizations: tuple[str | ValuePattern, ...] = ()

    def __post_init__(self) -> None:
        from cryptography import x509  # noqa: PLC0415

        for what in ("roots", "intermediates"):
            certs = getattr(self, what)
            if not isinstance(certs, tuple) or not all(
                isinstance(c, x509.Certificate) for c in certs
            ):
                raise ValidationError(f"{what}: expected a tuple of certificates")
        if not self.roots:
            raise ValidationError("roots: at least one trusted root certificate is required")
        common = None if self.common_name is None else _as_pattern(self.common_name)
        object.__setattr__(self, "common_name", common)
        for what in ("emails", "uris", "dns_names", "organizations"):
            object.__setattr__(self, what, _patterns(getattr(self, what), what))
        if common is None and not (
            self.emails or self.uris or self.dns_names or self.organizations
        ):
            raise ValidationError(
                "give at least one of common_name, emails, uris, dns_names, organizations"
            )

    @classmethod
    def from_pem(
        cls,
        *,
        roots: bytes,
        intermediates: bytes = b"",
        common_name: str | ValuePattern | None = None,
        emails: Sequence[str | ValuePattern] = (),
        uris: Sequence[str | ValuePattern] = (),
        dns_names: Sequence[str | ValuePattern] = (),
        organizations: Sequence[str | ValuePattern] = (),
        source: str | None = None,
    ) -> X509Constraints:
        """Build constraints from PEM-encoded CA certificates.

        Args:
            roots: PEM root CA certificates (one or more blocks).
            intermediates: PEM intermediate CA certificates, possibly empty.
            common_name: See the class attributes.
            emails: See the class attributes.
            uris: See the class attributes.
            dns_names: See the class attributes.
            organizations: See the class attributes.
            source: Name of the input, for error messages.

        Returns:
            The constraints.

        Raises:
            ValidationError: Malformed PEM, or constraints the class rejects.
        """
        return cls(
            roots=load_pem_certificates(roots, source=source),
            intermediates=(
                load_pem_certificates(intermediates, source=source) if intermediates.strip() else ()
            ),
            common_name=common_name,
            emails=tuple(emails),
            uris=tuple(uris),
            dns_names=tuple(dns_names),
            organizations=tuple(organizations),
        )

    def check_chain(
        self,
        certificate: x509.Certificate,
        *,
        at: datetime,
        untrusted_intermediates: Sequence[x509.Certificate] = (),
    ) -> list[str]:
        """Check that ``certificate`` chains to a trusted root at time ``at``.

        Every certificate in the chain must be valid at ``at`` (the signing
        time, established by the caller). The leaf may carry any extended
        key usage and need not have a subject alternative name.

        Args:
            certificate: The leaf certificate.
            at: The time to verify at; must be timezone-aware.
            untrusted_intermediates: Extra intermediates that came with the
                signature; they only help build a path to a trusted root.

        Returns:
            Problems, empty when the chain verifies.

        Raises:
            UsageError: ``at`` is a naive datetime.
        """
        from cryptography import x509  # noqa: PLC0415
        from cryptography.x509.verification import (  # noqa: PLC0415
            Criticality,
            ExtensionPolicy,
            PolicyBuilder,
            Store,
        )
        from cryptography.x509.verification import (  # noqa: PLC0415
            VerificationError as X509VerificationError,
        )

        if at.tzinfo is None or at.utcoffset() is None:
            raise UsageError("the verification time must be timezone-aware")
        # Client verification would demand the clientAuth EKU and a SAN;
        # signing certificates carry other EKUs (Fulcio: codeSigning) and may
        # name their signer by subject only, so both are optional here while
        # the other web PKI extension checks stay.
        ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
            x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
        )
        ee_policy = (
            ExtensionPolicy.webpki_defaults_ee()
            .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
            .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        )
        verifier = (
            PolicyBuilder()
            .store(Store(list(self.roots)))
            .time(at)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
            .build_client_verifier()
        )
        try:
            verifier.verify(certificate, [*self.intermediates, *untrusted_intermediates])
        except (X509VerificationError, x509.UnsupportedGeneralNameType) as exc:
            return [f"certificate chain does not verify at {at.isoformat()}: {exc}"]
        return []

    def matches(self, identity: CertificateIdentity) -> list[str]:
        """Check the name constraints against a certificate's identity.

        Args:
            identity: The identity of a verified certificate.

        Returns:
            Mismatch reasons, empty when every constraint is met.
        """
        problems: list[str] = []
        common = () if self.common_name is None else (self.common_name,)
        checks: list[tuple[str, tuple[str | ValuePattern, ...], tuple[str, ...]]] = [
            ("common name", common, identity.common_names),
            ("email", self.emails, identity.emails),
            ("URI", self.uris, identity.uris),
            ("DNS name", self.dns_names, identity.dns_names),
            ("organization", self.organizations, identity.organizations),
        ]
        for what, wanted, present in checks:
            for pattern in map(_as_pattern, wanted):
                if not any(pattern.matches(value) for value in present):
                    shown = ", ".join(repr(v) for v in present) or "none"
                    problems.append(f"no {what} matches {str(pattern)!r} (certificate has {shown})")
        return problems
