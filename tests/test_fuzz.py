"""Fuzzing every public parse/load entry point and the CLI's argv (issue #9).

Seeds are the real files of the shared corpus (``../shared/corpus``) plus a
few built-in documents; hypothesis mutates them (byte flips, truncation,
splicing, JSON structural changes). The property: whatever escapes is the
package's own error base, :class:`intoto_policy.IntotoPolicyError`; for
the CLI, the exit code is 0, 1 or 2, stderr has no traceback and any error
is one line.

The budget is bounded so that the normal ``python -m pytest`` run includes
it: ``INTOTO_FUZZ_EXAMPLES`` examples per target (default 150, derandomized
so CI is reproducible). A longer, randomized run::

    INTOTO_FUZZ_EXAMPLES=20000 INTOTO_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz.py

(see ``tests/fuzz/README.md``).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intoto_policy import IntotoPolicyError

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
EXAMPLES = int(os.environ.get("INTOTO_FUZZ_EXAMPLES", "150"))
RANDOM = os.environ.get("INTOTO_FUZZ_RANDOM", "") not in ("", "0")
MAX_SEED = 64 * 1024

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_SUFFIXES = {
    ".json",
    ".jsonl",
    ".link",
    ".layout",
    ".yml",
    ".yaml",
    ".pem",
    ".pub",
    ".sigstore",
    ".attestation",
    ".template",
    ".key",
}

_BUILTIN: list[bytes] = [
    b"{}",
    b"[]",
    b'{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}',
    b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"'
    + b"0" * 64
    + b'"}}],"predicateType":"x","predicate":{}}',
    b"expires: 2100-01-01T00:00:00Z\nfunctionaries: {}\nsteps: []\n",
    (
        b'{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{},'
        b'"command":[],"environment":{}},"signatures":[]}'
    ),
]


def _seeds() -> list[bytes]:
    found = list(_BUILTIN)
    if CORPUS.is_dir():
        for path in sorted(CORPUS.rglob("*")):
            if path.is_file() and path.suffix in _SUFFIXES and path.stat().st_size <= MAX_SEED:
                found.append(path.read_bytes())
    return found


SEEDS = _seeds()
JSON_SEEDS: list[Any] = []
for _seed in SEEDS:
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        JSON_SEEDS.append(json.loads(_seed))


# --------------------------------------------------------------------------
# mutations


def _flip(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return bytes([rnd.randrange(256)])
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        i = rnd.randrange(len(buf))
        buf[i] = rnd.choice([buf[i] ^ (1 << rnd.randrange(8)), rnd.randrange(256)])
    return bytes(buf)


def _truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randint(0, len(data))]


def _splice(data: bytes, rnd: random.Random) -> bytes:
    other = rnd.choice(SEEDS)
    a, b = rnd.randint(0, len(data)), rnd.randint(0, len(other))
    return data[:a] + other[b:]


def _insert(data: bytes, rnd: random.Random) -> bytes:
    token = rnd.choice(
        [
            b"{",
            b"}",
            b"[",
            b"]",
            b'"',
            b",",
            b":",
            b"\\u0000",
            b"\xff",
            b"\n",
            b"null",
            b"-1",
            b"1e999",
        ]
    )
    i = rnd.randint(0, len(data))
    return data[:i] + token + data[i:]


_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    "",
    "x",
    "\x00",
    "not-base64!",
    [],
    {},
    [None],
    {"": None},
    "2100-01-01T00:00:00Z",
    "sha256:" + "0" * 64,
]


def _json_mutate(value: Any, rnd: random.Random, depth: int = 0) -> Any:
    """Replace, drop, duplicate or retype one node of a JSON value."""
    if depth > 12 or rnd.random() < 0.25:
        choice = rnd.random()
        if choice < 0.6:
            return rnd.choice(_ODD_VALUES)
        if choice < 0.8 and isinstance(value, str):
            # A base64 payload: mutate what it carries too.
            try:
                inner = json.loads(base64.b64decode(value, validate=True))
            except ValueError:
                return value[::-1]
            return base64.b64encode(
                json.dumps(_json_mutate(inner, rnd, depth + 1)).encode()
            ).decode()
        return [value] if rnd.random() < 0.5 else {"x": value}
    if isinstance(value, dict) and value:
        key = rnd.choice(list(value))
        out = dict(value)
        action = rnd.random()
        if action < 0.2:
            del out[key]
        elif action < 0.3:
            out[key + "_"] = out[key]
        else:
            out[key] = _json_mutate(value[key], rnd, depth + 1)
        return out
    if isinstance(value, list) and value:
        i = rnd.randrange(len(value))
        out_list = list(value)
        action = rnd.random()
        if action < 0.2:
            del out_list[i]
        elif action < 0.35:
            out_list.append(out_list[i])
        else:
            out_list[i] = _json_mutate(value[i], rnd, depth + 1)
        return out_list
    return rnd.choice(_ODD_VALUES)


def _json_bytes(value: Any, rnd: random.Random) -> bytes:
    mutated = _json_mutate(value, rnd)
    return json.dumps(mutated, ensure_ascii=rnd.random() < 0.5).encode("utf-8", "surrogatepass")


_BYTE_MUTATIONS = [_flip, _truncate, _splice, _insert]


@st.composite
def inputs(draw: st.DrawFn) -> bytes:
    """A corpus seed, unchanged or mutated one to three times."""
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    if JSON_SEEDS and draw(st.booleans()):
        data = _json_bytes(draw(st.sampled_from(JSON_SEEDS)), rnd)
    else:
        data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(0, 3))):
        data = rnd.choice(_BYTE_MUTATIONS)(data, rnd)
    return data


@st.composite
def json_values(draw: st.DrawFn) -> Any:
    """A decoded, structurally mutated JSON seed (for the dict-level parsers)."""
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    value = draw(st.sampled_from(JSON_SEEDS or [{}]))
    for _ in range(draw(st.integers(1, 4))):
        value = _json_mutate(value, rnd)
    return value


texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "2026-11-22T00:00:00Z",
            "2026-11-22T00:00:00.123456789+01:00",
            "1h30m",
            "720h",
            "P1D",
            "-1s",
            "9" * 40 + "h",
            "subject.name == 'x'",
            "predicate.buildDefinition.buildType.startsWith('https://')",
            "size(subject) > 0 && has(predicate.x)",
            "[1,2,3].all(x, x > 0)",
        ]
    ),
)


@contextlib.contextmanager
def _own_errors_only() -> Iterator[None]:
    """Let the package's own errors through; anything else fails the test."""
    with contextlib.suppress(IntotoPolicyError):
        yield


