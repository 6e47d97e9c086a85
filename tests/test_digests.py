"""DigestSet: validation of known algorithms, and the matching rules."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intoto_policy._errors import ValidationError
from intoto_policy.model._digests import (
    DEFAULT_ACCEPTABLE,
    KNOWN_ALGORITHMS,
    DigestSet,
    digest_file,
)

# Hex lengths per algorithm, written out from the in-toto attestation spec's
# DigestSet page (not read from the module under test).
SPEC_LENGTHS: dict[str, tuple[int, ...]] = {
    "md5": (32,),
    "sha1": (40,),
    "ripemd160": (40,),
    "sha224": (56,),
    "sha512_224": (56,),
    "sha3_224": (56,),
    "sha256": (64,),
    "sha512_256": (64,),
    "sha3_256": (64,),
    "sm3": (64,),
    "dirHash": (64,),
    "goModuleH1": (64,),
    "sha384": (96,),
    "sha3_384": (96,),
    "sha512": (128,),
    "sha3_512": (128,),
    "gost": (64, 128),
    "gitCommit": (40, 64),
    "gitTree": (40, 64),
    "gitBlob": (40, 64),
    "gitTag": (40, 64),
    # Variable-output functions: smallest, a middle and the largest length.
    "blake2b": (2, 64, 128),
    "blake2s": (2, 32, 64),
    "shake128": (2, 64, 512),
    "shake256": (2, 128, 512),
}

# A length that is even but not allowed, per algorithm.
SPEC_BAD_LENGTH: dict[str, int] = {
    alg: (max(lengths) + 2 if alg[:5] in {"blake", "shake"} else min(lengths) - 2)
    for alg, lengths in SPEC_LENGTHS.items()
}
SPEC_BAD_LENGTH["gost"] = 96
for _git in ("gitCommit", "gitTree", "gitBlob", "gitTag"):
    SPEC_BAD_LENGTH[_git] = 56

ALGS = sorted(SPEC_LENGTHS)


def test_known_algorithms_are_the_spec_list() -> None:
    assert frozenset(SPEC_LENGTHS) == KNOWN_ALGORITHMS


@pytest.mark.parametrize("alg", ALGS, ids=ALGS)
def test_every_allowed_length_is_accepted(alg: str) -> None:
    for length in SPEC_LENGTHS[alg]:
        value = ("0123456789abcdef" * 40)[:length]
        assert DigestSet({alg: value})[alg] == value


@pytest.mark.parametrize("alg", ALGS, ids=ALGS)
def test_a_wrong_length_is_rejected(alg: str) -> None:
    with pytest.raises(ValidationError, match="hex digits"):
        DigestSet({alg: "a" * SPEC_BAD_LENGTH[alg]})


@pytest.mark.parametrize("alg", ALGS, ids=ALGS)
def test_an_odd_length_is_rejected(alg: str) -> None:
    with pytest.raises(ValidationError, match="hex digits"):
        DigestSet({alg: "a" * (min(SPEC_LENGTHS[alg]) + 1)})


@pytest.mark.parametrize("alg", ALGS, ids=ALGS)
def test_uppercase_is_rejected_not_normalised(alg: str) -> None:
    value = "A" + "b" * (min(SPEC_LENGTHS[alg]) - 1)
    with pytest.raises(ValidationError, match="lowercase"):
        DigestSet({alg: value})


INVALID: list[tuple[str, object, str]] = [
    ("empty-set", {}, "at least one"),
    ("not-a-mapping", [("sha256", "a" * 64)], "must be an object"),
    ("value-not-string", {"sha256": 1}, "must be a string"),
    ("value-none", {"custom": None}, "must be a string"),
    ("empty-algorithm-name", {"": "ab"}, "non-empty"),
    ("non-string-algorithm-name", {1: "ab"}, "non-empty strings"),
    ("not-hex", {"sha256": "g" * 64}, "not hex"),
    ("placeholder", {"sha256": "4faeb1b2..."}, "not hex"),
    ("empty-value", {"sha256": ""}, "not hex"),
    ("hex-prefix", {"sha256": "0x" + "a" * 62}, "not hex"),
    ("whitespace", {"sha256": "a" * 63 + " "}, "not hex"),
    ("mixed-case", {"sha1": "aB" * 20}, "lowercase"),
    ("one-bad-among-good", {"sha256": "a" * 64, "sha512": "a" * 64}, "128"),
]


@pytest.mark.parametrize(
    ("digests", "problem"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_digest_sets(digests: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        DigestSet(digests)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["not hex at all!", "", "ABC", "a" * 1000, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="],
    ids=["text", "empty", "upper", "long", "base64"],
)
def test_custom_algorithm_values_are_kept_unchecked(value: str) -> None:
    digests = DigestSet({"myHash": value, "sha256": "a" * 64})
    assert digests.to_dict() == {"myHash": value, "sha256": "a" * 64}


SHA256_A = "a" * 64
SHA256_B = "b" * 64
SHA512_A = "a" * 128
SHA512_B = "b" * 128
SHA1_A = "a" * 40
SHA1_B = "b" * 40
MD5_A = "a" * 32

MATCHING: list[tuple[str, dict[str, str], dict[str, str], frozenset[str] | None, bool]] = [
    ("same-sha256", {"sha256": SHA256_A}, {"sha256": SHA256_A}, None, True),
    ("different-sha256", {"sha256": SHA256_A}, {"sha256": SHA256_B}, None, False),
    ("subset-agrees", {"sha256": SHA256_A, "sha512": SHA512_A}, {"sha256": SHA256_A}, None, True),
    ("disjoint-algorithms", {"sha256": SHA256_A}, {"sha512": SHA512_A}, None, False),
    (
        "one-agrees-one-conflicts",
        {"sha256": SHA256_A, "sha512": SHA512_A},
        {"sha256": SHA256_A, "sha512": SHA512_B},
        None,
        False,
    ),
    (
        "spec-example-conflict",
        {"sha256": SHA256_A},
        {"sha256": SHA256_B, "sha512": SHA512_A},
        None,
        False,
    ),
    ("only-sha1-shared", {"sha1": SHA1_A}, {"sha1": SHA1_A}, None, False),
    ("only-md5-shared", {"md5": MD5_A}, {"md5": MD5_A}, None, False),
    ("sha1-when-acceptable", {"sha1": SHA1_A}, {"sha1": SHA1_A}, frozenset({"sha1"}), True),
    (
        "sha1-conflict-when-acceptable",
        {"sha1": SHA1_A},
        {"sha1": SHA1_B},
        frozenset({"sha1"}),
        False,
    ),
    (
        # A weak digest is not enough to match, but one that disagrees still
        # says the two differ: fail closed.
        "unacceptable-conflict-fails",
        {"sha256": SHA256_A, "sha1": SHA1_A},
        {"sha256": SHA256_A, "sha1": SHA1_B},
        None,
        False,
    ),
    (
        "unacceptable-agreement-is-fine",
        {"sha256": SHA256_A, "sha1": SHA1_A},
        {"sha256": SHA256_A, "sha1": SHA1_A},
        None,
        True,
    ),
    ("sha1-only-not-acceptable-by-default", {"sha1": SHA1_A}, {"sha1": SHA1_A}, None, False),
    ("custom-same-value-never-matches", {"myHash": "x"}, {"myHash": "x"}, None, False),
    (
        "custom-conflict-ignored",
        {"sha256": SHA256_A, "myHash": "x"},
        {"sha256": SHA256_A, "myHash": "y"},
        None,
        True,
    ),
    (
        "restricted-acceptable-set",
        {"sha256": SHA256_A},
        {"sha256": SHA256_A},
        frozenset({"sha512"}),
        False,
    ),
    (
        "restricted-acceptable-still-fails-on-conflict",
        {"sha256": SHA256_A, "sha512": SHA512_A},
        {"sha256": SHA256_B, "sha512": SHA512_A},
        frozenset({"sha512"}),
        False,
    ),
    ("empty-acceptable-set", {"sha256": SHA256_A}, {"sha256": SHA256_A}, frozenset(), False),
    ("git-commit", {"gitCommit": SHA1_A}, {"gitCommit": SHA1_A}, None, True),
    # Truncated variable-output digests never establish identity.
    ("blake2b-1-byte", {"blake2b": "ab"}, {"blake2b": "ab"}, None, False),
    ("shake128-1-byte", {"shake128": "00"}, {"shake128": "00"}, None, False),
    ("blake2s-31-bytes", {"blake2s": "a" * 62}, {"blake2s": "a" * 62}, None, False),
    ("shake256-1-byte-listed", {"shake256": "00"}, {"shake256": "00"}, frozenset({"shake256"}),
     False),
    ("blake2b-256-bits", {"blake2b": "a" * 64}, {"blake2b": "a" * 64}, None, True),
    ("shake128-512-bits", {"shake128": "a" * 128}, {"shake128": "a" * 128}, None, True),
    ("short-blake2b-conflict-still-fails", {"sha256": SHA256_A, "blake2b": "ab"},
     {"sha256": SHA256_A, "blake2b": "ac"}, None, False),
    ("short-blake2b-beside-sha256", {"sha256": SHA256_A, "blake2b": "ab"},
     {"sha256": SHA256_A, "blake2b": "ab"}, None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("left", "right", "acceptable", "expected"),
    [c[1:] for c in MATCHING],
    ids=[c[0] for c in MATCHING],
)
def test_matching(
    left: dict[str, str], right: dict[str, str], acceptable: frozenset[str] | None, expected: bool
) -> None:
    a, b = DigestSet(left), DigestSet(right)
    if acceptable is None:
        assert a.matches(b) is expected
        assert a.matches(right) is expected
    else:
        assert a.matches(b, acceptable) is expected


def test_default_acceptable_set() -> None:
    assert {"md5", "sha1"}.isdisjoint(DEFAULT_ACCEPTABLE)
    assert {"sha256", "sha512", "sha3_256", "gitCommit"} <= DEFAULT_ACCEPTABLE
    assert DEFAULT_ACCEPTABLE <= KNOWN_ALGORITHMS


def test_digest_set_is_immutable_and_hashable() -> None:
    source = {"sha256": SHA256_A}
    digests = DigestSet(source)
    source["sha256"] = SHA256_B
    assert digests["sha256"] == SHA256_A
    with pytest.raises(TypeError):
        digests["sha256"] = SHA256_B  # type: ignore[index]
    assert hash(digests) == hash(DigestSet({"sha256": SHA256_A}))
    assert digests == {"sha256": SHA256_A}
    assert digests != DigestSet({"sha256": SHA256_B})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
    ids=["empty", "abc"],
)
def test_digest_file_sha256(data: bytes, expected: str) -> None:
    assert digest_file(data) == {"sha256": expected}


def test_digest_file_several_algorithms() -> None:
    digests = digest_file(b"abc", ("sha256", "sha512", "sha3_256"))
    assert digests["sha512"] == hashlib.sha512(b"abc").hexdigest()
    assert digests["sha3_256"] == hashlib.sha3_256(b"abc").hexdigest()


# Values drawn from a small pool so that generated sets often share
# algorithms and sometimes agree.
_POOL_ALGS = ["sha256", "sha512", "sha1", "md5", "gitCommit", "custom"]
_POOL_VALUES = {
    "sha256": [SHA256_A, SHA256_B],
    "sha512": [SHA512_A, SHA512_B],
    "sha1": [SHA1_A, SHA1_B],
    "md5": [MD5_A, "b" * 32],
    "gitCommit": [SHA1_A, SHA256_A],
    "custom": ["x", "y"],
}


@st.composite
def digest_sets(draw: st.DrawFn) -> DigestSet:
    algs = draw(st.lists(st.sampled_from(_POOL_ALGS), min_size=1, max_size=4, unique=True))
    return DigestSet({alg: draw(st.sampled_from(_POOL_VALUES[alg])) for alg in algs})


ACCEPTABLE_SETS = st.one_of(
    st.just(DEFAULT_ACCEPTABLE),
    st.frozensets(st.sampled_from(_POOL_ALGS)),
)


@given(a=digest_sets(), b=digest_sets(), acceptable=ACCEPTABLE_SETS)
def test_matching_is_symmetric(a: DigestSet, b: DigestSet, acceptable: frozenset[str]) -> None:
    assert a.matches(b, acceptable) == b.matches(a, acceptable)


@given(a=digest_sets(), acceptable=ACCEPTABLE_SETS)
def test_a_set_matches_itself_iff_it_has_an_acceptable_algorithm(
    a: DigestSet, acceptable: frozenset[str]
) -> None:
    assert a.matches(a, acceptable) == bool(set(a) & acceptable)


@given(a=digest_sets(), b=digest_sets())
def test_default_matching_never_uses_sha1_md5_or_custom(a: DigestSet, b: DigestSet) -> None:
    strong = {"sha256", "sha512", "gitCommit"}
    if not (set(a) & set(b) & strong):
        assert not a.matches(b)
