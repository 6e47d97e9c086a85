"""Layout loading: schema, semantics, parameters, signing, lint and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from intoto_policy import (
    InputError,
    LayoutError,
    ParameterError,
    SchemaError,
    generate_private_key,
    load_layout,
)
from intoto_policy.cli._main import main
from intoto_policy.policy._layout import Layout, substitute_parameters
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document

AT = datetime(2026, 6, 1, tzinfo=UTC)
KEY = generate_private_key("ed25519")
KID = KEY.keyid


def base() -> dict:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KID: KEY.public_key.to_dict(camel=True)},
        "steps": [
            {
                "name": "build",
                "expectedProducts": ["CREATE {artifact}", "DISALLOW *"],
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v1",
                        "functionaries": [KID],
                        "expectedAttributes": [
                            {"rule": "predicate.runDetails.builder.id == '{builder}'"}
                        ],
                    }
                ],
            }
        ],
    }


def write(tmp_path: Path, doc: dict, name: str = "layout.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


PARAMS = {"artifact": "app", "builder": "https://b"}


def test_parameters_substitute_and_nest() -> None:
    out = substitute_parameters({"a": "x {p} {q}", "b": ["{q}"]}, {"p": "1", "q": "<{p}>"})
    assert out == {"a": "x 1 <1>", "b": ["<1>"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bad name": "x"}, "invalid parameter name"),
        ({"p": "{p}"}, "refers to itself"),
        ({"p": "{q}", "q": "{p}"}, "cycle"),
    ],
    ids=["bad name", "self reference", "mutual cycle"],
)
def test_bad_parameters(params: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        substitute_parameters({"a": "{p}"}, params)


def test_unresolved_parameters_are_an_error() -> None:
    with pytest.raises(ParameterError, match="artifact, builder"):
        Layout.from_dict(base())
    assert Layout.from_dict(base(), params=PARAMS).steps[0].expected_products[0].pattern == "app"


SEMANTIC = [
    (
        "unknown functionary",
        lambda d: d["steps"][0]["expectedPredicates"][0].update(functionaries=["nobody"]),
        LayoutError,
    ),
    (
        "FROM unknown step",
        lambda d: d["steps"][0].update(expectedMaterials=["MATCH x WITH PRODUCTS FROM ghost"]),
        LayoutError,
    ),
    (
        "CEL does not compile",
        lambda d: d["steps"][0]["expectedPredicates"][0].update(
            expectedAttributes=[{"rule": "predicate.("}]
        ),
        LayoutError,
    ),
    (
        "bad artifact rule",
        lambda d: d["steps"][0].update(expectedMaterials=["MATCH onlytwo"]),
        InputError,
    ),
    ("bad expiry", lambda d: d.update(expires="tomorrow"), InputError),
    ("duplicate step", lambda d: d["steps"].append(dict(d["steps"][0])), LayoutError),
    (
        "bad maxAge",
        lambda d: d["steps"][0]["expectedPredicates"][0].update(maxAge="P1M"),
        InputError,
    ),
    (
        "sigstore identity without issuer",
        lambda d: d["functionaries"].update(ci={"type": "sigstore", "identity": "x"}),
        InputError,
    ),
]


@pytest.mark.parametrize(("name", "mutate", "error"), SEMANTIC, ids=[c[0] for c in SEMANTIC])
def test_semantic_errors(name: str, mutate, error: type[Exception]) -> None:
    doc = base()
    mutate(doc)
    with pytest.raises(error):
        Layout.from_dict(doc, params=PARAMS)


def test_yaml_duplicate_key_is_rejected_with_line() -> None:
    text = b"expires: '2030-01-01T00:00:00Z'\nexpires: '2031-01-01T00:00:00Z'\n"
    with pytest.raises(SchemaError) as info:
        parse_layout_document(text, source="l.yml")
    assert info.value.line == 2
    assert "duplicate key" in str(info.value)


def test_schema_error_names_file_and_line(tmp_path: Path) -> None:
    doc = base()
    doc["steps"][0]["expectedPredicates"][0]["threshold"] = "two"
    path = write(tmp_path, doc)
    with pytest.raises(SchemaError) as info:
        load_layout(path, params=PARAMS, allow_unsigned=True)
    assert info.value.line is not None
    assert str(info.value).startswith(f"{path}:{info.value.line}: ")


def test_unsigned_layout_needs_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path, base())
    with pytest.raises(InputError, match="--unsigned-layout"):
        load_layout(path, params=PARAMS)
    loaded = load_layout(path, params=PARAMS, allow_unsigned=True)
    assert not loaded.info.signed
    assert any("unsigned" in c.message for c in loaded.checks)


def _sign(tmp_path: Path, *keys) -> Path:
    path = write(tmp_path, base())
    out = tmp_path / "root.layout"
    for i, key in enumerate(keys):
        (tmp_path / f"k{i}").write_bytes(key.private_pem())
    argv = ["layout", "sign", str(path), "--out", str(out)]
    for i in range(len(keys)):
        argv += ["--key", str(tmp_path / f"k{i}")]
    assert main(argv) == 0
    return out


def test_signed_layout_requires_every_owner(tmp_path: Path) -> None:
    alice, bob = generate_private_key("ed25519"), generate_private_key("ecdsa")
    signed = _sign(tmp_path, alice)
    loaded = load_layout(signed, params=PARAMS, layout_keys=[alice.public_key])
    assert loaded.info.signed
    assert loaded.info.signed_by == (alice.keyid,)
    assert all(c.status.value == "pass" for c in loaded.checks)
    both = load_layout(signed, params=PARAMS, layout_keys=[alice.public_key, bob.public_key])
    assert [c.status.value for c in both.checks] == ["pass", "fail"]
    with pytest.raises(InputError, match="--layout-key"):
        load_layout(signed, params=PARAMS)


def test_tampered_signed_layout_fails(tmp_path: Path) -> None:
    alice = generate_private_key("ed25519")
    signed = _sign(tmp_path, alice)
    env = json.loads(signed.read_text())
    import base64

    payload = base64.b64decode(env["payload"]).replace(b"2030", b"2099")
    env["payload"] = base64.b64encode(payload).decode()
    signed.write_text(json.dumps(env))
    loaded = load_layout(signed, params=PARAMS, layout_keys=[alice.public_key])
    assert [c.status.value for c in loaded.checks] == ["fail"]


def test_lint_reports_every_problem(tmp_path: Path) -> None:
    doc = base()
    doc["expires"] = "2020-01-01T00:00:00Z"
    doc["steps"][0]["expectedPredicates"][0]["threshold"] = 3
    doc["steps"][0]["expectedMaterials"] = ["MATCH x WITH PRODUCTS FROM ghost"]
    doc["steps"][0]["expectedPredicates"][0]["functionaries"].append("nobody")
    text = yaml.safe_dump(doc, sort_keys=False).encode()
    parsed, lines = parse_layout_document(text, source="l.yml")
    findings = lint_layout(
        parsed, source="l.yml", lines=lines, at=AT, params={**PARAMS, "unused": "x"}
    )
    messages = " | ".join(f.message for f in findings)
    for needle in (
        "already expired",
        "can never be met",
        "unknown step 'ghost'",
        "unknown functionary id 'nobody'",
        "'unused' is given but never used",
    ):
        assert needle in messages, messages
    assert all(f.line for f in findings if f.pointer)


def test_lint_flags_bad_cel_with_line() -> None:
    doc = base()
    doc["steps"][0]["expectedPredicates"][0]["expectedAttributes"] = [{"rule": "predicate.("}]
    parsed, lines = parse_layout_document(
        yaml.safe_dump(doc, sort_keys=False).encode(), source="l.yml"
    )
    findings = lint_layout(parsed, source="l.yml", lines=lines, at=AT, params={"artifact": "app"})
    assert [f.severity for f in findings] == ["error"]
    assert "does not compile" in findings[0].message
    assert findings[0].line is not None


CLI = [
    ("pass", [], 0),
    ("wrong param value fails the policy", ["--param", "builder=https://other"], 1),
    (
        # a parameter the layout never uses (a typo?) is refused, not ignored
        "unused param is bad input",
        ["--param", "builder=https://b", "--param", "artifact=app", "--param", "extra=1"],
        2,
    ),
    ("bad --at is usage", ["--at", "yesterday"], 2),
]


@pytest.mark.parametrize(("name", "extra", "code"), CLI, ids=[c[0] for c in CLI])
def test_cli_verify_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, extra: list[str], code: int
) -> None:
    from intoto_policy import Envelope

    path = write(tmp_path, base())
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"runDetails": {"builder": {"id": "https://b"}}},
    }
    env = Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [KEY])
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "build.json").write_text(json.dumps(env.to_dict()))
    argv = [
        "verify",
        str(path),
        "--unsigned-layout",
        "--attestations",
        str(tmp_path / "att"),
        "--at",
        "2026-06-01T00:00:00Z",
    ]
    if not any(a.startswith("builder=") for a in extra):
        argv += ["--param", "builder=https://b"]
    if not any(a.startswith("artifact=") for a in extra):
        argv += ["--param", "artifact=app"]
    assert main([*argv, *extra]) == code, name
    out, err = capsys.readouterr()
    if code == 2:
        assert err.count("\n") == 1
        assert err.startswith("intoto-policy: ")
        assert "Traceback" not in err
    else:
        assert ("PASS" if code == 0 else "FAIL") in out


def test_cli_verify_json_is_valid_against_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    path = write(tmp_path, base())
    code = main(
        [
            "verify",
            str(path),
            "--unsigned-layout",
            "--attestations",
            str(tmp_path),
            "--format",
            "json",
            "--param",
            "builder=x",
            "--param",
            "artifact=y",
            "--at",
            "2026-06-01T00:00:00Z",
        ]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json").read_text()
    )
    jsonschema.validate(report, schema)
    assert report["verdict"] == "fail"


def test_cli_missing_layout_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "nope.yml"), "--unsigned-layout"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("no such file") or "No such file" in err or "no such file" in err
    assert err.count("\n") == 1


def test_cli_layout_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base()
    doc["steps"][0]["expectedPredicates"][0]["threshold"] = 2
    path = write(tmp_path, doc)
    assert (
        main(["layout", "check", str(path), "--param", "artifact=a", "--param", "builder=b"]) == 1
    )
    out = capsys.readouterr().out
    assert "can never be met" in out
    assert f"{path}:" in out
    good = write(tmp_path, base(), "good.yml")
    assert (
        main(["layout", "check", str(good), "--param", "artifact=a", "--param", "builder=b"]) == 0
    )


INJECTION = [
    ("CEL string breakout", "x' || true || '"),
    ("double quote", 'x" || true || "'),
    ("backslash", "x\\\\"),
    ("white space adds rule words", "app DISALLOW"),
    ("newline", "a\nb"),
]


@pytest.mark.parametrize(("name", "value"), INJECTION, ids=[c[0] for c in INJECTION])
def test_parameter_values_cannot_inject(name: str, value: str) -> None:
    with pytest.raises(ParameterError, match="plain text"):
        Layout.from_dict(base(), params={"artifact": "app", "builder": value})


def test_parameters_are_escaped_in_regex_fields() -> None:
    doc = {
        "functionaries": {
            "ci": {
                "type": "sigstore",
                "identityRegex": "https://github.com/{repo}/.+",
                "issuer": "x",
            }
        },
        "rule": "{repo}",
    }
    out = substitute_parameters(doc, {"repo": "acme/app.v2"})
    assert out["functionaries"]["ci"]["identityRegex"] == r"https://github.com/acme/app\.v2/.+"
    assert out["rule"] == "acme/app.v2"


def test_unresolved_parameter_outside_rules_is_an_error() -> None:
    doc = base()
    doc["steps"][0]["expectedPredicates"][0]["predicateType"] = "{ptype}"
    with pytest.raises(ParameterError, match="ptype"):
        Layout.from_dict(doc, params=PARAMS)


def test_regex_repetition_is_not_a_parameter() -> None:
    doc = base()
    doc["functionaries"]["ci"] = {
        "type": "sigstore",
        "identityRegex": "https://x/[0-9a-f]{40}",
        "issuer": "y",
    }
    assert Layout.from_dict(doc, params=PARAMS).functionaries["ci"].kind == "sigstore"


def _pointers(value, pointer=""):
    yield pointer
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _pointers(sub, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _pointers(sub, f"{pointer}/{i}")


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(
    doc=st.dictionaries(st.text(max_size=6), _JSON_VALUES, max_size=5),
    indent=st.sampled_from([None, 1, 2]),
)
def test_json_line_map_finds_every_value(doc: dict, indent: int | None) -> None:
    from intoto_policy.policy._loading import _json_lines

    text = json.dumps(doc, indent=indent)
    lines = _json_lines(text)
    assert set(lines) == set(_pointers(doc))
    if indent is None:
        assert set(lines.values()) == {1}
    else:
        # In document order, lines never go backwards.
        ordered = [lines[p] for p in _pointers(doc)]
        assert ordered == sorted(ordered)


def test_json_layout_checks_carry_lines(tmp_path: Path) -> None:
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(base(), indent=2))
    loaded = load_layout(path, params=PARAMS, allow_unsigned=True)
    text_lines = path.read_text().splitlines()
    line = loaded.layout.line_of("/steps/0/expectedPredicates/0/expectedAttributes/0/rule")
    assert line is not None
    assert text_lines[line - 1].strip().startswith('"rule": "predicate.runDetails.builder.id')


def test_cli_layout_functionary_entries_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [generate_private_key(t) for t in ("ed25519", "ecdsa", "rsa")]
    paths = []
    for i, key in enumerate(keys):
        path = tmp_path / f"k{i}.pub"
        path.write_bytes(key.public_pem())
        paths.append(str(path))
    assert main(["layout", "functionary", *paths, "--not-after", "2030-01-01T00:00:00Z"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert list(doc["functionaries"]) == [k.keyid for k in keys]
    layout = base()
    layout["functionaries"] = doc["functionaries"]
    layout["steps"][0]["expectedPredicates"][0]["functionaries"] = [k.keyid for k in keys]
    loaded = Layout.from_dict(layout, params=PARAMS)
    assert all(f.not_after is not None for f in loaded.functionaries.values())
    assert (
        main(["layout", "functionary", paths[0], "--format", "json", "--not-before", "soon"]) == 2
    )
