"""The local engine: any number of processes, with or without the coordinator auditing, same results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intoto_policy._errors import InputError
from intoto_policy.audit import AuditConfig, AuditContext, run_local
from intoto_policy.audit._local import MAX_BATCH, _Helper, batch_size
from tests.test_cli_store import EXPECTED, ingest, tree  # noqa: F401

# Each subject many times: the list outlasts a helper's start, so helpers audit some too.
REPEAT = 60


@pytest.fixture
def store(tree: Path, capsys: pytest.CaptureFixture[str]) -> str:  # noqa: F811
    """The tree's store with its evidence ingested (pass, fail and no-evidence subjects)."""
    url = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, url, tree)
    return url


def _config(tree: Path, store: str, layout: bytes | None = None) -> AuditConfig:  # noqa: F811
    return AuditConfig(
        layout_path=str(tree / "layout.json"),
        layout_data=layout if layout is not None else (tree / "layout.json").read_bytes(),
        store_url=store,
        at=datetime(2026, 6, 1, tzinfo=UTC),
        allow_unsigned=True,
        vsa=True,
    )


@contextmanager
def _ready_helper(config: AuditConfig, *, finished: bool = True) -> Iterator[_Helper]:
    """A started helper that said it is ready; stopped (asked, or at once) afterwards."""
    helper = _Helper(config)
    try:
        assert helper.receive() == ("ready",)
        yield helper
    finally:
        helper.stop(finished=finished)


def _lines(config: AuditConfig, subjects: list[str], **options: Any) -> list[str]:
    out: list[str] = []
    run_local(
        config,
        subjects,
        on_result=lambda r: out.append(json.dumps(r, sort_keys=True)),
        **options,
    )
    return sorted(out)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"workers": 2}, id="2-workers-coordinator-audits"),
        pytest.param({"workers": 3}, id="3-workers-coordinator-audits"),
        pytest.param({"workers": 1, "coordinator_audits": False}, id="1-worker-in-process"),
        pytest.param({"workers": 2, "coordinator_audits": False}, id="2-helpers-only"),
        pytest.param({"workers": 2, "with_context": True}, id="2-workers-given-context"),
    ],
)
def test_every_process_count_gives_the_lines_of_one(
    tree: Path,  # noqa: F811
    store: str,
    options: dict[str, Any],
) -> None:
    config = _config(tree, store)
    subjects = list(EXPECTED) * REPEAT
    one = _lines(config, subjects, workers=1)
    # Passing, failing and no-evidence subjects, each audited every time.
    verdicts = [json.loads(line)["verdict"] for line in one]
    assert {v: verdicts.count(v) for v in set(verdicts)} == {
        "pass": 6 * REPEAT,
        "fail": 2 * REPEAT,
        "no-evidence": REPEAT,
    }
    if options.pop("with_context", False):
        context = AuditContext.build(config)
        try:
            assert _lines(config, subjects, context=context, **options) == one
        finally:
            context.close()
    else:
        assert _lines(config, subjects, **options) == one


