"""Progress within one long fetch: the client's byte callback and the meter on a terminal.

The meter is exercised three ways: with an injected stream whose ``isatty``
answers as asked, through the HTTP client against a loopback server, and
end to end with ``intoto-policy fetch`` whose stderr is a pseudo-terminal
(``pty``), so the TTY detection itself is what is tested.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from fetch_support import serve

from intoto_policy import fetch
from intoto_policy.cli._progress import Meter, _size
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope

KEY = generate_private_key("ed25519")
KIB = 1024
MIB = 1024 * KIB


class _Stream(io.StringIO):
    def __init__(self, *, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _lines(count: int) -> bytes:
    out = []
    for n in range(count):
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"a{n}", "digest": {"sha256": f"{n:064x}"}}],
            "predicateType": "https://example.com/test/v1",
            "predicate": {"pad": "x" * 400},
        }
        env = Envelope.sign(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [KEY])
        out.append(json.dumps(env.to_dict()).encode())
    return b"\n".join(out) + b"\n"


# --------------------------------------------------------------------------
# The meter


SIZE_CASES = [
    ("zero", 0, "0 B"),
    ("bytes", 57, "57 B"),
    ("bytes-two-figures", 999, "990 B"),
    ("one-kib", KIB, "1.0 KiB"),
    ("kib-fraction-rounds-down", 1535, "1.4 KiB"),
    ("tens-of-kib", 10 * KIB, "10 KiB"),
    ("just-under-a-mib", MIB - 1, "1020 KiB"),
    ("mib-fraction", MIB + MIB // 2, "1.5 MiB"),
    ("source-budget", 128 * MIB, "120 MiB"),
]


@pytest.mark.parametrize(("name", "n", "text"), SIZE_CASES, ids=[c[0] for c in SIZE_CASES])
def test_sizes_are_coarse_and_round_down(name: str, n: int, text: str) -> None:
    assert _size(n) == text, name


# (id, stream is a TTY, forced enabled, chunks, drawn)
METER_CASES = [
    ("tty-draws", True, None, [600, 600, 600], True),
    ("pipe-draws-nothing", False, None, [600, 600, 600], False),
    ("forced-off-on-a-tty", True, False, [600, 600, 600], False),
    ("forced-on-without-a-tty", False, True, [600], True),
    ("nothing-received-nothing-drawn", True, None, [], False),
]


@pytest.mark.parametrize(
    ("name", "tty", "enabled", "chunks", "drawn"), METER_CASES, ids=[c[0] for c in METER_CASES]
)
def test_meter_draws_only_on_a_terminal_and_erases_itself(
    name: str, tty: bool, enabled: bool | None, chunks: list[int], drawn: bool
) -> None:
    stream = _Stream(tty=tty)
    with Meter("fetching src", stream, enabled=enabled) as meter:
        for n in chunks:
            meter(n)
    out = stream.getvalue()
    assert meter.received == sum(chunks)
    if not drawn:
        assert out == "", name
        return
    assert out.startswith("\rfetching src: ")
    assert f"fetching src: {_size(sum(chunks))} received" in out
    # Erased on close: the last write blanks the line and returns the cursor.
    assert out.endswith("\r" + " " * len(meter.line()) + "\r")
    assert "\n" not in out


def test_meter_redraws_only_when_the_text_changes() -> None:
    stream = _Stream(tty=True)
    meter = Meter("x", stream)
    shown = set()
    for _ in range(128 * MIB // (4 * KIB)):  # the whole per-source budget, 4 KiB at a time
        meter(4 * KIB)
        shown.add(meter.line())
    meter.close()
    assert meter.redraws == len(shown)
    assert meter.redraws <= 3 * 300  # about 270 texts per unit, three units used
    print(f"redraws for 128 MiB in 4 KiB chunks: {meter.redraws}")


LABEL_CASES = [
    ("control-characters-dropped", "fetch\x1b[2Jing\x07", "fetch[2Jing"),
    ("long-label-shortened", "fetching https://example.com/" + "a" * 200, None),
]


@pytest.mark.parametrize(("name", "label", "kept"), LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_meter_label_is_safe_and_short(name: str, label: str, kept: str | None) -> None:
    meter = Meter(label, _Stream(tty=True))
    assert meter.label.isprintable(), name
    assert len(meter.label) <= 60
    if kept is not None:
        assert meter.label == kept


# --------------------------------------------------------------------------
# The client reports what it receives


CLIENT_CASES = [
    ("small-body", 3),
    ("large-body-many-chunks", 600),
]


@pytest.mark.parametrize(("name", "count"), CLIENT_CASES, ids=[c[0] for c in CLIENT_CASES])
def test_fetch_reports_every_byte_received(name: str, count: int) -> None:
    body = _lines(count)
    seen: list[int] = []
    with serve({"/atts.jsonl": (200, {}, body)}) as server:
        result = fetch(f"{server.url}/atts.jsonl", progress=seen.append)
    assert sum(seen) == len(body), name
    assert len(result.items) == count
    # The callback observes; what is fetched is the same without it.
    with serve({"/atts.jsonl": (200, {}, body)}) as server:
        plain = fetch(f"{server.url}/atts.jsonl")
    assert [i.raw for i in plain.items] == [i.raw for i in result.items]


# --------------------------------------------------------------------------
# End to end: stderr a pseudo-terminal, or a pipe


def _run_fetch(url: str, out: Path, *, tty: bool) -> tuple[int, str, str]:
    """Run ``intoto-policy fetch`` in a child; return its code, stdout and stderr."""
    argv = [sys.executable, "-m", "intoto_policy", "fetch", url, "--out", str(out)]
    if not tty:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    try:
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = child.stdout.read() if child.stdout else b""
        code = child.wait(timeout=120)
    finally:
        os.close(master)
    return code, stdout.decode(), b"".join(chunks).decode()


@pytest.mark.parametrize("tty", [True, False], ids=["stderr-is-a-terminal", "stderr-is-a-pipe"])
def test_cli_fetch_shows_bytes_received_only_on_a_terminal(tmp_path: Path, tty: bool) -> None:
    body = _lines(600)  # several hundred KiB: many chunks, several redraws
    out = tmp_path / "out.jsonl"
    with serve({"/atts.jsonl": (200, {}, body)}) as server:
        url = f"{server.url}/atts.jsonl"
        code, stdout, stderr = _run_fetch(url, out, tty=tty)
    assert code == 0, stderr
    assert "received" not in stdout
    assert out.read_bytes() == body  # machine output untouched
    if tty:
        assert f"\rfetching {url}: " in stderr
        assert f"{_size(len(body))} received" in stderr
        assert stderr.count("\r") >= 3
    else:
        assert "received" not in stderr
        assert "\r" not in stderr
    assert f"{url}: 600 attestation(s)" in stderr
