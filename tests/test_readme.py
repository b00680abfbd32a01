"""Every command in the README parses with the project's own parsers, and the walkthrough's
commands are the ones `vidrec demo` runs (so the demo exercises them)."""

import re
import shlex
from pathlib import Path

import pytest
from cli_parsers import PARSERS, compared_recipes, compared_seed_lists

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


def _hmdb51_commands():
    """The commands of README's "HMDB51 for real" section."""
    text = README.read_text()
    section = text[text.index("## HMDB51 for real"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [c for b in blocks for c in _commands(b)]


def _by_split(recipes):
    groups = {}
    for run, recipe in recipes.items():
        split = next(p for p in run.split("/") if p.startswith("split"))
        groups.setdefault(split, []).append(recipe)
    return groups


@pytest.mark.parametrize("source", ["readme", "demo --videos", "demo"])
def test_every_recipe_we_publish_is_like_for_like(source):
    """README's HMDB51 recipe and `vidrec demo`: compared runs differ only in time."""
    if source == "readme":
        argvs = _hmdb51_commands()
    elif source == "demo":
        argvs = demo.commands("out", demo.DemoSettings(), split=(1, 2, 3))
    else:
        argvs = demo.commands("out", demo.REAL_DATA, "v", "s", split=(1, 2, 3))
    for split, recipes in _by_split(compared_recipes(argvs)).items():
        models = {r["temporal"]["model"] for r in recipes}
        assert models == {"frame", "pooled", "recurrent", "temporal_conv", "attention"}, (
            source, split)
        shared = [r["shared"] for r in recipes]
        assert all(s == shared[0] for s in shared), f"{source} {split}: runs differ beyond time"
        assert shared[0]["encoder_trainable"] == "frozen"
        assert split in shared[0]["encoder_trained_by"]  # each split's own encoder
    # Every compared model, and the tuner's retrained best, under the same 3 seeds.
    assert compared_seed_lists(argvs) == {"0,1,2"}, source
    tunes = [a for a in argvs if a[0] == "tune"]
    train = next(a for a in argvs if a[0] == "train" and "--features" in a)
    for tune in tunes:  # the retrained best gets the same budget and embeddings
        for flag in ("--epochs", "--features", "--chunk-length"):
            assert tune[tune.index(flag) + 1].split("split")[0] == \
                train[train.index(flag) + 1].split("split")[0], (source, flag)


def test_readme_reports_the_three_official_splits_in_one_report():
    compares = [c for c in _hmdb51_commands() if c[0] == "compare"]
    runs = [w for w in compares[-1][1:] if w.startswith("runs/")]
    assert {r.split("/")[1] for r in runs} == {"split1", "split2", "split3"}
    demo_compare = demo.commands("out", demo.REAL_DATA, "v", "s", split=(1, 2, 3))[-1]
    assert {w.split("/")[1] for w in demo_compare if w.startswith("out/split")} == {
        "split1", "split2", "split3"}
