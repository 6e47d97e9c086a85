"""Classic in-toto verification: intoto_policy side by side with the reference (in-toto 3.x).

Usage: python bench/bench_classic.py [--quick] [--repeat N]
       python bench/bench_classic.py --whole-process [--stages] [--artifacts N] [--repeat N]
                                     [--tree DIR]

Builds supply chains with in-toto's own API (ed25519 functionaries; step k
records the previous step's products as materials and the same files as
products, so every link after the first lists 2 x N artifacts; rules are
MATCH / CREATE / DISALLOW), then reports, as medians of repeated runs:

1. in-process verification, 3 steps x N artifacts, DSSE links and metablock
   links: ours, the reference's ``in_toto_verify``, and the ratio;
2. peak memory of one verification (tracemalloc), ours vs the reference;
3. whole-CLI wall time on the small demo (scenario ``pass_single_signed``):
   ``in-toto-verify`` vs ``intoto-policy verify``, both run as installed
   console scripts; both find compiled bytecode in one shared cache (a
   warm-up run fills it), as after an ordinary ``pip install``, also where
   the environment sets PYTHONDONTWRITEBYTECODE (which would otherwise make
   every run of an editable install compile its modules from source);
4. how our time grows with artifacts (1k, 10k, 100k) and steps (3, 10, 30).

``--whole-process`` instead runs both command lines as subprocesses on the
same chain, 3 steps x N artifacts (default 30,000), DSSE links and
metablock links: ``in-toto-verify`` vs ``intoto-policy verify``, each a
fresh interpreter (start-up and imports included), taking turns, and
prints the median and minimum wall and CPU (user + system) times and the
speed-ups (reference time / ours). ``--tree DIR`` adds ``intoto-policy
verify`` run from another source tree (e.g. a checkout of main), taking
turns with the other two, to compare before and after on a shared machine.
``--stages`` adds the CPU time of each
stage of the DSSE chain's work (read, hash, base64, signature, JSON), to
see what is left once start-up is paid.

Not collected by pytest; no thresholds: it prints numbers.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "intoto-reference" / "scenarios"


def build_chain(directory: Path, n: int, steps: int, *, dsse: bool) -> dict[str, Any]:
    """Write root.layout and one link per step; return the owner's key dict."""
    from in_toto.models.layout import Layout, Step
    from in_toto.models.link import Link
    from in_toto.models.metadata import Envelope, Metablock
    from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

    directory.mkdir(parents=True, exist_ok=True)
    owner = CryptoSigner.generate_ed25519()
    files = {
        f"src/d{i % 100}/f{i:07d}.c": {"sha256": hashlib.sha256(b"%d" % i).hexdigest()}
        for i in range(n)
    }
    layout_steps, keys = [], {}
    prev = None
    for k in range(steps):
        name = f"step{k}"
        signer = CryptoSigner.generate_ed25519()
        key = signer.public_key.to_dict()
        key["keyid"] = signer.public_key.keyid
        keys[signer.public_key.keyid] = key
        if prev is None:
            materials: dict[str, Any] = {}
            expected_materials = [["DISALLOW", "*"]]
            expected_products = [["CREATE", "src/*"], ["DISALLOW", "*"]]
        else:
            materials = files
            expected_materials = [
                ["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", prev],
                ["DISALLOW", "*"],
            ]
            expected_products = [
                ["MATCH", "src/*", "WITH", "MATERIALS", "FROM", name],
                ["DISALLOW", "*"],
            ]
        layout_steps.append(
            Step(
                name=name,
                pubkeys=[signer.public_key.keyid],
                expected_materials=expected_materials,
                expected_products=expected_products,
            )
        )
        link = Link(
            name=name,
            materials=materials,
            products=files,
            command=[],
            byproducts={},
            environment={},
        )
        md = Envelope.from_signable(link) if dsse else Metablock(signed=link)
        md.create_signature(signer)
        md.dump(str(directory / f"{name}.{signer.public_key.keyid[:8]}.link"))
        prev = name
    layout = Layout(steps=layout_steps, keys=keys, expires="2099-01-01T00:00:00Z", inspect=[])
    md = Metablock(signed=layout)
    md.create_signature(owner)
    md.dump(str(directory / "root.layout"))
    out: dict[str, Any] = owner.public_key.to_dict()
    out["keyid"] = owner.public_key.keyid
    return out


