"""Named cases for the classic in-toto verifier, the fast strict loader and the rule vectors."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intoto_policy._errors import InputError, JSONError, ValidationError
from intoto_policy.classic import is_classic_layout, verify_classic
from intoto_policy.classic._gpg import gpg_key_expired
from intoto_policy.classic._load import loads_strict
from intoto_policy.classic._model import normalized_link
from intoto_policy.crypto._canonical import encode_canonical
from intoto_policy.crypto._keys import PrivateKey, generate_private_key
from intoto_policy.model._json import DEFAULT_LIMITS, JSONLimits, loads
from intoto_policy.policy._rules import ArtifactRule, evaluate_rules
from intoto_policy.report._model import CheckKind, RejectReason, Report, Status

AT = datetime(2025, 1, 1, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# --- building chains with our own signing code ---------------------------------


_KEYS: dict[str, PrivateKey] = {}


def key(name: str) -> PrivateKey:
    if name not in _KEYS:
        _KEYS[name] = generate_private_key("ed25519")
    return _KEYS[name]


def key_dict(k: PrivateKey, keyid: str | None = None) -> dict[str, Any]:
    out = k.public_key.to_dict()
    out["keyid"] = keyid or k.keyid
    return out


def sign(payload: dict[str, Any], signers: Sequence[PrivateKey], fmt: str) -> bytes:
    if fmt == "metablock":
        data = encode_canonical(payload)
        sigs = [{"keyid": k.keyid, "sig": k.sign(data).hex()} for k in signers]
        return json.dumps({"signed": payload, "signatures": sigs}, indent=1).encode()
    body = json.dumps(payload, sort_keys=True).encode()
    ptype = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(body), body)
    sigs = [{"keyid": k.keyid, "sig": base64.b64encode(k.sign(pae)).decode()} for k in signers]
    return json.dumps(
        {
            "payload": base64.b64encode(body).decode(),
            "payloadType": ptype.decode(),
            "signatures": sigs,
        }
    ).encode()


def digest(text: str) -> dict[str, str]:
    return {"sha256": hashlib.sha256(text.encode()).hexdigest()}


def link(
    name: str, materials: Mapping[str, str], products: Mapping[str, str], **extra: Any
) -> dict[str, Any]:
    out = {
        "_type": "link",
        "name": name,
        "materials": {p: digest(c) for p, c in materials.items()},
        "products": {p: digest(c) for p, c in products.items()},
        "byproducts": {},
        "command": extra.pop("command", []),
        "environment": {},
    }
    out.update(extra)
    return out


def step(name: str, keys: Sequence[str], **kw: Any) -> dict[str, Any]:
    return {
        "_type": "step",
        "name": name,
        "pubkeys": list(keys),
        "threshold": kw.get("threshold", 1),
        "expected_command": kw.get("expected_command", []),
        "expected_materials": kw.get("materials", []),
        "expected_products": kw.get("products", []),
    }


def layout(
    steps: list[dict[str, Any]], keys: Mapping[str, dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    return {
        "_type": "layout",
        "expires": kw.get("expires", "2030-01-01T00:00:00Z"),
        "readme": "",
        "keys": dict(keys),
        "steps": steps,
        "inspect": kw.get("inspect", []),
    }


@dataclass
class Chain:
    """The demo chain: write-code creates foo.py, package makes foo.tar.gz from it."""

    root: Path
    fmt: str = "metablock"
    owner: PrivateKey = field(default_factory=lambda: key("alice"))

    def write_layout(self, payload: dict[str, Any], name: str = "root.layout") -> Path:
        path = self.root / name
        path.write_bytes(sign(payload, [self.owner], self.fmt))
        return path

    def write_link(
        self, payload: dict[str, Any], signer: PrivateKey, name: str | None = None
    ) -> Path:
        path = self.root / (name or f"{payload['name']}.{signer.keyid[:8]}.link")
        path.write_bytes(sign(payload, [signer], self.fmt))
        return path

    def demo(self, **step_kw: Any) -> dict[str, Any]:
        bob, carl = key("bob"), key("carl")
        payload = layout(
            [
                step("write-code", [bob.keyid], products=[["CREATE", "foo.py"], ["DISALLOW", "*"]]),
                step(
                    "package",
                    [carl.keyid],
                    **{
                        "expected_command": ["tar", "zcvf", "foo.tar.gz", "foo.py"],
                        "materials": [
                            ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write-code"],
                            ["DISALLOW", "*"],
                        ],
                        "products": [
                            ["CREATE", "foo.tar.gz"],
                            ["ALLOW", "foo.py"],
                            ["DISALLOW", "*"],
                        ],
                        **step_kw,
                    },
                ),
            ],
            {bob.keyid: key_dict(bob), carl.keyid: key_dict(carl)},
        )
        self.write_link(link("write-code", {}, {"foo.py": "code"}), bob)
        self.write_link(
            link(
                "package",
                {"foo.py": "code"},
                {"foo.py": "code", "foo.tar.gz": "tar"},
                command=["tar", "zcvf", "foo.tar.gz", "foo.py"],
            ),
            carl,
        )
        return payload

    def verify(self, path: Path | None = None, **kw: Any) -> Report:
        kw.setdefault("layout_keys", [self.owner.public_key])
        return verify_classic(path or self.root / "root.layout", link_dir=self.root, at=AT, **kw)


@pytest.fixture(params=["metablock", "dsse"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Chain:
    return Chain(tmp_path, request.param)


def kinds(report: Report) -> list[str]:
    return [c.kind.value for c in report.failures]


# --- named cases ----------------------------------------------------------------


def test_demo_chain_passes(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    report = chain.verify()
    assert report.passed, [c.message for c in report.failures]
    assert [s.name for s in report.steps] == ["write-code", "package"]
    assert report.layout.format == "classic"
    json.dumps(report.to_dict())


def test_wrong_layout_key_fails(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    report = chain.verify(layout_keys=[key("mallory").public_key])
    assert kinds(report) == ["signature"]


def test_every_given_layout_key_must_sign(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    report = chain.verify(layout_keys=[chain.owner.public_key, key("mallory").public_key])
    assert kinds(report) == ["signature"]
    assert report.layout.signed_by == (chain.owner.keyid,)


def test_no_layout_key_fails(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    assert kinds(chain.verify(layout_keys=[])) == ["signature"]


def test_expired_layout_fails(chain: Chain) -> None:
    payload = chain.demo()
    payload["expires"] = "2024-12-31T23:59:59Z"
    chain.write_layout(payload)
    report = chain.verify()
    assert kinds(report) == ["freshness"]
    # Expiry is decided at the given time, not the clock's.
    assert verify_classic(
        chain.root / "root.layout",
        layout_keys=[chain.owner.public_key],
        link_dir=chain.root,
        at=datetime(2024, 1, 1, tzinfo=UTC),
    ).passed


def test_command_mismatch_is_a_warning(chain: Chain) -> None:
    chain.write_layout(chain.demo(expected_command=["make"]))
    report = chain.verify()
    assert report.passed
    assert [w.kind for w in report.warnings] == [CheckKind.COMMAND]


def test_rule_failure_names_rule_and_paths(chain: Chain) -> None:
    payload = chain.demo()
    payload["steps"][1]["expected_products"] = [["CREATE", "foo.tar.gz"], ["DISALLOW", "*"]]
    chain.write_layout(payload)
    report = chain.verify()
    [failure] = report.failures
    assert failure.step == "package"
    assert failure.rule == "DISALLOW *"
    assert failure.details["paths"] == ["foo.py"]
    assert failure.location is not None
    assert failure.location.pointer == "/steps/1/expected_products/1"


def test_threshold_same_key_twice_counts_once(chain: Chain) -> None:
    bob = key("bob")
    other_id = hashlib.sha256(b"another id for bob").hexdigest()
    payload = layout(
        [step("write-code", [bob.keyid, other_id], threshold=2, products=[["ALLOW", "*"]])],
        {bob.keyid: key_dict(bob), other_id: key_dict(bob, other_id)},
    )
    chain.write_layout(payload)
    signed = link("write-code", {}, {"foo.py": "code"})
    chain.write_link(signed, bob)
    chain.write_link(signed, bob, name=f"write-code.{other_id[:8]}.link")
    report = chain.verify()
    assert kinds(report) == ["threshold"]


def test_threshold_two_agreeing_links_pass(chain: Chain) -> None:
    bob, carl = key("bob"), key("carl")
    payload = layout(
        [step("write-code", [bob.keyid, carl.keyid], threshold=2, products=[["ALLOW", "*"]])],
        {bob.keyid: key_dict(bob), carl.keyid: key_dict(carl)},
    )
    chain.write_layout(payload)
    chain.write_link(link("write-code", {}, {"foo.py": "code"}), bob)
    chain.write_link(link("write-code", {}, {"foo.py": "code"}, command=["vi"]), carl)
    report = chain.verify()
    assert report.passed
    assert len(report.steps[0].principals) == 2


def test_threshold_disagreeing_links_fail(chain: Chain) -> None:
    bob, carl = key("bob"), key("carl")
    payload = layout(
        [step("write-code", [bob.keyid, carl.keyid], threshold=2, products=[["ALLOW", "*"]])],
        {bob.keyid: key_dict(bob), carl.keyid: key_dict(carl)},
    )
    chain.write_layout(payload)
    chain.write_link(link("write-code", {}, {"foo.py": "code"}), bob)
    chain.write_link(link("write-code", {}, {"foo.py": "evil"}), carl)
    report = chain.verify()
    assert kinds(report) == ["threshold"]
    assert report.failures[0].details["paths"] == ["foo.py"]
    assert [r.reason for r in report.rejected] == [RejectReason.DISAGREEING]


def test_threshold_one_uses_first_authorized_link(chain: Chain) -> None:
    # As in the reference: with threshold 1 links are not compared, and the
    # link of the first authorized key is the one rules see.
    bob, carl = key("bob"), key("carl")
    payload = layout(
        [
            step(
                "write-code",
                [bob.keyid, carl.keyid],
                products=[["CREATE", "foo.py"], ["DISALLOW", "*"]],
            )
        ],
        {bob.keyid: key_dict(bob), carl.keyid: key_dict(carl)},
    )
    chain.write_layout(payload)
    chain.write_link(link("write-code", {}, {"foo.py": "code"}), bob)
    chain.write_link(link("write-code", {}, {"foo.py": "code", "evil": "x"}), carl)
    assert chain.verify().passed


def test_tampered_link_is_rejected(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    path = next(chain.root.glob("package.*.link"))
    data = json.loads(path.read_bytes())
    if "signed" in data:
        data["signed"]["products"]["foo.tar.gz"]["sha256"] = "00" * 32
    else:
        body = json.loads(base64.b64decode(data["payload"]))
        body["products"]["foo.tar.gz"]["sha256"] = "00" * 32
        data["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    path.write_text(json.dumps(data))
    report = chain.verify()
    assert kinds(report) == ["threshold"]
    assert [r.reason for r in report.rejected] == [RejectReason.BAD_SIGNATURE]


def test_link_under_other_name_signed_by_authorized_key(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    path = next(chain.root.glob("package.*.link"))
    path.rename(chain.root / "package-by-carl.link")
    report = chain.verify()
    assert report.passed, [c.message for c in report.failures]
    assert report.steps[1].attestations[0].source.endswith("package-by-carl.link")


def test_renamed_link_by_unauthorized_key_fails(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    next(chain.root.glob("package.*.link")).unlink()
    chain.write_link(
        link("package", {"foo.py": "code"}, {"foo.py": "code", "foo.tar.gz": "tar"}),
        key("mallory"),
        name=f"package.{key('carl').keyid[:8]}.link",
    )
    report = chain.verify()
    assert kinds(report) == ["threshold"]


def test_malformed_link_under_authorized_name_fails(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    next(chain.root.glob("package.*.link")).write_text("{not json")
    report = chain.verify()
    assert "signature" in kinds(report)
    assert RejectReason.MALFORMED in [r.reason for r in report.rejected]


def test_link_signed_as_the_reference_rebuilds_it(tmp_path: Path) -> None:
    # The reference signs its model's object: unknown fields dropped,
    # missing ones defaulted. Such a signature verifies too.
    chain = Chain(tmp_path, "metablock")
    chain.write_layout(chain.demo())
    path = next(chain.root.glob("write-code.*.link"))
    written = link("write-code", {}, {"foo.py": "code"}, extra_field="x")
    del written["environment"]
    bob = key("bob")
    sig = bob.sign(encode_canonical(normalized_link(written))).hex()
    path.write_text(
        json.dumps({"signed": written, "signatures": [{"keyid": bob.keyid, "sig": sig}]})
    )
    assert chain.verify().passed


def test_malformed_layout_is_input_error(tmp_path: Path) -> None:
    chain = Chain(tmp_path)
    payload = chain.demo()
    payload["steps"][0]["expected_products"] = [["SUBVERT", "foo"]]
    chain.write_layout(payload)
    with pytest.raises(ValidationError):
        chain.verify()
    (tmp_path / "root.layout").write_text("[]")
    with pytest.raises(InputError):
        chain.verify()


def test_nested_sublayouts(chain: Chain) -> None:
    bob, carl, dan = key("bob"), key("carl"), key("dan")
    # root -> "build" delegated to bob -> "compile" delegated to carl -> dan's step.
    inner = layout(
        [step("cc", [dan.keyid], products=[["CREATE", "a.o"], ["DISALLOW", "*"]])],
        {dan.keyid: key_dict(dan)},
    )
    middle = layout(
        [
            step(
                "compile", [carl.keyid], products=[["MATCH", "*", "WITH", "PRODUCTS", "FROM", "cc"]]
            )
        ],
        {carl.keyid: key_dict(carl)},
    )
    root = layout(
        [step("build", [bob.keyid], products=[["CREATE", "a.o"], ["DISALLOW", "*"]])],
        {bob.keyid: key_dict(bob)},
    )
    chain.write_layout(root)
    Chain(chain.root, chain.fmt, bob).write_layout(middle, f"build.{bob.keyid[:8]}.link")
    sub = chain.root / f"build.{bob.keyid[:8]}"
    sub.mkdir()
    Chain(sub, chain.fmt, carl).write_layout(inner, f"compile.{carl.keyid[:8]}.link")
    subsub = sub / f"compile.{carl.keyid[:8]}"
    subsub.mkdir()
    Chain(subsub, chain.fmt).write_link(link("cc", {}, {"a.o": "obj"}), dan)
    report = chain.verify()
    assert report.passed, [c.message for c in report.failures]
    assert [s.name for s in report.steps] == ["build", "build/compile", "build/compile/cc"]
    # A broken innermost link fails the whole chain and says where.
    Chain(subsub, chain.fmt).write_link(link("cc", {}, {"b.o": "obj"}), dan)
    report = chain.verify()
    assert not report.passed
    assert any(c.step == "build/compile/cc" for c in report.failures)


def _inspection_layout(chain: Chain, run: list[str]) -> dict[str, Any]:
    payload = chain.demo()
    payload["inspect"] = [
        {
            "_type": "inspection",
            "name": "check",
            "run": run,
            "expected_materials": [
                ["MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "package"],
                ["ALLOW", "*"],
            ],
            "expected_products": [["CREATE", "made.txt"], ["ALLOW", "*"]],
        }
    ]
    return payload


def test_inspections_need_the_flag(chain: Chain) -> None:
    chain.write_layout(_inspection_layout(chain, ["false"]))
    report = chain.verify()
    assert not report.passed
    assert any("--run-inspections" in c.message for c in report.failures)


def test_inspection_runs_in_workdir(chain: Chain, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "foo.tar.gz").write_text("tar")
    script = "open('made.txt', 'w').write('x')"
    chain.write_layout(_inspection_layout(chain, [sys.executable, "-c", script]))
    report = chain.verify(run_inspections=True, workdir=work)
    assert report.passed, [c.message for c in report.failures]
    assert (work / "made.txt").is_file()
    assert [s.name for s in report.steps][-1] == "check"


def test_failing_inspection(chain: Chain, tmp_path: Path) -> None:
    chain.write_layout(_inspection_layout(chain, [sys.executable, "-c", "raise SystemExit(3)"]))
    report = chain.verify(run_inspections=True, workdir=tmp_path)
    assert kinds(report) == ["inspection"]
    assert report.failures[0].actual == 3


def test_inspections_do_not_run_after_a_failure(chain: Chain, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    chain.write_layout(_inspection_layout(chain, [sys.executable, "-c", "open('ran', 'w')"]))
    report = chain.verify(
        run_inspections=True, workdir=work, layout_keys=[key("mallory").public_key]
    )
    assert not report.passed
    assert not (work / "ran").exists()
    assert any(c.status is Status.FAIL and "not run" in c.message for c in report.steps[-1].checks)


def test_gpg_key_expiry_uses_given_time() -> None:
    k = {"keyid": "aa", "creation_time": 1_000_000, "validity_period": 1000, "subkeys": {}}
    assert gpg_key_expired(k, "aa", datetime.fromtimestamp(1_002_000, UTC))
    assert not gpg_key_expired(k, "aa", datetime.fromtimestamp(1_000_500, UTC))
    assert not gpg_key_expired({"keyid": "aa"}, "aa", AT)


@pytest.mark.skipif(
    not (CORPUS / "intoto-reference").is_dir(), reason="shared corpus not available"
)
def test_gpg_functionary_keys_and_wrong_gpg_owner(tmp_path: Path) -> None:
    import shutil

    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    src = CORPUS / "intoto-reference" / "scenarios" / "gpg_pass_demo"
    root = tmp_path / "gpg"
    shutil.copytree(src, root)
    for p in [root, *root.rglob("*")]:
        p.chmod(0o700 if p.is_dir() else 0o600)
    ok = verify_classic(
        root / "root.layout",
        layout_keys=[],
        gpg_keyids=["8465a1e2e0fb2b40adb2478e18fb3f537e0c8a17"],
        gpg_home=root / "gnupg",
        link_dir=root,
        at=AT,
    )
    # Only the inspection (not run) fails, at the layout and in its own step:
    # signatures by GPG keys verified.
    assert set(kinds(ok)) == {"inspection"}
    wrong = verify_classic(
        root / "root.layout",
        layout_keys=[],
        gpg_keyids=["7b3abb26b97b655ab9296bd15b0bd02e1c768c43"],
        gpg_home=root / "gnupg",
        link_dir=root,
        at=AT,
    )
    assert "signature" in kinds(wrong)
    with pytest.raises(InputError):
        verify_classic(
            root / "root.layout",
            layout_keys=[],
            gpg_keyids=["0123456789abcdef0123456789abcdef01234567"],
            gpg_home=root / "gnupg",
            link_dir=root,
            at=AT,
        )


def test_is_classic_layout(chain: Chain) -> None:
    path = chain.write_layout(chain.demo())
    assert is_classic_layout(path.read_bytes())
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x"}
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
        "signatures": [],
    }
    assert not is_classic_layout(json.dumps(envelope).encode())
    assert not is_classic_layout(b"{not json")
    assert not is_classic_layout(json.dumps({"signed": link("x", {}, {})}).encode())


def test_naive_time_is_utc(chain: Chain) -> None:
    chain.write_layout(chain.demo())
    report = verify_classic(
        chain.root / "root.layout",
        layout_keys=[chain.owner.public_key],
        link_dir=chain.root,
        at=datetime(2025, 1, 1),
    )
    assert report.passed
    assert report.verified_at.tzinfo is not None


# --- the fast strict loader is the strict loader --------------------------------


def _same_as_strict(data: bytes, limits: JSONLimits = DEFAULT_LIMITS) -> None:
    try:
        expected: Any = loads(data, limits=limits)
    except JSONError as exc:
        message = str(exc)
    else:
        assert loads_strict(data, limits=limits) == expected
        return
    with pytest.raises(JSONError) as caught:
        loads_strict(data, limits=limits)
    assert str(caught.value) == message


ARTIFACTS = {f"dir/f{i}:x": {"sha256": f"{i:064x}"} for i in range(40)}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"materials": ARTIFACTS, "products": {}}),
        '{"materials": {"a": {"sha256": "00"}, "a": {"sha256": "11"}}}',
        '{"m": {"a": {"sha256": "00", "sha256": "11"}}}',
        "{" + ", ".join(f'"k{i}": {{"sha256": "{i:02x}"}}' for i in range(30)) + ', "k3": {}}',
        '{"a:b": "c:d", "e": ["f:g", {"h": 1}]}',
        '{"a": "\\u003a", "a\\u003a": 1}',
        '{"a": "\\ud800"}',
        '{"a": NaN}',
        '\ufeff{"a": 1}',
        '{"a": 1} x',
        '  {"a": [1, 2.5, true, null, "x"]}  ',
        "[" * 70 + "]" * 70,
        '{"a": 1, "b": {"a": 1, "a": 2}}',
        '"just a string: yes"',
    ],
)
def test_loads_strict_cases(text: str) -> None:
    _same_as_strict(text.encode("utf-8"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab:"\\é\x01')),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="ab:", max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=5))
def test_loads_strict_matches_strict_loader(value: Any, dup: int) -> None:
    text = json.dumps(value)
    _same_as_strict(text.encode())
    # Inject a duplicate key into the first object, if any.
    if text.startswith("{") and len(text) > 2:
        _same_as_strict(('{"a": ' + str(dup) + ", " + text[1:]).replace(", }", "}").encode())


# --- the reference's rule vectors ---------------------------------------------------


def _literal(path: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _vectors() -> list[dict[str, Any]]:
    path = CORPUS / "intoto-reference" / "rule_vectors.json"
    if not path.is_file():
        return []
    vectors: list[dict[str, Any]] = json.loads(path.read_text())["vectors"]
    return vectors


def _rule_for(vector: dict[str, Any]) -> ArtifactRule:
    fn, args = vector["function"], vector["args"]
    kind = fn.removeprefix("verify_").removesuffix("_rule")
    if kind == "match":
        data = args["rule_data"]
        words = ["MATCH", data["pattern"]]
        if data["source_prefix"]:
            words += ["IN", data["source_prefix"]]
        words += ["WITH", data["dest_type"].upper()]
        if data["dest_prefix"]:
            words += ["IN", data["dest_prefix"]]
        words += ["FROM", data["dest_name"]]
        return ArtifactRule.parse(words)
    return ArtifactRule.parse([kind.upper(), args.get("pattern", args.get("filename"))])


def _as_dict(value: Any, default: set[str]) -> dict[str, Any]:
    if value is None:
        return {p: {"sha256": "00"} for p in default}
    if isinstance(value, dict):
        return dict(value)
    return {p: {"sha256": "00"} for p in value}


def _side_for(
    kind: str, queue: set[str], materials: dict[str, Any], products: dict[str, Any]
) -> str:
    """A side holding the whole queue, padded where padding cannot change the rule."""
    for side in ("products", "materials"):
        own, other = (materials, products) if side == "materials" else (products, materials)
        missing = queue - set(own)
        if kind == "verify_create_rule":
            harmless = all(
                (p not in other) if side == "materials" else (p in other) for p in missing
            )
        elif kind == "verify_delete_rule":
            harmless = all(
                (p in other) if side == "materials" else (p not in other) for p in missing
            )
        else:
            harmless = all(p not in other for p in missing)
        if harmless:
            own.update({p: {"sha256": "00"} for p in missing})
            return side
    raise AssertionError("vector not representable")


def _run_vector(vector: dict[str, Any]) -> tuple[set[str] | None, bool]:
    """(consumed paths, raised) for one vector, through evaluate_rules."""
    args = vector["args"]
    kind = vector["function"]
    queue = set(args["queue"])
    if kind == "verify_match_rule":
        source: Mapping[str, Any] = args["source_artifacts"]
        links: Mapping[str, Any] = args.get("links", {})

        def lookup(name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
            found = links.get(name)
            return None if found is None else (found["materials"], found["products"])

        materials: dict[str, Any] = dict(source)
        products: dict[str, Any] = {}
        side = "materials"
        materials.update({p: {"sha256": "00"} for p in queue - set(materials)})
    else:
        lookup = lambda _name: None  # noqa: E731
        materials = _as_dict(args.get("materials"), queue)
        products = _as_dict(args.get("products"), set())
        side = _side_for(kind, queue, materials, products)
    source_side = materials if side == "materials" else products
    # The reference passes a queue that may be smaller than the artifacts:
    # consume the rest first with literal ALLOW rules.
    pre = [ArtifactRule.parse(["ALLOW", _literal(p)]) for p in sorted(set(source_side) - queue)]
    result = evaluate_rules(
        [*pre, _rule_for(vector)],
        source_type=side,  # type: ignore[arg-type]
        materials=materials,
        products=products,
        step_artifacts=lookup,
    )
    outcome = result.outcomes[-1]
    return set(outcome.consumed), not outcome.passed


@pytest.mark.skipif(not _vectors(), reason="shared corpus not available")
@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["function"])
def test_rule_vector(vector: dict[str, Any]) -> None:
    if vector["function"] == "unpack_rule":
        rule = vector["args"]["rule"]
        if vector["raises"]:
            with pytest.raises(ValidationError):
                ArtifactRule.parse(rule)
        else:
            parsed = ArtifactRule.parse(rule)
            expected = vector["result"]
            assert parsed.kind == expected["rule_type"]
            assert parsed.pattern == expected["pattern"]
            if parsed.kind == "match":
                assert parsed.source_prefix == expected["source_prefix"]
                assert parsed.dest_prefix == expected["dest_prefix"]
                assert parsed.dest_type == expected["dest_type"]
                assert parsed.dest_name == expected["dest_name"]
        return
    consumed, raised = _run_vector(vector)
    assert raised == (vector["raises"] is not None)
    if vector["result"] is not None:
        assert consumed == set(vector["result"])


def test_rule_vectors_count() -> None:
    if not _vectors():
        pytest.skip("shared corpus not available")
    assert len(_vectors()) == 78


_unused: Callable[..., Any] = timedelta


# --- sublayout recursion is bounded (issue #9) -----------------------------------


def _self_delegating(chain: Chain) -> tuple[PrivateKey, dict[str, Any], str]:
    """A root layout delegating "build" to bob, and bob's sublayout doing the same."""
    bob = key("bob")
    payload = layout([step("build", [bob.keyid])], {bob.keyid: key_dict(bob)})
    chain.write_layout(payload)
    return bob, payload, f"build.{bob.keyid[:8]}"


