"""`vidrec train` throughput: 1 vs 2 replicas (one process) and 1 vs 2 workers (loopback).

    python benchmarks/bench_scaling.py [--size 64] [--batch-size 8] [--steps 40] [--epochs 3]

Four runs of the same recurrent model (small_cnn + LSTM) on the same synthetic
TFRecords written by the pipeline, each in its own fresh process:

* MirroredStrategy, 1 replica (`--cpu-replicas 1`, or `--devices /gpu:0` with `--gpu`)
* MirroredStrategy, 2 replicas (`--cpu-replicas 2`, or two GPUs with `--gpu`)
* MultiWorkerMirroredStrategy, 1 worker (TF_CONFIG naming a one-worker cluster)
* MultiWorkerMirroredStrategy, 2 workers on 127.0.0.1 (two processes)

`--batch-size` is per replica (weak scaling: the global batch grows with the
replicas). Throughput = training examples / seconds spent in training steps,
epochs 2.. only (epoch 1 pays tracing; validation is excluded), timed by a
callback that both the `model.fit` path and the multi-worker loop call. On
logical CPU devices all replicas share the same cores, so this measures the
overhead of the distributed code paths, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def _worker(argv: list[str]) -> None:
    """Child process: `vidrec train` flags -> train, timing the steps of epochs 2.."""
    import keras

    from trainer import cli, distribute, train

    result_path, *flags = argv

    class StepClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.steps, self.epoch = 0.0, 0, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch >= 1:
                float((logs or {}).get("loss", 0.0))  # wait for the step's result
                self.seconds += time.perf_counter() - self.t0
                self.steps += 1

    clock = StepClock()
    cfg = cli.config_from_args(cli.build_train_parser().parse_args(flags))
    summary = train.train(cfg, extra_callbacks=[clock])
    if distribute.is_chief():
        replicas = summary["num_replicas"]
        Path(result_path).write_text(json.dumps({
            "steps": clock.steps, "seconds": clock.seconds, "replicas": replicas,
            "global_batch": cfg.batch_size * replicas,
            "examples_per_s": clock.steps * cfg.batch_size * replicas / clock.seconds}))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _run(name: str, flags: list[str], workers: int, work: str) -> dict:
    """Runs one configuration in fresh processes; returns the chief's figures."""
    result = f"{work}/{name}.json"
    ports = _free_ports(workers) if workers else []
    procs = []
    for i in range(max(workers, 1)):
        env = dict(os.environ)
        env.pop("TF_CONFIG", None)
        if workers:
            env["TF_CONFIG"] = json.dumps({
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "task": {"type": "worker", "index": i}})
        out = ["--out", f"{work}/runs/{name}", "--log-root", f"{work}/tb"]
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--worker", result, *flags, *out], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(f"{name}: exit {p.returncode}\n{err[-2000:]}")
    return json.loads(Path(result).read_text())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker(argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=64, help="frame size (default %(default)s)")
    p.add_argument("--clips-per-class", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8, help="per replica")
    p.add_argument("--chunk-length", type=int, default=8)
    p.add_argument("--steps", type=int, default=40, help="steps per epoch")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--gpu", action="store_true",
                   help="replicas are GPUs (/gpu:0, /gpu:0,/gpu:1) instead of logical CPUs")
    p.add_argument("--out", default=None, help="work folder (default: a temp dir)")
    args = p.parse_args(argv)

    from pipeline import convert, synth

    work = args.out or tempfile.mkdtemp(prefix="bench_scaling_")
    synth.generate(synth.SynthConfig(out=f"{work}/raw", classes=("grow", "shrink", "square",
                                                                 "cross"),
                                     clips_per_class=args.clips_per_class, frames=16,
                                     size=args.size))
    assert convert.main(["--videos", f"{work}/raw/videos", "--splits", f"{work}/raw/splits",
                               "--split", "1", "--output", f"{work}/data", "--frame-size",
                               str(args.size), "--num-shards", "4", "--overwrite"]) == 0
    flags = ["--data", f"{work}/data", "--model", "recurrent", "--encoder", "small_cnn",
             "--chunk-length", str(args.chunk_length), "--batch-size", str(args.batch_size),
             "--epochs", str(args.epochs), "--steps-per-epoch", str(args.steps),
             "--augment", "none", "--patience", "100"]
    one, two = ((["--devices", "/gpu:0"], ["--devices", "/gpu:0,/gpu:1"]) if args.gpu else
                (["--cpu-replicas", "1"], ["--cpu-replicas", "2"]))
    runs = [("mirrored, 1 replica", flags + one, 0),
            ("mirrored, 2 replicas", flags + two, 0),
            ("multi-worker, 1 worker", flags, 1),
            ("multi-worker, 2 workers (loopback)", flags, 2)]
    rows = []
    for name, f, workers in runs:
        r = _run(name.split(",")[0].replace(" ", "_") + f"_{workers}_{len(rows)}", f, workers,
                 work)
        rows.append((name, r))
        print(f"{name:36s} {r['examples_per_s']:8.1f} examples/s  (global batch "
              f"{r['global_batch']}, {r['steps']} timed steps, {r['seconds']:.1f} s)", flush=True)
    base_m, base_w = rows[0][1]["examples_per_s"], rows[2][1]["examples_per_s"]
    print("\n| run | global batch | examples/s | vs 1 |\n|---|---:|---:|---:|")
    for i, (name, r) in enumerate(rows):
        base = base_m if i < 2 else base_w
        print(f"| {name} | {r['global_batch']} | {r['examples_per_s']:.1f} | "
              f"{r['examples_per_s'] / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
