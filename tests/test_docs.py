"""The documentation's examples run, and say what they show.

Every ```python and ```console block of a page under ``docs/`` (the
generated ``docs/reference/`` aside) runs, in page order, in one fresh
temporary directory per page: Python blocks in one shared namespace,
console blocks through ``bash`` with ``intoto-policy`` on ``PATH`` running
this checkout's CLI.

Console conventions:

* ``$ command`` lines are commands (a trailing ``\\`` continues a command);
  the lines after one are its documented output.
* A command must succeed unless the next command reads ``$?``
  (``$ echo $?``); the output documented for any ``echo`` must then match
  exactly, so a page that claims "exit 1" is checked.
* When the documented output of a command starts with a verdict line
  (``PASS: ...`` / ``FAIL: ...``), the actual first line must equal it.
* ``pip install`` lines are not run: the package under test is already
  importable.

A page whose examples use a public name or a CLI subcommand that does not
exist yet is skipped with the missing names as the reason (the API and CLI
are being written alongside the docs); once they exist the page runs.
Examples must use the public API only: importing ``intoto_policy._x``
fails the test.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = DOCS / "reference"
FENCE = re.compile(
    r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL
)
MARK = "@@docs-command {}@@"
SKIPPED_COMMANDS = ("pip install", "pip3 install", "python -m pip install")


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    line: int


@dataclass(frozen=True)
class Command:
    text: str
    output: tuple[str, ...]
    line: int


def _pages() -> list[Path]:
    return sorted(
        p for p in DOCS.rglob("*.md") if GENERATED not in p.parents and p.parent != GENERATED
    )


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        lang = match.group("lang")
        if lang in ("python", "console"):
            line = text.count("\n", 0, match.start("body")) + 1
            out.append(Block(lang, match.group("body"), line))
    return out


def _commands(block: Block) -> list[Command]:
    commands: list[Command] = []
    current: list[str] | None = None
    output: list[str] = []
    start = block.line
    pending = ""
    for offset, raw in enumerate(block.body.splitlines()):
        if pending:
            pending += "\n" + raw
            if not raw.endswith("\\"):
                current = [pending]
                pending = ""
            continue
        if raw.startswith("$ "):
            if current is not None:
                commands.append(Command(current[0], tuple(output), start))
            output = []
            start = block.line + offset
            if raw.endswith("\\"):
                pending, current = raw[2:], None
            else:
                current = [raw[2:]]
        elif current is not None:
            output.append(raw)
    if current is not None:
        commands.append(Command(current[0], tuple(output), start))
    return commands


def _page_ids() -> list[Any]:
    return [
        pytest.param(page, id=str(page.relative_to(DOCS))) for page in _pages() if _blocks(page)
    ]


# ---------------------------------------------------------------------------
# What the examples need


def _python_needs(source: str) -> tuple[set[str], set[str]]:
    """Public names an example uses from intoto_policy, and private modules it imports."""
    names: set[str] = set()
    private: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "intoto_policy":
                names.update(alias.name for alias in node.names)
            elif node.module.startswith("intoto_policy."):
                private.add(node.module)
        elif isinstance(node, ast.Import):
            private.update(a.name for a in node.names if a.name.startswith("intoto_policy."))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "intoto_policy"
        ):
            names.add(node.attr)
    return names, private


def _cli_parser() -> argparse.ArgumentParser | None:
    try:
        cli = importlib.import_module("intoto_policy.cli._main")
    except ImportError:
        return None
    build = getattr(cli, "build_parser", None) or getattr(cli, "_build_parser", None)
    return build() if build is not None else None


def _has_command(parser: argparse.ArgumentParser, words: list[str]) -> bool:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            if not words or words[0] not in action.choices:
                return False
            return _has_command(action.choices[words[0]], words[1:])
    return True


def _missing(blocks: list[Block]) -> list[str]:
    import intoto_policy

    missing: list[str] = []
    parser = _cli_parser()
    for block in blocks:
        if block.lang == "python":
            names, private = _python_needs(block.body)
            assert not private, f"docs examples must use the public API, not {sorted(private)}"
            missing += [
                f"intoto_policy.{n}" for n in sorted(names) if not hasattr(intoto_policy, n)
            ]
            continue
        for command in _commands(block):
            words = shlex.split(command.text.replace("\\\n", " "), comments=True)
            if not words or words[0] != "intoto-policy":
                continue
            sub = [w for w in words[1:3] if not w.startswith("-")]
            if parser is None:
                missing.append("the intoto-policy CLI")
            elif not _has_command(parser, sub):
                missing.append("intoto-policy " + " ".join(sub))
    return sorted(set(missing))


# ---------------------------------------------------------------------------
# Running


def _shim(bin_dir: Path) -> dict[str, str]:
    bin_dir.mkdir()
    tool = bin_dir / "intoto-policy"
    tool.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -c '
        "'import sys; from intoto_policy.cli._main import main; sys.exit(main())' \"$@\"\n",
        encoding="utf-8",
    )
    tool.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "100"
    return env


def _script(commands: list[Command]) -> str:
    lines = []
    for i, command in enumerate(commands):
        text = command.text
        if text.startswith(SKIPPED_COMMANDS):
            text = ":"
        lines.append(f"__rc=$?; printf '\\n{MARK.format(i)}\\n'; (exit $__rc)")
        lines.append(text)
        following = commands[i + 1].text if i + 1 < len(commands) else ""
        if "$?" not in following:
            lines.append(
                "__rc=$?; if [ $__rc -ne 0 ]; then echo 'exit status '$__rc >&2; exit 97; fi"
            )
    return "\n".join(lines) + "\n"


def _outputs(stdout: str, count: int) -> list[list[str]]:
    parts = re.split(r"\n@@docs-command (\d+)@@\n", "\n" + stdout)
    found: dict[int, list[str]] = {}
    for index, chunk in zip(parts[1::2], parts[2::2], strict=True):
        found[int(index)] = chunk.rstrip("\n").split("\n") if chunk.strip() else []
    return [found.get(i, []) for i in range(count)]


def _run_console(page: Path, block: Block, cwd: Path, env: dict[str, str]) -> None:
    commands = _commands(block)
    assert commands, f"{page.name}:{block.line}: a console block without a $ command"
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", _script(commands)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        started = [i for i in range(len(commands)) if MARK.format(i) in result.stdout]
        last = commands[started[-1]] if started else commands[0]
        pytest.fail(
            f"{page.name}:{last.line}: `{last.text}` failed\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    outputs = _outputs(result.stdout, len(commands))
    for command, actual in zip(commands, outputs, strict=True):
        documented = [line for line in command.output if line.strip()]
        where = f"{page.name}:{command.line}: `{command.text}`"
        if command.text.startswith("echo "):
            assert actual == documented, f"{where}: printed {actual}, the page says {documented}"
        elif documented and documented[0].startswith(("PASS:", "FAIL:")):
            got = actual[0] if actual else ""
            assert got == documented[0], (
                f"{where}: first line is\n  {got}\nthe page says\n  {documented[0]}"
            )


@pytest.mark.parametrize("page", _page_ids())
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(page)
    missing = _missing(blocks)
    if missing:
        pytest.skip(f"{page.name} needs what does not exist yet: {', '.join(missing)}")
    env = _shim(tmp_path / ".docs-bin")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks:
        if block.lang == "python":
            code = compile(block.body, f"{page.relative_to(DOCS)}:{block.line}", "exec")
            exec(code, namespace)
        else:
            _run_console(page, block, work, env)


# ---------------------------------------------------------------------------
# The harness itself


def test_pages_with_examples_are_found() -> None:
    ids = {p.values[0].relative_to(DOCS).as_posix() for p in _page_ids()}
    assert {
        "quickstart.md",
        "guides/release-gate.md",
        "guides/deploy-gate.md",
        "guides/third-party-scanner.md",
        "guides/tuf.md",
        "guides/store-and-audit.md",
    } <= ids
    langs = {b.lang for b in _blocks(DOCS / "quickstart.md")}
    assert langs == {"python", "console"}


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("$ a\nout\n$ b\n", [("a", ("out",)), ("b", ())]),
        ("$ long \\\n  --flag\nx\n", [("long \\\n  --flag", ("x",))]),
        ("no command\n", []),
    ],
    ids=["two-commands", "continuation", "no-command"],
)
def test_console_parsing(body: str, want: list[tuple[str, tuple[str, ...]]]) -> None:
    got = [(c.text, c.output) for c in _commands(Block("console", body, 1))]
    assert got == want


@pytest.mark.parametrize(
    ("source", "names", "private"),
    [
        ("from intoto_policy import verify, Report\n", {"verify", "Report"}, set()),
        ("import intoto_policy\nintoto_policy.load_layout('x')\n", {"load_layout"}, set()),
        (
            "from intoto_policy.report._render import render\n",
            set(),
            {"intoto_policy.report._render"},
        ),
        ("import intoto_policy.cli._main\n", set(), {"intoto_policy.cli._main"}),
    ],
    ids=["from-import", "attribute", "private-from", "private-import"],
)
def test_python_needs(source: str, names: set[str], private: set[str]) -> None:
    assert _python_needs(source) == (names, private)


def test_script_checks_exit_codes(tmp_path: Path) -> None:
    commands = [Command("false", (), 1), Command("true", (), 2)]
    result = subprocess.run(
        ["bash", "-c", _script(commands)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 97
    tolerated = [Command("false", (), 1), Command("echo $?", ("1",), 2)]
    result = subprocess.run(
        ["bash", "-c", _script(tolerated)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert _outputs(result.stdout, 2) == [[], ["1"]]


# ---------------------------------------------------------------------------
# The reference generator and the site


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_pages_cover_the_cli_and_the_api() -> None:
    gen = _generator()
    cli = gen.cli_page()
    parser = _cli_parser()
    assert parser is not None
    for words, sub, _ in gen._subcommands(parser):
        if not gen._has_subcommands(sub):
            assert f"## intoto-policy {' '.join(words)} " in cli
            for action in sub._actions:
                for flag in action.option_strings:
                    if flag not in ("-h", "--help"):
                        assert f"`{flag}" in cli, flag
    import intoto_policy

    api = gen.api_page()
    for name in intoto_policy.__all__:
        if not name.startswith("_"):
            assert re.search(rf"^### (class )?{re.escape(name)}\b", api, re.MULTILINE), name
    layout = gen.layout_page()
    schema = json.loads((ROOT / "schemas" / "layout.schema.json").read_text(encoding="utf-8"))
    for field in schema["properties"]:
        assert f"| `{field}` |" in layout, field
    for name in schema.get("$defs", {}):
        assert f"### {name} {{#" in layout, name


def test_reference_generator_tolerates_missing_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _generator()
    monkeypatch.setattr(gen, "LAYOUT_SCHEMA", tmp_path / "missing.json")
    monkeypatch.setattr(gen, "OUT", tmp_path / "reference")
    assert "not available yet" in gen.layout_page()
    assert sorted(gen.generate()) == ["api.md", "cli.md", "layout.md"]
    assert gen.generate() == []  # unchanged pages are not rewritten


@pytest.mark.parametrize(
    ("docstring", "want"),
    [
        (
            "Do it.\n\nArgs:\n    x: The x.\n        More about x.\n\nRaises:\n    UsageError: Bad.\n",
            "Do it.\n\n**Arguments**\n\n- `x` — The x. More about x.\n\n**Raises**\n\n- `UsageError` — Bad.",
        ),
        ("See :class:`~intoto_policy.Report` and ``code``.", "See `Report` and `code`."),
        ("Example::\n\n    a = 1\n\nAfter.", "Example:\n\n```text\na = 1\n```\n\nAfter."),
    ],
    ids=["sections", "roles", "literal-block"],
)
def test_docstring_rendering(docstring: str, want: str) -> None:
    gen = _generator()

    def documented() -> None:
        pass

    documented.__doc__ = docstring
    assert gen._docstring(documented) == want


def test_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed")
    pytest.importorskip("material", reason="mkdocs-material is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
    assert not list((tmp_path / "site").rglob("*.py"))


# ---------------------------------------------------------------------------
# The README


def _readme_blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    usage = text.index("## Usage")
    blocks = []
    for match in FENCE.finditer(text, usage):
        if match.group("lang") in ("python", "console"):
            line = text.count("\n", 0, match.start("body")) + 1
            blocks.append(Block(match.group("lang"), match.group("body"), line))
    return blocks


def test_readme_usage_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's usage section works when pasted in order from the repository root.

    It runs in a fresh directory whose ``layouts`` is the repository's, so
    that nothing is written into the checkout.
    """
    blocks = _readme_blocks()
    assert [b.lang for b in blocks] == ["console", "python"]
    env = _shim(tmp_path / ".docs-bin")
    work = tmp_path / "work"
    work.mkdir()
    (work / "layouts").symlink_to(ROOT / "layouts", target_is_directory=True)
    monkeypatch.chdir(work)
    readme = ROOT / "README.md"
    _run_console(readme, blocks[0], work, env)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(blocks[1].body, f"README.md:{blocks[1].line}", "exec"), namespace)
    assert namespace["report"], "the README's Python example verifies the evidence it made"


def test_troubleshooting_lists_every_rejection_reason_and_no_other() -> None:
    """docs/troubleshooting.md has one ``### `reason` `` section per RejectReason."""
    from intoto_policy.report._model import RejectReason

    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    documented = re.findall(r"^### `([a-z-]+)`$", text, re.MULTILINE)
    assert sorted(documented) == sorted(r.value for r in RejectReason)
    assert len(documented) == len(set(documented))
