"""Micro-benchmark: fetching a layout and its keys through TUF.

Not a test. Run from the repository root:

    .venv/bin/python bench/bench_tuf.py [--rounds R] [--projects N]

Builds a repository with N delegated projects (one layout each) with the
``tuf`` commands' library functions, serves it over loopback HTTP, and
prints the best-of-R time of ``fetch_policy`` online with a cold cache,
online with a warm cache, offline over the warm cache, and from a
``file://`` mirror, plus the ratio of each to the cold online fetch.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import Envelope
from intoto_policy.policy._tuf import TUFPolicySource, fetch_policy
from intoto_policy.policy._tuf._repository import (
    RoleKeys,
    add_layout,
    delegate,
    init_repository,
    publish,
)

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
LAYOUT = b'{"expires": "2099-01-01T00:00:00Z", "steps": []}'


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def build(repo: Path, projects: int) -> None:
    keys = {
        r: generate_private_key("ed25519") for r in ("root", "targets", "snapshot", "timestamp")
    }
    init_repository(repo, at=AT, **{r: RoleKeys([k]) for r, k in keys.items()})
    owner = generate_private_key("ed25519")
    signed = Envelope.sign(LAYOUT, "application/vnd.intoto-policy.layout+json", [owner])
    import json

    layout = json.dumps(signed.to_dict()).encode()
    pub = owner.public_key.to_dict()
    pub_bytes = json.dumps(pub).encode()
    for i in range(projects):
        role_key = generate_private_key("ed25519")
        delegate(
            repo,
            role=f"p{i}",
            paths=[f"policies/p{i}/*"],
            keys=[role_key.public_key],
            threshold=1,
            targets_keys=[keys["targets"]],
            at=AT,
        )
        add_layout(
            repo,
            layout,
            name=f"policies/p{i}/layout.json",
            layout_keys=[(owner.public_key, pub_bytes)],
            signing_keys=[role_key],
            at=AT,
            role=f"p{i}",
        )
    publish(repo, snapshot_keys=[keys["snapshot"]], timestamp_keys=[keys["timestamp"]], at=AT)


def best(rounds: int, run: Any) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        assert result.ok, result.checks
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--projects", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        build(repo, args.projects)
        root = (repo / "metadata" / "1.root.json").read_bytes()
        httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(repo))
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        target = f"policies/p{args.projects - 1}/layout.json"
        cache = Path(tmp) / "cache"
        counter = iter(range(10**9))

        def cold() -> Any:
            fresh = Path(tmp) / f"cold{next(counter)}"
            return fetch_policy(TUFPolicySource(target, url, root, cache=fresh), at=AT)

        results = {
            "online, cold cache": best(args.rounds, cold),
            "online, warm cache": best(
                args.rounds,
                lambda: fetch_policy(TUFPolicySource(target, url, root, cache=cache), at=AT),
            ),
            "offline, warm cache": best(
                args.rounds,
                lambda: fetch_policy(
                    TUFPolicySource(target, url, root, cache=cache, offline=True), at=AT
                ),
            ),
            "file:// mirror": best(
                args.rounds,
                lambda: fetch_policy(TUFPolicySource(target, repo.as_uri(), root), at=AT),
            ),
        }
        httpd.shutdown()
        httpd.server_close()
    base = results["online, cold cache"]
    print(f"{args.projects} delegated projects, best of {args.rounds}:")
    for name, seconds in results.items():
        print(f"  {name:22s} {seconds * 1000:8.2f} ms   {seconds / base:5.2f}x of cold online")


if __name__ == "__main__":
    main()
