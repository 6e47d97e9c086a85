"""Layouts distributed through TUF: a real repository, served over loopback HTTP.

The repository is made with the ``tuf`` commands, served by a real HTTP
server on 127.0.0.1 (a TUF repository is static files), and read by
``verify tuf:PATH``. Each attack changes what the server serves (or what
the repository signs) and must fail closed as a failed ``tuf`` check, never
as a pass and never by falling back to an unverified file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from intoto_policy import CheckKind, Status, verify
from intoto_policy.cli._demo_scenario import _ARTIFACT_BYTES, _evidence, _layout_text
from intoto_policy.cli._main import main
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.policy._tuf import TUFPolicySource, fetch_policy
from intoto_policy.policy._tuf._repository import _signer, _write_target
from intoto_policy.sources._files import load_private_key_file

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
AT_TEXT = "2026-11-01T12:00:00Z"
LATER = "2026-11-03T12:00:00Z"  # after the timestamp's 1-day expiry
LAYOUT = "policies/acme/layout.json"
DIGEST = hashlib.sha256(_ARTIFACT_BYTES).hexdigest()


class _RecordingHandler(SimpleHTTPRequestHandler):
    """Static files, no log lines; every requested path is recorded."""

    def __init__(self, *args: Any, requests: list[str], **kwargs: Any) -> None:
        self._requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@dataclass
class Server:
    """A static HTTP server on 127.0.0.1 over ``root``."""

    root: Path
    url: str
    httpd: ThreadingHTTPServer
    requests: list[str]

    def stop(self) -> None:
        if self.httpd.socket.fileno() != -1:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []
    handler = functools.partial(_RecordingHandler, directory=str(root), requests=requests)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    srv = Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd, requests)
    yield srv
    srv.stop()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@dataclass
class World:
    """Keys, evidence, a signed layout and a published repository."""

    tmp: Path
    repo: Path
    server: Server
    capsys: pytest.CaptureFixture[str]

    def key(self, name: str) -> Path:
        return self.tmp / "keys" / name

    def run(self, *argv: str | Path) -> tuple[int, str, str]:
        return _cli(self.capsys, *argv)

    def ok(self, *argv: str | Path) -> str:
        rc, out, err = self.run(*argv)
        assert rc == 0, err
        return out

    def sync(self) -> None:
        """Serve exactly what the repository holds now."""
        shutil.rmtree(self.server.root)
        shutil.copytree(self.repo, self.server.root)

    def publish(self) -> None:
        self.ok(
            "tuf", "publish", self.repo, "--at", AT_TEXT,
            "--snapshot-key", self.key("snapshot"),
            "--timestamp-key", self.key("timestamp1"), "--timestamp-key", self.key("timestamp2"),
        )  # fmt: skip
        self.sync()

    def sign_layout(self, owner: str, out: str) -> Path:
        path = self.tmp / out
        self.ok(
            "layout", "sign", self.tmp / "layout.yml", "--key", self.key(owner),
            "--at", AT_TEXT, "--out", path,
        )  # fmt: skip
        return path

    def add_layout(self, layout: Path, owner: str, name: str = LAYOUT, role: str = "acme") -> None:
        self.ok(
            "tuf", "add-layout", self.repo, layout, "--at", AT_TEXT, "--name", name,
            "--layout-key", self.key(f"{owner}.pub"), "--key", self.key(role), "--role", role,
        )  # fmt: skip

    def verify(
        self, target: str = LAYOUT, *extra: str | Path, cache: bool = True
    ) -> tuple[int, dict[str, Any]]:
        args: list[str | Path] = [
            "verify", f"tuf:{target}", "--tuf-url", self.server.url,
            "--tuf-root", self.tmp / "pinned-root.json", "--attestations", self.tmp / "evidence",
            "--subject-digest", f"sha256:{DIGEST}", "--format", "json",
        ]  # fmt: skip
        if cache:
            args += ["--tuf-cache", self.tmp / "cache"]
        if "--at" not in extra:
            args += ["--at", AT_TEXT]
        rc, out, err = self.run(*args, *extra)
        assert rc in (0, 1), err
        return rc, json.loads(out)

    def craft(self, role: str, path: str, data: bytes, custom: Any) -> None:
        """List a target in ``role`` directly, signed by the role's key (bypassing the tool's checks)."""
        from tuf.api.metadata import Metadata, TargetFile

        md = Metadata.from_file(str(self.repo / "metadata" / f"{role}.json"))
        target = TargetFile.from_data(path, data, ["sha256"])
        if custom is not None:
            target.unrecognized_fields["custom"] = custom
        md.signed.targets[path] = target
        md.signed.version += 1
        md.signatures.clear()
        md.sign(_signer(load_private_key_file(self.key(role))))
        raw = md.to_bytes()
        (self.repo / "metadata" / f"{md.signed.version}.{role}.json").write_bytes(raw)
        (self.repo / "metadata" / f"{role}.json").write_bytes(raw)
        _write_target(self.repo, path, data)
        self.publish()


@pytest.fixture
def world(tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]) -> World:
    w = World(tmp_path, tmp_path / "repo", server, capsys)
    (tmp_path / "keys").mkdir()
    for name in ("root", "targets", "snapshot", "timestamp1", "timestamp2", "acme", "beta", "owner", "owner2"):  # fmt: skip
        w.ok("keygen", "--type", "ecdsa" if name == "beta" else "ed25519", "--out", w.key(name))
    functionaries = {n: generate_private_key("ed25519") for n in ("ci", "builder", "scanner")}
    (tmp_path / "layout.yml").write_bytes(_layout_text(AT, functionaries))
    (tmp_path / "evidence").mkdir()
    for name, line in _evidence(AT, functionaries, DIGEST).items():
        (tmp_path / "evidence" / name).write_bytes(line)
    w.ok(
        "tuf", "init", w.repo, "--at", AT_TEXT,
        "--root-key", w.key("root"), "--targets-key", w.key("targets"),
        "--snapshot-key", w.key("snapshot"),
        "--timestamp-key", w.key("timestamp1"), "--timestamp-key", w.key("timestamp2"),
        "--timestamp-threshold", "2",
    )  # fmt: skip
    shutil.copy(w.repo / "metadata" / "1.root.json", tmp_path / "pinned-root.json")
    for role in ("acme", "beta"):
        w.ok(
            "tuf", "delegate", w.repo, "--at", AT_TEXT, "--role", role,
            "--paths", f"policies/{role}/*", "--key", w.key(f"{role}.pub"),
            "--targets-key", w.key("targets"),
        )  # fmt: skip
    w.add_layout(w.sign_layout("owner", "layout.signed.json"), "owner")
    beta = w.sign_layout("owner2", "beta-layout.signed.json")
    w.add_layout(beta, "owner2", "policies/beta/layout.json", "beta")
    w.publish()
    return w


def _tuf_check(report: dict[str, Any]) -> dict[str, Any]:
    checks = [c for c in report["checks"] if c["kind"] == "tuf"]
    assert len(checks) == 1, report["checks"]
    return checks[0]


def _assert_tuf_failure(rc: int, report: dict[str, Any], category: str, *fragments: str) -> None:
    assert rc == 1
    assert report["verdict"] == "fail"
    check = _tuf_check(report)
    assert check["status"] == "fail"
    assert check["details"]["category"] == category, check["message"]
    for fragment in fragments:
        assert fragment in check["message"]
    # Nothing was verified against an unverified layout.
    assert report["steps"] == []
    assert report["layout"]["digest"] == {}


# ---------------------------------------------------------------------------
# Happy paths


def test_layout_from_tuf_verifies(world: World) -> None:
    rc, report = world.verify()
    assert rc == 0, report["checks"]
    check = _tuf_check(report)
    assert check["status"] == "pass"
    served = world.tmp / "layout.signed.json"
    assert report["layout"]["digest"]["sha256"] == hashlib.sha256(served.read_bytes()).hexdigest()
    assert report["layout"]["source"] == f"tuf:{LAYOUT}"
    assert report["layout"]["signedBy"] == list(check["details"]["layoutKeys"].values())
    assert report["summary"]["stepsPassed"] == report["summary"]["steps"] > 0


def test_ecdsa_role_keys_work(world: World) -> None:
    # beta's role key is ECDSA P-256; its layout is signed by owner2.
    rc, report = world.verify("policies/beta/layout.json")
    assert rc == 0, report["checks"]
    owner2 = load_private_key_file(world.key("owner2")).public_key.keyid
    assert report["layout"]["signedBy"] == [owner2]


def test_delegated_threshold_of_two(world: World) -> None:
    world.ok("keygen", "--type", "ecdsa", "--out", world.key("acme2"))
    world.ok(
        "tuf", "delegate", world.repo, "--at", AT_TEXT, "--role", "acme",
        "--paths", "policies/acme/*", "--key", world.key("acme.pub"),
        "--key", world.key("acme2.pub"), "--threshold", "2", "--targets-key", world.key("targets"),
    )  # fmt: skip
    world.publish()
    # The role's metadata is still signed by one key: below its new threshold.
    rc, report = world.verify()
    _assert_tuf_failure(rc, report, "threshold", "threshold")
    layout = world.tmp / "layout.signed.json"
    one = ("tuf", "add-layout", world.repo, layout, "--at", AT_TEXT, "--role", "acme",
           "--name", LAYOUT, "--layout-key", world.key("owner.pub"), "--key", world.key("acme"))  # fmt: skip
    rc, _, err = world.run(*one)
    assert rc == 2
    assert "threshold" in err
    world.ok(*one, "--key", world.key("acme2"))
    world.publish()
    assert world.verify()[0] == 0


def test_file_mirror_needs_no_server(world: World) -> None:
    world.server.stop()
    rc, out, err = world.run(
        "verify", f"tuf:{LAYOUT}", "--tuf-url", world.repo.as_uri(), "--offline",
        "--tuf-root", world.tmp / "pinned-root.json", "--attestations", world.tmp / "evidence",
        "--subject-digest", f"sha256:{DIGEST}", "--at", AT_TEXT,
    )  # fmt: skip
    assert rc == 0, out + err
    assert "tuf" in out


def test_python_api_verify_with_a_tuf_source(world: World) -> None:
    source = TUFPolicySource.from_files(
        LAYOUT, url=world.server.url, root=world.tmp / "pinned-root.json"
    )
    report = verify(source, world.tmp / "evidence", at=AT, subject={"sha256": DIGEST})
    assert report.passed
    assert report.checks[0].kind is CheckKind.TUF
    assert report.checks[0].status is Status.PASS


def test_python_api_tuf_failure_is_a_report_not_an_exception(world: World) -> None:
    source = TUFPolicySource.from_files(
        "policies/acme/missing.json", url=world.server.url, root=world.tmp / "pinned-root.json"
    )
    report = verify(source, world.tmp / "evidence", at=AT, subject={"sha256": DIGEST})
    assert not report.passed
    assert [c.kind for c in report.failures] == [CheckKind.TUF]
    assert report.subjects == ({"sha256": DIGEST},)


# ---------------------------------------------------------------------------
# Attacks: each fails closed with its own reason, as a failed tuf check


def _swap_layout(world: World) -> None:
    # A layout signed by the real owner, but not the one TUF lists.
    evil = world.sign_layout("owner", "evil.signed.json")
    evil.write_bytes(evil.read_bytes().replace(b'"payloadType"', b'"payloadType" ', 1))
    for target in (world.server.root / "targets" / "policies" / "acme").glob("*.layout.json"):
        target.write_bytes(evil.read_bytes())


def _alter_layout(world: World) -> None:
    # Same length, one byte different: only the signed hash can tell.
    for target in (world.server.root / "targets" / "policies" / "acme").glob("*.layout.json"):
        data = bytearray(target.read_bytes())
        data[-3] = ord("A") if data[-3] != ord("A") else ord("B")
        target.write_bytes(bytes(data))


def _swap_key(world: World) -> None:
    # The owner-key target replaced by the attacker's key.
    for target in (world.server.root / "targets" / "policies" / "acme").glob("*.pub"):
        target.write_bytes((world.key("owner2.pub")).read_bytes())


def _rollback(world: World) -> None:
    old = world.tmp / "old-served"
    shutil.copytree(world.server.root, old)
    world.add_layout(world.sign_layout("owner", "layout-v2.signed.json"), "owner")
    world.publish()
    rc, _ = world.verify()  # the client has now seen the newer versions
    assert rc == 0
    shutil.rmtree(world.server.root)
    shutil.copytree(old, world.server.root)


def _mix_and_match(world: World) -> None:
    # Current timestamp and snapshot, but an older (validly signed) acme role.
    world.add_layout(world.sign_layout("owner", "layout-v2.signed.json"), "owner")
    world.publish()
    md = world.server.root / "metadata"
    (md / "2.acme.json").write_bytes((md / "1.acme.json").read_bytes())


def _below_threshold(world: World) -> None:
    path = world.server.root / "metadata" / "timestamp.json"
    doc = json.loads(path.read_bytes())
    assert len(doc["signatures"]) == 2
    doc["signatures"] = doc["signatures"][:1]
    path.write_text(json.dumps(doc))


def _forged_signature(world: World) -> None:
    path = world.server.root / "metadata" / "timestamp.json"
    doc = json.loads(path.read_bytes())
    doc["signed"]["version"] += 1  # a "newer" timestamp nobody signed
    path.write_text(json.dumps(doc))


def _hostile_timestamp(content: bytes) -> Callable[[World], None]:
    def serve(world: World) -> None:
        (world.server.root / "metadata" / "timestamp.json").write_bytes(content)

    return serve


def _server_down(world: World) -> None:
    world.server.stop()


ATTACKS: dict[str, tuple[Callable[[World], None], tuple[str, ...], str, tuple[str, ...]]] = {
    "arbitrary-layout-swapped-in": (_swap_layout, (), "mismatch", ("swapped",)),
    "layout-altered-same-length": (_alter_layout, (), "mismatch", ("does not match",)),
    "layout-key-swapped-in": (_swap_key, (), "mismatch", ("swapped",)),
    "rollback-to-older-layout": (_rollback, (), "rollback", ("rollback",)),
    "freeze-expired-timestamp": (lambda w: None, ("--at", LATER), "freeze", ("expired",)),
    "mix-and-match-metadata": (_mix_and_match, (), "rollback", ("mix-and-match",)),
    "timestamp-below-threshold": (_below_threshold, (), "threshold", ("threshold", "1/2")),
    "timestamp-forged": (_forged_signature, (), "threshold", ("threshold",)),
    "server-down-cold-cache": (_server_down, (), "download", ("could not be reached",)),
    "hostile-timestamp-oversized": (
        _hostile_timestamp(b" " * 1_000_000),
        (),
        "mismatch",
        ("size limit",),
    ),
    "hostile-timestamp-deeply-nested": (
        _hostile_timestamp(b"[" * 16_000),
        (),
        "metadata",
        ("metadata was rejected",),
    ),
    "hostile-timestamp-not-json": (_hostile_timestamp(b"\xff\xfe"), (), "metadata", ()),
}


@pytest.mark.parametrize("name", list(ATTACKS), ids=list(ATTACKS))
def test_attack_fails_closed_as_a_tuf_check(world: World, name: str) -> None:
    attack, extra, category, fragments = ATTACKS[name]
    attack(world)
    rc, report = world.verify(LAYOUT, *extra)
    _assert_tuf_failure(rc, report, category, *fragments)


def test_missing_target(world: World) -> None:
    rc, report = world.verify("policies/acme/nothing.json")
    _assert_tuf_failure(rc, report, "missing-target", "no such target")


def test_one_key_under_two_key_ids_counts_once(world: World) -> None:
    # The acme delegation lists the acme key twice (threshold 2) and the
    # acme metadata carries its one signature under both ids: python-tuf
    # alone would count two signatures.
    from securesystemslib.signer import Signature, SSlibKey
    from tuf.api.metadata import Metadata

    md_dir = world.repo / "metadata"
    top = Metadata.from_file(str(md_dir / "targets.json"))
    delegations = top.signed.delegations
    assert delegations is not None
    assert delegations.roles is not None
    role = delegations.roles["acme"]
    kid = role.keyids[0]
    key = delegations.keys[kid]
    twin = "f" * 64
    delegations.keys[twin] = SSlibKey(twin, key.keytype, key.scheme, dict(key.keyval))
    role.keyids.append(twin)
    role.threshold = 2
    top.signed.version += 1
    top.signatures.clear()
    top.sign(_signer(load_private_key_file(world.key("targets"))))
    acme = Metadata.from_file(str(md_dir / "acme.json"))
    acme.signed.version += 1
    acme.signatures.clear()
    acme.sign(_signer(load_private_key_file(world.key("acme"))))
    acme.signatures[twin] = Signature(twin, acme.signatures[kid].signature)
    for md, name in ((top, "targets"), (acme, "acme")):
        raw = md.to_bytes()
        (md_dir / f"{md.signed.version}.{name}.json").write_bytes(raw)
        (md_dir / f"{name}.json").write_bytes(raw)
    world.publish()
    rc, report = world.verify()
    _assert_tuf_failure(rc, report, "threshold", "several key ids")


# ---------------------------------------------------------------------------
# Delegations per project


def test_tool_refuses_a_role_publishing_outside_its_paths(world: World) -> None:
    rc, _, err = world.run(
        "tuf", "add-layout", world.repo, world.tmp / "layout.signed.json", "--at", AT_TEXT,
        "--name", LAYOUT, "--layout-key", world.key("owner.pub"), "--key", world.key("beta"),
        "--role", "beta",
    )  # fmt: skip
    assert rc == 2
    assert "outside the paths delegated to role 'beta'" in err


@pytest.mark.parametrize(
    ("target", "expect_pass"),
    [(LAYOUT, True), ("policies/acme/other.json", False)],
    ids=["acme-layout-still-acmes", "beta-only-listing-not-found"],
)
def test_client_ignores_a_role_listing_outside_its_paths(
    world: World, target: str, expect_pass: bool
) -> None:
    # beta's maintainers sign metadata listing acme paths (bypassing the tool).
    evil = world.sign_layout("owner2", "evil.signed.json")
    custom = {"in-toto": {"layoutKeys": ["policies/beta/x.pub"]}}
    world.craft("beta", LAYOUT, evil.read_bytes(), custom)
    world.craft("beta", "policies/acme/other.json", evil.read_bytes(), custom)
    rc, report = world.verify(target)
    if expect_pass:
        assert rc == 0
        good = hashlib.sha256((world.tmp / "layout.signed.json").read_bytes()).hexdigest()
        assert report["layout"]["digest"]["sha256"] == good
    else:
        _assert_tuf_failure(rc, report, "missing-target")


# ---------------------------------------------------------------------------
# Layout key rotation and revocation


@pytest.fixture
def rotated(world: World) -> World:
    """owner's key is compromised: the layout is re-signed by owner2, owner revoked."""
    world.verify()  # a client that knew the old state
    (world.tmp / "before-rotation").mkdir()
    shutil.copytree(world.server.root, world.tmp / "before-rotation", dirs_exist_ok=True)
    world.add_layout(world.sign_layout("owner2", "layout-owner2.signed.json"), "owner2")
    world.publish()
    return world


