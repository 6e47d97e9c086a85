"""The CLI's table of command modules agrees with the subcommands they register.

``cli._main`` imports only the module of the command a run names, found in
``_COMMAND_MODULES``; a command missing from the table, or listed under the
wrong module, would be unreachable or load the wrong code.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from intoto_policy.cli import _main
from intoto_policy.cli._common import _REGISTRY


def _registered() -> dict[str, set[str]]:
    _main._load_commands([])  # every module
    modules: dict[str, set[str]] = {}
    for cmd in _REGISTRY:
        modules.setdefault(cmd.words[0], set()).add(cmd.run.__module__.rsplit(".", 1)[-1])
    return modules


def test_every_registered_command_is_in_the_table_under_its_module() -> None:
    expected = {word: {module} for word, module in _main._COMMAND_MODULES.items()}
    assert _registered() == expected


# Command modules whose argument helpers another command shares.
SHARED_HELPERS = {"verify": {"_fetch", "_tuf"}, "audit": {"_store"}}


@pytest.mark.parametrize("word", sorted(_main._COMMAND_MODULES))
def test_a_run_imports_only_the_module_of_its_command(word: str) -> None:
    code = (
        "import json, sys\n"
        "from intoto_policy.cli._main import main\n"
        f"main([{word!r}, '--help'])\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('intoto_policy.cli._')]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = {name.rsplit(".", 1)[-1] for name in json.loads(done.stdout.splitlines()[-1])}
    own = _main._COMMAND_MODULES[word]
    others = set(_main._COMMAND_MODULES.values()) - {own} - SHARED_HELPERS.get(word, set())
    assert own in loaded
    assert not loaded & others, f"{word} imported {sorted(loaded & others)}"


@pytest.mark.parametrize(
    "argv", [["--help"], [], ["no-such-command"]], ids=["help", "nothing", "unknown"]
)
def test_help_and_unknown_commands_list_every_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main.main(argv) in (0, 2)
    out = capsys.readouterr()
    listing = out.out + out.err
    for word in _main._COMMAND_MODULES:
        assert word in listing


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intoto_policy.cli._common import _Subcommand

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    fake = _Subcommand(("interrupt",), "raises KeyboardInterrupt", lambda _p: None, interrupted)
    monkeypatch.setattr(_main, "_REGISTRY", [fake])
    monkeypatch.setattr(_main, "_COMMAND_MODULES", {"interrupt": "_keys"})
    assert _main.main(["interrupt"]) == 130
    out = capsys.readouterr()
    assert out.err == "intoto-policy: interrupted\n"
    assert out.out == ""
