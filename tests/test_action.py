"""The GitHub Action (``action.yml``): its shell steps build the right
``intoto-policy verify`` command lines, pass exit codes through, write the
SARIF file and the step summary, and never let an input become shell syntax.

The verify step's script is taken from ``action.yml`` itself and run with
bash, with the environment GitHub Actions would give it, against the
attestation-verifier corpus scenarios.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from intoto_policy.cli._main import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "attestation-verifier" / "derived-scenarios"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
AT = "2026-11-22T00:00:00Z"
# the build step's product in the scenarios
FOO = "sha256:58eaf5a78d580f5dbd49d31a5b733094169b31bfdf49055b74bcac2877d8f58c"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")


def _action() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _step(step_id: str) -> dict[str, Any]:
    (step,) = [s for s in _action()["runs"]["steps"] if s.get("id") == step_id]
    assert isinstance(step, dict)
    return step


def test_action_is_composite_and_uploads_sarif_even_on_failure() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/")]
    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.verify.outputs.sarif-file }}"
    assert '"$GITHUB_ACTION_PATH"' in _step("install")["run"]  # installed from the repository


def test_no_expression_is_interpolated_into_a_script() -> None:
    """Inputs reach scripts as environment variables only (no script injection)."""
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("id")


def _shim(bin_dir: Path) -> None:
    bin_dir.mkdir()
    tool = bin_dir / "intoto-policy"
    tool.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -c '
        "'import sys; from intoto_policy.cli._main import main; sys.exit(main())' \"$@\"\n",
        encoding="utf-8",
    )
    tool.chmod(0o755)


class Run(NamedTuple):
    code: int
    outputs: dict[str, str]
    summary: str
    sarif: dict[str, Any] | None
    stderr: str


def _run_verify(tmp: Path, inputs: dict[str, str]) -> Run:
    action = _action()
    step = _step("verify")
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values.update(inputs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    for name, expression in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expression)
        assert match, expression
        env[name] = values[match[1]]
    _shim(tmp / "bin")
    env["PATH"] = f"{tmp / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env["GITHUB_OUTPUT"] = str(tmp / "output")
    env["GITHUB_STEP_SUMMARY"] = str(tmp / "summary.md")
    for name in ("output", "summary.md"):
        (tmp / name).write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", step["run"]],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in (tmp / "output").read_text().splitlines() if line)
    sarif_path = tmp / values["sarif-file"]
    sarif = json.loads(sarif_path.read_text()) if sarif_path.is_file() else None
    return Run(done.returncode, outputs, (tmp / "summary.md").read_text(), sarif, done.stderr)


@pytest.fixture
def signed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The baseline scenario's layout signed by a fresh owner key."""
    key = tmp_path / "owner"
    assert main(["keygen", "--type", "ed25519", "--out", str(key)]) == 0
    layouts = {}
    for scenario in ("00-baseline-pass", "02-wrong-builder-id"):
        out = tmp_path / f"{scenario}.layout.json"
        argv = ["layout", "sign", str(CORPUS / scenario / "layout.yml"), "--key", str(key)]
        assert main([*argv, "--at", AT, "--out", str(out)]) == 0
        layouts[scenario] = str(out)
    capsys.readouterr()
    return {"key": f"{key}.pub", **layouts}


class ActionCase(NamedTuple):
    id: str
    scenario: str
    inputs: dict[str, str]
    code: int
    summary: str  # in the step summary ("" : the summary stays empty)


BASE = {"at": AT, "subject-digest": FOO}
ACTION_CASES = [
    ActionCase("pass", "00-baseline-pass", BASE, 0, "intoto-policy: PASS"),
    ActionCase("policy-fails", "02-wrong-builder-id", BASE, 1, "intoto-policy: FAIL"),
    ActionCase(
        "other-artifact",
        "00-baseline-pass",
        {**BASE, "subject-digest": "sha256:" + "0" * 64},
        1,
        "intoto-policy: FAIL",
    ),
    ActionCase(
        "list-inputs-with-blank-lines",
        "00-baseline-pass",
        {**BASE, "subject-digest": f"\n{FOO}\n\n"},
        0,
        "intoto-policy: PASS",
    ),
    ActionCase("no-subject-bad-value", "00-baseline-pass", {**BASE, "no-subject": "yes"}, 2, ""),
    ActionCase(
        "missing-attestations",
        "00-baseline-pass",
        {**BASE, "attestations": "does-not-exist"},
        2,
        "",
    ),
    ActionCase(
        "hostile-input-is-a-file-name",
        "00-baseline-pass",
        {**BASE, "attestations": "x; touch pwned; $(touch pwned2)"},
        2,
        "",
    ),
]


@pytest.mark.parametrize("case", ACTION_CASES, ids=[c.id for c in ACTION_CASES])
def test_action_verify_step(case: ActionCase, tmp_path: Path, signed: dict[str, str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    inputs = {
        "layout": signed[case.scenario],
        "layout-key": signed["key"],
        "attestations": str(CORPUS / case.scenario / "attestations"),
        **case.inputs,
    }
    run = _run_verify(work, inputs)
    assert run.code == case.code, run.stderr
    assert not (work / "pwned").exists()
    assert not (work / "pwned2").exists()
    if case.code == 2:
        assert run.sarif is None
        return
    assert run.outputs["exit-code"] == str(case.code)
    assert run.summary.startswith(("### ✅ " + case.summary, "### ❌ " + case.summary))
    assert run.sarif is not None
    assert run.outputs["sarif-file"] == "intoto-policy.sarif"
    (sarif_run,) = run.sarif["runs"]
    assert sarif_run["automationDetails"]["id"] == "intoto-policy/"
    assert sarif_run["properties"]["verdict"] == ("pass" if case.code == 0 else "fail")
    if SARIF_SCHEMA.is_file():
        import jsonschema

        schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
        jsonschema.Draft4Validator(schema).validate(run.sarif)
