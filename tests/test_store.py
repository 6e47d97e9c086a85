"""The attestation store, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy import Envelope, generate_private_key
from intoto_policy._errors import InputError, UsageError
from intoto_policy.model._digests import DigestSet
from intoto_policy.store import (
    attestations_for,
    index_item,
    ingest_bytes,
    ingest_paths,
    open_store,
    parse_digest,
    stored_attestations,
)
from intoto_policy.store._schema import LATEST_VERSION
from tests._stores import postgres_server, store_url  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real-world" / "items"
AT = datetime(2026, 6, 1, tzinfo=UTC)
KEY = generate_private_key("ed25519")
OTHER = generate_private_key("ecdsa")
PROV = "https://slsa.dev/provenance/v1"
SBOM = "https://spdx.dev/Document"


def statement(sha256: str, ptype: str = PROV, sha512: str | None = None) -> dict:
    digest = {"sha256": sha256}
    if sha512:
        digest["sha512"] = sha512
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": digest}],
        "predicateType": ptype,
        "predicate": {"builder": "b1"},
    }


def envelope_bytes(sha256: str, ptype: str = PROV, key=KEY, sha512: str | None = None) -> bytes:
    env = Envelope.sign(
        json.dumps(statement(sha256, ptype, sha512)).encode(), "application/vnd.in-toto+json", [key]
    )
    # Odd spacing and key order: the store must keep these bytes as they are.
    doc = env.to_dict()
    return ("{  " + json.dumps(dict(reversed(list(doc.items()))))[1:]).encode()


def hexd(n: int, width: int = 64) -> str:
    return f"{n:0{width}x}"


@pytest.fixture
def store(store_url: str):  # noqa: F811
    with open_store(store_url, create=True) as s:
        yield s


def test_exact_bytes_kept_and_deduplicated(store, tmp_path: Path) -> None:
    data = envelope_bytes(hexd(1))
    (tmp_path / "a.json").write_bytes(data)
    first = ingest_paths(store, [tmp_path / "a.json"], ingested_at=AT)
    again = ingest_paths(store, [tmp_path / "a.json"], ingested_at=AT)
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (1, 0, 0, 1)
    [item] = stored_attestations(store, [{"sha256": hexd(1)}])
    assert item.body == data
    assert item.kind == "envelope"
    assert item.ingested_at == "2026-06-01T00:00:00.000000Z"
    assert store.counts()["attestations"] == 1


def test_json_lines_stored_line_by_line(store, tmp_path: Path) -> None:
    lines = [envelope_bytes(hexd(n)) for n in (1, 2, 3)]
    (tmp_path / "b.intoto.jsonl").write_bytes(b"\n".join(lines) + b"\n\n")
    result = ingest_paths(store, [tmp_path], ingested_at=AT)
    assert result.stored == 3
    for n, line in zip((1, 2, 3), lines, strict=True):
        [item] = stored_attestations(store, [{"sha256": hexd(n)}])
        assert item.body == line
        assert item.source.endswith(f"b.intoto.jsonl:{n}")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"sha256": hexd(1)}, {1, 2}, id="by-sha256"),
        pytest.param({"sha512": hexd(7, 128)}, {1}, id="by-sha512-of-the-same-subject"),
        pytest.param({"sha256": hexd(1), "predicate_type": SBOM}, {2}, id="predicate-type"),
        pytest.param({"sha256": hexd(1), "signer": KEY.keyid}, {1}, id="signer-keyid"),
        pytest.param({"sha256": hexd(1), "signer": OTHER.keyid}, {2}, id="other-signer"),
        pytest.param({"sha256": hexd(1), "signer": "nobody"}, set(), id="unknown-signer"),
        pytest.param(
            {"sha256": hexd(1), "signer": KEY.keyid, "signer_kind": "keyid"}, {1}, id="kind-keyid"
        ),
        pytest.param(
            {"sha256": hexd(1), "signer": KEY.keyid, "signer_kind": "identity"},
            set(),
            id="same-value-other-kind",
        ),
        pytest.param({"sha256": hexd(9)}, set(), id="unknown-subject"),
    ],
)
def test_indexes(store, query: dict, expected: set[int]) -> None:
    ingest_bytes(store, envelope_bytes(hexd(1), sha512=hexd(7, 128)), source="one", ingested_at=AT)
    ingest_bytes(store, envelope_bytes(hexd(1), SBOM, OTHER), source="two", ingested_at=AT)
    ingest_bytes(store, envelope_bytes(hexd(3)), source="three", ingested_at=AT)
    args = dict(query)
    ptype, signer = args.pop("predicate_type", None), args.pop("signer", None)
    kind = args.pop("signer_kind", None)
    found = stored_attestations(
        store, [args], predicate_type=ptype, signer=signer, signer_kind=kind
    )
    names = {"one": 1, "two": 2, "three": 3}
    assert {names[a.source] for a in found} == expected


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("path", "kind", "value"),
    [
        pytest.param(
            "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore",
            "issuer",
            "https://token.actions.githubusercontent.com",
            id="bundle-certificate-issuer",
        ),
        pytest.param(
            "02-slsaverifier-gha-generic-v1.2.1-legacy-dsse/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
            "issuer",
            "https://token.actions.githubusercontent.com",
            id="legacy-dsse-pem-cert-issuer",
        ),
    ],
)
def test_real_world_signers_indexed(store, path: str, kind: str, value: str) -> None:
    data = (CORPUS / path).read_bytes()
    ingest_bytes(store, data, source=path, ingested_at=AT)
    items = store.get(_all_digests(store))
    assert items, "nothing stored"
    assert any((kind, value) in a.signers for a in items)
    assert all(any(k == "identity" for k, _ in a.signers) for a in items)
    # Found again by its own subject digest, and by the claim of that kind only.
    alg, sub = items[0].subjects[0]
    assert stored_attestations(store, [{alg: sub}])
    assert stored_attestations(store, [{alg: sub}], signer=value, signer_kind=kind)
    other = "identity" if kind != "identity" else "issuer"
    assert not stored_attestations(store, [{alg: sub}], signer=value, signer_kind=other)


@pytest.mark.parametrize(
    ("signer", "kind"),
    [(None, "keyid"), ("x", "subject"), ("x", "")],
    ids=["kind-without-signer", "unknown-kind", "empty-kind"],
)
def test_signer_kind_misuse_is_refused(store, signer: str | None, kind: str) -> None:
    for subjects in ([{"sha256": hexd(1)}], []):
        with pytest.raises(UsageError):
            stored_attestations(store, subjects, signer=signer, signer_kind=kind)


def _all_digests(store) -> list[str]:
    return [row[0] for row in store._read("SELECT digest FROM attestations")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"not json at all", "JSON", id="not-json"),
        pytest.param(b'{"hello": "world"}', "not an attestation", id="not-an-attestation"),
        pytest.param(
            json.dumps(Envelope.sign(b"plain text", "text/plain", [KEY]).to_dict()).encode(),
            "not an in-toto Statement",
            id="envelope-without-statement",
        ),
        pytest.param(b'{"a": 1, "a": 2}', "duplicate", id="duplicate-keys"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, "deep", id="too-deep"),
    ],
)
def test_unparsable_inputs_recorded_as_rejected(
    store, tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    result = ingest_paths(store, [tmp_path / "bad.json"], ingested_at=AT)
    assert (result.stored, result.rejected) == (0, 1)
    [rejection] = store.rejections()
    assert reason.lower() in rejection.reason.lower()
    assert rejection.source.endswith("bad.json")


def test_oversized_file_recorded_as_rejected(store, tmp_path: Path) -> None:
    from intoto_policy.model._json import JSONLimits

    (tmp_path / "big.json").write_bytes(envelope_bytes(hexd(1)))
    result = ingest_paths(
        store, [tmp_path / "big.json"], ingested_at=AT, limits=JSONLimits(max_bytes=100)
    )
    assert result.rejected == 1
    assert "large" in store.rejections()[0].reason or "bytes" in store.rejections()[0].reason


def test_missing_path_is_an_error_before_any_write(store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        ingest_paths(store, [tmp_path / "nope"], ingested_at=AT)
    assert store.counts()["attestations"] == 0


def test_schema_version_recorded_and_newer_refused(store_url: str) -> None:  # noqa: F811
    with open_store(store_url, create=True) as store:
        assert store.version() == LATEST_VERSION
        store.begin_write()
        store._execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST_VERSION + 1,))
        store.commit()
    for create in (False, True):
        with pytest.raises(InputError, match="newer than this intoto-policy"):
            open_store(store_url, create=create)


def test_query_never_creates_a_store(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(InputError, match=r"no schema|no such store"):
        open_store(store_url)
    if store_url.startswith("sqlite"):
        assert not (tmp_path / "store.db").exists()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        pytest.param(lambda p: "mysql://x", UsageError, "expected sqlite", id="unknown-scheme"),
        pytest.param(lambda p: "no-scheme", UsageError, "expected sqlite", id="no-scheme"),
        pytest.param(lambda p: "sqlite:///", InputError, "file path", id="empty-path"),
        pytest.param(lambda p: f"sqlite:///{p}", InputError, "regular file", id="directory"),
        pytest.param(
            lambda p: f"sqlite:///{p / 'x.db'}", InputError, "not a database", id="not-sqlite"
        ),
        pytest.param(
            lambda p: "postgresql://u:hunter2@127.0.0.1:1/db",
            InputError,
            "cannot connect",
            id="unreachable-postgres-password-hidden",
        ),
    ],
)
def test_bad_store_urls(tmp_path: Path, make, error: type, match: str) -> None:
    (tmp_path / "x.db").write_bytes(b"this is not a database file, just text" * 10)
    with pytest.raises(error, match=match) as info:
        open_store(make(tmp_path), create=True)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param(f"sha256:{hexd(1)}", True, id="sha256"),
        pytest.param(f"sha512:{hexd(1, 128)}", True, id="sha512"),
        pytest.param("sha256", False, id="no-colon"),
        pytest.param("sha256:xyz", False, id="not-hex"),
        pytest.param(":abc", False, id="no-alg"),
    ],
)
def test_parse_digest(text: str, ok: bool) -> None:
    if ok:
        assert parse_digest(text) == DigestSet({text.split(":", maxsplit=1)[0]: text.split(":")[1]})
    else:
        with pytest.raises(UsageError):
            parse_digest(text)


def test_verify_from_store_matches_files(store, tmp_path: Path) -> None:
    from intoto_policy import Layout
    from intoto_policy.verifier._core import verify_attestations

    layout = Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {KEY.keyid: KEY.public_key.to_dict(camel=True)},
            "subjectSteps": ["build"],
            "steps": [
                {
                    "name": "build",
                    "expectedPredicates": [{"predicateType": PROV, "functionaries": [KEY.keyid]}],
                }
            ],
        },
        source="layout.json",
    )
    ingest_bytes(store, envelope_bytes(hexd(1)), source="a.json", ingested_at=AT)
    ingest_bytes(store, envelope_bytes(hexd(2)), source="b.json", ingested_at=AT)
    subject = DigestSet({"sha256": hexd(1)})
    evidence = attestations_for(store, [subject])
    assert len(evidence) == 1
    assert "[store sha256:" in evidence[0].source
    assert verify_attestations(layout, evidence, at=AT, subjects=(subject,)).passed
    other = DigestSet({"sha256": hexd(5)})
    no_evidence = attestations_for(store, [other])
    assert not verify_attestations(layout, no_evidence, at=AT, subjects=(other,)).passed


def _write_inputs(folder: Path, numbers: range) -> None:
    folder.mkdir(exist_ok=True)
    for n in numbers:
        (folder / f"{n}.json").write_bytes(envelope_bytes(hexd(n)))


_INGEST_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from intoto_policy.store import ingest_paths, open_store

    url, folder, stop_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    seen = 0

    def progress(n):
        global seen
        seen += n
        if seen == stop_at:
            # Mid-transaction: rows of this batch are written but not committed.
            print("ready", flush=True)
            sys.stdin.read()

    with open_store(url, create=True) as store:
        r = ingest_paths(store, [folder], ingested_at=datetime(2026, 6, 1, tzinfo=UTC),
                         batch_size=10, progress=progress)
        print(r.stored, r.duplicates, flush=True)
    """
)