def _nest(chain: Chain, levels: int) -> None:
    """``levels`` sublayouts, each in the link folder of the one above, then a link."""
    bob, payload, name = _self_delegating(chain)
    folder = chain.root
    for _ in range(levels):
        Chain(folder, chain.fmt, bob).write_layout(payload, f"{name}.link")
        folder = folder / name
        folder.mkdir()
    Chain(folder, chain.fmt).write_link(link("build", {}, {"a": "1"}), bob)


def _loop_to_ancestor(chain: Chain) -> None:
    # The sublayout's link folder is a symbolic link back to the root folder.
    bob, payload, name = _self_delegating(chain)
    Chain(chain.root, chain.fmt, bob).write_layout(payload, f"{name}.link")
    (chain.root / name).symlink_to(".", target_is_directory=True)


def _loop_to_grandparent(chain: Chain) -> None:
    bob, payload, name = _self_delegating(chain)
    Chain(chain.root, chain.fmt, bob).write_layout(payload, f"{name}.link")
    inner = chain.root / name
    inner.mkdir()
    Chain(inner, chain.fmt, bob).write_layout(payload, f"{name}.link")
    (inner / name).symlink_to("..", target_is_directory=True)


def _contains_itself_symlink(chain: Chain) -> None:
    # The sublayout's link folder holds (a symbolic link to) the sublayout itself.
    bob, payload, name = _self_delegating(chain)
    sub = Chain(chain.root, chain.fmt, bob).write_layout(payload, f"{name}.link")
    (chain.root / name).mkdir()
    (chain.root / name / f"{name}.link").symlink_to(sub)