# --------------------------------------------------------------------------
# targets over bytes


def _json_loads(data: bytes) -> None:
    from intoto_policy.model._json import loads

    loads(data, source="fuzz")


def _parse_attestations(data: bytes) -> None:
    from intoto_policy import parse_attestations

    # Documented never to raise for bad content.
    for att in parse_attestations(data, source="fuzz.jsonl"):
        str(att.problem)


def _envelope(data: bytes) -> None:
    from intoto_policy import Envelope

    env = Envelope.from_json(data, source="fuzz")
    assert env.pae
    env.statement()


def _statement_and_view(data: bytes) -> None:
    from intoto_policy import Statement, view_for
    from intoto_policy.model._json import loads

    statement = Statement.from_dict(loads(data, source="fuzz"))
    view = view_for(statement)
    view.materials()
    view.products()
    view.timestamp()


def _layout(suffix: str) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        from intoto_policy import load_layout

        load_layout(Path(f"fuzz{suffix}"), data=data, allow_unsigned=True)

    target.__name__ = f"_layout{suffix.replace('.', '_')}"
    return target


def _classic_document(data: bytes) -> None:
    from intoto_policy.classic import is_classic_layout
    from intoto_policy.classic._load import parse_document
    from intoto_policy.classic._model import layout_from_payload, link_from_payload

    is_classic_layout(data)
    doc = parse_document(data, source="fuzz.link")
    if doc.type == "layout":
        layout_from_payload(doc.payload)
    else:
        link_from_payload(doc.payload)


def _public_key(data: bytes) -> None:
    from intoto_policy import load_public_key_pem

    load_public_key_pem(data, source="fuzz.pub")


def _private_key(data: bytes) -> None:
    from intoto_policy import load_private_key_pem

    load_private_key_pem(data, source="fuzz.key")


def _key_file(data: bytes) -> None:
    from intoto_policy.crypto._keys import public_key_from_dict
    from intoto_policy.model._json import loads

    doc = loads(data, source="fuzz")
    if isinstance(doc, dict):
        public_key_from_dict(doc)


def _bundles(data: bytes) -> None:
    from intoto_policy.crypto._keyless import parse_bundles

    parse_bundles(data, source="fuzz.sigstore")


def _trusted_root(data: bytes) -> None:
    from intoto_policy.crypto._keyless import load_trusted_root

    load_trusted_root(data, source="trusted_root.json")


def _certificates(data: bytes) -> None:
    from intoto_policy.crypto._x509 import load_certificate, load_pem_certificates

    with _own_errors_only():
        load_pem_certificates(data, source="fuzz.pem")
    load_certificate(data, source="fuzz.pem")


BYTE_TARGETS: list[Callable[[bytes], None]] = [
    _json_loads,
    _parse_attestations,
    _envelope,
    _statement_and_view,
    _layout(".yml"),
    _layout(".json"),
    _classic_document,
    _public_key,
    _private_key,
    _key_file,
    _bundles,
    _trusted_root,
    _certificates,
]