def test_rotated_layout_verifies_with_the_new_key(rotated: World) -> None:
    rc, report = rotated.verify()
    assert rc == 0
    owner2 = load_private_key_file(rotated.key("owner2")).public_key.keyid
    assert report["layout"]["signedBy"] == [owner2]


def test_revoked_key_target_is_gone(rotated: World) -> None:
    owner = load_private_key_file(rotated.key("owner")).public_key.keyid
    rc, report = rotated.verify(f"policies/acme/{owner}.pub")
    _assert_tuf_failure(rc, report, "missing-target")


@pytest.mark.parametrize(
    "attack",
    ["old-layout-served", "old-repository-served", "old-layout-relisted-under-new-key"],
)
def test_layout_signed_by_a_revoked_key_fails(rotated: World, attack: str) -> None:
    if attack == "old-layout-served":
        old = (rotated.tmp / "layout.signed.json").read_bytes()
        for target in (rotated.server.root / "targets" / "policies" / "acme").glob("*.layout.json"):
            target.write_bytes(old)
        rc, report = rotated.verify()
        _assert_tuf_failure(rc, report, "mismatch")
    elif attack == "old-repository-served":
        rotated.verify()
        shutil.rmtree(rotated.server.root)
        shutil.copytree(rotated.tmp / "before-rotation", rotated.server.root)
        rc, report = rotated.verify()
        _assert_tuf_failure(rc, report, "rollback")
    else:
        # Even relisted by the role, a layout the revoked key signed fails the
        # layout signature check: TUF now names only owner2's key.
        owner2 = load_private_key_file(rotated.key("owner2")).public_key.keyid
        custom = {"in-toto": {"layoutKeys": [f"policies/acme/{owner2}.pub"]}}
        rotated.craft("acme", LAYOUT, (rotated.tmp / "layout.signed.json").read_bytes(), custom)
        rc, report = rotated.verify()
        assert rc == 1
        assert _tuf_check(report)["status"] == "pass"
        assert [c["kind"] for c in report["checks"] if c["status"] == "fail"] == ["layout"]


