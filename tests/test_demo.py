"""``intoto-policy demo``: a passing report, then a failing one, and no files left behind."""

from __future__ import annotations

import base64
import json
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import intoto_policy.cli._demo as cmd_demo  # registers the subcommand
from intoto_policy._errors import ValidationError
from intoto_policy.cli._demo_scenario import TAMPERINGS, DemoOutcome, run_demo
from intoto_policy.cli._main import main
from intoto_policy.report._model import RejectReason

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh working directory and a private temporary directory, both empty."""
    cwd = tmp_path / "cwd"
    tmp = tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return cwd, tmp


# Named cases: (argv after "demo", what the tampered report must be rejected for).
CLI_CASES: dict[str, tuple[list[str], frozenset[RejectReason]]] = {
    "default": ([], TAMPERINGS["product-digest"].detected_as),
    **{
        f"tamper-{name}": (["--tamper", name], tampering.detected_as)
        for name, tampering in TAMPERINGS.items()
    },
}


@pytest.mark.parametrize(("argv", "reasons"), list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_demo_prints_a_pass_then_a_failure(
    argv: list[str],
    reasons: frozenset[RejectReason],
    isolated: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--color", "never", *argv]) == 0
    out = capsys.readouterr().out
    first = out.index("PASS: the artifact may be deployed")
    second = out.index("FAIL:", first)
    assert "== 2. after tampering" in out[first:second]
    assert "demo succeeded" in out[second:]
    assert any(reason.value in out[second:] for reason in reasons)
    assert "\x1b[" not in out
    cwd, tmp = isolated
    assert list(cwd.iterdir()) == [], "the demo writes nothing to the working directory"
    assert list(tmp.iterdir()) == [], "the demo's temporary directory is removed"


def _pair(values: list[str]) -> tuple[str, str]:
    first, second = values
    return first, second


def _json_verdicts(text: str) -> tuple[str, str]:
    doc = json.loads(text)  # ONE document holding both reports
    return doc["asSigned"]["verdict"], doc["tampered"]["verdict"]


def _sarif_verdicts(text: str) -> tuple[str, str]:
    runs = json.loads(text)["runs"]  # ONE log, a run per verification
    ids = [run["automationDetails"]["id"] for run in runs]
    assert len(set(ids)) == len(ids) == 2
    errors = [sum(1 for r in run["results"] if r["level"] == "error") for run in runs]
    return _pair(["fail" if e else "pass" for e in errors])


def _vsa_verdicts(text: str) -> tuple[str, str]:
    results = []
    for line in text.splitlines():  # JSON Lines: one envelope per line
        statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
        results.append(statement["predicate"]["verificationResult"])
    return _pair(["pass" if r == "PASSED" else "fail" for r in results])


def _junit_verdicts(text: str) -> tuple[str, str]:
    root = ET.fromstring(text.encode("utf-8"))  # ONE document
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(set(cases)) == len(cases)
    verdicts = []
    for label in ("as-signed", "tampered"):
        suites = [s for s in root.findall("testsuite") if s.get("name", "").startswith(label + "/")]
        assert suites
        verdicts.append("fail" if any(s.findall("testcase/failure") for s in suites) else "pass")
    return _pair(verdicts)


MACHINE_FORMATS: dict[str, Callable[[str], tuple[str, str]]] = {
    "json": _json_verdicts,
    "sarif": _sarif_verdicts,
    "vsa": _vsa_verdicts,
    "junit": _junit_verdicts,
}


@pytest.mark.parametrize(
    ("fmt", "verdicts"), list(MACHINE_FORMATS.items()), ids=list(MACHINE_FORMATS)
)
def test_demo_machine_formats_give_a_pass_then_a_failure(
    fmt: str,
    verdicts: Callable[[str], tuple[str, str]],
    isolated: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--format", fmt]) == 0
    assert verdicts(capsys.readouterr().out) == ("pass", "fail")


def test_demo_reads_the_clock_once_in_the_handler(
    isolated: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def fixed_now() -> datetime:
        calls.append(1)
        return datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    # The CLI's one clock read (intoto_policy.cli._common.now), as the demo imported it.
    monkeypatch.setattr(cmd_demo, "now", fixed_now)
    assert main(["demo", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert len(calls) == 1
    assert out.count("verified at: 2026-03-01T09:30:00Z") == 2


def test_demo_exit_code_is_1_when_the_tampering_goes_unnoticed(
    isolated: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = run_demo(AT)

    def unnoticed(at: datetime, *, tampering: str = "product-digest") -> DemoOutcome:
        return replace(real, tampered=real.passing)

    monkeypatch.setattr("intoto_policy.cli._demo_scenario.run_demo", unnoticed)
    assert main(["demo", "--color", "never"]) == 1
    assert "the tampered evidence passed" in capsys.readouterr().err


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_run_demo_outcome(tampering: str, isolated: tuple[Path, Path]) -> None:
    outcome = run_demo(AT, tampering=tampering)
    assert outcome.as_expected
    assert bool(outcome.passing)
    assert not outcome.tampered
    assert outcome.passing.verified_at == AT
    assert outcome.passing.layout.signed
    assert outcome.passing.layout.expires == AT + timedelta(days=30)
    assert [s.name for s in outcome.passing.steps] == ["clone", "test", "build", "scan", "sbom"]
    assert all(step.attestations for step in outcome.passing.steps)
    assert any(f.startswith("keys/") and f.endswith(".key") for f in outcome.files)
    _, tmp = isolated
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("at", "tampering", "message"),
    [
        pytest.param(datetime(2026, 3, 1), "product-digest", "timezone-aware", id="naive-time"),
        pytest.param(AT, "delete-everything", "unknown tampering", id="unknown-tampering"),
    ],
)
def test_run_demo_rejects(at: datetime, tampering: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        run_demo(at, tampering=tampering)