def run_ours(directory: Path, owner: dict[str, Any]) -> bool:
    from intoto_policy.classic import verify_classic
    from intoto_policy.crypto._keys import PublicKey

    report = verify_classic(
        directory / "root.layout",
        layout_keys=[PublicKey.from_dict(owner)],
        link_dir=directory,
        at=datetime.now(UTC),
    )
    return report.passed


def run_reference(directory: Path, owner: dict[str, Any]) -> bool:
    from in_toto.models.metadata import Metadata
    from in_toto.verifylib import in_toto_verify

    in_toto_verify(
        Metadata.load(str(directory / "root.layout")), {owner["keyid"]: owner}, str(directory)
    )
    return True


def median_time(fn: Callable[[], bool], repeat: int) -> float:
    return median_times([fn], repeat)[0]


def median_times(fns: list[Callable[[], bool]], repeat: int) -> list[float]:
    """Median run time of each function, the functions taking turns (same machine load)."""
    for fn in fns:
        fn()  # warm up: imports and caches are not what is measured
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, runs in zip(fns, times, strict=True):
            gc.collect()  # no run pays for collecting the previous run's garbage
            start = time.perf_counter()
            ok = fn()
            runs.append(time.perf_counter() - start)
            assert ok, "verification failed"
    return [statistics.median(runs) for runs in times]


def peak_memory(fn: Callable[[], bool]) -> int:
    fn()  # warm up, so that module imports are not counted
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def side_by_side(tmp: Path, n: int, repeat: int, memory: bool) -> None:
    print(f"\n== in process: 3 steps x {n:,} artifacts (median of {repeat}, taking turns) ==")
    for fmt in ("dsse", "metablock"):
        directory = tmp / f"chain-{fmt}-{n}"
        owner = build_chain(directory, n, 3, dsse=fmt == "dsse")
        ours, ref = median_times(
            [
                partial(run_ours, directory, owner),
                partial(run_reference, directory, owner),
            ],
            repeat,
        )
        print(
            f"{fmt:9s} links: ours {ours:7.3f} s   reference {ref:7.3f} s   speed-up {ref / ours:5.1f}x"
        )
        if memory:
            mine = peak_memory(partial(run_ours, directory, owner))
            theirs = peak_memory(partial(run_reference, directory, owner))
            print(
                f"{fmt:9s} peak memory (tracemalloc): ours {mine / 2**20:7.1f} MiB   "
                f"reference {theirs / 2**20:7.1f} MiB   ratio {mine / theirs:4.2f}"
            )
        shutil.rmtree(directory)


def cli(tmp: Path, repeat: int) -> None:
    print(f"\n== whole CLI on the demo layout (median of {repeat}, fresh interpreter each run) ==")
    if not (CORPUS / "pass_single_signed").is_dir():
        print("shared corpus not available: skipped")
        return
    bindir = Path(sys.executable).parent
    reference_cli = bindir / "in-toto-verify"
    ours_cli = bindir / "intoto-policy"
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def once(cmd: list[str], where: Path) -> float:
        shutil.rmtree(where, ignore_errors=True)
        shutil.copytree(CORPUS / "pass_single_signed", where)
        for path in [where, *where.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=where, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        assert done.returncode == 0, done.stderr.decode()
        return elapsed

    where = tmp / "demo"
    reference_cmd = [
        str(reference_cli),
        "--layout",
        "root.layout",
        "--verification-keys",
        "keys/rsa_public.pem",
    ]
    ours_cmd = [
        str(ours_cli),
        "verify",
        "root.layout",
        "--layout-key",
        "keys/rsa_public.pem",
        "--attestations",
        ".",
        "--run-inspections",
    ]
    for cmd in (reference_cmd, ours_cmd):  # warm-up: fills the bytecode cache
        once(cmd, where)
    # Alternate the two, so that both see the same machine load.
    theirs_times, ours_times = [], []
    for _ in range(repeat):
        theirs_times.append(once(reference_cmd, where))
        ours_times.append(once(ours_cmd, where))
    theirs, ours = statistics.median(theirs_times), statistics.median(ours_times)
    print(
        f"in-toto-verify {theirs:6.3f} s   intoto-policy verify {ours:6.3f} s   "
        f"ratio {ours / theirs:4.2f}"
    )
    for module in ("intoto_policy.cli._main", "intoto_policy.classic", "in_toto.verifylib"):
        lines = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=env,
            capture_output=True,
            check=False,
            text=True,
        ).stderr.splitlines()
        total = next(
            int(line.split("|")[1])
            for line in reversed(lines)
            if line.rstrip().endswith(f" {module}")
        )
        print(f"(import {module}: {total / 1e6:.3f} s)")