def test_tool_refuses_a_layout_not_signed_by_its_keys(world: World) -> None:
    rc, _, err = world.run(
        "tuf", "add-layout", world.repo, world.tmp / "layout.signed.json", "--at", AT_TEXT,
        "--name", LAYOUT, "--layout-key", world.key("owner2.pub"), "--key", world.key("acme"),
        "--role", "acme",
    )  # fmt: skip
    assert rc == 2
    assert "not signed by key" in err


def test_tool_refuses_signatures_below_threshold(world: World) -> None:
    rc, _, err = world.run(
        "tuf", "publish", world.repo, "--at", AT_TEXT, "--snapshot-key", world.key("snapshot"),
        "--timestamp-key", world.key("timestamp1"),
    )  # fmt: skip
    assert rc == 2
    assert "threshold" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["tuf", "init", "{repo}", "--root-key", "{keys}/root", "--targets-key", "{keys}/targets",
          "--snapshot-key", "{keys}/snapshot", "--timestamp-key", "{keys}/timestamp1"],
         "already holds a TUF repository"),
        (["tuf", "init", "{tmp}/new", "--root-key", "{keys}/root", "--targets-key", "{keys}/targets",
          "--snapshot-key", "{keys}/snapshot", "--timestamp-key", "{keys}/timestamp1",
          "--timestamp-threshold", "2"],
         "--timestamp-threshold 2: needs 1..1"),
        (["tuf", "delegate", "{repo}", "--role", "targets", "--paths", "x/*",
          "--key", "{keys}/acme.pub", "--targets-key", "{keys}/targets"],
         "not a top-level role name"),
        (["tuf", "delegate", "{repo}", "--role", "gamma", "--paths", "../x/*",
          "--key", "{keys}/acme.pub", "--targets-key", "{keys}/targets"],
         "use a relative pattern"),
        (["tuf", "delegate", "{repo}", "--role", "gamma", "--paths", "policies/gamma/*",
          "--key", "{keys}/acme.pub", "--targets-key", "{keys}/acme"],
         "threshold"),
        (["tuf", "add-layout", "{repo}", "{tmp}/layout.signed.json", "--role", "gamma",
          "--name", "policies/gamma/layout.json", "--layout-key", "{keys}/owner.pub",
          "--key", "{keys}/acme"],
         "not delegated"),
        (["tuf", "add-layout", "{repo}", "{tmp}/layout.signed.json", "--role", "acme",
          "--name", "policies/acme/../x.json", "--layout-key", "{keys}/owner.pub",
          "--key", "{keys}/acme"],
         "target path"),
        (["tuf", "add-layout", "{repo}", "{tmp}/layout.yml", "--role", "acme",
          "--name", LAYOUT, "--layout-key", "{keys}/owner.pub", "--key", "{keys}/acme"],
         "publish a signed layout"),
        (["tuf", "add-layout", "{repo}", "{tmp}/layout.signed.json", "--role", "acme",
          "--name", LAYOUT, "--layout-key", "{keys}/owner.pub", "--layout-key", "{keys}/owner.pub",
          "--key", "{keys}/acme"],
         "given twice"),
        (["tuf", "add-layout", "{repo}", "{tmp}/layout.signed.json", "--role", "acme",
          "--name", LAYOUT, "--layout-key", "{keys}/owner.pub", "--key", "{keys}/beta"],
         "threshold"),
        (["tuf", "publish", "{tmp}/nowhere", "--snapshot-key", "{keys}/snapshot",
          "--timestamp-key", "{keys}/timestamp1"],
         "no root metadata"),
        (["tuf", "publish", "{repo}", "--snapshot-key", "{keys}/snapshot",
          "--timestamp-key", "{keys}/timestamp1", "--timestamp-key", "{keys}/timestamp2",
          "--at", "2026-11-01T12:00:00Z", "--timestamp-expires", "2026-11-01T00:00:00Z"],
         "is not after"),
    ],
    ids=["init-twice", "threshold-above-keys", "top-level-role-name", "path-escape",
         "wrong-targets-key", "role-not-delegated", "bad-target-path", "unsigned-layout", "layout-key-twice", "wrong-role-key",
         "not-a-repository", "expiry-in-the-past"],
)  # fmt: skip
def test_repository_commands_refuse(world: World, argv: list[str], fragment: str) -> None:
    before = sorted(world.repo.rglob("*"))
    fill = {"repo": world.repo, "keys": world.tmp / "keys", "tmp": world.tmp}
    rc, out, err = world.run(*(a.format(**fill) for a in argv))
    assert rc == 2
    assert out == ""
    assert fragment in err
    assert len(err.splitlines()) == 1
    assert sorted(world.repo.rglob("*")) == before  # a refusal writes nothing


