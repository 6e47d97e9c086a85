"""Start-up cost of ``intoto-policy``: the imports each command path executes.

Usage: python bench/bench_startup.py [--repeat N] [--top N] [--tree DIR [--tree DIR2]]

For each command path, runs the CLI in a fresh interpreter under
``python -X importtime`` several times and prints, min and median:

* the cumulative import time of everything the run imported (the sum of
  the top-level entries of ``-X importtime``, interpreter start-up
  modules such as ``site`` included);
* the whole process's wall time and CPU time (user + system; steadier
  than wall time on a busy machine);

then the heaviest top-level imports of the median run and which of the
heavy optional dependencies were imported at all.

Paths: ``import intoto_policy.cli._main`` alone; ``verify`` on an attestation
layout (shared corpus, derived scenario 00), as YAML and converted to JSON
(a JSON layout does not import PyYAML); ``verify`` on a classic
in-toto layout (shared corpus, real-world item 30, DSSE links).

Given two trees (``--tree`` twice, e.g. a checkout of main and this one),
the runs of the two take turns, so that a machine shared with other work
loads both alike, and the ratio of the minima is printed per path.

Bytecode is cached in one private folder (a warm-up run fills it), as after
an ordinary ``pip install``, also where the environment sets
PYTHONDONTWRITEBYTECODE. Not collected by pytest; no thresholds: it prints
numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SCENARIO = CORPUS / "attestation-verifier" / "derived-scenarios" / "00-baseline-pass"
CLASSIC = CORPUS / "real-world" / "items" / "30-intoto-golang-dsse-only"

RUN_CLI = "import sys; from intoto_policy.cli._main import main; sys.exit(main(sys.argv[1:]))"
HEAVY = (
    "jsonschema",
    "yaml",
    "sigstore",
    "securesystemslib",
    "cel_expr_python",
    "cryptography.x509",
    "in_toto",
)


def parse_importtime(stderr: str) -> tuple[int, dict[str, int], set[str]]:
    """Total microseconds, top-level entries (name -> cumulative us), all names."""
    total, top, names = 0, {}, set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit():
            continue  # the header line
        names.add(name.strip())
        if not name[1:].startswith(" "):  # nested entries are indented further
            total += int(cumulative)
            top[name.strip()] = int(cumulative)
    return total, top, names


Measured = tuple[list[int], list[float], list[float], dict[str, int], set[str]]


def measure(code: list[str], cwd: Path, envs: list[dict[str, str]], repeat: int) -> list[Measured]:
    """Run ``code`` ``repeat`` times per environment (one per tree), taking turns."""
    cmd = [sys.executable, "-X", "importtime", *code]
    for env in envs:  # warm-up: fills each tree's bytecode cache
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    per_env: list[tuple[list[int], list[float], list[float], list[Any]]] = [
        ([], [], [], []) for _ in envs
    ]
    for _ in range(repeat):
        for env, (totals, walls, cpus, runs) in zip(envs, per_env, strict=True):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(code)} failed: {done.stderr[-500:]}")
            total, top, names = parse_importtime(done.stderr)
            totals.append(total)
            runs.append((total, top, names))
    out: list[Measured] = []
    for totals, walls, cpus, runs in per_env:
        runs.sort(key=lambda r: r[0])
        _, top, names = runs[len(runs) // 2]
        out.append((totals, walls, cpus, top, names))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--top", type=int, default=8, help="heaviest top-level imports shown")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        help="source tree whose intoto_policy is measured (default this one); give two to "
        "compare them, runs taking turns",
    )
    args = parser.parse_args()
    trees: list[Path] = args.tree or [ROOT]
    if not (SCENARIO.is_dir() and CLASSIC.is_dir()):
        print("shared corpus not available: the verify paths are skipped")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
        tmp = Path(name)
        envs = []
        for i, tree in enumerate(trees):
            env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=str(tmp / f"pyc{i}"))
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["NO_COLOR"] = "1"
            envs.append(env)
        paths: list[tuple[str, list[str]]] = [
            ("import _cli", ["-c", "import intoto_policy.cli._main"])
        ]
        if SCENARIO.is_dir() and CLASSIC.is_dir():
            classic = tmp / "classic"
            shutil.copytree(CLASSIC, classic)
            for path in [classic, *classic.rglob("*")]:
                path.chmod(0o700 if path.is_dir() else 0o600)
            attestation = ["verify", str(SCENARIO / "layout.yml"), "--unsigned-layout"]
            attestation += ["--attestations", str(SCENARIO / "attestations")]
            attestation += ["--at", "2026-11-22T00:00:00Z"]
            classic_verify = ["verify", "dsse-only.root.layout", "--layout-key", "alice.pub"]
            classic_verify += ["--attestations", ".", "--at", "2025-06-01T00:00:00Z"]
            paths.append(("verify attestation", ["-c", RUN_CLI, *attestation]))
            # The same layout as JSON: no YAML parser to import.
            layout = yaml.safe_load((SCENARIO / "layout.yml").read_text(encoding="utf-8"))
            (tmp / "layout.json").write_text(json.dumps(layout), encoding="utf-8")
            paths.append(
                (
                    "verify attest. JSON",
                    ["-c", RUN_CLI, "verify", str(tmp / "layout.json"), *attestation[2:]],
                )
            )
            paths.append(("verify classic", ["-c", RUN_CLI, *classic_verify]))
        print(f"== imports per command path (fresh interpreter, {args.repeat} runs) ==")
        for i, tree in enumerate(trees):
            print(f"tree {i}: {tree}")
        for label, code in paths:
            cwd = tmp / "classic" if label == "verify classic" else tmp
            results = measure(code, cwd, envs, args.repeat)
            for i, (totals, walls, cpus, top, names) in enumerate(results):
                tag = f"{label} [{i}]" if len(trees) > 1 else label
                print(
                    f"{tag:24s} imports min {min(totals) / 1e3:6.1f} ms  "
                    f"median {statistics.median(totals) / 1e3:6.1f} ms\n"
                    f"{'':24s} process wall min {min(walls) * 1e3:6.1f} ms  "
                    f"median {statistics.median(walls) * 1e3:6.1f} ms   "
                    f"cpu min {min(cpus) * 1e3:6.1f} ms  "
                    f"median {statistics.median(cpus) * 1e3:6.1f} ms"
                )
                heaviest = sorted(top.items(), key=lambda kv: -kv[1])[: args.top]
                print("    heaviest: " + ", ".join(f"{n} {us / 1e3:.1f}" for n, us in heaviest))
                loaded = [h for h in HEAVY if h in names]
                print(f"    heavy dependencies imported: {', '.join(loaded) or 'none'}")
            if len(results) > 1:
                first, last = min(results[0][0]), min(results[-1][0])
                print(f"    imports, min [0] / min [{len(results) - 1}]: {first / last:.2f}x")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
