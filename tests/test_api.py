"""The public Python API (`intoto_policy.verify`) and the verify CLI's options."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import intoto_policy
from intoto_policy import (
    Attestation,
    Envelope,
    InputError,
    Layout,
    ParameterError,
    UsageError,
    ValidationError,
    generate_private_key,
    load_layout,
    verify,
)
from intoto_policy.cli._main import main

AT = datetime(2026, 6, 1, tzinfo=UTC)
KEY = generate_private_key("ed25519")
PROV = "https://slsa.dev/provenance/v1"
APP = "a" * 64


def layout_doc() -> dict:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KEY.keyid: KEY.public_key.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "verifiedLevels": ["SLSA_BUILD_LEVEL_2"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": PROV,
                        "functionaries": [KEY.keyid],
                        "expectedAttributes": [{"rule": "predicate.builder == '{builder}'"}],
                    }
                ],
            }
        ],
    }


def envelope(builder: str = "b1") -> Envelope:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": APP}}],
        "predicateType": PROV,
        "predicate": {"builder": builder},
    }
    return Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [KEY])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "layout.json").write_text(json.dumps(layout_doc()))
    (tmp_path / "atts").mkdir()
    (tmp_path / "atts" / "build.json").write_text(json.dumps(envelope().to_dict()))
    (tmp_path / "atts" / "notes.txt").write_text("not read: not an attestation file name")
    (tmp_path / "app").write_bytes(b"app")
    return tmp_path


def test_verify_with_paths(tree: Path) -> None:
    report = verify(
        tree / "layout.json",
        [tree / "atts"],
        at=AT,
        allow_unsigned=True,
        params={"builder": "b1"},
        subject={"sha256": APP},
    )
    assert report, [c.message for c in report.failures]
    assert report.layout.verified_levels == ("SLSA_BUILD_LEVEL_2",)


def test_verify_with_a_single_path_string(tree: Path) -> None:
    report = verify(
        str(tree / "layout.json"),
        str(tree / "atts"),
        at=AT,
        allow_unsigned=True,
        params={"builder": "b1"},
        subject={"sha256": APP},
    )
    assert report


def test_verify_with_parsed_objects_and_params_late() -> None:
    layout = Layout.from_dict(layout_doc(), params={"builder": "b0"})
    att = Attestation.from_envelope(envelope(), source="mem")
    assert not verify(layout, [att], at=AT, no_subject=True)
    assert verify(layout, [att], at=AT, params={"builder": "b1"}, no_subject=True)
    # a forgotten subject fails a subjectSteps layout; the opt-out must be explicit
    assert not verify(layout, [att], at=AT, params={"builder": "b1"})


def test_verify_with_loaded_layout(tree: Path) -> None:
    loaded = load_layout(tree / "layout.json", params={"builder": "b1"}, allow_unsigned=True)
    assert verify(loaded, [tree / "atts"], at=AT, subject=[{"sha256": APP}])


API_ERRORS = [
    ("naive time", {"at": datetime(2026, 1, 1)}, ValidationError),
    ("bad layout type", {"layout": 42}, UsageError),
    (
        "mixed attestations",
        {"attestations": ["x", Attestation(source="s", digest="d", problem="p")]},
        UsageError,
    ),
    ("missing parameter", {"params": {}}, ParameterError),
    ("missing attestation path", {"attestations": ["/nonexistent/dir"]}, InputError),
]


@pytest.mark.parametrize(("name", "override", "error"), API_ERRORS, ids=[e[0] for e in API_ERRORS])
def test_verify_errors(tree: Path, name: str, override: dict, error: type[Exception]) -> None:
    kwargs = {
        "layout": tree / "layout.json",
        "attestations": [tree / "atts"],
        "at": AT,
        "allow_unsigned": True,
        "params": {"builder": "b1"},
    }
    kwargs.update(override)
    with pytest.raises(error):
        verify(kwargs.pop("layout"), kwargs.pop("attestations"), **kwargs)


def test_public_names_resolve() -> None:
    for name in intoto_policy.__all__:
        assert getattr(intoto_policy, name) is not None
    with pytest.raises(AttributeError):
        _ = intoto_policy.no_such_name  # type: ignore[attr-defined]


CLI_CASES = [
    ("subject file", ["--subject", "app"], 1),  # sha256("app") is not the attested digest
    ("subject digest", ["--subject-digest", f"sha256:{APP}"], 0),
    ("no subject opted out", ["--no-subject"], 0),
    ("no subject with a subject", ["--no-subject", "--subject-digest", f"sha256:{APP}"], 2),
    ("bad subject digest", ["--subject-digest", "sha256:XYZ"], 2),
    ("subject digest without algorithm", ["--subject-digest", APP], 2),
    # Repeated --subject-digest values describe one artifact: merged by algorithm.
    (
        "subject digests of one artifact merge",
        ["--subject-digest", f"sha256:{APP}", "--subject-digest", "sha512:" + "c" * 128],
        0,
    ),
    (
        "subject digest repeated with the same value",
        ["--subject-digest", f"sha256:{APP}", "--subject-digest", f"sha256:{APP}"],
        0,
    ),
    (
        "subject digest algorithm twice with different values",
        ["--subject-digest", f"sha256:{APP}", "--subject-digest", "sha256:" + "b" * 64],
        2,
    ),
    (
        "subject digests merged but the shared algorithm disagrees",
        ["--subject-digest", "sha256:" + "b" * 64, "--subject-digest", "sha512:" + "c" * 128],
        1,
    ),
    ("params file", ["--params-file", "params.json"], 0),
    ("params file not strings", ["--params-file", "badparams.json"], 2),
    ("param without =", ["--param", "builder"], 2),
    ("param twice", ["--param", "builder=b1", "--param", "builder=b1"], 2),
    ("classic-only flag", ["--run-inspections"], 2),
    ("vsa without key", ["--format", "vsa", "--subject-digest", f"sha256:{APP}"], 2),
    ("output file", ["--output", "out.json", "--format", "json"], 0),
    ("junit", ["--format", "junit"], 0),
    ("sarif", ["--format", "sarif"], 0),
    ("markdown", ["--format", "markdown"], 0),
    ("colour forced", ["--color", "always"], 0),
]


@pytest.mark.parametrize(("name", "extra", "code"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_options(
    tree: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    extra: list[str],
    code: int,
) -> None:
    monkeypatch.chdir(tree)
    (tree / "params.json").write_text(json.dumps({"builder": "b1"}))
    (tree / "badparams.json").write_text(json.dumps({"builder": 1}))
    argv = [
        "verify",
        "layout.json",
        "--unsigned-layout",
        "--attestations",
        "atts",
        "--at",
        "2026-06-01T00:00:00Z",
    ]
    if not any(a.startswith("--param") for a in extra):
        argv += ["--param", "builder=b1"]
    if not any(a.startswith("--subject") or a == "--no-subject" for a in extra):
        argv += ["--subject-digest", f"sha256:{APP}"]
    assert main([*argv, *extra]) == code, (name, capsys.readouterr())
    out, err = capsys.readouterr()
    if code == 2:
        assert err.startswith("intoto-policy:")
        assert err.count("\n") == 1
    if "--output" in extra:
        assert out == ""
        assert json.loads((tree / "out.json").read_text())["verdict"] == "pass"
    if "always" in extra:
        assert "\x1b[" in out


def test_cli_vsa_round_trip(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A downstream consumer verifies the VSA alone, with a VSA layout, using verify itself."""
    monkeypatch.chdir(tree)
    vsa_key = generate_private_key("ecdsa")
    (tree / "vsa.key").write_bytes(vsa_key.private_pem())
    code = (
        main(
            [
                "verify",
                "layout.json",
                "--unsigned-layout",
                "--attestations",
                "atts",
                "--at",
                "2026-06-01T00:00:00Z",
                "--param",
                "builder=b1",
                "--subject-digest",
                f"sha256:{APP}",
                "--format",
                "vsa",
                "--vsa-key",
                "vsa.key",
                "--vsa-verifier-id",
                "https://verifier.example/gate",
                "--output",
                "vsa/app.vsa.json",
            ]
        )
        if (tree / "vsa").mkdir() is None
        else 99
    )
    assert code == 0, capsys.readouterr()
    vsa_layout = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {vsa_key.keyid: vsa_key.public_key.to_dict(camel=True)},
        "subjectSteps": ["verified"],
        "steps": [
            {
                "name": "verified",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/verification_summary/v1",
                        "functionaries": [vsa_key.keyid],
                        "maxAge": "P1D",
                        "expectedAttributes": [
                            {"rule": "predicate.verificationResult == 'PASSED'"},
                            {"rule": "predicate.verifier.id == 'https://verifier.example/gate'"},
                            {"rule": "'SLSA_BUILD_LEVEL_2' in predicate.verifiedLevels"},
                        ],
                    }
                ],
            }
        ],
    }
    (tree / "vsa-layout.json").write_text(json.dumps(vsa_layout))
    argv = [
        "verify",
        "vsa-layout.json",
        "--unsigned-layout",
        "--attestations",
        "vsa",
        "--at",
        "2026-06-01T01:00:00Z",
    ]
    assert main([*argv, "--subject-digest", f"sha256:{APP}"]) == 0, capsys.readouterr().out
    assert main([*argv, "--subject-digest", "sha256:" + "b" * 64]) == 1
    # A day later the VSA is stale.
    stale = [
        "verify",
        "vsa-layout.json",
        "--unsigned-layout",
        "--attestations",
        "vsa",
        "--at",
        "2026-06-03T00:00:00Z",
    ]
    assert main([*stale, "--subject-digest", f"sha256:{APP}"]) == 1


