"""Reading classic documents fast gives exactly what the strict loader gives.

* :func:`loads_strict` (walk, C scanner, duplicate-key proofs, values shared
  through a :class:`ParseCache`) agrees with :func:`intoto_policy.model._json.loads`
  on acceptance, error message and value (types included);
* :func:`read_document`, which cuts a DSSE payload out of the envelope's
  bytes, agrees with :func:`parse_document` on the same bytes;
* ``expires`` is parsed as ``strptime`` parses it.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intoto_policy._errors import InputError, JSONError, ValidationError
from intoto_policy.classic import _load
from intoto_policy.classic._load import (
    Document,
    ParseCache,
    loads_strict,
    parse_document,
    read_document,
)
from intoto_policy.classic._model import _EXPIRES, _parse_expires
from intoto_policy.model._json import DEFAULT_LIMITS, JSONLimits, loads

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def small_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small documents exercise the cache, the walk limit and the envelope cut."""
    monkeypatch.setattr(_load, "_MIN_REGION", 8)
    monkeypatch.setattr(_load, "_KEY_CHARS", 4)
    monkeypatch.setattr(_load, "_WALK_MEMBERS", 3)


def typed(value: Any) -> Any:
    """A form of a JSON value in which 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", repr(value), math.copysign(1.0, value))
    return (type(value).__name__, value)


def outcome(load: Callable[[], Any]) -> tuple[str, Any]:
    """What a load gives: its typed value, or the kind and text of its error."""
    try:
        return "value", load()
    except InputError as exc:
        return type(exc).__name__, str(exc)


def same_as_strict(
    data: bytes, cache: ParseCache | None = None, limits: JSONLimits = DEFAULT_LIMITS
) -> Any:
    expected = outcome(lambda: loads(data, limits=limits))
    got = outcome(lambda: loads_strict(data, limits=limits, cache=cache))
    if expected[0] == "value" and got[0] == "value":
        assert typed(got[1]) == typed(expected[1])
        return got[1]
    assert got == expected
    return None


# --- generated documents ----------------------------------------------------------

TEXT = st.text(alphabet=st.sampled_from('ab:"\\/é\x01\x7f{}[],'), max_size=6)
KEYS = st.text(alphabet=st.sampled_from('ab:"{'), max_size=3)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)
SPACES = st.sampled_from(["", " ", "\n", " \t\r\n "])


@st.composite
def documents(draw: st.DrawFn, value: Any = None) -> str:
    """JSON text of a value, with random whitespace, escapes and edits."""
    if value is None:
        value = draw(VALUES)
    ws = draw(SPACES)
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        separators=(f",{ws}", f":{ws}"),
        indent=draw(st.sampled_from([None, None, 1])),
    )
    edit = draw(st.integers(0, 9))
    if edit == 0 and text.startswith("{") and len(text) > 2:
        # A duplicate of some key of the object, first or later.
        keys = list(value)
        dup = json.dumps(draw(st.sampled_from(keys)) if keys else "a")
        text = "{" + dup + ": 0, " + text[1:] if keys else text
    elif edit == 1:
        text = text.replace('"a"', '"\\u0061"', 1)  # an escaped name of key "a"
    elif edit == 2:
        text = text.replace("a", "\\u003a", 1)
    elif edit == 3:
        text = text.replace('"b', '"\\ud800', 1)
    elif edit == 4:
        text = f"{draw(SPACES)}{text}{draw(SPACES)}"
    elif edit == 5 and len(text) > 2:
        cut = draw(st.integers(0, len(text) - 1))
        text = (
            text[:cut]
            + draw(st.sampled_from([",", "}", "]", ":", '"', "NaN", "1e400"]))
            + text[cut:]
        )
    return text


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_property_loads_strict_is_the_strict_loader(data: st.DataObject) -> None:
    same_as_strict(data.draw(documents()).encode())


@st.composite
def related_documents(draw: st.DrawFn) -> list[str]:
    """Documents that share large members, exactly or nearly (one edit apart)."""
    shared = draw(st.dictionaries(KEYS, VALUES, min_size=1, max_size=4))
    docs = []
    for _ in range(draw(st.integers(2, 4))):
        member = shared
        if draw(st.integers(0, 2)) == 0:
            member = dict(shared)
            key = draw(st.sampled_from(sorted(member)))
            member[key] = draw(VALUES)
        container: Any = {"m": member, "n": draw(SCALARS), "p": member}
        if draw(st.booleans()):
            container = {"signed": container, "signatures": []}
        docs.append(draw(documents(container)))
    return docs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(related_documents())
def test_property_shared_values_are_exact(docs: list[str]) -> None:
    cache = ParseCache()
    for text in docs:
        same_as_strict(text.encode(), cache)


PLAIN = st.text(alphabet=st.sampled_from("ab:/é"), max_size=6)
BIG_KEYS = st.text(alphabet=st.sampled_from('ab:"\\/'), max_size=4) | PLAIN
DIGEST_SETS = st.dictionaries(
    st.sampled_from(["sha256", "sha512", "a:b"]), TEXT | PLAIN, max_size=2
)


@st.composite
def big_maps(draw: st.DrawFn) -> str:
    """Artifact-map shapes with more than 16 members (the bulk proofs), maybe broken."""
    values = draw(
        st.sampled_from(
            [
                TEXT,
                PLAIN,
                DIGEST_SETS,
                DIGEST_SETS | PLAIN,
                st.dictionaries(KEYS, VALUES, max_size=2),
            ]
        )
    )
    keys = draw(st.sampled_from([BIG_KEYS, PLAIN]))
    members = draw(st.dictionaries(keys, values, min_size=17, max_size=40))
    outer = draw(st.sampled_from(["map", "list", "nested"]))
    value: Any = members
    if outer == "list":
        value = list(members.values())
    elif outer == "nested":
        value = {"materials": members, "products": members, "name": "x"}
    text = draw(documents(value))
    if draw(st.booleans()) and len(text) > 20:
        # A duplicate member somewhere: repeat the first key of some object.
        cut = text.find("{", draw(st.integers(0, len(text) - 1)))
        if cut >= 0 and text[cut + 1 : cut + 2] == '"':
            end = text.find(":", cut)
            text = text[: cut + 1] + text[cut + 1 : end] + ": 1, " + text[cut + 1 :]
    return text


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(big_maps(), st.booleans())
def test_property_bulk_proofs_are_exact(text: str, twice: bool) -> None:
    cache = ParseCache()
    same_as_strict(text.encode(), cache)
    if twice:
        same_as_strict(text.encode(), cache)


def test_cache_forgets_oldest_beyond_its_budget() -> None:
    cache = ParseCache(max_chars=200)
    for i in range(30):
        doc = json.dumps({"a": {"k": f"{i:060d}"}, "b": [f"{i:070d}"]}).encode()
        same_as_strict(doc, cache)
        same_as_strict(doc, cache)
    assert cache._chars <= 200
    assert sum(len(b) for b in cache._regions.values()) == len(cache._order)
    # Many values with the same first characters: a bucket keeps the newest.
    for i in range(10):
        same_as_strict(json.dumps({"a": {"kkkkkkkk": f"{i:020d}"}}).encode(), cache)
    assert all(len(bucket) <= 4 for bucket in cache._regions.values())


def test_validated_runs_a_check_once_per_object() -> None:
    cache = ParseCache()
    calls: list[Any] = []
    value: dict[str, Any] = {}
    cache.validated("kind", value, calls.append)
    cache.validated("kind", value, calls.append)
    cache.validated("other", value, calls.append)
    cache.validated("kind", {}, calls.append)
    assert len(calls) == 3

    def fail(_: Any) -> None:
        raise ValidationError("bad")

    with pytest.raises(ValidationError):
        cache.validated("strict", value, fail)
    with pytest.raises(ValidationError):
        cache.validated("strict", value, fail)


def test_identical_members_are_shared() -> None:
    artifacts = {f"src/f{i}.c": {"sha256": f"{i:064x}"} for i in range(50)}
    one = json.dumps({"materials": artifacts, "products": artifacts}).encode()
    two = json.dumps({"materials": artifacts, "products": {**artifacts, "x": {}}}).encode()
    cache = ParseCache()
    first = same_as_strict(one, cache)
    second = same_as_strict(two, cache)
    assert first["materials"] is first["products"] is second["materials"]
    assert second["products"] is not first["products"]


def test_shared_value_respects_depth_limit() -> None:
    deep: Any = "x" * 20
    for _ in range(5):
        deep = [deep]
    limits = JSONLimits(max_depth=7)
    cache = ParseCache()
    # Parsed at depth 1 (fits) and then met at depth 3, where it is too deep.
    assert same_as_strict(json.dumps({"a": deep}).encode(), cache, limits) is not None
    same_as_strict(json.dumps({"a": {"b": {"c": deep}}}).encode(), cache, limits)
    with pytest.raises(JSONError, match="deeper"):
        loads_strict(json.dumps({"a": {"b": {"c": deep}}}).encode(), limits=limits, cache=cache)
    # Walked objects are held to the limit too.
    same_as_strict(b'{"a": {"b": 1}}', cache, JSONLimits(max_depth=1))
    same_as_strict(b'{"a": {"b": 1}}', cache, JSONLimits(max_depth=2))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": {"b": 1, "c": 2, "d": 3, "e": 4, "b": 5}}',
        '{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "a": 6}',
        '{"a": [{"k": 1, "k": 2}]}',
        '{"a": {"x:y": "1:2", "p": "q"}, "b": "\\"::\\""}',
        '{"a": "\\u003a", "b": {"\\u003a": 1}}',
        '{"a": 1,}',
        '{"a" 1}',
        '{"a": 1 "b": 2}',
        '{"a": 01}',
        '{"a": -}',
        '{"a": 1}}',
        '{"a": Infinity}',
        '{"a": 1e999}',
        '{"a": ' + "1" * 5000 + "}",
        "{}",
        " {} ",
        "[]",
        "{\x0b}",
    ],
)
def test_loads_strict_cases(text: str) -> None:
    cache = ParseCache()
    same_as_strict(text.encode(), cache)
    same_as_strict(text.encode(), cache)


def test_loads_strict_takes_decoded_text() -> None:
    assert loads_strict('{"é": [1]}', limits=DEFAULT_LIMITS) == {"é": [1]}
    with pytest.raises(JSONError, match="above the limit"):
        loads_strict('"éé"', limits=JSONLimits(max_bytes=5))
    with pytest.raises(JSONError, match="invalid UTF-8"):
        loads_strict(b'{"a": "\xff"}', limits=DEFAULT_LIMITS)


# --- DSSE envelopes cut in bytes ----------------------------------------------------

LINK = {"_type": "link", "name": "s", "materials": {}, "products": {"a": {"sha256": "00"}}}
PAYLOAD = base64.b64encode(json.dumps(LINK).encode()).decode()
URLSAFE = base64.urlsafe_b64encode(json.dumps(LINK | {"n": "??>>"}).encode()).decode()
SIGS = '[{"keyid": "k", "sig": "c2ln"}]'
PTYPE = '"application/vnd.in-toto+json"'


@pytest.mark.parametrize(
    "text",
    [
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"signatures": {SIGS}, "payloadType": {PTYPE}, "payload" :\n"{PAYLOAD}"}}',
        f'{{"payload": "{URLSAFE}", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"payload": "{PAYLOAD}!", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"payload": "{PAYLOAD}", "payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}, "x": "\\u0000"}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}, "x": "\\/"}}',
        f'{{"x": "\\"payload\\": \\"{PAYLOAD}\\"", "payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"x": ["payload", "{PAYLOAD}"], "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"x": {{"payload": "{PAYLOAD}"}}, "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": "text/plain", "signatures": {SIGS}}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {{}}}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}}} x',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": [1,]}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}, "é": "\xff"}}',
        f'\ufeff{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"payload": "{PAYLOAD[:-4]}", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"payload": "{base64.b64encode(b"[1]").decode()}xxxxxxxx", "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"payload": "{base64.b64encode(b"[1, 2, 3, 4, 5, 6]").decode()}", "payloadType": {PTYPE}, "signatures": []}}',
        f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}',
        f'{{"payload": "{PAYLOAD}\x01", "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"payload": {PAYLOAD!r}, "payloadType": {PTYPE}, "signatures": {SIGS}}}',
        f'{{"signed": {json.dumps(LINK)}, "signatures": {SIGS}}}',
        f'{{"signed": {json.dumps(LINK)}, "signatures": {{}}}}',
        '{"signed": [], "signatures": []}',
        '{"neither": 1}',
        "[]",
    ],
)
def test_read_document_is_parse_document(tmp_path: Path, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff")
    path = tmp_path / "x.link"
    path.write_bytes(data)

    def fields(doc: Document | None) -> tuple[Any, ...]:
        assert doc is not None
        return (doc.format, doc.payload, doc.signatures, doc.signed_bytes, doc.digest)

    expected = outcome(lambda: fields(parse_document(data, source=str(path))))
    assert outcome(lambda: fields(read_document(path, cache=ParseCache()))) == expected


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    """Envelope-like documents: payloads valid or not, decoys, odd member orders."""
    body = draw(st.sampled_from([json.dumps(LINK).encode(), b"[1, 2, 3, 4, 5, 6, 7, 8]", b"{}"]))
    payload = draw(
        st.sampled_from(
            [
                base64.b64encode(body).decode(),
                base64.urlsafe_b64encode(body + b"\xfb\xff").decode(),
                base64.b64encode(body).decode().rstrip("="),
                base64.b64encode(body).decode() + "A",
                "not base64 at all!",
            ]
        )
    )
    members = [
        ("payload", payload),
        ("payloadType", draw(st.sampled_from(["application/vnd.in-toto+json", "x"]))),
        ("signatures", [{"keyid": "k", "sig": "c2ln"}]),
    ]
    extras = draw(
        st.lists(
            st.sampled_from(
                [
                    ("x", '"payload": "' + payload + '"'),
                    ("payload", payload),
                    ("payload", 7),
                    ("y", {"payload": payload}),
                    ("z", "\u0000"),
                ]
            ),
            max_size=2,
        )
    )
    items = draw(st.permutations(members + extras))
    ws = draw(SPACES)
    text = "{" + f",{ws}".join(f"{json.dumps(k)}{ws}:{ws}{json.dumps(v)}" for k, v in items) + "}"
    return text.encode()


@settings(max_examples=300, deadline=None)
@given(envelopes())
def test_property_read_document_is_parse_document(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "x.link"
        path.write_bytes(data)

        def fields(doc: Document | None) -> tuple[Any, ...]:
            assert doc is not None
            return (doc.format, doc.payload, doc.signatures, doc.signed_bytes, doc.digest)

        expected = outcome(lambda: fields(parse_document(data, source=str(path))))
        assert outcome(lambda: fields(read_document(path, cache=ParseCache()))) == expected


def test_presign_sees_the_signed_bytes_before_the_payload(tmp_path: Path) -> None:
    text = f'{{"payload": "{PAYLOAD}", "payloadType": {PTYPE}, "signatures": {SIGS}}}'
    path = tmp_path / "x.link"
    path.write_text(text)
    seen: list[tuple[bytes | None, Any]] = []

    def presign(doc: Document) -> None:
        seen.append((doc.signed_bytes, dict(doc.payload)))

    doc = read_document(path, presign=presign)
    assert doc is not None
    body = json.dumps(LINK).encode()
    ptype = b"application/vnd.in-toto+json"
    assert seen == [(b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(body), body), {})]
    assert doc.signed_bytes is None
    assert doc.payload == LINK


def test_unreadable_is_none(tmp_path: Path) -> None:
    assert read_document(tmp_path / "missing.link") is None


# --- expires ------------------------------------------------------------------------

FIELD = st.sampled_from(
    ["00", "01", "09", "12", "13", "23", "24", "28", "29", "30", "31", "59", "60", "61", "99"]
)


@settings(max_examples=1000)
@given(
    year=st.integers(0, 9999).map("{:04d}".format),
    fields=st.lists(FIELD, min_size=5, max_size=5),
    unicode_digits=st.booleans(),
)
def test_property_expires_is_strptime(year: str, fields: list[str], unicode_digits: bool) -> None:
    text = "{}-{}-{}T{}:{}:{}Z".format(year, *fields)
    if unicode_digits:
        text = text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert _EXPIRES.fullmatch(text)
    try:
        expected: datetime | None = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
    except ValueError:
        expected = None
    try:
        got: datetime | None = _parse_expires(text)
    except ValidationError:
        got = None
    assert got == expected


# --- the command line imports what it runs --------------------------------------------


def test_cli_verify_does_not_build_other_subcommands(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from intoto_policy.cli._main import main\n"
        "code = main(['verify', sys.argv[1]])\n"
        "assert code == 2, code\n"
        "assert 'intoto_policy.cli._demo_scenario' not in sys.modules\n"
        "assert 'intoto_policy.report._sarif' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.layout")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- chains whose links share artifact maps: the reference's verdicts -----------------


def _chain(directory: Path, *, dsse: bool, mutate: str) -> Any:
    """Three steps over the same 300 files (maps shared by text), one mutation."""
    import hashlib

    from in_toto.models.layout import Layout, Step
    from in_toto.models.link import Link
    from in_toto.models.metadata import Envelope, Metablock
    from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

    owner = CryptoSigner.generate_ed25519()
    files = {
        f"src/f{i:04d}.c": {"sha256": hashlib.sha256(b"%d" % i).hexdigest()} for i in range(300)
    }
    steps, keys, prev = [], {}, None
    for k in range(3):
        name = f"step{k}"
        signer = CryptoSigner.generate_ed25519()
        keys[signer.public_key.keyid] = signer.public_key.to_dict() | {
            "keyid": signer.public_key.keyid
        }
        materials: dict[str, Any] = {} if prev is None else dict(files)
        products = dict(files)
        if mutate == "changed-material" and k == 1:
            materials["src/f0150.c"] = {"sha256": "00" * 32}
        if mutate == "extra-product" and k == 2:
            products["src/zzz.c"] = {"sha256": "11" * 32}
        if mutate == "reordered" and k == 2:
            materials = dict(reversed(materials.items()))
        rules_m = (
            [["DISALLOW", "*"]]
            if prev is None
            else [["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", prev], ["DISALLOW", "*"]]
        )
        rules_p = (
            [["CREATE", "src/*"], ["DISALLOW", "*"]]
            if prev is None
            else [["MATCH", "src/f*", "WITH", "MATERIALS", "FROM", name], ["DISALLOW", "*"]]
        )
        steps.append(
            Step(
                name=name,
                pubkeys=[signer.public_key.keyid],
                expected_materials=rules_m,
                expected_products=rules_p,
            )
        )
        link = Link(name=name, materials=materials, products=products, command=[])
        md = Envelope.from_signable(link) if dsse else Metablock(signed=link)
        md.create_signature(signer)
        md.dump(str(directory / f"{name}.{signer.public_key.keyid[:8]}.link"))
        prev = name
    md = Metablock(signed=Layout(steps=steps, keys=keys, expires="2099-01-01T00:00:00Z"))
    md.create_signature(owner)
    md.dump(str(directory / "root.layout"))
    return owner


@pytest.mark.parametrize("mutate", ["none", "changed-material", "extra-product", "reordered"])
@pytest.mark.parametrize("dsse", [True, False])
def test_shared_maps_same_verdict_as_reference(tmp_path: Path, dsse: bool, mutate: str) -> None:
    from in_toto.exceptions import RuleVerificationError
    from in_toto.models.metadata import Metadata
    from in_toto.verifylib import in_toto_verify

    from intoto_policy.classic import verify_classic
    from intoto_policy.crypto._keys import PublicKey

    owner = _chain(tmp_path, dsse=dsse, mutate=mutate)
    owner_dict = owner.public_key.to_dict() | {"keyid": owner.public_key.keyid}
    try:
        in_toto_verify(
            Metadata.load(str(tmp_path / "root.layout")),
            {owner.public_key.keyid: owner_dict},
            str(tmp_path),
        )
        expected = True
    except RuleVerificationError:
        expected = False
    report = verify_classic(
        tmp_path / "root.layout",
        layout_keys=[PublicKey.from_dict(owner_dict)],
        link_dir=tmp_path,
        at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert report.passed == expected
    assert expected == (mutate in ("none", "reordered"))