# ---------------------------------------------------------------------------
# Custom metadata naming the layout keys


@pytest.mark.parametrize(
    ("custom", "fragment"),
    [
        (None, "no custom 'in-toto' object"),
        ({"in-toto": {"layoutKeys": []}}, "non-empty list"),
        ({"in-toto": {"layoutKeys": ["policies/acme/k.pub"], "x": 1}}, "unknown field"),
        ({"in-toto": {"layoutKeys": ["../k.pub"]}}, "target path"),
    ],
    ids=["absent", "empty", "unknown-field", "bad-path"],
)
def test_bad_custom_metadata_fails_closed(world: World, custom: Any, fragment: str) -> None:
    world.craft("acme", LAYOUT, (world.tmp / "layout.signed.json").read_bytes(), custom)
    rc, report = world.verify()
    _assert_tuf_failure(rc, report, "custom-metadata", fragment)


# ---------------------------------------------------------------------------
# Offline


def test_offline_with_a_warm_cache_passes_while_the_server_is_down(world: World) -> None:
    assert world.verify()[0] == 0
    world.server.stop()
    rc, report = world.verify(LAYOUT, "--offline")
    assert rc == 0
    assert _tuf_check(report)["details"]["offline"] is True


@pytest.mark.parametrize(
    ("extra", "category"),
    [((), "download"), (("--at", LATER), "freeze")],
    ids=["cold-cache", "warm-cache-but-expired"],
)
def test_offline_fails_closed(world: World, extra: tuple[str, ...], category: str) -> None:
    if extra:
        assert world.verify()[0] == 0
    else:
        (world.tmp / "cache").mkdir()
    world.server.stop()
    rc, report = world.verify(LAYOUT, "--offline", *extra)
    _assert_tuf_failure(rc, report, category)


