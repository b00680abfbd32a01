"""Every command in the README parses with the project's own parsers, and the walkthrough's
commands are the ones `vidrec demo` runs (so the demo exercises them)."""

import re
import shlex
from pathlib import Path

import pytest
from cli_parsers import PARSERS

from vidrec import cli, demo

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)


def _commands(block):
    """`vidrec` argv lists of a bash block: comments dropped, `\\` continuations joined,
    leading environment assignments (`TF_CONFIG=... vidrec train ...`) skipped."""
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip() if " #" in line else line.strip()
        if line.startswith("#") or not line:
            continue
        words = shlex.split(line)
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            words = words[1:]
        if words[:1] == ["vidrec"]:
            yield words[1:]


def test_every_readme_command_parses():
    commands = [c for b in _blocks() for c in _commands(b)]
    assert len(commands) >= 20
    assert sum(c[0] == "tune" for c in commands) >= 3  # incl. the distributed ones
    assert set(PARSERS) == set(cli.COMMANDS)
    for argv in commands:
        assert argv[0] in PARSERS, f"README uses unknown command {argv[0]!r}"
        PARSERS[argv[0]](argv[1:])  # raises / exits on a flag the code does not know


@pytest.mark.parametrize("block_index", [1])
def test_walkthrough_is_what_the_demo_runs(block_index):
    walkthrough = list(_commands(_blocks()[block_index]))
    demo_cmds = demo.commands("demo_out", demo.DemoSettings())
    for argv in walkthrough:
        assert any(argv[0] == d[0] and set(argv) <= set(d) for d in demo_cmds), (
            f"README command `vidrec {' '.join(argv)}` is not run by `vidrec demo`")