def _contains_itself_hardlink(chain: Chain) -> None:
    bob, payload, name = _self_delegating(chain)
    sub = Chain(chain.root, chain.fmt, bob).write_layout(payload, f"{name}.link")
    (chain.root / name).mkdir()
    (chain.root / name / f"{name}.link").hardlink_to(sub)


def _root_as_sublayout(chain: Chain) -> None:
    # The root layout file itself, under the sublayout's name (bob signed it too).
    bob, payload, name = _self_delegating(chain)
    (chain.root / "root.layout").write_bytes(sign(payload, [chain.owner, bob], chain.fmt))
    (chain.root / f"{name}.link").symlink_to(chain.root / "root.layout")
    (chain.root / name).mkdir()


SUBLAYOUT_BOUNDS = [
    pytest.param(lambda c: _nest(c, 8), None, id="eight-levels-pass"),
    pytest.param(lambda c: _nest(c, 9), "sublayouts nest deeper than 8 levels", id="nine-levels"),
    pytest.param(lambda c: _nest(c, 40), "sublayouts nest deeper than 8 levels", id="forty-levels"),
    pytest.param(
        _loop_to_ancestor, "is a folder already being verified (a loop)", id="dir-link-to-root"
    ),
    pytest.param(
        _loop_to_grandparent, "is a folder already being verified (a loop)", id="dir-link-to-parent"
    ),
    pytest.param(
        _contains_itself_symlink,
        "it is a layout already being verified (a loop)",
        id="self-symlink",
    ),
    pytest.param(
        _contains_itself_hardlink,
        "it is a layout already being verified (a loop)",
        id="self-hardlink",
    ),
    pytest.param(
        _root_as_sublayout, "it is a layout already being verified (a loop)", id="root-again"
    ),
]


@pytest.mark.parametrize(("build", "reason"), SUBLAYOUT_BOUNDS)
def test_sublayout_recursion_is_bounded(
    chain: Chain, build: Callable[[Chain], None], reason: str | None
) -> None:
    build(chain)
    report = chain.verify()
    if reason is None:
        assert report.passed, [c.message for c in report.failures]
        assert len(report.steps) == 9  # build, build/build, ... eight deep
        return
    assert not report.passed
    refused = [c for c in report.failures if c.kind is CheckKind.LAYOUT and reason in c.message]
    assert len(refused) == 1, [c.message for c in report.failures]
    assert "not verified" in refused[0].message