@pytest.mark.parametrize(
    ("break_it", "coordinator_audits", "message"),
    [
        pytest.param("store", True, "no such store file", id="helper-store-missing"),
        pytest.param("layout", False, "layout.json", id="helper-layout-unreadable"),
        pytest.param("store", False, "no such store file", id="helpers-only-store-missing"),
    ],
)
def test_a_helper_that_cannot_build_its_context_is_an_input_error(
    tree: Path,  # noqa: F811
    store: str,
    break_it: str,
    coordinator_audits: bool,
    message: str,
) -> None:
    good = _config(tree, store)
    # The coordinator holds a good context; the helpers get a configuration they cannot use.
    bad = (
        _config(tree, f"sqlite:///{tree / 'missing.db'}")
        if break_it == "store"
        else _config(tree, store, layout=b"{")
    )
    context = AuditContext.build(good)
    # A short list: the coordinator may finish it before the helper starts;
    # the helper's failure is an error all the same.
    try:
        with pytest.raises(InputError) as caught:
            run_local(
                bad,
                list(EXPECTED),
                workers=2,
                on_result=lambda r: None,
                context=context,
                coordinator_audits=coordinator_audits,
            )
    finally:
        context.close()
    assert message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_a_helper_that_dies_is_an_input_error(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    with _ready_helper(_config(tree, store), finished=False) as helper:
        helper.process.kill()
        with pytest.raises(InputError, match="stopped unexpectedly"):
            helper.receive()


def test_ctrl_c_is_left_to_the_coordinator(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    import os
    import signal

    with _ready_helper(_config(tree, store)) as helper:
        assert helper.process.pid is not None
        os.kill(helper.process.pid, signal.SIGINT)
        # Still serving: the coordinator decides when helpers end.
        helper.put(list(EXPECTED)[:2])
        kind, results = helper.receive()
        assert kind == "results"
        assert [r["verdict"] for r in results] == ["pass", "pass"]
    helper.process.join(30)
    assert helper.process.exitcode == 0


def test_helpers_ready_beforehand_are_given_work(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    from intoto_policy.audit._local import _coordinate

    config = _config(tree, store)
    subjects = list(EXPECTED) * REPEAT
    out: list[str] = []
    with _ready_helper(config) as helper:
        helper.ready = True
        # No coordinator context: only the helper audits, so it must be sent work.
        _coordinate(
            None, subjects, [helper], 1, lambda r: out.append(json.dumps(r, sort_keys=True))
        )
    assert sorted(out) == _lines(config, subjects, workers=1)


def test_cli_two_workers_write_the_lines_of_one(
    tree: Path,  # noqa: F811
    store: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.test_cli_store import audit, results

    by_workers = {}
    for workers in ("1", "2"):
        code, out, err = audit(
            capsys, tree, store, "--subjects", str(tree / "subjects.txt"), "--workers", workers
        )
        assert code == 1, err
        assert "passed               6" in out
        by_workers[workers] = results(tree)
        (tree / "results.jsonl").unlink()
    assert by_workers["1"] == by_workers["2"]
    assert {s: d["verdict"] for s, d in by_workers["2"].items()} == EXPECTED


@pytest.mark.parametrize(
    ("remaining", "workers", "expected"),
    [
        pytest.param(100_000, 2, MAX_BATCH, id="long-list-capped"),
        pytest.param(200, 2, 50, id="half-a-share"),
        pytest.param(7, 2, 1, id="short-list"),
        pytest.param(1, 8, 1, id="last-subject"),
    ],
)
def test_batch_size(remaining: int, workers: int, expected: int) -> None:
    assert batch_size(remaining, workers) == expected


ROOT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/corpus/real-world/items/20-ghcli-sigstore-js-2.1.0/trusted_root.json"
)


@pytest.mark.skipif(not ROOT.is_file(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("root", "loaded"),
    [
        pytest.param(None, False, id="no-root"),
        pytest.param("corpus", True, id="real-root"),
        pytest.param(b"{}", None, id="not-a-root"),
    ],
)
def test_context_reads_a_given_trusted_root(
    tree: Path,  # noqa: F811
    store: str,
    root: bytes | str | None,
    loaded: bool | None,
) -> None:
    from dataclasses import replace

    data = ROOT.read_bytes() if root == "corpus" else root
    config = replace(
        _config(tree, store),
        trusted_root=(str(ROOT), data) if isinstance(data, bytes) else None,
    )
    if loaded is None:
        with pytest.raises(InputError):
            AuditContext.build(config)
        return
    context = AuditContext.build(config)
    try:
        assert (context.trusted_root is not None) is loaded
    finally:
        context.close()


# Run in a child process with a deadline: a regression here is a hang, and a
# hung test run would say nothing.
BIG_BATCHES = """
import sys
from datetime import UTC, datetime
from intoto_policy.audit import AuditConfig, run_local
layout, store, coordinator = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
config = AuditConfig(layout_path=layout, layout_data=open(layout, "rb").read(),
                     store_url=store, at=datetime(2026, 6, 1, tzinfo=UTC), allow_unsigned=True)
# Subjects of 200 KB each: one batch is far larger than a pipe's buffer.
subjects = [f"sha256:{i:064x}" + "0" * 200_000 for i in range(40)]
got = []
run_local(config, subjects, workers=2, on_result=got.append, coordinator_audits=coordinator)
print(len(got))
"""


@pytest.mark.parametrize("coordinator", ["yes", "no"], ids=["coordinator-audits", "helpers-only"])
def test_batches_larger_than_a_pipe_never_deadlock(
    tree: Path,  # noqa: F811
    store: str,
    coordinator: str,
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", BIG_BATCHES, str(tree / "layout.json"), store, coordinator],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["40"]


def test_a_helper_that_dies_between_batches_is_an_input_error(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    with _ready_helper(_config(tree, store), finished=False) as helper:
        helper.put(list(EXPECTED)[:1])
        assert helper.receive()[0] == "results"
        helper.process.kill()
        helper.process.join(30)

        def send_until_it_shows() -> None:
            for _ in range(64):  # the first sends may still fit in the socket buffer
                helper.put(list(EXPECTED) * 100)
            helper.receive()

        # Sending to a helper that is gone: the same one-line error as receiving.
        with pytest.raises(InputError, match="stopped unexpectedly"):
            send_until_it_shows()


def test_a_helper_that_cannot_start_is_one_line_exit_2(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    import resource
    import subprocess
    import sys

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12))  # room for a few helpers only

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "intoto_policy",
            "audit",
            str(tree / "layout.json"),
            "--unsigned-layout",
            "--store",
            store,
            "--all",
            "--workers",
            "30",
            "--output",
            str(tree / "out.jsonl"),
            "--at",
            "2026-06-01T00:00:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=few_files,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == "intoto-policy: cannot start an audit worker: Too many open files\n"
    assert "Traceback" not in done.stderr


def test_levels_no_vsa_could_declare_fail_before_any_subject(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    from intoto_policy._errors import IntotoPolicyError

    layout = json.loads((tree / "layout.json").read_bytes())
    layout["verifiedLevels"] = ["SLSA_BUILD_LEVEL_2", "SLSA_BUILD_LEVEL_3"]
    config = _config(tree, store, layout=json.dumps(layout).encode())
    for workers, coordinator in ((1, True), (2, False)):
        # In-process the UsageError itself; from a helper, its one line.
        with pytest.raises(IntotoPolicyError, match="track BUILD twice"):
            run_local(
                config,
                list(EXPECTED),
                workers=workers,
                on_result=lambda r: None,
                coordinator_audits=coordinator,
            )


def test_a_read_only_parameter_mapping_reaches_the_helpers(
    tree: Path,  # noqa: F811
    store: str,
) -> None:
    from dataclasses import replace
    from types import MappingProxyType

    config = replace(_config(tree, store), params=MappingProxyType({"unused": "x"}))
    subjects = list(EXPECTED) * 3
    assert _lines(config, subjects, workers=2, coordinator_audits=False) == _lines(
        config, subjects, workers=1
    )
