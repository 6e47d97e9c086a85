"""Attestation store and batch audit numbers (printed, never asserted).

Not a test. Run it from the repository root, one timing run at a time on a
shared machine (``flock /tmp/bench.lock ...``)::

    .venv/bin/python bench/bench_store.py                   # N = 20,000, audit 2,000
    .venv/bin/python bench/bench_store.py --audit-n 10000 --backend sqlite   # issue #14's audit
    .venv/bin/python bench/bench_store.py -n 1000000 --audit-n 10000 --case cheap
    .venv/bin/python bench/bench_store.py --backend postgresql

It signs N Ed25519 DSSE envelopes (one distinct subject each) into JSON
Lines files and, for the realistic case, 6 or 7 envelopes for each of
``--audit-n`` more subjects, then prints, per backend:

* ingest rate (items/s, whole ``ingest_paths`` including parsing and
  indexing) and the store's size on disk (SQLite: file + WAL; PostgreSQL:
  ``pg_database_size``);
* query latency by subject (``stored_attestations``), p50 and p99 over
  ``--queries`` random subjects;
* audits of ``--audit-n`` subjects, for two cases:

  - *cheap*: one Ed25519 attestation per subject, one step, one rule;
  - *realistic*: five steps about the subject (SLSA provenance, SPDX SBOM,
    vulnerability scan with maxAge, test result, a 2-of-3 maintainer
    release), 6 or 7 attestations per subject from 7 signers (ECDSA P-256
    and Ed25519), ``--decoys`` more listed keys that sign nothing; 2 % of
    the subjects have no evidence, 5 % a critical vulnerability, 3 % one
    approval only;

  each with 1 worker and 2 workers from a cold start (helper start
  included: the headline), 2 helpers with an idle coordinator (the
  previous design), and 1 and 2 workers warm (helpers started and context
  built beforehand); ``--repeat`` runs of each, taking turns, medians,
  ratios (the target on 2 cores is 1.7x), whether every run gave the same
  result lines, and the load average; then the Ray engine (2 actors, a
  local instance started per run) when Ray is installed;
* the peak resident memory of one worker after auditing 500 subjects.

PostgreSQL runs on a throwaway local cluster (as for the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope

AT = datetime(2026, 6, 1, tzinfo=UTC)
PROV = "https://slsa.dev/provenance/v1"


def _subject(n: int) -> str:
    return f"{n:064x}"


def make_inputs(folder: Path, n: int, key: Any, per_file: int = 10_000) -> float:
    start = time.perf_counter()
    for first in range(0, n, per_file):
        lines = []
        for i in range(first, min(n, first + per_file)):
            stmt = {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": f"pkg-{i}", "digest": {"sha256": _subject(i)}}],
                "predicateType": PROV,
                "predicate": {"builder": {"id": "https://ci.example.com/b@v1"}, "n": i},
            }
            env = Envelope.sign(json.dumps(stmt).encode(), INTOTO_PAYLOAD_TYPE, [key])
            lines.append(json.dumps(env.to_dict()))
        (folder / f"part-{first:08d}.intoto.jsonl").write_text("\n".join(lines) + "\n")
    return time.perf_counter() - start


def layout_file(folder: Path, key: Any) -> Path:
    doc = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {key.keyid: key.public_key.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": PROV,
                        "functionaries": [key.keyid],
                        "expectedAttributes": [
                            {"rule": "predicate.builder.id == 'https://ci.example.com/b@v1'"}
                        ],
                    }
                ],
            }
        ],
    }
    path = folder / "layout.json"
    path.write_text(json.dumps(doc))
    return path


def store_size(store: Any, url: str) -> int:
    if url.startswith("sqlite:///"):
        base = url.removeprefix("sqlite:///")
        files = (Path(base), Path(base + "-wal"))
        return sum(p.stat().st_size for p in files if p.exists())
    return int(store._read("SELECT pg_database_size(current_database())")[0][0])


def _peak_after(subjects: list[str]) -> int:
    """In a pool worker: audit, then the process's peak RSS in KiB."""
    from intoto_policy.audit import _local

    for s in subjects:
        _local._audit(s)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


# --------------------------------------------------------------------------
# The realistic case: several attestations per subject from several signers


BUILDER_ID = "https://ci.example.com/b@v1"
SPDX = "https://spdx.dev/Document"
VULNS = "https://in-toto.io/attestation/vulns/v0.2"
TESTS = "https://in-toto.io/attestation/test-result/v0.1"
RELEASE = "https://in-toto.io/attestation/release/v0.1"
PACKAGE = "pkg:pypi/example-app"
#: Subjects of the realistic case are numbered from here (apart from the cheap case's).
REAL_BASE = 1 << 200