def test_offline_never_touches_the_network(world: World) -> None:
    assert world.verify()[0] == 0
    assert world.server.requests  # online, the server was asked
    world.server.requests.clear()
    rc, _ = world.verify(LAYOUT, "--offline")
    assert rc == 0
    assert world.server.requests == []  # the server is up, and was not asked


# ---------------------------------------------------------------------------
# Usage


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["verify", "layout.json", "--tuf-url", "http://127.0.0.1:1"], "apply to a tuf:"),
        (["verify", "layout.json", "--offline"], "apply to a tuf:"),
        (["verify", f"tuf:{LAYOUT}", "--attestations", "."], "needs --tuf-url and --tuf-root"),
        (
            ["verify", f"tuf:{LAYOUT}", "--tuf-url", "http://127.0.0.1:1", "--tuf-root", "r.json",
             "--attestations", ".", "--layout-key", "k.pub"],
            "--layout-key: not supported for tuf:",
        ),
        (
            ["verify", f"tuf:{LAYOUT}", "--tuf-url", "http://127.0.0.1:1", "--tuf-root", "r.json"],
            "needs --attestations",
        ),
    ],
    ids=["url-without-tuf-layout", "offline-without-tuf-layout", "missing-url-and-root",
         "layout-key-given", "no-attestations"],
)  # fmt: skip
def test_flags_that_do_not_apply_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    rc, out, err = _cli(capsys, *argv)
    assert rc == 2
    assert out == ""
    assert fragment in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--tuf-url", "ftp://127.0.0.1/"], "http(s):// or file://"),
        (["--offline"], "--offline needs --tuf-cache"),
        (["--tuf-cache", "{tmp}/layout.yml"], "not a directory"),
        (["--tuf-root", "{tmp}/evidence/clone.intoto.jsonl"], "clone.intoto.jsonl: not TUF root"),
        (["--tuf-root", "{tmp}/layout.yml"], "layout.yml"),
        (["--tuf-root", "{tmp}/dup-root.json"], "duplicate"),
        (["--tuf-root", "{tmp}/missing.json"], "missing.json"),
    ],
    ids=["bad-scheme", "offline-http-without-cache", "cache-not-a-directory", "root-is-not-root", "root-not-json",
         "root-duplicate-keys", "root-missing"],
)  # fmt: skip
def test_unusable_tuf_sources_are_usage_errors(
    world: World, extra: list[str], fragment: str
) -> None:
    (world.tmp / "dup-root.json").write_text('{"signed": {"_type": "root"}, "signed": {}}')
    rc, out, err = world.run(
        "verify", f"tuf:{LAYOUT}", "--tuf-url", world.server.url,
        "--tuf-root", world.tmp / "pinned-root.json",
        "--attestations", world.tmp / "evidence",
        *(e.format(tmp=world.tmp) for e in extra),
    )  # fmt: skip
    assert rc == 2
    assert out == ""
    assert fragment in err
    assert len(err.splitlines()) == 1
    assert world.server.requests == []  # refused before anything was fetched