def _child(url: str, folder: Path, stop_at: int = -1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _INGEST_CHILD, url, str(folder), str(stop_at)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def test_concurrent_ingest_loses_nothing(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    # Four processes, overlapping inputs: every item stored exactly once.
    ranges = [range(60), range(30, 90), range(60, 120), range(0, 120, 2)]
    folders = []
    for i, numbers in enumerate(ranges):
        folder = tmp_path / f"in{i}"
        _write_inputs(folder, numbers)
        folders.append(folder)
    # No store yet: the four also race to create and migrate the schema.
    procs = [_child(store_url, f) for f in folders]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1][-500:] for o in outs]
    stored = sum(int(o[0].split()[0]) for o in outs)
    assert stored == 120
    with open_store(store_url) as store:
        counts = store.counts()
        assert counts["attestations"] == 120
        assert counts["subjects"] == 120
        for n in range(120):
            assert len(stored_attestations(store, [{"sha256": hexd(n)}])) == 1


def test_killed_mid_ingest_leaves_store_consistent(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "in"
    _write_inputs(folder, range(35))
    proc = _child(store_url, folder, stop_at=25)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    with open_store(store_url) as store:
        if store_url.startswith("sqlite"):
            assert store._read("PRAGMA integrity_check")[0][0] == "ok"
        # Two whole batches committed, nothing of the third.
        assert store.counts()["attestations"] == 20
        for item in store.get(_all_digests(store)):
            again = index_item(item.body, source=item.source)
            assert item.subjects == tuple((a, v) for a, v, _ in again.subjects)
            assert item.predicate_types == again.predicate_types
            assert item.signers == again.signers
        # Running the ingest again completes it.
        result = ingest_paths(store, [folder], ingested_at=AT)
        assert (result.stored, result.duplicates) == (15, 20)
        assert store.counts()["attestations"] == 35


def _message_signature_bundle() -> bytes:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(b"artifact").digest()).decode()
    return json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "release-key"}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": digest},
                "signature": base64.b64encode(b"sig").decode(),
            },
        }
    ).encode()


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("path", "ptypes", "signer_kinds"),
    [
        pytest.param(
            "09-slsaverifier-npm-attestations/provenance-npm-test-ossf.tgz.json",
            2,
            {"keyid", "identity", "issuer", "fingerprint", "certificate"},
            id="npm-container-of-two-bundles",
        ),
        pytest.param(
            "16-sigstorego-npm-publish-keyed/bundle-publish.json", 1, {"keyid"}, id="keyed-bundle"
        ),
        pytest.param(
            "22-ghcli-artifact-attestations/custom-issuer.sigstore.json",
            1,
            {"identity", "issuer", "fingerprint", "certificate"},
            id="gh-artifact-attestation",
        ),
        pytest.param(
            "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.publish.attestation",
            1,
            {"identity", "issuer", "fingerprint", "certificate"},
            id="pep740-attestation",
        ),
        pytest.param(None, 0, {"keyid"}, id="message-signature-bundle"),
    ],
)
def test_bundles_indexed(store, path: str | None, ptypes: int, signer_kinds: set[str]) -> None:
    data = (CORPUS / path).read_bytes() if path else _message_signature_bundle()
    result = ingest_bytes(store, data, source=path or "message.sigstore.json", ingested_at=AT)
    assert result.stored == 1  # a container is one item: its exact bytes
    [item] = store.get(_all_digests(store))
    assert item.body == data
    assert item.kind == "bundle"
    assert len(item.predicate_types) == ptypes
    assert {kind for kind, _ in item.signers} == signer_kinds
    for alg, value in item.subjects:
        assert [a.digest for a in stored_attestations(store, [{alg: value}])] == [item.digest]
    assert attestations_for(store, [{alg: value}])


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda s: s.counts(), id="read"),
        pytest.param(lambda s: s.version(), id="version"),
        pytest.param(lambda s: s.commit(), id="commit"),
        pytest.param(
            lambda s: s.put([index_item(envelope_bytes(hexd(1)), source="x")], ingested_at="t"),
            id="put",
        ),
    ],
)
def test_closed_connection_is_an_input_error(store_url: str, action) -> None:  # noqa: F811
    store = open_store(store_url, create=True)
    store.close()
    with pytest.raises(InputError, match=r"cannot (read|write)"):
        action(store)
    store.close()  # idempotent