def _cli_env(tmp: Path) -> dict[str, str]:
    """Console scripts of this venv, one shared bytecode cache (see the docstring)."""
    bindir = Path(sys.executable).parent
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _owner_pem(owner: dict[str, Any], path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(owner["keyval"]["public"]))
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def whole_process(tmp: Path, n: int, repeat: int, other: Path | None = None) -> None:
    print(
        f"\n== whole process: 3 steps x {n:,} artifacts "
        f"(median of {repeat}, fresh interpreter each run, taking turns) =="
    )
    bindir = Path(sys.executable).parent
    env = _cli_env(tmp)
    for fmt in ("dsse", "metablock"):
        directory = tmp / f"whole-{fmt}-{n}"
        owner = build_chain(directory, n, 3, dsse=fmt == "dsse")
        _owner_pem(owner, tmp / "owner.pub")  # outside the link folder
        reference_cmd = [str(bindir / "in-toto-verify"), "--layout", "root.layout"]
        reference_cmd += ["--verification-keys", str(tmp / "owner.pub")]
        ours_cmd = [str(bindir / "intoto-policy"), "verify", "root.layout"]
        ours_cmd += ["--layout-key", str(tmp / "owner.pub"), "--attestations", "."]

        # The other tree's package first on the path, its own bytecode cache.
        other_env = dict(env, PYTHONPATH=str(other), PYTHONPYCACHEPREFIX=str(tmp / "pyc-other"))

        def once(
            cmd: list[str], where: Path = directory, run_env: dict[str, str] = env
        ) -> tuple[float, float]:
            """Wall time and CPU time (user + system) of one run."""
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=where, env=run_env, capture_output=True, check=False)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert done.returncode == 0, done.stderr.decode()[-2000:]
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            return elapsed, cpu

        for cmd in (reference_cmd, ours_cmd):  # warm-up: fills the bytecode cache
            once(cmd)
        if other is not None:
            once(ours_cmd, run_env=other_env)
        theirs_runs, ours_runs, other_runs = [], [], []
        for _ in range(repeat):
            theirs_runs.append(once(reference_cmd))
            ours_runs.append(once(ours_cmd))
            if other is not None:
                other_runs.append(once(ours_cmd, run_env=other_env))
        # Wall time is what a user waits; CPU time is steadier on a busy machine.
        for what, index in (("wall", 0), ("cpu", 1)):
            theirs_t = [r[index] for r in theirs_runs]
            ours_t = [r[index] for r in ours_runs]
            theirs, ours = statistics.median(theirs_t), statistics.median(ours_t)
            print(
                f"{fmt:9s} links, {what:4s}: in-toto-verify {theirs:7.3f} s   "
                f"intoto-policy verify {ours:7.3f} s   speed-up {theirs / ours:5.1f}x   "
                f"(min: {min(theirs_t):.3f} s vs {min(ours_t):.3f} s, "
                f"{min(theirs_t) / min(ours_t):.1f}x)"
            )
            if other_runs:
                other_t = [r[index] for r in other_runs]
                print(
                    f"{'':9s}        {what:4s}: --tree {other}: {statistics.median(other_t):7.3f} s"
                    f"   speed-up {theirs / statistics.median(other_t):5.1f}x   (min: "
                    f"{min(other_t):.3f} s, {min(theirs_t) / min(other_t):.1f}x)"
                )
        shutil.rmtree(directory)