# Inputs the fuzzer found: control characters PyYAML's reader refuses used
# to escape as yaml.reader.ReaderError instead of the package's own error.
KNOWN = [
    pytest.param(".yml", b"[\x7f\x1a]", id="yaml-control-chars"),
    pytest.param(".json", b"[\x7f\x1a]", id="json-suffix-control-chars"),
    pytest.param(".yml", b"a: \x00", id="yaml-nul"),
]


@pytest.mark.parametrize(("suffix", "data"), KNOWN)
def test_known_layout_input(suffix: str, data: bytes) -> None:
    from intoto_policy import load_layout

    with _own_errors_only():
        load_layout(Path(f"fuzz{suffix}"), data=data, allow_unsigned=True)


@pytest.mark.parametrize("target", BYTE_TARGETS, ids=lambda t: t.__name__.lstrip("_"))
def test_fuzz_bytes(target: Callable[[bytes], None]) -> None:
    @FUZZ
    @given(inputs())
    def run(data: bytes) -> None:
        with _own_errors_only():
            target(data)

    run()


# --------------------------------------------------------------------------
# targets over decoded JSON and text


def _digest_set(value: Any) -> None:
    from intoto_policy import DigestSet

    if isinstance(value, dict):
        # The digest map is the only argument; fuzz the nested ones too.
        for inner in [value, *(v for v in value.values() if isinstance(v, dict))]:
            with _own_errors_only():
                DigestSet(inner).describe()


def _statement_dict(value: Any) -> None:
    from intoto_policy import Statement, view_for

    view_for(Statement.from_dict(value))


def _resource_descriptor(value: Any) -> None:
    from intoto_policy import ResourceDescriptor

    for item in value if isinstance(value, list) else [value]:
        with _own_errors_only():
            ResourceDescriptor.from_dict(item).label()


def _envelope_dict(value: Any) -> None:
    from intoto_policy import Envelope

    Envelope.from_dict(value).statement()


VALUE_TARGETS: list[Callable[[Any], None]] = [
    _digest_set,
    _statement_dict,
    _resource_descriptor,
    _envelope_dict,
]


@pytest.mark.parametrize("target", VALUE_TARGETS, ids=lambda t: t.__name__.lstrip("_"))
def test_fuzz_values(target: Callable[[Any], None]) -> None:
    @FUZZ
    @given(json_values())
    def run(value: Any) -> None:
        with _own_errors_only():
            target(value)

    run()


def _time(text: str) -> None:
    from intoto_policy.model._time import parse_rfc3339

    parse_rfc3339(text)


def _duration(text: str) -> None:
    from intoto_policy.model._time import parse_duration

    parse_duration(text)


def _cel(text: str) -> None:
    from intoto_policy.policy._cel import compile_rule

    compile_rule(text)


def _cel_in_layout(text: str) -> None:
    from intoto_policy import load_layout

    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v1",
                        "functionaries": [],
                        "attributeRules": [{"rule": text}],
                    }
                ],
            }
        ],
    }
    load_layout(Path("fuzz.json"), data=json.dumps(layout).encode(), allow_unsigned=True)


TEXT_TARGETS: list[Callable[[str], None]] = [_time, _duration, _cel, _cel_in_layout]


@pytest.mark.parametrize("target", TEXT_TARGETS, ids=lambda t: t.__name__.lstrip("_"))
def test_fuzz_text(target: Callable[[str], None]) -> None:
    @FUZZ
    @given(texts)
    def run(text: str) -> None:
        with _own_errors_only():
            target(text)

    run()


def test_fuzz_non_string_times() -> None:
    """The time parsers take ``object``: any JSON value is refused cleanly."""
    from intoto_policy.model._time import parse_duration, parse_rfc3339

    @FUZZ
    @given(json_values())
    def run(value: Any) -> None:
        for parse in (parse_rfc3339, parse_duration):
            with _own_errors_only():
                parse(value)

    run()


# --------------------------------------------------------------------------
# the CLI


_FLAGS = [
    "--layout-key",
    "--unsigned-layout",
    "--attestations",
    "--subject",
    "--subject-digest",
    "--param",
    "--params-file",
    "--at",
    "--trusted-root",
    "--format",
    "--color",
    "--vsa-key",
    "--vsa-verifier-id",
    "--vsa-resource-uri",
    "--passphrase-env",
    "--gpg-home",
    "--key",
    "--keys",
    "--predicate",
    "--predicate-type",
    "--out",
    "--type",
    "--help",
    "--",
    "-",
]
_VALUES = [
    "json",
    "text",
    "sarif",
    "junit",
    "markdown",
    "vsa",
    "yaml",
    "always",
    "never",
    "ed25519",
    "a=b",
    "=",
    "2026-11-22T00:00:00Z",
    "yesterday",
    "sha256:" + "0" * 64,
    "md5:zz",
    "PATH",
    "",
]
# Commands that write files (keygen, attest --out, layout sign --out,
# demo) are left to their own tests: the harness would have to give each a
# fresh directory, and their writes are not parsing.
_COMMANDS = [
    ["verify"],
    ["inspect"],
    ["layout", "check"],
    ["layout", "functionary"],
    ["attest"],
    ["layout"],
    ["nonsense"],
    [],
]


