"""The ``intoto-policy`` command line.

Subcommands live in a small registry: a subcommand is one function
decorated with :func:`subcommand`, which names it (``"keygen"``, or
``"layout sign"`` for a nested one), says how to add its arguments, and
runs it. Adding a subcommand touches nothing else in this module.

Exit codes, for every subcommand:

* 0: success.
* 1: a verification failure (for ``inspect --key``: some envelope has no
  signature that verifies under any given key).
* 2: bad input or usage, with a one-line ``intoto-policy: SOURCE: problem``
  on stderr (argparse's own usage errors also exit 2).
* 130: interrupted (Ctrl-C), with ``intoto-policy: interrupted``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn

from .._errors import IntotoPolicyError
from ._common import _REGISTRY, EXIT_INPUT, PROG, Handler, _error, subcommand

__all__ = ["main", "subcommand"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        _error(f"{command}: {message} (see --help)" if command else f"{message} (see --help)")
        raise SystemExit(EXIT_INPUT)


def _version() -> str:
    # The installed distribution's version (the package's __init__ is off
    # limits to the cli layer, see docs/architecture.md).
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("intoto-policy")
    except PackageNotFoundError:
        return "(not installed)"


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked (importlib.metadata
    costs about 10 ms of every run's start-up otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        sys.stdout.write(f"{PROG} {_version()}\n")  # on stdout, as argparse's own action
        parser.exit()


def _build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the subcommand it names is built.

    Building every subcommand's parser costs milliseconds (argparse looks up
    translations for each message) and a subcommand's arguments may need
    imports, so when the command line names a known subcommand only its
    parsers are made. ``--help`` or an unknown command gets them all.
    """
    parser = _Parser(
        prog=PROG,
        description="Verify in-toto attestations against layouts.",
        epilog="Exit codes: 0 success, 1 verification failure, 2 bad input or usage, "
        "130 interrupted.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show program's version number and exit"
    )
    groups: dict[tuple[str, ...], Any] = {(): parser.add_subparsers(dest="command", required=True)}
    _load_commands(argv or [])
    order = {word: index for index, word in enumerate(_COMMAND_MODULES)}
    # Registration order depends on which modules earlier runs imported.
    registry = sorted(_REGISTRY, key=lambda cmd: order.get(cmd.words[0], len(order)))
    named = [cmd for cmd in registry if argv and cmd.words[0] == argv[0]]
    for cmd in named or registry:
        for depth in range(1, len(cmd.words)):
            prefix = cmd.words[:depth]
            if prefix not in groups:
                group = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                groups[prefix] = group.add_subparsers(dest=f"command_{depth}", required=True)
        sub = groups[cmd.words[:-1]].add_parser(cmd.words[-1], help=cmd.help, description=cmd.help)
        if argv is None or tuple(argv[: len(cmd.words)]) == cmd.words:
            cmd.configure(sub)
            _refuse_empty_values(sub)
        sub.set_defaults(handler=cmd.run)
    # A usage error names the missing subcommand by its choices, never by
    # the internal destination name (command_1).
    for action in groups.values():
        action.metavar = "{" + ",".join(action.choices) + "}"
    return parser


def _refuse_empty_values(parser: argparse.ArgumentParser) -> None:
    """Make every argument that takes a value refuse an empty one.

    Handlers test optional values for truth, so ``--out ""`` would otherwise
    silently mean "not given" (stdout, the default directory...).
    """
    for action in parser._actions:  # argparse has no public way to list them
        if action.nargs == 0 or isinstance(action, argparse._SubParsersAction):
            continue
        action.type = _non_empty(action.type)


def _non_empty(convert: Any) -> Callable[[str], Any]:
    def check(text: str) -> Any:
        if text == "":
            raise argparse.ArgumentTypeError("an empty value is not allowed")
        return convert(text) if callable(convert) else text

    return check


#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED: Final = 130

#: glibc's mallopt parameters and the values the command line sets.
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
_MMAP_THRESHOLD: Final = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit
_TRIM_THRESHOLD: Final = 256 * 1024 * 1024
_MALLOC_ENV: Final = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def _keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it at once.

    A verification allocates and frees buffers of tens of megabytes (link
    files, PAE bytes, their text). By default glibc maps each afresh and
    unmaps it when freed, and faulting the pages back in cost about 6 % of
    verifying a 3 x 30,000-artifact chain (bench/README.md). The command
    line is one short-lived process, so it raises glibc's thresholds; the
    library never does (an application owns its allocator policy), nor does
    the command line where the allocator is tuned in the environment
    (``MALLOC_*``, ``GLIBC_TUNABLES=glibc.malloc.*``), the C library is not
    glibc or Python has no ``ctypes``.

    Returns:
        Whether the thresholds were set.
    """
    if (
        sys.platform != "linux"
        or any(name in os.environ for name in _MALLOC_ENV)
        or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
    ):
        return False
    try:
        import ctypes  # noqa: PLC0415 - only the program's own process needs it

        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # absent from musl
    except (ImportError, OSError):  # Python built without ctypes (libffi)
        return False
    if mallopt is None:
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``intoto-policy`` command line.

    Args:
        argv: The arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        The exit code: 0 success, 1 verification failure, 2 bad input or
        usage, 130 interrupted (Ctrl-C).
    """
    if argv is None:  # run as the program: this process is ours to tune
        _keep_freed_memory()
        argv = sys.argv[1:]
    parser = _build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    handler: Handler = args.handler
    try:
        return handler(args)
    except IntotoPolicyError as exc:
        _error(str(exc))
        return EXIT_INPUT
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's code for SIGINT
        _error("interrupted")
        return EXIT_INTERRUPTED


#: The module that defines each top-level command word, in ``--help`` order.
#: A run imports only the module of the command it names (importing all ten
#: costs about 10 ms of every run's start-up); ``--help``, no command or an
#: unknown one imports them all. tests/test_cli_registry.py checks that this
#: table and the registered subcommands agree.
_COMMAND_MODULES: Final = {
    "keygen": "_keys",
    "attest": "_attest",
    "inspect": "_inspect",
    "verify": "_verify",
    "layout": "_layout",
    "demo": "_demo",
    "fetch": "_fetch",
    "tuf": "_tuf",
    "store": "_store",
    "audit": "_audit",
}


def _load_commands(argv: Sequence[str]) -> None:
    """Import the module of the command ``argv`` names, or every command module.

    Subcommands register themselves when their module is imported; their
    heavy dependencies load inside their handlers.
    """
    named = _COMMAND_MODULES.get(argv[0]) if argv else None
    for module in [named] if named else _COMMAND_MODULES.values():
        importlib.import_module(f"{__package__}.{module}")


if __name__ == "__main__":
    sys.exit(main())
