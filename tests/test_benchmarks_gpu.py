"""The prepared GPU benchmark runs its CPU-safe parts here (no GPU needed); --jit-compile."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GPU_SH = ROOT / "benchmarks" / "gpu.sh"
START, END = "<!-- gpu-bench:start -->", "<!-- gpu-bench:end -->"


def test_gpu_sh_is_valid_bash_and_explains_itself():
    subprocess.run(["bash", "-n", str(GPU_SH)], check=True)
    out = subprocess.run(["bash", str(GPU_SH), "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "8 minutes" in out and "bench_gpu.py" in out and "--dry-run" in out


def test_the_benchmarks_page_has_the_gpu_table_markers_once():
    text = (ROOT / "docs" / "benchmarks.md").read_text()  # bench_gpu.py's default --readme
    assert text.count(START) == 1 and text.count(END) == 1
    assert text.index(START) < text.index(END)


@pytest.mark.slow
def test_smoke_run_measures_every_path_and_fills_the_readme_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{START}\nnot run yet\n{END}\nafter\n")
    out_md = tmp_path / "RESULTS_gpu.md"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--smoke",
         "--augment-on-device", "--out-md", str(out_md), "--readme", str(readme)],
        capture_output=True, text=True, timeout=150, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "bench_gpu: card: " in proc.stdout
    results = out_md.read_text()
    rows = [line for line in results.splitlines() if line.startswith("| ") and
            not line.startswith("| measurement")]
    names = " ".join(r.split(" | ")[0] for r in rows)
    for what in ("input alone, recurrent", "mixed_float16", "input + train step, frame",
                 "MirroredStrategy over 2 logical devices", "augmentation on the device"):
        assert what in names, what
    for row in rows:  # every measurement produced a positive figure
        assert float(row.split(" | ")[1]) > 0, row
    text = readme.read_text()
    assert "not run yet" not in text and "SMOKE" in text
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{END}\nafter\n")
    assert text.count(START) == 1 and "| MirroredStrategy" not in text.split(END)[1]


@pytest.mark.slow
def test_the_gpu_determinism_check_runs_here_and_lists_each_kind_with_and_without_xla(
        tmp_path):
    out_md = tmp_path / "RESULTS_gpu_determinism.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu_determinism.py"), "--smoke",
         "--models", "attention", "--steps", "1", "--out-md", str(out_md)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in out_md.read_text().splitlines() if r.startswith("| ")][1:]
    assert [r.split(" | ")[:2] for r in rows] == [["| attention", "off"], ["| attention", "on"]]
    # On the CPU every kernel has a deterministic version: everything trains, identically.
    assert all("| trains | identical weights on a rerun |" in r for r in rows), rows


def test_jit_compile_flag_reaches_model_compile(tmp_path):
    import keras

    from trainer import cli, train
    from trainer.config import PLACEMENT_FIELDS, TrainConfig

    args = cli.build_train_parser().parse_args(["--data", "d", "--out", "o", "--jit-compile"])
    cfg = cli.config_from_args(args)
    assert cfg.jit_compile is True and TrainConfig(data="d", out="o").jit_compile is False
    assert "jit_compile" in PLACEMENT_FIELDS  # how steps compile is not part of a recipe
    for jit in (True, False):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2,
                                                                        activation="softmax")])
        train.compile_model(model, TrainConfig(data="d", out="o", jit_compile=jit), 2)
        assert model.jit_compile is jit