@st.composite
def argvs(draw: st.DrawFn, files: list[str]) -> list[str]:
    words = list(draw(st.sampled_from(_COMMANDS)))
    tokens = st.one_of(
        st.sampled_from(_FLAGS),
        st.sampled_from(_VALUES),
        st.sampled_from(files),
        st.text(max_size=12),
    )
    if words and words[0] in ("verify", "inspect", "layout") and files:
        words.append(draw(st.sampled_from(files)))
    words += draw(st.lists(tokens, max_size=8))
    return words


def test_fuzz_cli_argv(tmp_path: Path) -> None:
    from intoto_policy.cli._main import main

    rnd = random.Random(9)
    files: list[str] = []
    for i in range(12):
        data = rnd.choice(SEEDS)
        if i % 2:
            data = rnd.choice(_BYTE_MUTATIONS)(data, rnd)
        suffix = rnd.choice([".json", ".yml", ".intoto.jsonl", ".pub", ".link", ".layout"])
        path = tmp_path / f"f{i}{suffix}"
        path.write_bytes(data)
        files.append(str(path))
    files.append(str(tmp_path))  # a directory
    files.append(str(tmp_path / "missing.json"))
    before = sorted(p.name for p in tmp_path.iterdir())

    @FUZZ
    @given(argvs(files))
    def run(argv: list[str]) -> None:
        # --output writes are allowed, but only to a fresh name we clean up.
        argv = [a if a != "--output" else "--format" for a in argv]
        out, err = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            pytest.MonkeyPatch.context() as mp,
        ):
            mp.setenv("NO_COLOR", "1")
            try:
                code = main(argv)
            except SystemExit as exc:  # pragma: no cover - main returns codes
                code = exc.code  # type: ignore[assignment]
        text = err.getvalue()
        assert code in (0, 1, 2), (argv, code, text)
        assert "Traceback" not in text, (argv, text)
        # Each error is one line of its own (inspect reports one per file).
        assert all(line.startswith("intoto-policy: ") for line in text.splitlines()), (argv, text)

    run()
    # Nothing the harness did wrote into the directory of generated files.
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --------------------------------------------------------------------------
# targets seeded from chosen corpus items: the Rekor / npm / store parsers

ITEMS = CORPUS / "real-world" / "items"
TRUST = CORPUS / "real-world" / "trust"
PROD_ROOT = TRUST / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
AT = "2026-12-01T00:00:00Z"


def _files(*patterns: str) -> list[bytes]:
    """The bytes of corpus files matching ``patterns`` (relative to the corpus)."""
    found: list[bytes] = []
    if CORPUS.is_dir():
        for pattern in patterns:
            found += [p.read_bytes() for p in sorted(CORPUS.glob(pattern)) if p.is_file()]
    return found


# intoto/0.0.2 and dsse bundles (items 05-08, 15-18, 20), the npm keyed one
# (16), the trusted roots, and the attestation documents of items 09, 11, 24.
BUNDLE_SEEDS = _files(
    "real-world/items/0[5-8]-*/*.sigstore",
    "real-world/items/1[5-8]-*/*.json",
    "real-world/items/20-*/*bundle*.json",
    "real-world/items/20-*/*.jsonl",
)
KEYED_SEEDS = _files("real-world/items/16-*/bundle-publish.json")
TRUST_SEEDS = _files("real-world/trust/*.json", "real-world/items/20-*/trusted_root.json")
DOCUMENT_SEEDS = _files(
    "real-world/items/09-*/*.json",
    "real-world/items/11-*/*.json",
    "real-world/items/24-*/*.provenance",
    "real-world/items/24-*/*.attestation",
)


def _decoded(seeds: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for seed in seeds:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            out.append(json.loads(seed))
    return out


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, (*prefix, i))


def _flip_b64(text: str, rnd: random.Random) -> str | None:
    """``text`` with one bit of what it encodes flipped, if it is base64."""
    try:
        raw = bytearray(base64.b64decode(text, validate=True))
    except ValueError:
        return None
    if not raw:
        return None
    raw[rnd.randrange(len(raw))] ^= 1 << rnd.randrange(8)
    return base64.b64encode(bytes(raw)).decode()


