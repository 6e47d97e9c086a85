"""The command line keeps freed memory for reuse (glibc); the library and tests never tune it.

``cli._main._keep_freed_memory`` raises glibc's mmap and trim thresholds in
the program's own process, so that the large buffers a verification frees
are reused instead of being unmapped and faulted back in.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from intoto_policy.cli import _main

# In a fresh interpreter: optionally tune, then free a 20 MiB buffer and
# count the page faults of allocating and filling another one.
PROBE = """
import resource, sys
from intoto_policy.cli._main import _keep_freed_memory
tuned = _keep_freed_memory() if sys.argv[1] == "tune" else False
size = 20 * 1024 * 1024
first = bytearray(size)
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = bytearray(size)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(tuned, faults)
"""


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    run_env = {
        k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
    }
    run_env.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        env=run_env,
    )
    tuned, faults = done.stdout.split()
    return tuned == "True", int(faults)


def _glibc() -> bool:
    return sys.platform == "linux" and os.confstr("CS_GNU_LIBC_VERSION") is not None


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt only")
def test_freed_buffers_are_reused_after_tuning() -> None:
    tuned, faults = _probe("tune")
    untuned, faults_untuned = _probe("none")
    assert tuned
    assert not untuned
    pages = 20 * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    # Untuned, the second buffer is mapped afresh: a fault per page.
    assert faults_untuned > pages // 2
    assert faults < pages // 10


ENVIRONMENT = [
    *((name, "65536") for name in _main._MALLOC_ENV),
    ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072"),
    ("GLIBC_TUNABLES", "glibc.rtld.nns=4:glibc.malloc.trim_threshold=0"),
]


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt only")
@pytest.mark.parametrize(
    ("variable", "value"), ENVIRONMENT, ids=[f"{n}={v}" for n, v in ENVIRONMENT]
)
def test_allocator_settings_in_the_environment_win(variable: str, value: str) -> None:
    tuned, _ = _probe("tune", **{variable: value})
    assert not tuned


def test_no_ctypes_means_no_tuning_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_main._MALLOC_ENV, "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "ctypes", None)  # import ctypes raises ImportError
    assert _main._keep_freed_memory() is False


@pytest.mark.parametrize("argv", [["--help"], ["keygen", "--help"]], ids=["help", "keygen help"])
def test_main_with_explicit_arguments_leaves_the_allocator_alone(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> bool:
        raise AssertionError("main(argv) must not tune the process's allocator")

    monkeypatch.setattr(_main, "_keep_freed_memory", refuse)
    assert _main.main(argv) == 0


def test_the_program_tunes_its_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def record() -> bool:
        calls.append(True)
        return True

    monkeypatch.setattr(_main, "_keep_freed_memory", record)
    monkeypatch.setattr(sys, "argv", ["intoto-policy", "--help"])
    assert _main.main() == 0
    assert calls == [True]