def dsse_stages(tmp: Path, n: int, repeat: int) -> None:
    """Where the work of a DSSE chain goes: each stage over all links, min of ``repeat``.

    The stages a verification cannot skip: read each link, hash it (its
    digest is in the report), base64-decode the payload, check the ed25519
    signature over the PAE bytes, parse the payload's JSON. Without the
    ParseCache a verification shares between links (step k's materials are
    step k-1's products), so the JSON stages cost more here than in a run.
    """
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from intoto_policy.classic._load import LINK_LIMITS, loads_strict, read_document

    directory = tmp / f"stages-{n}"
    build_chain(directory, n, 3, dsse=True)
    links = sorted(directory.glob("*.link"))
    raw = [path.read_bytes() for path in links]
    encoded = [json.loads(data)["payload"].encode() for data in raw]
    payloads = [binascii.a2b_base64(text, strict_mode=True) for text in encoded]
    key = Ed25519PrivateKey.generate()
    signed = [(key.sign(p), p) for p in payloads]
    public = key.public_key()

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(repeat):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        return min(times) * 1e3

    size = sum(map(len, raw)) / 1e6
    print(f"\n== DSSE chain, 3 steps x {n:,} artifacts ({size:.1f} MB of links): CPU per stage ==")
    stages: list[tuple[str, Callable[[], object]]] = [
        ("read files", lambda: [path.read_bytes() for path in links]),
        ("sha256 of files", lambda: [hashlib.sha256(data).digest() for data in raw]),
        ("a2b_base64 strict", lambda: [binascii.a2b_base64(t, strict_mode=True) for t in encoded]),
        ("b64decode validate", lambda: [base64.b64decode(t, validate=True) for t in encoded]),
        ("ed25519 verify", lambda: [public.verify(sig, p) for sig, p in signed]),
        ("payload JSON, no cache", lambda: [loads_strict(p, limits=LINK_LIMITS) for p in payloads]),
        ("read_document, no cache", lambda: [read_document(path) for path in links]),
    ]
    for label, fn in stages:
        print(f"{label:24s} {best(fn):7.1f} ms")
    shutil.rmtree(directory)


def growth(tmp: Path, artifact_sizes: list[int], step_counts: list[int], repeat: int) -> None:
    print(f"\n== growth: ours, DSSE links (median of {repeat}) ==")
    base = None
    for n in artifact_sizes:
        directory = tmp / f"grow-a{n}"
        owner = build_chain(directory, n, 3, dsse=True)
        seconds = median_time(partial(run_ours, directory, owner), repeat)
        per = seconds / (n * 5) * 1e6  # 5 artifact lists of n entries in 3 links
        base = base or per
        print(
            f"3 steps x {n:>7,} artifacts: {seconds:7.3f} s   {per:5.2f} us per recorded artifact"
        )
        shutil.rmtree(directory)
    n = artifact_sizes[min(1, len(artifact_sizes) - 1)]
    for steps in step_counts:
        directory = tmp / f"grow-s{steps}"
        owner = build_chain(directory, n, steps, dsse=True)
        seconds = median_time(partial(run_ours, directory, owner), repeat)
        print(
            f"{steps:>3} steps x {n:,} artifacts: {seconds:7.3f} s   {seconds / steps * 1e3:6.1f} ms per step"
        )
        shutil.rmtree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="only the two command lines as subprocesses on one large chain",
    )
    parser.add_argument(
        "--artifacts", type=int, default=30_000, help="artifacts per link for --whole-process"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="with --whole-process: also the CPU of each stage of the DSSE chain's work",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=None,
        help="with --whole-process: also run intoto-policy from this source tree, taking turns",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the reference logs per artifact at INFO
    repeat = args.repeat or (2 if args.quick else 5)
    if args.whole_process:
        with tempfile.TemporaryDirectory(prefix="bench-classic-") as name:
            whole_process(Path(name), args.artifacts, repeat, args.tree)
            if args.stages:
                dsse_stages(Path(name), args.artifacts, repeat)
        print(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count()}))
        return
    n = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="bench-classic-") as name:
        tmp = Path(name)
        side_by_side(tmp, n, repeat, memory=True)
        cli(tmp, max(repeat, 3))
        if args.quick:
            growth(tmp, [1_000, 10_000], [3, 10], repeat)
        else:
            growth(tmp, [1_000, 10_000, 100_000], [3, 10, 30], 3)
    print(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