def test_put_batch_counts_duplicates_and_rejections(store) -> None:
    a = index_item(envelope_bytes(hexd(1)), source="a")
    b = index_item(envelope_bytes(hexd(2)), source="b")
    bad = index_item(b"[]", source="bad")
    first = store.put([a, b, bad, a], ingested_at="2026-06-01T00:00:00.000000Z")
    assert (first.stored, first.duplicates, first.rejected) == (2, 1, 1)
    again = store.put([b], ingested_at="2026-06-02T00:00:00.000000Z")
    assert (again.stored, again.duplicates) == (0, 1)
    assert [r.source for r in store.rejections()] == ["bad"]
    assert sorted(store.key_subjects()) == [("sha256", hexd(1)), ("sha256", hexd(2))]


def test_insert_after_failed_statement_reports_the_error(store) -> None:
    store.begin_write()
    with pytest.raises(InputError, match="cannot write"):
        store.insert(
            index_item(envelope_bytes(hexd(1)), source="a"),
            ingested_at=None,  # NOT NULL column
        )
    store.rollback()
    assert store.counts()["attestations"] == 0


def test_postgres_scheme_alias(postgres_server: str) -> None:  # noqa: F811
    from tests._stores import new_database

    url = new_database(postgres_server).replace("postgresql://", "postgres://", 1)
    with open_store(url, create=True) as store:
        assert store.version() == LATEST_VERSION