def _real_subject(i: int) -> str:
    return _subject(REAL_BASE + i)


def realistic_keys(decoys: int) -> dict[str, Any]:
    """The signers (ECDSA P-256 and Ed25519) and ``decoys`` listed keys that sign nothing."""
    kinds = {
        "builder": "ecdsa",
        "sbom": "ed25519",
        "scanner": "ecdsa",
        "tester": "ed25519",
        "maintainer-1": "ed25519",
        "maintainer-2": "ecdsa",
        "maintainer-3": "ed25519",
    }
    keys = {name: generate_private_key(kind) for name, kind in kinds.items()}  # type: ignore[arg-type]
    for i in range(decoys):
        keys[f"other-{i}"] = generate_private_key("ecdsa" if i % 2 else "ed25519")
    return keys


def _real_plan(i: int) -> str:
    """What subject ``i`` of the realistic case gets (deterministic mix)."""
    r = i % 100
    if r < 2:
        return "no-evidence"  # never attested: the store holds nothing about it
    if r < 7:
        return "critical-vuln"  # the scan reports a critical vulnerability: fail
    if r < 10:
        return "one-approval"  # 1 of the 2 maintainer approvals needed: fail
    return "pass"


def _real_statements(i: int) -> list[tuple[str, dict[str, Any]]]:
    """(signer, statement) of every attestation about realistic subject ``i``."""
    plan = _real_plan(i)
    if plan == "no-evidence":
        return []
    subject = [{"name": f"example-app-{i}.tar.gz", "digest": {"sha256": _real_subject(i)}}]

    def stmt(ptype: str, predicate: dict[str, Any]) -> dict[str, Any]:
        return {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subject,
            "predicateType": ptype,
            "predicate": predicate,
        }

    findings: list[dict[str, Any]] = [
        {"id": f"CVE-2025-{1000 + k}", "severity": [{"method": "nvd", "score": "low"}]}
        for k in range(3)
    ]
    if plan == "critical-vuln":
        findings.append(
            {"id": "CVE-2025-9999", "severity": [{"method": "nvd", "score": "CRITICAL"}]}
        )
    out = [
        (
            "builder",
            stmt(
                PROV,
                {
                    "buildDefinition": {
                        "buildType": "https://ci.example.com/buildtypes/make@v1",
                        "externalParameters": {"target": "release", "n": i},
                        "resolvedDependencies": [
                            {
                                "uri": "git+https://example.com/app@refs/tags/v1",
                                "digest": {"gitCommit": f"{i:040x}"},
                            }
                        ],
                    },
                    "runDetails": {
                        "builder": {"id": BUILDER_ID},
                        "metadata": {"invocationId": f"https://ci.example.com/runs/{i}"},
                    },
                },
            ),
        ),
        (
            "sbom",
            stmt(
                SPDX,
                {
                    "spdxVersion": "SPDX-2.3",
                    "dataLicense": "CC0-1.0",
                    "SPDXID": "SPDXRef-DOCUMENT",
                    "name": f"example-app-{i}",
                    "documentNamespace": f"https://example.com/spdx/example-app-{i}",
                    "creationInfo": {
                        "created": "2026-05-30T08:13:00Z",
                        "creators": ["Tool: sbom-generator-1.0"],
                    },
                    "packages": [
                        {
                            "SPDXID": f"SPDXRef-Package-{k}",
                            "name": f"dependency-{k}",
                            "versionInfo": f"1.{k}.0",
                            "downloadLocation": "NOASSERTION",
                        }
                        for k in range(20)
                    ],
                },
            ),
        ),
        (
            "scanner",
            stmt(
                VULNS,
                {
                    "scanner": {
                        "uri": "https://scanner.example.net/scanner@4.2.0",
                        "db": {
                            "uri": "https://scanner.example.net/db",
                            "lastUpdate": "2026-05-31T06:00:00Z",
                        },
                        "result": findings,
                    },
                    "metadata": {
                        "scanStartedOn": "2026-05-31T09:25:00Z",
                        "scanFinishedOn": "2026-05-31T09:30:00Z",
                    },
                },
            ),
        ),
        (
            "tester",
            stmt(
                TESTS,
                {
                    "result": "PASSED",
                    "url": f"https://ci.example.com/tests/{i}",
                    "passedTests": [f"test_{k}" for k in range(10)],
                    "warnedTests": [],
                    "failedTests": [],
                },
            ),
        ),
    ]
    release = stmt(RELEASE, {"purl": f"{PACKAGE}@1.{i}", "releaseId": f"1.{i}"})
    approvers = [
        ["maintainer-1", "maintainer-2"],
        ["maintainer-2", "maintainer-3"],
        ["maintainer-1", "maintainer-3"],
        ["maintainer-1", "maintainer-2", "maintainer-3"],
    ]
    chosen = approvers[i % 4] if plan != "one-approval" else [f"maintainer-{1 + i % 3}"]
    out += [(name, release) for name in chosen]
    return out


