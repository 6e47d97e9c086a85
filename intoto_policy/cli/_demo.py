"""``intoto-policy demo``: the main job end to end, in a temporary directory.

Registered with the CLI's :func:`~intoto_policy.cli._common.subcommand` registry by
importing this module. The handler is the only place the demo reads the
clock; :func:`intoto_policy.cli._demo_scenario.run_demo` takes the time as a parameter.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from .._errors import UsageError
from ._common import EXIT_FAILED, EXIT_OK, now, subcommand

if TYPE_CHECKING:
    from ..report._model import Report

__all__: list[str] = []

_FORMATS = ("text", "json", "sarif", "junit", "markdown", "vsa")


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    from ._demo_scenario import TAMPERINGS  # noqa: PLC0415 - keeps `intoto-policy --help` fast

    parser.add_argument(
        "--format",
        default="text",
        choices=_FORMATS,
        help="report format; machine formats write one document holding both "
        "verifications (vsa: JSON Lines, signed with a throw-away demo key)",
    )
    parser.add_argument(
        "--tamper",
        default=next(iter(TAMPERINGS)),
        choices=tuple(TAMPERINGS),
        help="how to tamper with the evidence before the second verification",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        help="ANSI colour in the text report (default auto: when stdout is a terminal and "
        "NO_COLOR is unset)",
    )


def _use_color(mode: str | None) -> bool:
    if mode is not None and mode != "auto":
        return mode == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _render(report: Report, fmt: str, color: bool) -> str:
    from ..crypto._keys import generate_private_key  # noqa: PLC0415
    from ..report._render import render  # noqa: PLC0415

    if fmt == "text":
        return render(report, "text", color=color)
    if fmt == "vsa":
        return render(report, "vsa", key=generate_private_key("ed25519"))
    return render(report, fmt)


#: The two verifications, as machine formats label them.
_LABELS = ("as-signed", "tampered")


def _one_document(reports: tuple[Report, Report], fmt: str, tampering: str) -> str:
    """Both reports as ONE document of a machine format, so that it parses.

    json: an object holding both reports; sarif: one log with a run per
    verification (each with its own ``automationDetails.id``); junit: one
    ``<testsuites>`` whose suites and classnames are prefixed with the
    verification; vsa: JSON Lines, one signed envelope per line.
    """
    import json  # noqa: PLC0415

    from ..report._common import dump_json  # noqa: PLC0415

    if fmt == "json":
        docs = [json.loads(_render(r, "json", color=False)) for r in reports]
        combined = {
            "format": "intoto-policy/demo/v1",
            "tampering": tampering,
            **dict(zip(("asSigned", "tampered"), docs, strict=True)),
        }
        return dump_json(combined, indent=2) + "\n"
    if fmt == "sarif":
        from ..report._sarif import sarif_log  # noqa: PLC0415

        logs = [
            sarif_log(r, category=f"intoto-policy/demo/{label}")
            for r, label in zip(reports, _LABELS, strict=True)
        ]
        logs[0]["runs"].extend(logs[1]["runs"])
        return dump_json(logs[0], indent=2) + "\n"
    if fmt == "junit":
        return _junit_together(reports)
    lines = [
        json.dumps(json.loads(_render(r, fmt, color=False)), separators=(",", ":")) for r in reports
    ]
    return "\n".join(lines) + "\n"


def _junit_together(reports: tuple[Report, Report]) -> str:
    # Both documents are this tool's own output, parsed back to merge them.
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    roots = [ET.fromstring(_render(r, "junit", color=False).encode("utf-8")) for r in reports]  # noqa: S314
    merged = ET.Element("testsuites", {"name": roots[0].get("name", "intoto-policy")})
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for root, label in zip(roots, _LABELS, strict=True):
        for name in totals:
            totals[name] += int(root.get(name, "0"))
        for suite in root.findall("testsuite"):
            suite.set("name", f"{label}/{suite.get('name', '')}")
            for case in suite.findall("testcase"):
                case.set("classname", f"{label}.{case.get('classname', '')}")
            merged.append(suite)
    merged.attrib.update({name: str(value) for name, value in totals.items()})
    merged.set("time", "0")
    ET.indent(merged)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(merged, encoding="unicode") + "\n"
    )


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@subcommand(
    "demo",
    help="sign a sample build, verify it against a shipped layout, then tamper and verify again",
    arguments=_demo_arguments,
)
def _demo(args: argparse.Namespace) -> int:
    from ._demo_scenario import LAYOUT_NAME, run_demo  # noqa: PLC0415

    if args.color is not None and args.format != "text":
        # Only the text report has colour: refused, never silently ignored.
        raise UsageError("--color: only used with --format text", source="demo")
    at = now()  # the verification time
    outcome = run_demo(at, tampering=args.tamper)
    color = _use_color(args.color)
    human = args.format in ("text", "markdown")
    if human:
        _say(
            "intoto-policy demo (everything below was made in a temporary directory that is gone now)\n"
            "  keys:     ci, builder, scanner (Ed25519) and owner, who signs the layout\n"
            "  evidence: clone link, test result, SLSA provenance, vulnerability scan, SPDX SBOM\n"
            f"  layout:   layouts/{LAYOUT_NAME} with the keys written in, signed by owner\n\n"
            "== 1. the evidence as it was signed ==\n\n"
        )
    if human:
        _say(_render(outcome.passing, args.format, color))
        _say(f"\n== 2. after tampering: {outcome.tampering.description} ==\n\n")
        _say(_render(outcome.tampered, args.format, color))
    else:
        reports = (outcome.passing, outcome.tampered)
        _say(_one_document(reports, args.format, outcome.tampering.description))
    if outcome.as_expected:
        if human:
            _say(
                "\ndemo succeeded: the evidence as signed passed, and the tampered "
                f"{outcome.tampering.file} was caught\n"
            )
        return EXIT_OK
    problems = []
    if not outcome.passing:
        problems.append("the untouched evidence did not pass")
    if outcome.tampered:
        problems.append("the tampered evidence passed")
    elif not outcome.detected:
        problems.append(
            f"the tampered {outcome.tampering.file} was not rejected for the expected reason"
        )
    sys.stderr.write(f"intoto-policy: demo failed: {'; '.join(problems)}\n")
    return EXIT_FAILED
