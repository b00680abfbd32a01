"""Adding a model is one module plus one registry line (docs/extending.md): the doc's two
code blocks, applied to a copy of the tree, give a model that `vidrec train --help`,
`vidrec tune`'s search space and TensorBoard's HParams columns know, and that trains."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
PACKAGES = ("trainer", "tuning", "vidrec", "pipeline")


def doc_pieces():
    """(module path, module source, registry line) as docs/extending.md shows them."""
    text = DOC.read_text()
    module = re.search(r"`(trainer/temporal/\w+\.py)`:\n\n```python\n(.*?)```", text, re.S)
    line = re.search(r"## 2\. The registry line.*?```python\n(.*?)```", text, re.S)
    assert module and line, "docs/extending.md lost its module or its registry line"
    assert len(line.group(1).strip().splitlines()) == 1
    return module.group(1), module.group(2), line.group(1).rstrip("\n")


def add_model(tree: Path) -> None:
    """Applies the doc's diff: the new module, and its line at the end of MODEL_MODULES."""
    path, source, line = doc_pieces()
    (tree / path).write_text(source)
    registry = tree / "trainer" / "registry.py"
    text = registry.read_text()
    head, rest = text.split("MODEL_MODULES = (\n", 1)
    entries, tail = rest.split("\n)\n", 1)
    registry.write_text(f"{head}MODEL_MODULES = (\n{entries}\n{line}\n)\n{tail}")


CHECK = """
import contextlib, io, json, sys
import keras_tuner
from conftest import SMALL
from vidrec import cli
from trainer import hparams, train
from trainer.config import TrainConfig
from tuning import cli as tune_cli, space
from pipeline import schema

def help_of(command):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.main([command, "--help"])
    return out.getvalue()

data, out = sys.argv[1:]
hp = keras_tuner.HyperParameters()
hp.values["temporal_type"] = "maxpool"
space.SearchSpace(temporal_types=("lstm", "maxpool")).declare(hp)
cfg = TrainConfig(data=data, out=out, model="maxpool", maxpool_width=8, **SMALL)
summary = train.train(cfg)
print(json.dumps({
    "train_help": help_of("train"), "tune_help": help_of("tune"),
    "temporal_types": list(space.TEMPORAL_TYPES), "sampled": [p.name for p in hp.space],
    "trial": space.trial_values(hp),
    "hparams": hparams.hparams(cfg, schema.read_manifest(data)),
    "epochs_run": summary["epochs_run"],
    "saved": json.load(open(out + "/config.json"))["maxpool_width"]}))
"""


def test_the_doc_code_is_the_diff_it_promises():
    path, source, line = doc_pieces()
    assert path == "trainer/temporal/maxpool.py" and line.strip() == '"trainer.temporal.maxpool",'
    compile(source, path, "exec")  # the module is valid Python as shown


@pytest.mark.slow
def test_a_model_added_as_the_doc_shows_is_everywhere(tiny_data, tmp_path):
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    add_model(tree)
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT / 'tests'}",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", CHECK, tiny_data, str(tmp_path / "run")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "--maxpool-width MAXPOOL_WIDTH" in got["train_help"]
    assert "maxpool (the maximum over time" in " ".join(got["train_help"].split())
    assert "--maxpool-width-range" in got["tune_help"]
    assert got["temporal_types"][-1] == "maxpool"
    assert "maxpool_width" in got["sampled"]  # declared, only in maxpool trials
    assert got["trial"]["model"] == "maxpool" and "maxpool_width" in got["trial"]
    assert "bidirectional" not in got["trial"]
    assert got["hparams"]["temporal_type"] == "maxpool"
    assert got["hparams"]["maxpool_width"] == 8
    assert got["epochs_run"] == SMALL["epochs"] and got["saved"] == 8