def test_layout_check_of_a_signed_layout(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tree)
    (tree / "owner.key").write_bytes(KEY.private_pem())
    assert (
        main(["layout", "sign", "layout.json", "--key", "owner.key", "--out", "root.layout"]) == 0
    )
    assert main(["layout", "check", "root.layout", "--param", "builder=b1"]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["layout", "sign", "layout.json", "--key", "owner.key"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["payloadType"]
        == "application/vnd.intoto-policy.layout+json"
    )
    # verify with the owner key, and the report records the signer
    code = main(
        [
            "verify",
            "root.layout",
            "--layout-key",
            "owner.key.pub" if (tree / "owner.key.pub").write_bytes(KEY.public_pem()) else "x",
            "--attestations",
            "atts",
            "--param",
            "builder=b1",
            "--subject-digest",
            f"sha256:{APP}",
            "--at",
            "2026-06-01T00:00:00Z",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["layout"]["signed"] is True
    assert report["layout"]["signedBy"] == [KEY.keyid]


def test_directories_skip_hidden_folders_and_other_files(tree: Path) -> None:
    from intoto_policy import load_attestations

    hidden = tree / "atts" / ".git" / "objects"
    hidden.mkdir(parents=True)
    (hidden / "pack.json").write_text("{}")
    (tree / "atts" / "nested").mkdir()
    (tree / "atts" / "nested" / "extra.intoto.jsonl").write_text(
        json.dumps(envelope().to_dict()) + "\n"
    )
    found = load_attestations([tree / "atts"])
    assert sorted(Path(a.source).name for a in found) == ["build.json", "extra.intoto.jsonl"]


CLASSIC = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "real-world"
    / "items"
    / "30-intoto-golang-dsse-only"
)


@pytest.mark.parametrize("threads", [4, 16], ids=["4-threads", "16-threads"])
def test_concurrent_verifications_equal_sequential_ones(tree: Path, threads: int) -> None:
    """verify() shares nothing mutable: the thread-safety promise of docs/guides/library.md."""
    from concurrent.futures import ThreadPoolExecutor

    from intoto_policy.classic import verify_classic
    from intoto_policy.sources._files import load_public_key_file

    def attestation(builder: str) -> dict:
        return verify(
            tree / "layout.json",
            [tree / "atts"],
            at=AT,
            allow_unsigned=True,
            params={"builder": builder},
            subject={"sha256": APP},
        ).to_dict()

    jobs = [lambda b=b: attestation(b) for b in ("b1", "b0")]  # a pass and a failure
    if CLASSIC.is_dir():
        jobs.append(
            lambda: verify_classic(
                CLASSIC / "dsse-only.root.layout",
                layout_keys=[load_public_key_file(str(CLASSIC / "alice.pub"))],
                link_dir=CLASSIC,
                at=datetime(2025, 6, 1, tzinfo=UTC),
            ).to_dict()
        )
    expected = [job() for job in jobs]
    assert expected[0]["verdict"] == "pass"
    assert expected[1]["verdict"] == "fail"
    work = [i % len(jobs) for i in range(threads * 3)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        got = list(pool.map(lambda i: jobs[i](), work))
    assert got == [expected[i] for i in work]
