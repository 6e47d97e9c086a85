"""``store ingest``, ``store query``, ``verify --store`` and ``audit`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intoto_policy import Envelope, generate_private_key
from intoto_policy.cli._main import main
from tests._stores import postgres_server, store_url  # noqa: F401

KEY = generate_private_key("ed25519")
STRANGER = generate_private_key("ed25519")
PROV = "https://slsa.dev/provenance/v1"
AT = "2026-06-01T00:00:00Z"


def hexd(n: int) -> str:
    return f"{n:064x}"


def envelope_line(n: int, key=KEY) -> bytes:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"app{n}", "digest": {"sha256": hexd(n)}}],
        "predicateType": PROV,
        "predicate": {"builder": "b1"},
    }
    env = Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [key])
    return json.dumps(env.to_dict()).encode()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    layout = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KEY.keyid: KEY.public_key.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "verifiedLevels": ["SLSA_BUILD_LEVEL_2"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": PROV, "functionaries": [KEY.keyid]}],
            }
        ],
    }
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    atts = tmp_path / "atts"
    atts.mkdir()
    # Subjects 1-6 signed by the functionary, 7-8 by a stranger, 9 has no evidence.
    (atts / "good.intoto.jsonl").write_bytes(b"\n".join(envelope_line(n) for n in range(1, 7)))
    (atts / "bad.intoto.jsonl").write_bytes(b"\n".join(envelope_line(n, STRANGER) for n in (7, 8)))
    (atts / "junk.json").write_bytes(b"{ not json")
    (tmp_path / "subjects.txt").write_text(
        "# subjects\n" + "".join(f"sha256:{hexd(n)}\n" for n in range(1, 10))
    )
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ingest(capsys, store: str, tree: Path) -> tuple[int, str, str]:
    return run(capsys, "store", "ingest", "--store", store, str(tree / "atts"))


def test_ingest_reports_counts_and_rejections(store_url: str, tree: Path, capsys) -> None:  # noqa: F811
    code, out, _ = ingest(capsys, store_url, tree)
    assert code == 1  # an input was rejected: recorded and reported, never silent
    assert "junk.json: rejected:" in out
    assert "stored 8, already present 0, rejected 1" in out
    code, out, _ = ingest(capsys, store_url, tree)
    assert "stored 0, already present 8, rejected 1" in out


@pytest.mark.parametrize(
    ("extra", "code", "count"),
    [
        pytest.param([], 0, 1, id="by-subject"),
        pytest.param(["--predicate-type", PROV], 0, 1, id="with-type"),
        pytest.param(["--predicate-type", "https://other"], 1, 0, id="other-type"),
        pytest.param(["--signer", KEY.keyid], 0, 1, id="signer"),
        pytest.param(["--signer", STRANGER.keyid], 1, 0, id="other-signer"),
        pytest.param(["--signer", KEY.keyid, "--signer-kind", "keyid"], 0, 1, id="signer-kind"),
        pytest.param(
            ["--signer", KEY.keyid, "--signer-kind", "issuer"], 1, 0, id="signer-other-kind"
        ),
    ],
)
def test_query(tree: Path, capsys, extra: list[str], code: int, count: int) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    args = ["store", "query", "--store", store, "--subject-digest", f"sha256:{hexd(1)}"]
    got, out, _ = run(capsys, *args, *extra, "--format", "json")
    doc = json.loads(out)
    assert (got, len(doc["attestations"])) == (code, count)
    assert doc["format"] == "intoto-policy/store-query/v1"
    got, out, _ = run(capsys, *args, *extra)
    assert out.endswith(f"{count} attestation(s)\n")


@pytest.mark.parametrize(
    ("n", "code"),
    [
        pytest.param(1, 0, id="pass"),
        pytest.param(7, 1, id="stranger-signed-fails"),
        pytest.param(9, 1, id="no-evidence-fails"),
    ],
)
def test_verify_from_store(store_url: str, tree: Path, capsys, n: int, code: int) -> None:  # noqa: F811
    ingest(capsys, store_url, tree)
    got, out, err = run(
        capsys,
        "verify", str(tree / "layout.json"), "--unsigned-layout", "--store", store_url,
        "--subject-digest", f"sha256:{hexd(n)}", "--at", AT, "--format", "json",
    )  # fmt: skip
    assert got == code, err
    assert json.loads(out)["verdict"] == ("pass" if code == 0 else "fail")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--attestations", "{tree}/atts", "--subject-digest", f"sha256:{hexd(1)}"],
            "exclusive",
            id="store-and-attestations",
        ),
        pytest.param([], "needs --subject", id="no-subject"),
        pytest.param(["--no-subject"], "needs --subject", id="explicit-no-subject"),
    ],
)
def test_verify_store_usage_errors(tree: Path, capsys, argv: list[str], message: str) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    argv = [a.replace("{tree}", str(tree)) for a in argv]
    code, _, err = run(
        capsys, "verify", str(tree / "layout.json"), "--unsigned-layout", "--store", store, *argv
    )
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["store", "query", "--store", "sqlite:///{tree}/none.db",
                      "--subject-digest", f"sha256:{hexd(1)}"], "no such store file",
                     id="query-missing-store"),
        pytest.param(["store", "query", "--store", "mysql://x", "--subject-digest",
                      f"sha256:{hexd(1)}"], "expected sqlite", id="bad-scheme"),
        pytest.param(["store", "query", "--store", "sqlite:///{tree}/s.db", "--subject-digest",
                      "sha256:zz"], "subject-digest", id="bad-digest"),
        pytest.param(["store", "ingest", "--store", "sqlite:///{tree}/s.db", "{tree}/nope"],
                     "no such file", id="ingest-missing-input"),
        pytest.param(["store", "ingest", "--store", "sqlite:///{tree}", "{tree}/atts"],
                     "regular file", id="store-is-a-directory"),
        pytest.param(["store", "ingest", "--store", "postgresql://u:hunter2@127.0.0.1:1/x",
                      "{tree}/atts"], "cannot connect", id="postgres-unreachable"),
    ],
)  # fmt: skip
def test_store_cli_errors(tree: Path, capsys, argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *(a.replace("{tree}", str(tree)) for a in argv))
    assert code == 2
    assert message in err
    assert "hunter2" not in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def audit(capsys, tree: Path, store: str, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "audit", str(tree / "layout.json"), "--unsigned-layout", "--store", store,
        "--output", str(tree / "results.jsonl"), "--at", AT, *extra,
    )  # fmt: skip


def results(tree: Path) -> dict[str, dict]:
    lines = (tree / "results.jsonl").read_text().splitlines()
    docs = [json.loads(line) for line in lines if line.strip()]
    assert len({d["subject"] for d in docs}) == len(docs), "a subject audited twice"
    return {d["subject"]: d for d in docs}


EXPECTED = {
    **{f"sha256:{hexd(n)}": "pass" for n in range(1, 7)},
    **{f"sha256:{hexd(n)}": "fail" for n in (7, 8)},
    f"sha256:{hexd(9)}": "no-evidence",
}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_audit_subjects(store_url: str, tree: Path, capsys, workers: str) -> None:  # noqa: F811
    ingest(capsys, store_url, tree)
    code, out, _ = audit(
        capsys, tree, store_url, "--subjects", str(tree / "subjects.txt"), "--workers", workers
    )
    assert code == 1
    got = results(tree)
    assert {s: d["verdict"] for s, d in got.items()} == EXPECTED
    passed = got[f"sha256:{hexd(1)}"]
    assert passed["failures"] == []
    assert len(passed["evidence"]) == 1
    assert passed["layoutDigest"].startswith("sha256:")
    assert got[f"sha256:{hexd(7)}"]["failures"]
    assert "no attestation" in got[f"sha256:{hexd(9)}"]["failures"][0]
    assert "passed               6" in out
    assert "failed               2" in out
    assert "no evidence          1" in out


def test_audit_all_and_resume(tree: Path, capsys) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    # A previous run that was killed: two results, then a line cut short.
    first = f"sha256:{hexd(1)}"
    code, _, _ = audit(capsys, tree, store, "--subjects", str(tree / "subjects.txt"))
    kept = [ln for ln in (tree / "results.jsonl").read_text().splitlines() if ln][:2]
    (tree / "results.jsonl").write_text("\n".join(kept) + '\n{"subject": "sha256:')
    code, out, _ = audit(capsys, tree, store, "--all")
    assert code == 1
    assert "(2 already in" in out
    got = results_tolerant(tree)
    # --all: every subject in the store (not 9, which has no evidence).
    assert set(got) == set(EXPECTED) - {f"sha256:{hexd(9)}"}
    assert got[first] == "pass"
    # Nothing left: a third run audits nothing and adds no line.
    size = (tree / "results.jsonl").stat().st_size
    code, out, _ = audit(capsys, tree, store, "--all")
    assert "(8 already in" in out
    assert (tree / "results.jsonl").stat().st_size == size


def results_tolerant(tree: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (tree / "results.jsonl").read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        assert doc["subject"] not in out
        out[doc["subject"]] = doc["verdict"]
    return out


def test_audit_vsa_per_passing_subject(tree: Path, capsys) -> None:
    from intoto_policy.sources._outputs import write_new_file

    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    verifier = generate_private_key("ed25519")
    write_new_file(tree / "vsa.key", verifier.private_pem())
    audit(
        capsys, tree, store, "--subjects", str(tree / "subjects.txt"),
        "--vsa-key", str(tree / "vsa.key"), "--vsa-verifier-id", "https://example.com/v",
    )  # fmt: skip
    for subject, doc in results(tree).items():
        if doc["verdict"] != "pass":
            assert "vsa" not in doc
            continue
        env = Envelope.from_dict(doc["vsa"])
        assert env.verified_keys([verifier.public_key])
        stmt = json.loads(env.payload)
        assert stmt["predicate"]["verificationResult"] == "PASSED"
        assert stmt["predicate"]["verifier"]["id"] == "https://example.com/v"
        assert f"sha256:{stmt['subject'][0]['digest']['sha256']}" == subject


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--all", "--ray-address", "x"], "--engine ray only", id="ray-address-local"),
        pytest.param(["--all", "--passphrase-env", "X"], "--vsa-key only", id="passphrase-no-key"),
        pytest.param(["--subjects", "{tree}/bad-subjects.txt"], "bad-subjects.txt:2", id="bad-line"),
        pytest.param(["--all", "--output", "{tree}/layout.json"], "is an input", id="output-is-input"),
        pytest.param(["--all", "--output", "{tree}/other.jsonl"], "another layout", id="other-layout"),
    ],
)  # fmt: skip
def test_audit_errors(tree: Path, capsys, extra: list[str], message: str) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    (tree / "bad-subjects.txt").write_text(f"sha256:{hexd(1)}\nsha256:nothex\n")
    (tree / "other.jsonl").write_text(
        json.dumps({"subject": "sha256:" + hexd(1), "verdict": "pass", "layoutDigest": "x"}) + "\n"
    )
    extra = [a.replace("{tree}", str(tree)) for a in extra]
    code, _, err = run(
        capsys, "audit", str(tree / "layout.json"), "--unsigned-layout", "--store", store,
        "--output", str(tree / "results.jsonl"), *extra,
    )  # fmt: skip
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_audit_at_is_recorded(tree: Path, capsys) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    audit(capsys, tree, store, "--all")
    assert {d["verifiedAt"] for d in results(tree).values()} == {AT}


def test_plain_verify_imports_no_store_driver(tree: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from intoto_policy.cli._main import main\n"
        f"rc = main(['verify', {str(tree / 'layout.json')!r}, '--unsigned-layout',\n"
        f"           '--attestations', {str(tree / 'atts')!r},\n"
        f"           '--subject-digest', 'sha256:{hexd(1)}', '--at', {AT!r}])\n"
        "loaded = [m for m in ('psycopg', 'ray', 'sqlite3', 'intoto_policy.store',\n"
        "                      'intoto_policy.audit') if m in sys.modules]\n"
        "print(rc, loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_verify_output_never_overwrites_the_store(
    tree: Path, capsys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Outside the layout's folder, which is refused as an output location anyway.
    store_file = tmp_path_factory.mktemp("db") / "store.db"
    ingest(capsys, f"sqlite:///{store_file}", tree)
    before = store_file.read_bytes()
    code, _, err = run(
        capsys,
        "verify", str(tree / "layout.json"), "--unsigned-layout", "--store",
        f"sqlite:///{store_file}", "--subject-digest", f"sha256:{hexd(1)}",
        "--output", str(store_file),
    )  # fmt: skip
    assert code == 2
    assert "is an input" in err
    assert store_file.read_bytes() == before


def test_audit_retries_subjects_that_errored(tree: Path, capsys) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    audit(capsys, tree, store, "--subjects", str(tree / "subjects.txt"))
    lines = (tree / "results.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    errored = {**first, "verdict": "error", "failures": ["store unreachable"]}
    (tree / "results.jsonl").write_text("\n".join([json.dumps(errored), *lines[1:]]) + "\n")
    _, out, _ = audit(capsys, tree, store, "--subjects", str(tree / "subjects.txt"))
    assert "(8 already in" in out
    last = json.loads((tree / "results.jsonl").read_text().splitlines()[-1])
    assert (last["subject"], last["verdict"]) == (first["subject"], first["verdict"])


def test_query_signer_kind_without_signer_is_refused(tree: Path, capsys) -> None:
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    args = ["store", "query", "--store", store, "--subject-digest", f"sha256:{hexd(1)}"]
    code, out, err = run(capsys, *args, "--signer-kind", "keyid")
    assert code == 2
    assert out == ""
    assert err == "intoto-policy: --signer-kind applies with --signer only\n"
