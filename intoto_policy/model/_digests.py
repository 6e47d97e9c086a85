"""DigestSet: the in-toto attestation spec's map from algorithm to digest.

Known algorithms must carry lowercase hex of the algorithm's length (the
spec says lowercase hex; an uppercase or short value is an error, not
something to normalise). Custom algorithm names are allowed and kept, but
never used to decide whether two artifacts are the same.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .._errors import ValidationError

__all__ = [
    "DEFAULT_ACCEPTABLE",
    "KNOWN_ALGORITHMS",
    "MIN_MATCH_HEX",
    "WEAK_ALGORITHMS",
    "DigestSet",
    "acceptable_algorithms",
    "digest_file",
]

# Hex lengths allowed for each algorithm the spec names. Variable-output
# functions (shake, blake2) accept any whole number of bytes up to their
# maximum; git object ids are sha1 or sha256.
_FIXED: Final[Mapping[str, frozenset[int]]] = {
    "md5": frozenset({32}),
    "sha1": frozenset({40}),
    "ripemd160": frozenset({40}),
    "sha224": frozenset({56}),
    "sha512_224": frozenset({56}),
    "sha3_224": frozenset({56}),
    "sha256": frozenset({64}),
    "sha512_256": frozenset({64}),
    "sha3_256": frozenset({64}),
    "sm3": frozenset({64}),
    "dirHash": frozenset({64}),
    "goModuleH1": frozenset({64}),
    "sha384": frozenset({96}),
    "sha3_384": frozenset({96}),
    "sha512": frozenset({128}),
    "sha3_512": frozenset({128}),
    "gost": frozenset({64, 128}),
    "gitCommit": frozenset({40, 64}),
    "gitTree": frozenset({40, 64}),
    "gitBlob": frozenset({40, 64}),
    "gitTag": frozenset({40, 64}),
    "blake2b": frozenset(range(2, 129, 2)),
    "blake2s": frozenset(range(2, 65, 2)),
    "shake128": frozenset(range(2, 513, 2)),
    "shake256": frozenset(range(2, 513, 2)),
}

#: Variable-output functions: a value this short (fewer than 256 bits) is
#: checked for disagreement but never enough to say two artifacts are the
#: same, whatever the layout accepts (a 1-byte blake2b is a guessable
#: label, not an identity).
MIN_MATCH_HEX: Final = 64
_VARIABLE: Final = frozenset({"blake2b", "blake2s", "shake128", "shake256"})

#: Algorithm names the in-toto attestation spec defines.
KNOWN_ALGORITHMS: Final = frozenset(_FIXED)

#: Algorithms trusted for matching by default: everything known but the
#: broken md5 and sha1. Git object ids are kept: they are the spec's own way
#: to name source revisions.
DEFAULT_ACCEPTABLE: Final = KNOWN_ALGORITHMS - {"md5", "sha1"}

#: Algorithms a layout may list as acceptable only by naming them: broken.
WEAK_ALGORITHMS: Final = frozenset({"md5", "sha1"})

_LOWER_HEX: Final = re.compile(r"[0-9a-f]+")


def acceptable_algorithms(names: Any, path: str) -> frozenset[str]:
    """A layout's ``digestAlgorithms``: algorithms the spec names, each once.

    Raises:
        ValidationError: Not a non-empty list of distinct known algorithm names.
    """
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValidationError("must be a non-empty list of digest algorithm names", path=path)
    unknown = sorted({n for n in names if n not in KNOWN_ALGORITHMS})
    if unknown:
        raise ValidationError(
            f"unknown digest algorithm(s) {', '.join(repr(n[:40]) for n in unknown[:5])}; "
            f"known: {', '.join(sorted(KNOWN_ALGORITHMS))}",
            path=path,
        )
    if len(set(names)) != len(names):
        raise ValidationError("lists an algorithm twice", path=path)
    return frozenset(names)


def _check(alg: str, value: str) -> None:
    lengths = _FIXED.get(alg)
    if lengths is None:
        return
    if not _LOWER_HEX.fullmatch(value):
        if _LOWER_HEX.fullmatch(value.lower()):
            raise ValidationError(f"{alg} digest must be lowercase hex, got {value!r}")
        raise ValidationError(f"{alg} digest is not hex: {value!r}")
    if len(value) not in lengths:
        want = (
            " or ".join(str(n) for n in sorted(lengths))
            if len(lengths) <= 2
            else "a valid number of"
        )
        raise ValidationError(f"{alg} digest has {len(value)} hex digits, want {want}")


class DigestSet(Mapping[str, str]):
    """An immutable, validated map from digest algorithm to value.

    Raises:
        ValidationError: (from the constructor) the set is empty, a name or
            value is not a string, or a known algorithm's value is not
            lowercase hex of the right length.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, digests: Mapping[str, Any]) -> None:
        if not isinstance(digests, Mapping):
            raise ValidationError("digest must be an object mapping algorithm to value")
        if not digests:
            raise ValidationError("digest must name at least one algorithm")
        data: dict[str, str] = {}
        for alg, value in digests.items():
            if not isinstance(alg, str) or not alg:
                raise ValidationError("digest algorithm names must be non-empty strings")
            if not isinstance(value, str):
                raise ValidationError(f"{alg} digest must be a string", path=alg)
            _check(alg, value)
            data[alg] = value
        self._data = data
        self._hash: int | None = None

    def __getitem__(self, alg: str) -> str:
        return self._data[alg]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DigestSet):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"DigestSet({self._data!r})"

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return dict(self._data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DigestSet:
        """Validate and wrap a JSON digest object (same as the constructor)."""
        return cls(data)

    def matches(
        self, other: Mapping[str, str], acceptable: frozenset[str] = DEFAULT_ACCEPTABLE
    ) -> bool:
        """Whether two digest sets name the same artifact.

        They match when they share at least one acceptable algorithm and
        every shared algorithm the spec names agrees. A variable-output
        function (blake2b, blake2s, shake128, shake256) counts as that
        shared acceptable algorithm only with at least 256 bits
        (:data:`MIN_MATCH_HEX` hex digits); a shorter value that disagrees
        is still a mismatch. A disagreement on any
        shared known algorithm is a mismatch, even if another agrees and
        even if that algorithm is not acceptable (a weak digest that
        disagrees still says the two differ); custom algorithm names are
        never compared.

        Args:
            other: The digest set to compare with.
            acceptable: Algorithms trusted for matching.
        """
        shared = False
        for alg, value in self._data.items():
            if alg not in other:
                continue
            if alg in acceptable:
                if other[alg] != value:
                    return False
                shared = shared or alg not in _VARIABLE or len(value) >= MIN_MATCH_HEX
            elif alg in KNOWN_ALGORITHMS and other[alg] != value:
                return False
        return shared

    def describe(self) -> str:
        """A short human form, ``sha256:abcdef0123…``, for reports."""
        alg = "sha256" if "sha256" in self._data else sorted(self._data)[0]
        value = self._data[alg]
        return f"{alg}:{value[:16]}…" if len(value) > 16 else f"{alg}:{value}"


def digest_file(data: bytes, algorithms: tuple[str, ...] = ("sha256",)) -> DigestSet:
    """Digest bytes with the given hashlib algorithms (spec names)."""
    return DigestSet({alg: hashlib.new(alg, data).hexdigest() for alg in algorithms})
