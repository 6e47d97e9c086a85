"""Micro-benchmark: offline verification of intoto/0.0.2 bundles (_rekor.py).

Not a test. Run from the repository root:

    .venv/bin/python bench/bench_rekor.py [--rounds R]

Prints the best-of-R time to verify, with the trust material already parsed,
a bundle with an inclusion proof and checkpoint (corpus item 18), one with
a signed entry timestamp only (item 15), a key-signed npm publish
attestation (item 16), and the time to parse the production trusted root.
Also prints the time to reject a bundle whose inclusion proof carries the
maximum number of hashes, and the ratio to a valid bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from intoto_policy.crypto._rekor import (
    RekorCheckError,
    parse_registry_keys,
    parse_trust,
    verify_rekor_bundle,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
PROD = CORPUS / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"


def best(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not ITEMS.is_dir():
        print("shared corpus not present")
        return
    data = PROD.read_bytes()
    trust = parse_trust(data)
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    keys = parse_registry_keys(
        [
            {
                "keyid": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
                "keytype": "ecdsa-sha2-nistp256",
                "scheme": "ecdsa-sha2-nistp256",
                "key": spki,
                "expires": None,
            }
        ]
    )
    print(f"parse trusted root: {best(lambda: parse_trust(data), args.rounds) * 1e3:.2f} ms")
    results: dict[str, float] = {}
    for name, rel in [
        (
            "inclusion proof + checkpoint",
            "18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json",
        ),
        ("SET only", "15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json"),
        ("key-signed publish", "16-sigstorego-npm-publish-keyed/bundle-publish.json"),
    ]:
        bundle: dict[str, Any] = json.loads((ITEMS / rel).read_text())
        results[name] = best(
            lambda b=bundle: verify_rekor_bundle(b, trust, registry_keys=keys), args.rounds
        )
        print(f"verify {name}: {results[name] * 1e3:.2f} ms")
    hostile = json.loads(
        (
            ITEMS
            / "18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json"
        ).read_text()
    )
    proof = hostile["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["hashes"] = proof["hashes"] * 7  # 70 hashes: over the bound of 64

    def reject() -> None:
        with contextlib.suppress(RekorCheckError):
            verify_rekor_bundle(hostile, trust)

    t = best(reject, args.rounds)
    ratio = t / results["inclusion proof + checkpoint"]
    print(f"reject oversized inclusion proof: {t * 1e3:.2f} ms ({ratio:.2f}x a valid bundle)")


if __name__ == "__main__":
    main()
