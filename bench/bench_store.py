"""Attestation store and batch audit numbers (printed, never asserted).

Not a test. Run it from the repository root::

    .venv/bin/python bench/bench_store.py                   # N = 20,000, audit 2,000
    .venv/bin/python bench/bench_store.py -n 1000000 --audit-n 10000   # the issue's sizes
    .venv/bin/python bench/bench_store.py --backend postgresql

It signs N Ed25519 DSSE envelopes (one distinct subject each) into JSON
Lines files, then prints, per backend:

* ingest rate (items/s, whole ``ingest_paths`` including parsing and
  indexing) and the store's size on disk (SQLite: file + WAL; PostgreSQL:
  ``pg_database_size``);
* query latency by subject (``stored_attestations``), p50 and p99 over
  ``--queries`` random subjects;
* an audit of ``--audit-n`` subjects with 1 and 2 local workers (the
  ratio is the speed-up; the target on 2 cores is 1.7x) and with the Ray
  engine (2 actors), when Ray is installed;
* the peak resident memory of one pool worker after auditing 500 subjects.

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


def _timed(run: Any, expected: int) -> tuple[float, float]:
    """Total seconds, and seconds from the first result to the last."""
    verdicts: list[str] = []
    first: list[float] = []

    def on_result(result: dict[str, Any]) -> None:
        if not first:
            first.append(time.perf_counter())
        verdicts.append(result["verdict"])

    start = time.perf_counter()
    run(on_result)
    end = time.perf_counter()
    assert verdicts.count("pass") == expected, set(verdicts)
    return end - start, max(end - first[0], 1e-9)


def bench_backend(url: str, inputs: Path, layout: Path, args: argparse.Namespace) -> None:
    from intoto_policy.audit import AuditConfig, run_local
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
    subjects = [f"sha256:{_subject(i)}" for i in range(min(args.audit_n, args.n))]
    config = AuditConfig(
        layout_path=str(layout),
        layout_data=layout.read_bytes(),
        store_url=url,
        at=AT,
        allow_unsigned=True,
    )
    totals: dict[str, float] = {}
    steady: dict[str, float] = {}
    for workers in (1, 2):
        total, warm = _timed(
            lambda on_result, w=workers: run_local(
                config, subjects, workers=w, on_result=on_result
            ),
            len(subjects),
        )
        totals[str(workers)], steady[str(workers)] = total, warm
        print(
            f"audit {len(subjects)} subjects, {workers} worker(s): {total:.1f} s incl. start "
            f"= {len(subjects) / total:,.0f} subjects/s; after the first result "
            f"{len(subjects) / warm:,.0f} subjects/s"
        )
    print(
        f"speed-up 2 workers / 1: {totals['1'] / totals['2']:.2f}x incl. pool start, "
        f"{steady['1'] / steady['2']:.2f}x after the first result (target 1.7x on 2 cores)"
    )
    try:
        import ray  # noqa: F401

        from intoto_policy.audit._ray import run_ray
    except ImportError:
        print("ray: not installed, skipped")
    else:
        total, warm = _timed(
            lambda on_result: run_ray(config, subjects, workers=2, on_result=on_result),
            len(subjects),
        )
        print(
            f"audit {len(subjects)} subjects, ray (2 actors, local instance): {total:.1f} s "
            f"incl. start = {len(subjects) / total:,.0f} subjects/s; after the first result "
            f"{len(subjects) / warm:,.0f} subjects/s"
        )
    import multiprocessing

    from intoto_policy.audit import _local

    with multiprocessing.get_context("spawn").Pool(
        1, initializer=_local._initialize, initargs=(config,)
    ) as pool:
        peak = pool.apply(_peak_after, (subjects[:500],))
    print(f"worker peak RSS after 500 subjects: {peak / 1024:.0f} MiB")


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
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()} (shared machine: other work may be running)")
    key = generate_private_key("ed25519")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = folder / "inputs"
        inputs.mkdir()
        took = make_inputs(inputs, args.n, key)
        print(f"signed {args.n} envelopes in {took:.1f} s")
        layout = layout_file(folder, key)
        if args.backend in ("sqlite", "both"):
            bench_backend(f"sqlite:///{folder / 'store.db'}", inputs, layout, args)
        if args.backend in ("postgresql", "both"):
            from tests._stores import ServerUnavailableError, new_database, throwaway_postgres

            try:
                with throwaway_postgres() as server:
                    bench_backend(new_database(server), inputs, layout, args)
            except ServerUnavailableError as exc:
                print(f"postgresql: {exc}")


if __name__ == "__main__":
    main()