def make_realistic_inputs(folder: Path, n: int, keys: dict[str, Any], per_file: int = 2_000) -> int:
    """Sign the realistic case's attestations into JSON Lines files; return how many."""
    count = 0
    for first in range(0, n, per_file):
        lines = []
        for i in range(first, min(n, first + per_file)):
            for signer, stmt in _real_statements(i):
                env = Envelope.sign(json.dumps(stmt).encode(), INTOTO_PAYLOAD_TYPE, [keys[signer]])
                lines.append(json.dumps(env.to_dict()))
        count += len(lines)
        (folder / f"real-{first:08d}.intoto.jsonl").write_text("\n".join(lines) + "\n")
    return count


def realistic_layout(folder: Path, keys: dict[str, Any]) -> Path:
    """Five steps, every one about the subject; a 2-of-3 release; many listed keys."""
    others = [k.keyid for name, k in keys.items() if name.startswith("other-")]
    half = len(others) // 2
    critical = "!predicate.scanner.result.exists(v, v.severity.exists(s, s.score.matches('(?i)^critical$')))"

    def step(
        name: str, ptype: str, who: list[str], rules: list[str], **extra: Any
    ) -> dict[str, Any]:
        return {
            "name": name,
            "expectedPredicates": [
                {
                    "predicateType": ptype,
                    "functionaries": who,
                    "expectedAttributes": [{"rule": r} for r in rules],
                    **extra,
                }
            ],
        }

    k = {name: key.keyid for name, key in keys.items()}
    doc = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {key.keyid: key.public_key.to_dict(camel=True) for key in keys.values()},
        "subjectSteps": ["build", "sbom", "scan", "test", "release"],
        "steps": [
            step(
                "build",
                PROV,
                [k["builder"], *others[:half]],
                [f"predicate.runDetails.builder.id == '{BUILDER_ID}'"],
            ),
            step(
                "sbom",
                SPDX,
                [k["sbom"]],
                ["predicate.spdxVersion == 'SPDX-2.3'", "size(predicate.packages) > 0"],
            ),
            step("scan", VULNS, [k["scanner"], *others[half:]], [critical], maxAge="P7D"),
            step("test", TESTS, [k["tester"]], ["predicate.result == 'PASSED'"]),
            step(
                "release",
                RELEASE,
                [k["maintainer-1"], k["maintainer-2"], k["maintainer-3"]],
                [f"predicate.purl.startsWith('{PACKAGE}@')"],
                threshold=2,
            ),
        ],
    }
    path = folder / "realistic-layout.json"
    path.write_text(json.dumps(doc))
    return path


def realistic_expected(n: int) -> dict[str, int]:
    """Verdict counts the realistic case must give."""
    out = {"pass": 0, "fail": 0, "no-evidence": 0}
    for i in range(n):
        plan = _real_plan(i)
        out["pass" if plan == "pass" else "no-evidence" if plan == "no-evidence" else "fail"] += 1
    return out


# --------------------------------------------------------------------------
# Timing


def _run(run: Any) -> tuple[float, float, list[str]]:
    """Total seconds, seconds to the first result, and the result lines."""
    lines: list[str] = []
    first: list[float] = []

    def on_result(result: dict[str, Any]) -> None:
        if not first:
            first.append(time.perf_counter())
        lines.append(json.dumps(result, sort_keys=True))

    start = time.perf_counter()
    run(on_result)
    end = time.perf_counter()
    return end - start, first[0] - start, sorted(lines)


def _warm(config: Any, subjects: list[str], workers: int) -> Any:
    """A run with the context built and the helpers started and ready beforehand."""
    from intoto_policy.audit import AuditContext, _local

    def run(on_result: Any) -> None:
        own = AuditContext.build(config)
        helpers = [_local._Helper(config) for _ in range(workers - 1)]
        try:
            for helper in helpers:
                helper.receive()
                helper.ready = True
            start = time.perf_counter()
            if workers == 1:
                for subject in subjects:
                    on_result(_local.audit_subject(own, subject))
            else:
                _local._coordinate(own, subjects, helpers, workers, on_result)
            run.took = time.perf_counter() - start  # type: ignore[attr-defined]
        finally:
            for helper in helpers:
                helper.stop(finished=True)
            own.close()

    return run


