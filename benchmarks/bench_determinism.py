"""What identical reruns cost (not a test): TensorFlow's op determinism on vs off, side by side.

In one process, alternating rounds of determinism off and on (`trainer.determinism`;
the trainer's default is on, `--no-deterministic` turns it off), on the same
shards as benchmarks/bench_input.py (recurrent small_cnn, chunks of 8 frames of
128x128, batch 16, default augmentation):

1. the training input alone (`trainer.data.train_dataset`): frames/s and CPU ms
   per chunk;
2. a train step on one batch held in memory (`model.fit`): chunks/s, for the
   recurrent and the frame model;
3. training on the real input (`model.fit` on `train_dataset`): chunks/s, what a
   run actually pays.

Each figure is the median over the rounds; the ratio on/off is the cost. Writes
benchmarks/RESULTS_determinism.md. Usage: python benchmarks/bench_determinism.py
[--videos 96] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_input  # noqa: E402  (sets the TF log level and Keras backend first)
from bench_input import BATCH, CHUNK, CLASSES, SIZE  # noqa: E402

MODES = ("off", "on")


def _fit_on_input(cfg, manifest, steps: int) -> float:
    """chunks/s of `model.fit` on the real training input (after a warm-up epoch)."""
    from trainer import data, models, train

    model = models.build_model(cfg, len(CLASSES), SIZE)
    train.compile_model(model, cfg, len(CLASSES))
    ds = data.train_dataset(cfg, manifest, BATCH)
    model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * BATCH / (time.perf_counter() - start)


def measure(data_dir: str, batches: int, steps: int, rounds: int) -> dict:
    """{measurement: {"off": [per round], "on": [per round]}}, modes alternating."""
    import dataclasses

    from pipeline import schema
    from trainer import data, determinism

    manifest = schema.read_manifest(data_dir)
    recurrent = bench_input._cfg(data_dir)
    frame = dataclasses.replace(recurrent, model="frame")
    runs = {k: {m: [] for m in MODES} for k in
            ("input_fps", "input_cpu_ms", "step_recurrent", "step_frame", "fit_recurrent")}
    for r in range(rounds):
        for mode in (MODES if r % 2 == 0 else MODES[::-1]):
            determinism.seed_everything(0, deterministic=mode == "on")
            fps, cpu = bench_input._timed(iter(data.train_dataset(recurrent, manifest, BATCH)),
                                          batches)
            runs["input_fps"][mode].append(fps)
            runs["input_cpu_ms"][mode].append(cpu)
            for name, cfg in (("step_recurrent", recurrent), ("step_frame", frame)):
                seconds = bench_input.held_batch_seconds(cfg, manifest, steps, repeats=2)
                runs[name][mode].append(steps * BATCH / seconds)
            runs["fit_recurrent"][mode].append(_fit_on_input(recurrent, manifest, steps))
            print(f"round {r + 1}/{rounds}, determinism {mode}: "
                  + ", ".join(f"{k} {v[mode][-1]:.1f}" for k, v in runs.items()), flush=True)
    return runs


def render(runs: dict, args: argparse.Namespace, seconds: float) -> str:
    import numpy as np
    import tensorflow as tf

    from trainer import determinism

    env = determinism.environment(True)
    names = {"input_fps": "training input alone, frames/s",
             "input_cpu_ms": "training input, CPU ms per chunk (all threads; lower is better)",
             "step_recurrent": "train step, recurrent, batch held in memory: chunks/s",
             "step_frame": "train step, frame model, batch held in memory: images/s",
             "fit_recurrent": "`model.fit` on the real input, recurrent: chunks/s"}
    rows = []
    for key, name in names.items():
        off, on = (float(np.median(runs[key][m])) for m in MODES)
        each = "; ".join(f"{m}: " + ", ".join(f"{v:.1f}" for v in runs[key][m]) for m in MODES)
        rows.append(f"| {name} | {off:.1f} | {on:.1f} | {on / off:.2f} | {each} |")
    return "\n".join([
        "# Determinism benchmark (`python benchmarks/bench_determinism.py`)", "",
        f"Machine: {env['cpu']}, {env['cores']} cores, TensorFlow {tf.__version__}, Keras "
        f"{env['keras']}, no GPU ({platform.machine()}). Recurrent small_cnn (64 units) and "
        f"frame models, chunks of {CHUNK} frames of {SIZE}x{SIZE}, batch {BATCH}, default "
        f"augmentation, {args.videos} synthetic training videos; {args.rounds} rounds with "
        f"determinism off and on alternating (the order flips every round), median kept; "
        f"{seconds:.0f} s in all.", "",
        "| measurement | off | on | on/off | each round |",
        "|---|---:|---:|---:|---|", *rows, "",
        "Reading: `on` is what `vidrec train` does by default (TensorFlow's op determinism: "
        "the same command on the same machine gives the same bytes); `off` is "
        "`--no-deterministic`. The input's maps use stateless random ops only, so op "
        "determinism keeps them parallel; it fixes the order of the interleave and of "
        "every parallel map.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--batches", type=int, default=40, help="input batches timed")
    parser.add_argument("--steps", type=int, default=20, help="train steps timed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        runs = measure(bench_input.write_data(f"{tmp}/data", args.videos), args.batches,
                       args.steps, args.rounds)
    text = render(runs, args, time.time() - start)
    print(text)
    with open(os.path.join(HERE, "RESULTS_determinism.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
