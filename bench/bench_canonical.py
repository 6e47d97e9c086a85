"""Micro-benchmark: encode_canonical vs securesystemslib on a 100,000-artifact link.

Not a test. Run from the repository root:

    .venv/bin/python bench/bench_canonical.py [--artifacts N] [--rounds R]

Prints the best-of-R time of each encoder and the speed-up, for the link as
in-toto writes it (keys already in canonical order, as after parsing a
signed link) and for the same link parsed from a file that lists its
artifacts in scrambled order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from securesystemslib.formats import encode_canonical as reference_encode

from intoto_policy.crypto._canonical import encode_canonical


def make_link(count: int) -> dict[str, Any]:
    def digest(seed: str) -> dict[str, str]:
        return {"sha256": hashlib.sha256(seed.encode()).hexdigest()}

    return {
        "_type": "link",
        "name": "build",
        "command": ["python", "-m", "build"],
        "materials": {f"src/pkg{i % 100}/module_{i}.py": digest(f"m{i}") for i in range(count)},
        "products": {f"build/pkg{i % 100}/module_{i}.pyc": digest(f"p{i}") for i in range(count)},
        "byproducts": {"return-value": 0, "stderr": "", "stdout": "done\n"},
        "environment": {},
    }


def scrambled(link: dict[str, Any]) -> dict[str, Any]:
    """The link as parsed from a file that lists its artifacts in no particular order."""
    out = dict(link)
    for side in ("materials", "products"):
        items = list(link[side].items())
        random.Random(0).shuffle(items)
        out[side] = dict(items)
    parsed: dict[str, Any] = json.loads(json.dumps(out))
    return parsed


def best_of(rounds: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def reference(link: dict[str, Any]) -> bytes:
    text = reference_encode(link)
    assert text is not None
    return text.encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    expected = reference(make_link(args.artifacts))
    parsed = json.loads(expected, strict=False)  # as read from a signed link: keys in order
    print(
        f"link with {args.artifacts} materials and {args.artifacts} products, "
        f"{len(expected) / 1e6:.1f} MB canonical; best of {args.rounds}"
    )
    for label, link in (("canonical order", parsed), ("scrambled order", scrambled(parsed))):
        assert encode_canonical(link) == expected, "outputs differ"
        ours = best_of(args.rounds, partial(encode_canonical, link))
        theirs = best_of(args.rounds, partial(reference, link))
        print(
            f"  {label:16s} securesystemslib {theirs * 1000:7.1f} ms   "
            f"encode_canonical {ours * 1000:7.1f} ms   speed-up {theirs / ours:4.1f}x"
        )


if __name__ == "__main__":
    main()