def bench_audit(
    case: str, config: Any, subjects: list[str], expected: dict[str, int], args: argparse.Namespace
) -> None:
    """Cold and warm audits of ``subjects``, runs taking turns; medians and ratios."""
    from intoto_policy.audit import run_local

    def cold(workers: int, coordinator_audits: bool = True) -> Any:
        return lambda on_result: run_local(
            config, subjects, workers=workers, on_result=on_result,
            coordinator_audits=coordinator_audits,
        )  # fmt: skip

    modes: dict[str, Any] = {
        "1 worker": cold(1),
        "2 workers": cold(2),
        "2 helpers, coordinator idle": cold(2, coordinator_audits=False),
        "1 worker warm": _warm(config, subjects, 1),
        "2 workers warm": _warm(config, subjects, 2),
    }
    print(f"\n-- {case}: {len(subjects)} subjects, load average before {_load()}")
    # Warm-up: fills the bytecode cache and the store's page cache.
    run_local(config, subjects[:200], workers=2, on_result=lambda r: None)
    totals: dict[str, list[float]] = {m: [] for m in modes}
    firsts: dict[str, list[float]] = {m: [] for m in modes}
    reference: list[str] | None = None
    same = True
    for _ in range(args.repeat):
        for mode, run in modes.items():
            total, first, lines = _run(run)
            if "warm" in mode:
                total = run.took
            totals[mode].append(total)
            firsts[mode].append(first)
            if reference is None:
                reference = lines
                verdicts = [json.loads(line)["verdict"] for line in lines]
                got = {v: verdicts.count(v) for v in expected}
                print(
                    f"verdicts {got} (expected {expected}): {'ok' if got == expected else 'MISMATCH'}"
                )
            same = same and lines == reference
    print(f"every run gave the same result lines: {'yes' if same else 'NO'}")
    med = {m: statistics.median(v) for m, v in totals.items()}
    for mode in modes:
        base = med["1 worker warm" if "warm" in mode else "1 worker"]
        first = (
            "pool started beforehand"
            if "warm" in mode
            else f"first result after {statistics.median(firsts[mode]) * 1e3:.0f} ms"
        )
        print(
            f"{mode:<28} median {med[mode]:6.2f} s = {len(subjects) / med[mode]:7,.0f} subjects/s "
            f"({base / med[mode]:.2f}x; {first}; runs {', '.join(f'{t:.2f}' for t in totals[mode])})"
        )
    print(
        f"speed-up 2 workers / 1, cold start (pool start included): {med['1 worker'] / med['2 workers']:.2f}x; "
        f"warm: {med['1 worker warm'] / med['2 workers warm']:.2f}x (target 1.7x on 2 cores); "
        f"load average after {_load()}"
    )
    try:
        import ray

        from intoto_policy.audit._ray import run_ray
    except ImportError:
        print("ray: not installed, skipped")
    else:
        for started in (False, True):
            if started:  # the instance up beforehand; actors still start per run
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            took = []
            try:
                for _ in range(max(1, args.repeat // 2)):
                    total, first, lines = _run(
                        lambda on_result: run_ray(config, subjects, workers=2, on_result=on_result)
                    )
                    took.append(total)
                    same = lines == reference
            finally:
                if started:
                    ray.shutdown()
            t = statistics.median(took)
            how = "instance started beforehand" if started else "local instance started per run"
            print(
                f"ray, 2 actors, {how}: median {t:.2f} s = "
                f"{len(subjects) / t:,.0f} subjects/s ({med['1 worker'] / t:.2f}x of 1 local worker; "
                f"runs {', '.join(f'{x:.2f}' for x in took)}; same lines: {'yes' if same else 'NO'})"
            )
    import multiprocessing

    from intoto_policy.audit import _local

    with multiprocessing.get_context("spawn").Pool(
        1, initializer=_local._initialize, initargs=(config,)
    ) as pool:
        peak = pool.apply(_peak_after, (subjects[:500],))
    print(f"worker peak RSS after 500 subjects: {peak / 1024:.0f} MiB")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_backend(
    url: str, inputs: Path, layout: Path, args: argparse.Namespace, real: tuple[Path, Path] | None
) -> None:
    from intoto_policy.audit import AuditConfig
    from intoto_policy.store import ingest_paths, open_store, stored_attestations

    print(f"\n== {url.split(':', maxsplit=1)[0]} ==")
    with open_store(url, create=True) as store:
        start = time.perf_counter()
        result = ingest_paths(store, [inputs], ingested_at=AT, batch_size=args.batch)
        took = time.perf_counter() - start
        print(
            f"ingest: {result.stored} items in {took:.1f} s = {result.stored / took:,.0f} items/s; "
            f"store size {store_size(store, url) / 1e6:,.1f} MB "
            f"({store_size(store, url) / max(1, result.stored):,.0f} B/item)"
        )
        rng = random.Random(1)
        latencies = []
        for _ in range(args.queries):
            sub = {"sha256": _subject(rng.randrange(args.n))}
            t = time.perf_counter()
            found = stored_attestations(store, [sub])
            latencies.append(time.perf_counter() - t)
            assert len(found) == 1
        latencies.sort()
        p50 = statistics.median(latencies) * 1e3
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e3
        print(f"query by subject ({args.queries} queries): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        if real is not None:
            start = time.perf_counter()
            result = ingest_paths(store, [real[0]], ingested_at=AT, batch_size=args.batch)
            print(
                f"ingest realistic case: {result.stored} items in {time.perf_counter() - start:.1f} s"
            )
    if args.case in ("cheap", "both"):
        n = min(args.audit_n, args.n)
        config = AuditConfig(
            layout_path=str(layout), layout_data=layout.read_bytes(), store_url=url, at=AT,
            allow_unsigned=True,
        )  # fmt: skip
        bench_audit(
            "cheap case (one Ed25519 attestation per subject, one step)",
            config,
            [f"sha256:{_subject(i)}" for i in range(n)],
            {"pass": n, "fail": 0, "no-evidence": 0},
            args,
        )
    if real is not None:
        config = AuditConfig(
            layout_path=str(real[1]), layout_data=real[1].read_bytes(), store_url=url, at=AT,
            allow_unsigned=True,
        )  # fmt: skip
        bench_audit(
            f"realistic case (5 steps, 6-7 attestations per subject from 7 signers, "
            f"{args.decoys + 7} keys in the layout, 2-of-3 release, 10% failing or without evidence)",
            config,
            [f"sha256:{_real_subject(i)}" for i in range(args.audit_n)],
            realistic_expected(args.audit_n),
            args,
        )


def _with_bytecode_cache() -> None:
    """Re-run this script with compiled bytecode cached, as after an ordinary install.

    Where the environment sets PYTHONDONTWRITEBYTECODE every helper process
    of an editable install would compile its modules from source (about
    50 ms of each helper's start here); an installed wheel ships them
    compiled. The cache is a private folder, filled by the warm-up runs.
    """
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE")
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "bench-store-pyc"))
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "-n", type=int, default=20_000, help="attestations (1,000,000 for the issue)"
    )
    parser.add_argument("--audit-n", type=int, default=2_000, help="subjects to audit")
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000, help="ingest batch size")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="both", help="backends"
    )
    parser.add_argument(
        "--case", choices=["cheap", "realistic", "both"], default="both", help="audit cases"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each audit mode")
    parser.add_argument(
        "--decoys", type=int, default=40, help="realistic case: listed keys that sign nothing"
    )
    args = parser.parse_args()
    _with_bytecode_cache()
    print(
        f"cpus: {os.cpu_count()} (shared machine: other work may be running); "
        f"load average {_load()}; bytecode cache: {sys.pycache_prefix or 'beside the sources'}"
    )
    key = generate_private_key("ed25519")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = folder / "inputs"
        inputs.mkdir()
        took = make_inputs(inputs, args.n, key)
        print(f"signed {args.n} envelopes in {took:.1f} s")
        layout = layout_file(folder, key)
        real: tuple[Path, Path] | None = None
        if args.case in ("realistic", "both"):
            start = time.perf_counter()
            keys = realistic_keys(args.decoys)
            (folder / "real").mkdir()
            count = make_realistic_inputs(folder / "real", args.audit_n, keys)
            real = (folder / "real", realistic_layout(folder, keys))
            print(
                f"realistic case: signed {count} envelopes for {args.audit_n} subjects "
                f"in {time.perf_counter() - start:.1f} s"
            )
        if args.backend in ("sqlite", "both"):
            bench_backend(f"sqlite:///{folder / 'store.db'}", inputs, layout, args, real)
        if args.backend in ("postgresql", "both"):
            from tests._stores import ServerUnavailableError, new_database, throwaway_postgres

            try:
                with throwaway_postgres() as server:
                    bench_backend(new_database(server), inputs, layout, args, real)
            except ServerUnavailableError as exc:
                print(f"postgresql: {exc}")


if __name__ == "__main__":
    main()
