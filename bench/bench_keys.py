"""Verification cost against the number of keys in the layout.

Not a test (pytest does not collect ``bench/``). Run it from the repository
root::

    .venv/bin/python bench/bench_keys.py                       # N = 1,100,3000,30000
    .venv/bin/python bench/bench_keys.py --keys 1,3000 --kind ecdsa -n 1000

For each key count N it builds one layout with N key functionaries, all
authorized for one step, and ``-n`` attestations (default 3,000) signed by
keys spread across the set; then it times, best of ``--repeat`` runs, the
verifier (:func:`intoto_policy.verifier._core.verify_attestations`, in process, up
to the finished report) on the parsed attestations. Parsing is done once
outside the timing: it does not depend on N. Keys are derived from fixed
seeds, so every run verifies the same signatures.

Two cases per N:

* ``hinted``: every signature carries its key's id (the usual case);
* ``unhinted``: every signature carries an empty keyid, so the verifier has
  to try the layout's keys one by one. This costs O(N) verifications per
  signature by nature (a signature does not name its key), so it runs on
  ``--unhinted-n`` attestations only (default 100).

It prints attestations per second (CPU time) and the ratio to the rate at the
smallest N. The target is that 3,000 keys stay within 1.5x of the 1-key rate
in the hinted case. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from intoto_policy.crypto._keys import PrivateKey
from intoto_policy.model._attestations import Attestation, parse_attestations
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from intoto_policy.policy._layout import Layout
from intoto_policy.verifier._core import verify_attestations

AT: Final = datetime(2026, 1, 15, 12, tzinfo=UTC)
PREDICATE: Final = "https://example.com/bench/keys/v1"
_P256_ORDER: Final = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def make_keys(kind: str, n: int) -> list[PrivateKey]:
    """N deterministic private keys (derived from seeds: no entropy, fast)."""
    keys = []
    for i in range(n):
        seed = hashlib.sha256(b"bench-keys %d" % i).digest()
        crypto: Any
        if kind == "ed25519":
            crypto = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        else:
            scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
            crypto = ec.derive_private_key(scalar, ec.SECP256R1())
        keys.append(PrivateKey.from_crypto(crypto))
    return keys


def make_layout(keys: list[PrivateKey]) -> Layout:
    """One step whose expected predicate authorizes every key (threshold 1)."""
    functionaries = {
        k.keyid: {
            "type": "key",
            "keyType": k.public_key.keytype,
            "scheme": k.public_key.scheme,
            "keyVal": {"public": k.public_key.public},
        }
        for k in keys
    }
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": functionaries,
            "steps": [
                {
                    "name": "test",
                    "expectedPredicates": [
                        {"predicateType": PREDICATE, "functionaries": list(functionaries)}
                    ],
                }
            ],
        },
        source="bench-keys-layout",
    )


def make_attestations(keys: list[PrivateKey], n: int, *, hint: bool) -> list[Attestation]:
    """N attestations, the i-th signed by a key spread over the whole set."""
    lines = []
    stride = 7919  # a prime: consecutive attestations land far apart in the key list
    for i in range(n):
        key = keys[(i * stride) % len(keys)]
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"app-{i}", "digest": {"sha256": f"{i:064x}"}}],
            "predicateType": PREDICATE,
            "predicate": {"run": i},
        }
        payload = json.dumps(statement, separators=(",", ":")).encode()
        doc = Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [key]).to_dict()
        if not hint:
            doc["signatures"][0]["keyid"] = ""
        lines.append(json.dumps(doc, separators=(",", ":")).encode())
    return parse_attestations(b"\n".join(lines) + b"\n", source="bench.intoto.jsonl")


def best_cpu(layout: Layout, atts: list[Attestation], repeat: int) -> tuple[float, bool]:
    """Best CPU seconds of ``repeat`` verifications, and the verdict."""
    best = float("inf")
    ok = False
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        report = verify_attestations(layout, atts, at=AT)
        best = min(best, time.process_time() - start)
        ok = bool(report)
    return best, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="verification cost against key count")
    parser.add_argument(
        "--keys",
        default="1,100,3000,30000",
        help="comma-separated key counts (default %(default)s)",
    )
    parser.add_argument("-n", type=int, default=3000, help="hinted attestations (default 3000)")
    parser.add_argument(
        "--unhinted-n", type=int, default=100, help="unhinted attestations (default 100; 0: skip)"
    )
    parser.add_argument("--kind", choices=("ed25519", "ecdsa"), default="ed25519")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best counts")
    args = parser.parse_args(argv)
    counts = sorted({int(c) for c in args.keys.split(",") if c.strip()})
    out = sys.stdout.write
    out(
        f"key-count benchmark: {args.kind}, {args.n} hinted / {args.unhinted_n} unhinted "
        f"attestations, best of {args.repeat} (CPU time)\n"
    )
    out(f"{'keys':>7} {'layout load s':>13} {'hinted att/s':>13} {'ratio':>6}")
    out(f" {'unhinted att/s':>15} {'ratio':>6}\n")
    all_keys = make_keys(args.kind, max(counts))
    base: dict[str, float] = {}
    for count in counts:
        keys = all_keys[:count]
        start = time.process_time()
        layout = make_layout(keys)
        load = time.process_time() - start
        row = f"{count:>7} {load:>13.2f}"
        for name, n, hint, width in (
            ("hinted", args.n, True, 13),
            ("unhinted", args.unhinted_n, False, 15),
        ):
            if n <= 0:
                row += f" {'-':>{width}} {'-':>6}"
                continue
            atts = make_attestations(keys, n, hint=hint)
            cpu, ok = best_cpu(layout, atts, args.repeat)
            rate = n / cpu
            base.setdefault(name, rate)
            shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}"
            row += f" {shown:>{width}} {base[name] / rate:>5.2f}x"
            if not ok:
                row += " (FAILED verdict)"
        out(row + "\n")
        sys.stdout.flush()
    out("ratio: rate at the smallest key count / rate at this one (1.00x = flat)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
