"""Benchmark: fetching attestations from a local Distribution registry.

Not a test. Needs Debian's ``docker-registry``. Run from the repository root:

    .venv/bin/python bench/bench_fetch.py [--layers N]

Pushes an image with N DSSE layers under cosign's ``.att`` tag, then prints
how long fetching all of them takes, and fetching one of them when the
others are filtered out by their predicate-type annotation (their blobs are
never downloaded).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fetch_support import DSSE, Pusher, start_registry

from intoto_policy import fetch
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=100)
    n = parser.parse_args().layers
    proc, netloc = start_registry(Path(tempfile.mkdtemp()))
    try:
        pusher = Pusher(netloc, "bench/app")
        image = pusher.image("v1", b"bits")
        key = generate_private_key("ed25519")
        layers = []
        for i in range(n):
            statement = {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "app", "digest": {"sha256": image.removeprefix("sha256:")}}],
                "predicateType": f"https://example.com/p/{i}",
                "predicate": {},
            }
            envelope = Envelope.sign(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [key])
            data = json.dumps(envelope.to_dict()).encode()
            layers.append(pusher.blob(data, DSSE, predicateType=f"https://example.com/p/{i}"))
        config = pusher.blob(b"{}", "application/vnd.oci.image.config.v1+json")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        }
        pusher.manifest(image.replace(":", "-") + ".att", manifest)
        pusher.close()
        source = f"oci://{netloc}/bench/app@{image}"
        for wanted, label in (((), f"all {n}"), (("https://example.com/p/0",), f"1 of {n}")):
            start = time.perf_counter()
            result = fetch(source, predicate_types=wanted)
            took = time.perf_counter() - start
            print(
                f"{label:>10}: {len(result.attestations):4d} attestations in {took * 1000:7.1f} ms"
            )
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
