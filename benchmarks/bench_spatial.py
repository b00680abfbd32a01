"""Spatial models benchmark (not a test): what a training step of each new model costs.

At 128x128, chunks of 8 frames, batch 4 (flags change them), on one encoder
(small_cnn by default, `--encoder vgg16` with random weights: no download), the
time of one compiled training step (`model.train_on_batch` after
`train.compile_model`, the trainer's optimizer, loss and metrics) of:

* recurrent (LSTM over per-frame vectors, `--frame-input rgb`): the reference;
* recurrent with `--frame-input diff` and `--frame-input both` (6 channels,
  small_cnn only: skipped on other encoders);
* convlstm and conv2plus1d (over the encoder's feature maps before its pooling);
* pooled (the mean over the chunk): the floor.

Every model is built and warmed up first; then the variants alternate over
`--rounds` rounds of `--steps` steps (the order flips every round), so load
that comes and goes on the machine hits them alike; ms/step is the median over
the rounds, and each is also given as a ratio to recurrent. One batch of
random frames is held in memory: the input is not in the measurement.

Also the feature-cache size per video of a spatial model's maps against the
per-frame vectors (`vidrec embed`, float16: h*w*C*2 bytes per frame against
D*2), from the encoders' output shapes, for small_cnn and vgg16 at `--size`
and a `--cache-frames` video (nothing is written).

Writes benchmarks/RESULTS_spatial.md (`--out-md`). Usage: python
benchmarks/bench_spatial.py [--encoder vgg16] [--size 128] [--rounds 3] [--steps 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

CLASSES = 51  # HMDB51's
# name -> (model, frame_input); recurrent first: the reference of every ratio.
VARIANTS = {
    "recurrent": ("recurrent", "rgb"),
    "recurrent, frame_input diff": ("recurrent", "diff"),
    "recurrent, frame_input both": ("recurrent", "both"),
    "convlstm": ("convlstm", "rgb"),
    "conv2plus1d": ("conv2plus1d", "rgb"),
    "pooled (floor)": ("pooled", "rgb"),
}
CACHE_ENCODERS = ("small_cnn", "vgg16")


def _cfg(args: argparse.Namespace, model: str, frame_input: str, encoder: str | None = None):
    from trainer.config import TrainConfig

    return TrainConfig(data="", out="", model=model, encoder=encoder or args.encoder,
                       weights="none", chunk_length=args.chunk_length,
                       batch_size=args.batch_size, frame_input=frame_input, hidden=args.hidden)


def build_variants(args: argparse.Namespace) -> tuple[dict, dict]:
    """({name: compiled model}, {name: why skipped}) of VARIANTS on `args.encoder`."""
    from trainer import models, train

    built, skipped = {}, {}
    for name, (model, frame_input) in VARIANTS.items():
        try:
            cfg = _cfg(args, model, frame_input)
        except ValueError as err:  # e.g. --frame-input both on a 3-channel encoder
            skipped[name] = str(err).split(": use")[0]
            continue
        net = models.build_model(cfg, CLASSES, args.size)
        built[name] = train.compile_model(net, cfg, CLASSES)
    return built, skipped


def measure(built: dict, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """{name: {"ms": [wall ms per step, one per round], "cpu_ms": [CPU ms per step, all
    threads]}}: warm-up, then alternating rounds."""
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one train function per model: not a retracing
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.batch_size, args.chunk_length, args.size, args.size, 3)
                     ).astype("float32")
    y = rng.integers(0, CLASSES, (args.batch_size,))
    for name, model in built.items():  # tracing, thread pools, first allocations
        start = time.perf_counter()
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
        print(f"warm-up {name}: {time.perf_counter() - start:.1f} s", flush=True)
    runs = {name: {"ms": [], "cpu_ms": []} for name in built}
    names = list(built)
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            model = built[name]
            cpu = _cpu_seconds()
            start = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)  # returns numpy: the step has finished
            runs[name]["ms"].append(1000 * (time.perf_counter() - start) / args.steps)
            runs[name]["cpu_ms"].append(1000 * (_cpu_seconds() - cpu) / args.steps)
        print(f"round {r + 1}/{args.rounds}: "
              + ", ".join(f"{n} {v['ms'][-1]:.0f} ms" for n, v in runs.items()), flush=True)
    return runs


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cache_sizes(args: argparse.Namespace) -> list[dict]:
    """Per encoder: the vector D and the maps (h, w, C) at `args.size`, and the float16
    bytes per frame and per `args.cache_frames`-frame video of each."""
    import keras

    from trainer import models

    rows = []
    for encoder in CACHE_ENCODERS:
        cfg = _cfg(args, "convlstm", "rgb", encoder)
        vector = models.build_encoder(cfg, args.size).output.shape[1:]
        maps = models.build_encoder(cfg, args.size, spatial=True).output.shape[1:]
        keras.backend.clear_session()
        per_vector, per_maps = 2 * int(vector[0]), 2 * int(maps[0] * maps[1] * maps[2])
        rows.append({"encoder": encoder, "dim": int(vector[0]), "maps": tuple(map(int, maps)),
                     "frame_vector": per_vector, "frame_maps": per_maps,
                     "video_vector": per_vector * args.cache_frames,
                     "video_maps": per_maps * args.cache_frames})
    return rows


def _bytes(n: int) -> str:
    for unit, size in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def render(runs: dict, skipped: dict, params: dict, cache: list[dict],
           args: argparse.Namespace, seconds: float, load: tuple[float, float]) -> str:
    import keras
    import numpy as np
    import tensorflow as tf

    from trainer import determinism

    env = determinism.environment(False)
    med = {name: float(np.median(v["ms"])) for name, v in runs.items()}
    cpu = {name: float(np.median(v["cpu_ms"])) for name, v in runs.items()}
    ref, ref_cpu = med.get("recurrent"), cpu.get("recurrent")
    rows = []
    for name in VARIANTS:
        if name in skipped:
            rows.append(f"| {name} | - | - | - | - | - | skipped: {skipped[name]} |")
            continue
        ratio = f"{med[name] / ref:.2f}x" if ref else "-"
        cpu_ratio = f"{cpu[name] / ref_cpu:.2f}x" if ref_cpu else "-"
        each = ", ".join(f"{v:.0f}" for v in runs[name]["ms"])
        rows.append(f"| {name} | {med[name]:.0f} | {ratio} | {cpu[name]:.0f} | {cpu_ratio} | "
                    f"{params[name]:,} | {each} |")
    cache_rows = [
        f"| {c['encoder']} | {c['dim']} | {' x '.join(map(str, c['maps']))} | "
        f"{_bytes(c['frame_vector'])} | {_bytes(c['frame_maps'])} | "
        f"{_bytes(c['video_vector'])} | {_bytes(c['video_maps'])} | "
        f"{c['frame_maps'] / c['frame_vector']:.0f}x |" for c in cache]
    argv = list(args.argv)
    if "--note" in argv:  # the note is in the text already
        del argv[argv.index("--note"):argv.index("--note") + 2]
    cmd = shlex.join(["python", "benchmarks/bench_spatial.py", *argv])
    shared = (f"The 1-minute load average was {load[0]:.2f} at the start and {load[1]:.2f} "
              f"at the end on {env['cores']} cores (above the core count: other work shared "
              "the machine).")
    return "\n".join([
        "# Spatial models benchmark (`python benchmarks/bench_spatial.py`)", "",
        f"Command: `{cmd}`.", "",
        f"Machine: {env['cpu']}, {env['cores']} cores ({platform.machine()}), GPU: "
        f"{env['gpus']}; TensorFlow {tf.__version__}, Keras {keras.__version__}. "
        f"{shared}" + (f" {args.note}" if args.note else ""), "",
        "## Cost of a training step", "",
        f"Encoder {args.encoder} (random weights, trained with the model), frames of "
        f"{args.size}x{args.size}, chunks of {args.chunk_length}, batch {args.batch_size}, "
        f"{CLASSES} classes, `hidden` {args.hidden}, every other setting the trainer's default "
        "(recurrent: one LSTM layer; convlstm: one ConvLSTM2D, 3x3; conv2plus1d: two (2+1)D "
        "blocks); `model.train_on_batch` on one batch held in memory, after "
        f"{args.warmup} warm-up step(s); {args.rounds} rounds of {args.steps} steps, the "
        f"variants alternating (the order flips every round), median kept; {seconds:.0f} s "
        "in all.", "",
        "| model | ms/step (median) | vs recurrent | CPU ms/step | CPU vs recurrent | "
        "parameters | ms/step each round |",
        "|---|---:|---:|---:|---:|---:|---|", *rows, "",
        "CPU ms/step: this process's CPU time (all threads) per step, median over the "
        "rounds; unlike the wall time it leaves out the time other work held the cores.",
        "",
        "## Feature cache per video: maps vs vectors", "",
        f"`vidrec embed` stores float16: D x 2 bytes per frame for a vector, h x w x C x 2 "
        f"for a spatial model's maps (the default feature layer, before the global pooling); "
        f"frames of {args.size}x{args.size}, a {args.cache_frames}-frame video; computed from "
        "the encoders' output shapes, no cache written.", "",
        "| encoder | vector D | maps h x w x C | vector / frame | maps / frame | "
        "vectors / video | maps / video | maps / vectors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|", *cache_rows, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="small_cnn", help="default %(default)s")
    parser.add_argument("--size", type=int, default=128, help="frame size (default 128)")
    parser.add_argument("--chunk-length", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128, help="the trainer's default")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model")
    parser.add_argument("--cache-frames", type=int, default=100,
                        help="frames of the video whose cache size is given")
    parser.add_argument("--note", default="", help="a sentence added to the machine line "
                        "(e.g. that other work shared the machine)")
    parser.add_argument("--out-md", default=os.path.join(HERE, "RESULTS_spatial.md"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    start = time.time()
    load_start = os.getloadavg()[0]
    cache = cache_sizes(args)
    built, skipped = build_variants(args)
    params = {name: int(m.count_params()) for name, m in built.items()}
    runs = measure(built, args)
    text = render(runs, skipped, params, cache, args, time.time() - start,
                  (load_start, os.getloadavg()[0]))
    print(text)
    with open(args.out_md, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