def _deep_mutate(value: Any, rnd: random.Random) -> Any:
    """Change one node anywhere in ``value`` (below the root, when it has any).

    Signatures, certificates, log bodies and proofs are base64 strings deep
    in a bundle; flipping one bit of what they encode reaches the checks
    behind the parser, which a byte flip of the JSON text rarely does.
    """
    paths = [p for p in _paths(value) if p] or [()]
    path = rnd.choice(paths)
    if not path:
        return _json_mutate(value, rnd)
    out = json.loads(json.dumps(value))
    holder = out
    for step in path[:-1]:
        holder = holder[step]
    last = path[-1]
    node = holder[last]
    action = rnd.random()
    if isinstance(node, str) and action < 0.5:
        flipped = _flip_b64(node, rnd)
        holder[last] = flipped if flipped is not None else node[::-1]
    elif action < 0.65 and isinstance(holder, dict):
        del holder[last]
    else:
        holder[last] = _json_mutate(node, rnd)
    return out


@st.composite
def seeded(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of ``seeds``: unchanged, changed deep inside, and/or byte-mutated."""
    if not seeds:
        return b"{}"
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    data = draw(st.sampled_from(seeds))
    decoded = _decoded([data])
    if decoded and draw(st.integers(0, 3)):
        value = decoded[0]
        for _ in range(draw(st.integers(1, 3))):
            value = _deep_mutate(value, rnd)
        data = json.dumps(value).encode("utf-8", "surrogatepass")
    # Byte mutations mostly yield invalid JSON: one input in four.
    if not draw(st.integers(0, 3)):
        data = rnd.choice(_BYTE_MUTATIONS)(data, rnd)
    return data


def _when() -> Any:
    from intoto_policy.model._time import parse_rfc3339

    return parse_rfc3339(AT)


def _rekor_trust(data: bytes) -> None:
    from intoto_policy.crypto._rekor import parse_trust

    parse_trust(data, source="trusted_root.json")


def _keyless_bundle(data: bytes) -> None:
    from intoto_policy.crypto._keyless import load_trusted_root, parse_bundles, verify_bundle

    root = load_trusted_root(PROD_ROOT.read_bytes(), source="prod")
    # parse_bundles may refuse the input with the package's error; a
    # record it accepts must then verify to a result, never an exception.
    for record in parse_bundles(data, source="fuzz.sigstore"):
        result = verify_bundle(record, root, at=_when())
        assert result.status in ("verified", "failed", "unsupported"), result
        assert result.reason, result


def _npm_keys() -> Any:
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed" / "publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return [
        {
            "keyid": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
            "keytype": "ecdsa-sha2-nistp256",
            "scheme": "ecdsa-sha2-nistp256",
            "key": spki,
            "expires": None,
        }
    ]


def _keyed_bundle(data: bytes) -> None:
    from intoto_policy.crypto._keyless import parse_bundles
    from intoto_policy.crypto._rekor import parse_registry_keys, parse_trust, verify_keyed

    trust = parse_trust(PROD_ROOT.read_bytes())
    keys = parse_registry_keys(_npm_keys())
    # verify_keyed is documented never to raise for bad input: call it on
    # the raw mutated bytes and on what parse_bundles records.
    bodies = [data]
    with _own_errors_only():
        bodies += [r.bundle_json for r in parse_bundles(data, source="fuzz.json")]
    for body in bodies:
        result = verify_keyed(body, trust, keys, at=_when())
        assert result.ok or (result.check and result.reason), result


def _attestation_documents(data: bytes) -> None:
    from intoto_policy import parse_attestations

    for att in parse_attestations(data, source="fuzz.json"):
        str(att.problem)


def _store_ingest(data: bytes) -> None:
    from intoto_policy.store._ingest import IndexedItem, RejectedItem, index_item, split_items

    for body, source in split_items(data, source="fuzz.jsonl"):
        item = index_item(body, source=source)
        assert isinstance(item, IndexedItem | RejectedItem), item
        if isinstance(item, RejectedItem):
            assert item.reason, item


SEEDED_TARGETS: list[tuple[Callable[[bytes], None], list[bytes]]] = [
    (_rekor_trust, TRUST_SEEDS),
    (_keyless_bundle, BUNDLE_SEEDS),
    (_keyed_bundle, KEYED_SEEDS + BUNDLE_SEEDS[:2]),
    (_attestation_documents, DOCUMENT_SEEDS),
    (_store_ingest, BUNDLE_SEEDS + DOCUMENT_SEEDS + SEEDS[:40]),
]


@pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("target", "seeds"), SEEDED_TARGETS, ids=[t.__name__.lstrip("_") for t, _ in SEEDED_TARGETS]
)
def test_fuzz_seeded(target: Callable[[bytes], None], seeds: list[bytes]) -> None:
    if target is _keyless_bundle:
        pytest.importorskip("sigstore")
    assert seeds, "the corpus items this target is seeded from are missing"

    @FUZZ
    @given(seeded(seeds))
    def run(data: bytes) -> None:
        with _own_errors_only():
            target(data)

    run()


def test_fuzz_registry_keys() -> None:
    """npm registry keys documents: only ValidationError escapes."""
    from intoto_policy.crypto._rekor import parse_registry_keys

    if not ITEMS.is_dir():
        pytest.skip("shared corpus not present")
    base = _npm_keys()
    two = [*base, {**base[0], "keyid": "SHA256:other", "expires": AT}]

    @FUZZ
    @given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.booleans())
    def run(seed: int, rounds: int, doc_level: bool) -> None:
        rnd = random.Random(seed)
        value: Any = rnd.choice([base, two])
        if doc_level:
            value = {"keys": value}
        for _ in range(rounds):
            value = _json_mutate(value, rnd)
        entries = value.get("keys") if isinstance(value, dict) else value
        with _own_errors_only():
            for key in parse_registry_keys(entries):
                assert key.spki

    run()


def test_fuzz_tuf_custom_metadata() -> None:
    """The layout-keys custom metadata: refused with a category, never a crash."""
    from intoto_policy.policy._tuf._client import (
        IN_TOTO_FIELD,
        LAYOUT_KEYS_FIELD,
        _key_paths,
        _RefusedError,
    )

    base = {IN_TOTO_FIELD: {LAYOUT_KEYS_FIELD: ["keys/alice.pub", "keys/bob.pub"]}}

    @FUZZ
    @given(st.integers(0, 2**32 - 1), st.integers(1, 4))
    def run(seed: int, rounds: int) -> None:
        rnd = random.Random(seed)
        value: Any = base
        for _ in range(rounds):
            value = _json_mutate(value, rnd)
        # _RefusedError is what fetch_policy turns into a failed TUFResult.
        with contextlib.suppress(_RefusedError, IntotoPolicyError):
            paths = _key_paths("layouts/app.json", value)
            assert paths
            assert all(isinstance(p, str) for p in paths)

    run()


# The commands added since the argv target above: fetch, tuf, store, audit.
# They write files, so each example runs in a fresh working directory and
# names only relative outputs. Nothing may reach the network or start
# workers: sources are local files (``file:`` or a path), the registry URL
# flags and --workers/--engine/--ray-address are never generated, and free
# text has no '-' (no abbreviated flag) and no ':' (no URL scheme).
_NEW_COMMANDS = [
    ["fetch"],
    ["tuf"],
    ["tuf", "init"],
    ["tuf", "add-layout"],
    ["tuf", "delegate"],
    ["tuf", "publish"],
    ["store"],
    ["store", "ingest"],
    ["store", "query"],
    ["audit"],
]
_NEW_FLAGS = [
    "--out",
    "--output",
    "--force",
    "--store",
    "--subjects",
    "--all",
    "--subject",
    "--subject-digest",
    "--predicate-type",
    "--layout-key",
    "--unsigned-layout",
    "--param",
    "--at",
    "--trusted-root",
    "--format",
    "--role",
    "--threshold",
    "--expires",
    "--key",
    "--keys",
    "--max-attestations",
    "--max-response-bytes",
    "--help",
    "--",
]
_NEW_VALUES = [
    "sqlite:///store.db",
    "sqlite:///",
    "sqlite://",
    "mysql:///x",
    "out.jsonl",
    "repo",
    "layouts/app.json",
    "../escape.json",
    "json",
    "text",
    "0",
    "-1",
    "99999999999999999999",
    "2026-11-22T00:00:00Z",
    "sha256:" + "0" * 64,
    "md5:zz",
    "",
]


def _templates(
    files: list[str], priv: str, pub: str, layout: str, subjects: str
) -> list[list[str]]:
    """Well-formed invocations, so examples get past argparse into the commands."""
    db = "sqlite:///store.db"
    digest = "sha256:" + "0" * 64
    k, tk = ["--key", priv], ["--targets-key", priv]
    return [
        ["fetch", "--out", "out.jsonl", f"file:{files[0]}"],
        ["fetch", "--out", "out.jsonl", "--subject-digest", digest, files[1]],
        ["store", "ingest", "--store", db, files[0], files[1]],
        ["store", "ingest", "--store", db, "--from", f"file:{files[2]}"],
        ["store", "query", "--store", db, "--subject-digest", digest, "--format", "json"],
        ["audit", layout, "--store", db, "--subjects", subjects, "--output", "out.jsonl"],
        ["audit", layout, "--store", db, "--all", "--output", "a.jsonl", "--unsigned-layout"],
        ["tuf", "init", "repo"]
        + [f"--{r}-key={priv}" for r in ("root", "targets", "snapshot", "timestamp")],
        ["tuf", "add-layout", "repo", layout, "--name", "app.json", "--layout-key", pub, *k],
        ["tuf", "delegate", "repo", "--role", "p", "--paths", "p/*", "--key", pub, *tk],
        ["tuf", "publish", "repo", "--snapshot-key", priv, "--timestamp-key", priv],
    ]


@st.composite
def new_argvs(draw: st.DrawFn, files: list[str], templates: list[list[str]]) -> list[str]:
    extra = 3
    if draw(st.integers(0, 3)):
        # A well-formed invocation, one word dropped or replaced at times.
        words = list(draw(st.sampled_from(templates)))
        if draw(st.booleans()):
            i = draw(st.integers(1, len(words) - 1))
            words[i : i + 1] = draw(st.sampled_from([[], [""], [draw(st.sampled_from(files))]]))
    else:
        words = list(draw(st.sampled_from(_NEW_COMMANDS)))
        if files and draw(st.booleans()):
            words.append(draw(st.sampled_from(files)))
        extra = 8
    tokens = st.one_of(
        st.sampled_from(_NEW_FLAGS),
        st.sampled_from(_NEW_VALUES),
        st.sampled_from(files),
        st.sampled_from([f"file:{f}" for f in files]),
        st.text(alphabet=st.characters(blacklist_characters="-:"), max_size=12),
    )
    words += draw(st.lists(tokens, max_size=extra))
    return words


def test_fuzz_cli_argv_new_commands(tmp_path: Path) -> None:
    import tempfile

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    from intoto_policy.cli._main import main

    rnd = random.Random(25)
    inputs_dir = tmp_path / "inputs"
    inputs_dir.mkdir()
    files: list[str] = []
    seeds = BUNDLE_SEEDS + DOCUMENT_SEEDS + SEEDS[:20]
    for i in range(12):
        data = rnd.choice(seeds)
        if i % 2:
            data = rnd.choice(_BYTE_MUTATIONS)(data, rnd)
        suffix = rnd.choice([".json", ".yml", ".intoto.jsonl", ".pub", ".txt"])
        path = inputs_dir / f"f{i}{suffix}"
        path.write_bytes(data)
        files.append(str(path))
    subjects = inputs_dir / "subjects.txt"
    subjects.write_text("sha256:" + "0" * 64 + "\nnot a digest\n")
    key = Ed25519PrivateKey.generate()
    priv, pub = inputs_dir / "k.key", inputs_dir / "k.pub"
    priv.write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
    )
    pub.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    layout = inputs_dir / "layout.yml"
    layout.write_bytes(_BUILTIN[4])
    templates = _templates(files, str(priv), str(pub), str(layout), str(subjects))
    files += [str(subjects), str(priv), str(pub), str(layout), str(inputs_dir)]
    files.append(str(inputs_dir / "missing.json"))
    before = sorted(p.name for p in inputs_dir.iterdir())

    @FUZZ
    @given(new_argvs(files, templates))
    def run(argv: list[str]) -> None:
        out, err = io.StringIO(), io.StringIO()
        with (
            tempfile.TemporaryDirectory(dir=tmp_path) as work,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            pytest.MonkeyPatch.context() as mp,
        ):
            mp.chdir(work)
            mp.setenv("NO_COLOR", "1")
            # A request that slipped through would fail at once, not leave.
            for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
                mp.setenv(var, "http://127.0.0.1:9")
            for var in ("GITHUB_API", "NPM_REGISTRY", "PYPI_URL"):
                mp.setenv(f"INTOTO_POLICY_{var}", "http://127.0.0.1:9")
            try:
                code = main(argv)
            except SystemExit as exc:  # pragma: no cover - main returns codes
                code = exc.code  # type: ignore[assignment]
        text = err.getvalue()
        assert code in (0, 1, 2), (argv, code, text)
        assert "Traceback" not in text, (argv, text)
        assert all(line.startswith("intoto-policy: ") for line in text.splitlines()), (argv, text)

    run()
    # The inputs were read, never written.
    assert sorted(p.name for p in inputs_dir.iterdir()) == before


# --------------------------------------------------------------------------
# found by the seeded targets: a certificate whose version field is not 0-2
# made cryptography raise x509.InvalidVersion, which is not a ValueError, so
# it escaped every certificate loader (parse_bundles, parse_trust,
# load_certificate, verify_keyed on raw bundles, store ingest).


def _bad_version(der: bytes) -> bytes:
    """``der`` with its X.509 version (``[0] INTEGER 2``) changed to 66."""
    marker = b"\xa0\x03\x02\x01\x02"
    assert marker in der
    return der.replace(marker, b"\xa0\x03\x02\x01\x42", 1)


def _with_bad_leaf(
    item: str = "15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json",
) -> dict[str, Any]:
    # Item 15's SET verifies under the prod root: verification reaches the certificate.
    bundle: dict[str, Any] = json.loads((ITEMS / item).read_bytes())
    material = bundle["verificationMaterial"]
    holder = material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
    holder["rawBytes"] = base64.b64encode(
        _bad_version(base64.b64decode(holder["rawBytes"]))
    ).decode()
    return bundle


def _bad_cert_der() -> bytes:
    bundle = _with_bad_leaf()
    material = bundle["verificationMaterial"]
    holder = material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
    return base64.b64decode(holder["rawBytes"])


def _case_load_der() -> None:
    from intoto_policy.crypto._x509 import load_certificate

    load_certificate(_bad_cert_der(), source="bad.der")


def _case_load_pem() -> None:
    from intoto_policy.crypto._x509 import load_pem_certificates

    b64 = base64.encodebytes(_bad_cert_der()).decode()
    pem = f"-----BEGIN CERTIFICATE-----\n{b64}-----END CERTIFICATE-----\n"
    load_pem_certificates(pem.encode(), source="bad.pem")


def _case_parse_bundles() -> None:
    from intoto_policy.crypto._keyless import parse_bundles

    parse_bundles(json.dumps(_with_bad_leaf()).encode(), source="bad.sigstore")


def _case_parse_trust() -> None:
    from intoto_policy.crypto._rekor import parse_trust

    root = json.loads(PROD_ROOT.read_bytes())
    cert = root["certificateAuthorities"][0]["certChain"]["certificates"][0]
    cert["rawBytes"] = base64.b64encode(_bad_version(base64.b64decode(cert["rawBytes"]))).decode()
    parse_trust(json.dumps(root).encode(), source="bad root")


def _case_verify_keyed_raw() -> None:
    from intoto_policy.crypto._rekor import parse_registry_keys, parse_trust, verify_keyed

    result = verify_keyed(
        json.dumps(_with_bad_leaf()).encode(),
        parse_trust(PROD_ROOT.read_bytes()),
        parse_registry_keys(_npm_keys()),
        at=_when(),
    )
    assert not result.ok
    assert result.reason


def _case_store_index() -> None:
    from intoto_policy.store._ingest import index_item

    index_item(json.dumps(_with_bad_leaf()).encode(), source="bad.sigstore")


BAD_VERSION_CASES = [
    _case_load_der,
    _case_load_pem,
    _case_parse_bundles,
    _case_parse_trust,
    _case_verify_keyed_raw,
    _case_store_index,
]


@pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(
    "case", BAD_VERSION_CASES, ids=[c.__name__.removeprefix("_case_") for c in BAD_VERSION_CASES]
)
def test_certificate_with_invalid_version(case: Callable[[], None]) -> None:
    with _own_errors_only():
        case()


def _der_certificates() -> list[bytes]:
    """Every certificate of the corpus bundles and trusted roots, as DER."""
    found: list[bytes] = []
    for doc in _decoded(BUNDLE_SEEDS + TRUST_SEEDS):
        found += [
            base64.b64decode(v)
            for p in _paths(doc)
            if p
            and p[-1] == "rawBytes"
            and isinstance(v := _at(doc, p), str)
            and v.startswith("MII")
        ]
    return sorted(set(found))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def test_fuzz_der_certificates() -> None:
    """Bit flips inside real DER certificates: only the package's error escapes."""
    from intoto_policy.crypto._x509 import certificate_identity, load_certificate

    ders = _der_certificates()
    if not ders:
        pytest.skip("shared corpus not present")

    @FUZZ
    @given(st.sampled_from(ders), st.integers(0, 2**32 - 1))
    def run(der: bytes, seed: int) -> None:
        data = _flip(der, random.Random(seed))
        with _own_errors_only():
            certificate_identity(load_certificate(data, source="fuzz.der"))

    run()


# Found by test_fuzz_der_certificates: cryptography parses names lazily, so
# a certificate that loads could raise ValueError or TypeError (an attribute
# of the wrong ASN.1 type) from certificate_identity. Each case is one bit
# flipped in a corpus certificate: (index in _der_certificates(), byte, mask).
BAD_NAMES = [
    pytest.param(3, 157, 0x10, id="subject-attribute-of-wrong-type"),
    pytest.param(0, 165, 0x20, id="subject-unexpected-tag"),
    pytest.param(14, 81, 0x40, id="issuer-unexpected-tag"),
    pytest.param(12, 81, 0x10, id="issuer-attribute-of-wrong-type"),
]


@pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(("index", "at", "mask"), BAD_NAMES)
def test_certificate_with_malformed_names(index: int, at: int, mask: int) -> None:
    from intoto_policy._errors import ValidationError
    from intoto_policy.crypto._x509 import certificate_identity, load_certificate

    data = bytearray(_der_certificates()[index])
    data[at] ^= mask
    certificate = load_certificate(bytes(data), source="bad.der")
    with pytest.raises(ValidationError, match="names cannot be parsed"):
        certificate_identity(certificate)


# Found by test_fuzz_cli_argv_new_commands: 'tuf init' onto a path where a
# directory must be created escaped as NotADirectoryError with a traceback.
def test_tuf_init_onto_a_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from intoto_policy.cli._main import main

    key = tmp_path / "k.key"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    repo = tmp_path / "repo"
    repo.write_bytes(b"a file, not a directory")
    keys = [f"--{r}-key={key}" for r in ("root", "targets", "snapshot", "timestamp")]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["tuf", "init", str(repo), *keys])
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("intoto-policy: ")
    assert "cannot create directory" in lines[0]
