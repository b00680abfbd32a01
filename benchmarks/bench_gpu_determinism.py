"""Which model kinds train under TensorFlow's op determinism on this device (not a test).

Prepared for a lent GPU (`bash benchmarks/gpu.sh --determinism`): on a GPU some kernels
have no deterministic version and raise `UnimplementedError` under op determinism
(PITFALLS.md: MaxPool's gradient under XLA, fused BatchNorm's backprop, ...), and cuDNN's
RNN kernels are not guaranteed deterministic. For every registered model kind, with and
without XLA (`--jit-compile`), this trains a few steps on the real training input twice
from the same seed with op determinism on, and records whether it raised (and what) and
whether the two runs ended with identical weights. Those that raise are the ones a user
must train with `--no-deterministic` on that device.

Writes RESULTS_gpu_determinism.md. `--smoke`: small_cnn at 32x32 on the CPU, so a test
runs every code path here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_input  # noqa: E402  (sets the TF log level and Keras backend first)
from bench_gpu import card_name  # noqa: E402


def _train_twice(cfg, manifest, steps: int) -> tuple[str, str]:
    """(outcome, note): "trains" / "raises", and whether the weights matched."""
    import numpy as np
    import tensorflow as tf

    from trainer import data, determinism, train

    weights = []
    for _ in range(2):
        determinism.seed_everything(cfg.seed, deterministic=True)
        strategy = tf.distribute.get_strategy()
        try:
            model = train.build_compiled(cfg, manifest, strategy)
            model.fit(data.train_dataset(cfg, manifest, cfg.batch_size), epochs=1,
                      steps_per_epoch=steps, verbose=0)
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError,
                tf.errors.InternalError) as err:
            first = (err.message or str(err)).strip().splitlines()[0][:160]
            return "raises", f"{type(err).__name__}: {first}"
        weights.append([w.numpy() for w in model.weights])
    same = all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    return "trains", "identical weights on a rerun" if same else "weights DIFFER on a rerun"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--models", default="", help="comma list (default: every registered)")
    parser.add_argument("--out-md", default=os.path.join(HERE, "RESULTS_gpu_determinism.md"))
    args = parser.parse_args()
    from trainer import registry
    from trainer.config import TrainConfig

    size, encoder = (32, "small_cnn") if args.smoke else (128, "vgg16")
    card = card_name()
    print(f"bench_gpu_determinism: card: {card}", flush=True)
    start = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = bench_input.write_data(f"{tmp}/data", 16, frames=8, size=size)
        from pipeline import schema

        manifest = schema.read_manifest(data_dir)
        for model in [m for m in args.models.split(",") if m] or registry.MODELS:
            for xla in (False, True):
                cfg = TrainConfig(data=data_dir, out=f"{tmp}/unused", model=model,
                                  encoder=encoder, weights="none", chunk_length=4, hidden=32,
                                  batch_size=4, jit_compile=xla)
                outcome, note = _train_twice(cfg, manifest, args.steps)
                rows.append(f"| {model} | {'on' if xla else 'off'} | {outcome} | {note} |")
                print(f"bench_gpu_determinism: {model}, XLA {'on' if xla else 'off'}: "
                      f"{outcome} ({note})", flush=True)
    import tensorflow as tf

    text = "\n".join([
        "# Op determinism by model kind (`bash benchmarks/gpu.sh --determinism`)", "",
        f"Device: {card}; TensorFlow {tf.__version__}; {encoder} at {size}x{size}, "
        f"{args.steps} steps twice per row from seed 0 with op determinism on"
        f"{' (SMOKE: CPU sizes)' if args.smoke else ''}; {time.time() - start:.0f} s.", "",
        "| model | XLA | under op determinism | rerun |", "|---|---|---|---|", *rows, "",
        "A row that raises must be trained with `--no-deterministic` on this device (and "
        "is then not reproducible bit for bit).", ""])
    print(text)
    with open(args.out_md, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