def test_plain_verify_does_not_import_tuf(world: World) -> None:
    code = (
        "import sys\n"
        "from intoto_policy.cli._main import main\n"
        f"rc = main(['verify', {str(world.tmp / 'layout.signed.json')!r}, '--layout-key', "
        f"{str(world.key('owner.pub'))!r}, '--attestations', {str(world.tmp / 'evidence')!r}, "
        f"'--subject-digest', 'sha256:{DIGEST}', '--at', '{AT_TEXT}'])\n"
        "assert rc == 0, rc\n"
        "loaded = sorted(m for m in sys.modules if m == 'tuf' or m.startswith('tuf.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_fetch_policy_reports_versions(world: World) -> None:
    source = TUFPolicySource.from_files(
        LAYOUT, url=world.server.url, root=world.tmp / "pinned-root.json"
    )
    result = fetch_policy(source, at=AT)
    assert result.ok
    assert result.checks[0].details["versions"]["timestamp"] == 2
    assert len(result.layout_keys) == 1


# ---------------------------------------------------------------------------
# verify tuf: shares the post-load checks and the evidence gathering of a layout file

TRUSTED_ROOT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/corpus/real-world/trust/sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
)

TUF_FLAG_CASES = {
    # name: (extra arguments, fragment of the one-line error)
    "param-never-used": (["--param", "never_used=1"], "never uses parameter 'never_used'"),
    "trusted-root-for-a-key-only-layout": (
        ["--trusted-root", str(TRUSTED_ROOT)],
        "--trusted-root: the layout names no Sigstore",
    ),
    "from-is-fetched-not-ignored": (
        ["--from", "file:{tmp}/missing.jsonl"],
        "file:{tmp}/missing.jsonl",
    ),
    "timeout-without-from": (["--timeout", "5"], "--timeout: only apply with --from"),
    "source-timeout-without-from": (
        ["--source-timeout", "5"],
        "--source-timeout: only apply with --from",
    ),
    "retries-without-from": (["--retries", "1"], "--retries: only apply with --from"),
    "layout-key": (["--layout-key", "{tmp}/keys/owner.pub"], "--layout-key: not supported"),
    "unsigned-layout": (["--unsigned-layout"], "--unsigned-layout: not supported"),
    "gpg": (["--gpg", "ABCD"], "--gpg: not supported"),
    "gpg-home-without-gpg": (["--gpg-home", "{tmp}"], "--gpg-home: only used with --gpg"),
    "run-inspections": (["--run-inspections"], "--run-inspections: not supported"),
    "color-with-json": (["--color", "always"], "--color: only used with --format text"),
    "vsa-key-without-vsa": (["--vsa-key", "{tmp}/keys/owner"], "--vsa-key: only used"),
}


