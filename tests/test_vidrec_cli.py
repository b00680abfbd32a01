"""A quiet, quick start: `--help` of every command imports no TensorFlow, Keras or Beam, and
a command's stderr carries none of TensorFlow's C++ start-up lines (oneDNN, CUDA, cuInit)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidrec import cli
from vidrec.core import errors

ROOT = Path(__file__).resolve().parents[1]
HEAVY = re.compile(r"\|\s+(tensorflow|keras|keras_tuner|apache_beam)(\.|$)", re.M)


def _vidrec(*argv, env=None, timeout=120):
    """`python -m vidrec ARGV` with import times on stderr; `env` None values unset."""
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "vidrec", *argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in env.items() if v is not None})


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_help_of_every_command_is_light(name):
    start = time.monotonic()
    proc = _vidrec(name, "--help")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"usage: vidrec {name}")
    heavy = sorted({m.group(1) for m in HEAVY.finditer(proc.stderr)})
    assert not heavy, f"`vidrec {name} --help` imports {heavy}"
    assert elapsed < 1.5, f"`vidrec {name} --help` took {elapsed:.2f}s"


def test_top_level_help_is_light():
    proc = _vidrec("--help")
    assert proc.returncode == 0 and "commands:" in proc.stdout
    assert not HEAVY.search(proc.stderr)


@pytest.mark.slow
def test_a_command_that_starts_tensorflow_prints_only_its_own_error():
    # Imports TensorFlow and lists devices (where the cuInit line comes from), then fails.
    proc = _vidrec("train", "--data", "/nonexistent/data", "--model", "frame", "--out",
                   "/nonexistent/run", env={"TF_CPP_MIN_LOG_LEVEL": None})
    assert HEAVY.search(proc.stderr), "the command did not start TensorFlow: nothing tested"
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("import time:")]
    assert proc.returncode == 2
    assert lines == ["vidrec train: error: No manifest.json in '/nonexistent/data': run "
                     "`vidrec convert` first (a folder without a manifest is an unfinished "
                     "or foreign conversion)"], lines


def test_noise_filter_keeps_every_other_line(capfd):
    noise = [b"WARNING: All log messages before absl::InitializeLog() is called are written "
             b"to STDERR\n",
             b"I0000 00:00:1795668686.320165    3499 port.cc:153] oneDNN custom operations "
             b"are on. You may see slightly different numerical results\n",
             b"I0000 00:00:1795668686.320841    3499 cudart_stub.cc:31] Could not find cuda "
             b"drivers on your machine, GPU will not be used.\n",
             b"E0000 00:00:1795668753.360860    4038 cuda_platform.cc:52] failed call to "
             b"cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"]
    with cli.filtered_stderr():
        for line in noise[:2]:
            os.write(2, line)
        os.write(2, b"E0000 real_error.cc:1] something a user must see\n")
        os.write(2, b"a Python warning\n")
        for line in noise[2:]:
            os.write(2, line)
    err = capfd.readouterr().err
    assert err == "E0000 real_error.cc:1] something a user must see\na Python warning\n"


def test_noise_filter_passes_lines_on_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError):
        with cli.filtered_stderr():
            os.write(2, b"kept\n")
            raise RuntimeError("boom")
    assert capfd.readouterr().err == "kept\n"


@pytest.mark.parametrize("value,quiet", [(None, True), ("", True), ("2", True), ("1", True),
                                         ("3", True), ("0", False)])
def test_a_users_own_log_level_is_respected(monkeypatch, value, quiet):
    if value is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", value)
    assert cli.quiet_tensorflow_wanted() is quiet


def test_help_never_starts_tensorflow(monkeypatch):
    started = []
    monkeypatch.setattr(cli, "start_tensorflow", lambda: started.append(1))
    assert cli.main(["compare", "--help"]) == 0
    assert started == []
    assert errors.wants_help(["--out", "x", "-h"]) and not errors.wants_help(["--out", "x"])


def test_the_tune_parser_offers_what_the_search_knows():
    from tuning import cli as tuning_cli
    from tuning import hypermodel, search

    assert tuning_cli.TUNERS == search.TUNERS
    assert tuning_cli.VIDEO_OBJECTIVE == hypermodel.VIDEO_OBJECTIVE
