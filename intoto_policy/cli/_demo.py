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
        help="report format (vsa: signed with a throw-away demo key)",
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
    _say(_render(outcome.passing, args.format, color))
    if human:
        _say(f"\n== 2. after tampering: {outcome.tampering.description} ==\n\n")
    _say(_render(outcome.tampered, args.format, color))
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