@pytest.mark.parametrize(
    ("extra", "fragment"), list(TUF_FLAG_CASES.values()), ids=list(TUF_FLAG_CASES)
)
def test_tuf_layout_refuses_inapplicable_flags(
    world: World, extra: list[str], fragment: str
) -> None:
    # Without the flag the command passes: the refusal below is the flag's doing.
    assert world.verify()[0] == 0
    base = [
        "verify", f"tuf:{LAYOUT}", "--tuf-url", world.server.url,
        "--tuf-root", world.tmp / "pinned-root.json", "--attestations", world.tmp / "evidence",
        "--subject-digest", f"sha256:{DIGEST}", "--at", AT_TEXT, "--format", "json",
    ]  # fmt: skip
    rc, out, err = world.run(*base, *(e.format(tmp=world.tmp) for e in extra))
    assert rc == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1
    assert fragment.format(tmp=world.tmp) in err


@pytest.mark.parametrize("fetched", [True, False], ids=["with-from", "without-from"])
def test_tuf_layout_verifies_evidence_from_sources(world: World, fetched: bool) -> None:
    (world.tmp / "empty").mkdir()
    files = sorted((world.tmp / "evidence").iterdir())
    sources = [a for f in files for a in ("--from", f"file:{f}")] if fetched else []
    rc, out, err = world.run(
        "verify", f"tuf:{LAYOUT}", "--tuf-url", world.server.url,
        "--tuf-root", world.tmp / "pinned-root.json", "--attestations", world.tmp / "empty",
        "--subject-digest", f"sha256:{DIGEST}", "--at", AT_TEXT, "--format", "json", *sources,
    )  # fmt: skip
    report = json.loads(out)
    # The fetched items are what makes it pass, and each source is recorded.
    assert rc == (0 if fetched else 1), err
    assert [s["source"] for s in report.get("sources", [])] == [
        f"file:{f}" for f in files if fetched
    ]
