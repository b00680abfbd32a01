"""GPU training benchmark (not a test; `benchmarks/gpu.sh` runs it on a lent GPU machine).

On VGG16 (`--weights none`: no download) at 128x128, frames/s of:

1. the input pipeline alone (`trainer.data.train_dataset`, frame and recurrent
   models, default augmentation on the CPU);
2. the train step alone (one batch held on the device, `model.fit`), frame and
   recurrent models, with and without mixed precision and XLA (`jit_compile`);
3. input + train step together (`model.fit` on the real input): is the input
   the bottleneck?
4. MirroredStrategy over 2 logical GPUs carved from the one physical GPU;
5. with `--augment-on-device`: the default augmentation run on the accelerator
   (`augment.augment_batch` in an XLA function) instead of in tf.data.

Every measurement runs for about `--seconds` after a warm-up; a global
`--budget` skips what would not fit (and says so). The data are synthetic
videos written by the project's schema writer into a temporary folder.
Writes RESULTS_gpu.md and the table between the GPU markers of docs/benchmarks.md.

`--smoke`: tiny sizes (small_cnn, 32x32, a second per measurement) so that a
test runs every code path on a CPU (2 logical CPUs stand in for the GPUs).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

START, END = "<!-- gpu-bench:start -->", "<!-- gpu-bench:end -->"


def card_name() -> str:
    """`nvidia-smi`'s GPU name(s), or "no GPU (nvidia-smi ...)"."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30, check=True).stdout.strip()
        return out or "no GPU (nvidia-smi listed none)"
    except (OSError, subprocess.SubprocessError) as err:
        return f"no GPU (nvidia-smi: {type(err).__name__})"


def setup_devices(replica_memory_mb: int) -> str:
    """Splits the first GPU (or, without one, the CPU) into 2 logical devices; returns
    the device type. Must run before TensorFlow initialises."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        tf.config.set_logical_device_configuration(
            gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=replica_memory_mb)] * 2)
        return "GPU"
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return "CPU"


class Bench:
    """Settings, the data and the results of one run."""

    def __init__(self, args: argparse.Namespace, data_dir: str, device: str):
        import tensorflow as tf

        from pipeline import schema

        self.args, self.data_dir, self.device = args, data_dir, device
        self.manifest = schema.read_manifest(data_dir)
        self.rows: list[tuple[str, str, str]] = []  # (what, frames/s, note)
        self.start = time.perf_counter()
        self.devices = [d.name for d in tf.config.list_logical_devices(device)][:2]

    def left(self) -> float:
        return self.args.budget - (time.perf_counter() - self.start)

    def cfg(self, model: str, **kw):
        from trainer.config import TrainConfig

        a = self.args
        chunk = model != "frame"
        return TrainConfig(
            data=self.data_dir, out="/tmp/unused", model=model, encoder=a.encoder,
            weights="none", chunk_length=a.chunk, hidden=a.hidden,
            batch_size=a.batch // a.chunk if chunk else a.batch, frames_per_video=a.chunk,
            **kw)

    def record(self, what: str, fn, note: str = "") -> float | None:
        """Runs `fn()` -> frames/s unless the budget is spent; records a row."""
        if self.left() < self.args.seconds + 20:
            self.rows.append((what, "skipped", "time budget spent"))
            print(f"bench_gpu: {what}: skipped (time budget)", flush=True)
            return None
        t = time.perf_counter()
        rate = fn()
        self.rows.append((what, f"{rate:.0f}", note))
        print(f"bench_gpu: {what}: {rate:.0f} frames/s ({time.perf_counter() - t:.0f} s)",
              flush=True)
        return rate


def _timed(step, frames_per_step: int, seconds: float) -> float:
    """Calls `step()` until `seconds` pass (after 2 warm-up calls); frames/s."""
    step()
    step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * frames_per_step / (time.perf_counter() - start)


def input_alone(b: Bench, model: str) -> float:
    from trainer import data

    cfg = b.cfg(model)
    it = iter(data.train_dataset(cfg, b.manifest, cfg.batch_size))
    return _timed(lambda: next(it), b.args.batch, b.args.seconds)


def _model(b: Bench, cfg, devices):
    import keras
    import tensorflow as tf

    from trainer import train

    keras.mixed_precision.set_global_policy(
        "mixed_float16" if cfg.mixed_precision else "float32")
    strategy = tf.distribute.MirroredStrategy(devices)
    return train.build_compiled(cfg, b.manifest, strategy), strategy


def train_step(b: Bench, model: str, mixed: bool, jit: bool, devices=None,
               real_input: bool = False) -> float:
    """`model.fit` on one batch held in memory (or on the real input), frames/s."""
    import keras
    import tensorflow as tf

    from trainer import data

    devices = devices or b.devices[:1]
    cfg = b.cfg(model, mixed_precision=mixed, jit_compile=jit)
    global_batch = cfg.batch_size * len(devices)
    ds = data.train_dataset(cfg, b.manifest, global_batch)
    if not real_input:
        ds = tf.data.Dataset.from_tensors(next(iter(ds))).repeat()
    net, _ = _model(b, cfg, devices)
    try:
        net.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # build, trace, compile
        steps = 2
        if not b.args.smoke:  # as many steps as fill --seconds
            t = time.perf_counter()
            net.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
            steps = max(3, int(b.args.seconds / ((time.perf_counter() - t) / 3)))
        t = time.perf_counter()
        net.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        return steps * cfg.batch_size * len(devices) * (cfg.chunk_length if model != "frame"
                                                        else 1) / (time.perf_counter() - t)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def augment_on_device(b: Bench) -> float:
    """The default augmentation of a held batch, in an XLA function on the first device."""
    import tensorflow as tf

    from trainer import augment, data
    from trainer.config import DEFAULT_AUGMENT, augment_list

    cfg = b.cfg("recurrent", augment="none")
    ops = augment_list(DEFAULT_AUGMENT)
    with tf.device(b.devices[0]):
        x, _ = next(iter(data.train_dataset(cfg, b.manifest, cfg.batch_size)))
        x = tf.identity(x)
        fn = tf.function(lambda x, s: augment.augment_batch(x, s, ops))
        seed = tf.constant([1, 2], tf.int64)
        return _timed(lambda: fn(x, seed).numpy().shape, b.args.batch, b.args.seconds)


def plan(b: Bench) -> list[tuple[str, object, str]]:
    """(what, fn -> frames/s, note) in the order they run: the most telling first."""
    a = b.args

    def step(model, mixed, jit):
        return (f"train step, {model}, {'mixed_float16' if mixed else 'float32'}, "
                f"XLA {'on' if jit else 'off'}",
                lambda: train_step(b, model, mixed, jit), "one batch held in memory")

    items = [(f"input alone, {m}", lambda m=m: input_alone(b, m),
              "tf.data on the CPU, default augmentation") for m in ("frame", "recurrent")]
    items += [step(m, p, False) for m in ("frame", "recurrent") for p in (False, True)]
    items += [(f"input + train step, {m}, float32, XLA off",
               lambda m=m: train_step(b, m, False, False, real_input=True),
               "model.fit on the real input") for m in ("frame", "recurrent")]
    items.append(("train step, recurrent, float32, MirroredStrategy over 2 logical devices",
                  lambda: train_step(b, "recurrent", False, False, devices=b.devices[:2]),
                  f"one physical {b.device} split in two; global batch 2 x {a.batch} frames"))
    items += [step(m, p, True) for m in ("frame", "recurrent") for p in (False, True)]
    if a.augment_on_device:
        items.append(("default augmentation on the device (augment_batch, XLA)",
                      lambda: augment_on_device(b), "instead of in tf.data"))
    if a.smoke:  # each code path once, quickly (XLA compiles of a model take long on CPUs)
        keep = ("input alone, recurrent", "train step, recurrent, mixed_float16, XLA off",
                "input + train step, frame", "MirroredStrategy", "augmentation")
        items = [i for i in items if any(k in i[0] for k in keep)]
    return items


def table(b: Bench, card: str, seconds: float) -> str:
    a = b.args
    import tensorflow as tf

    lines = [f"Card: {card}. TensorFlow {tf.__version__}, {platform.machine()}, "
             f"{os.cpu_count()} CPU cores. Encoder {a.encoder} (random weights) at "
             f"{a.size}x{a.size}, {a.batch} frames per step (recurrent: chunks of {a.chunk}, "
             f"LSTM {a.hidden}); about {a.seconds:g} s per measurement; whole run "
             f"{seconds:.0f} s{' (SMOKE: tiny sizes, not a result)' if a.smoke else ''}.", "",
             "| measurement | frames/s | note |", "|---|---:|---|"]
    lines += [f"| {w} | {r} | {n} |" for w, r, n in b.rows]
    return "\n".join(lines) + "\n"


def write_results(text: str, out_md: str, readme: str | None) -> None:
    """Writes the results file and the docs' table between the markers (either may be '')."""
    if out_md:
        with open(out_md, "w") as f:
            f.write("# GPU benchmark (`bash benchmarks/gpu.sh`)\n\n" + text)
    if readme:
        with open(readme) as f:
            body = f.read()
        if START not in body or END not in body:
            raise ValueError(f"{readme} has no {START} ... {END} markers")
        body = re.sub(re.escape(START) + ".*?" + re.escape(END),
                      lambda _: f"{START}\n{text}{END}", body, flags=re.S)
        with open(readme, "w") as f:
            f.write(body)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes on any device (what the test runs)")
    p.add_argument("--seconds", type=float, default=12.0, help="per measurement")
    p.add_argument("--budget", type=float, default=400.0,
                   help="seconds for all measurements; the rest are skipped")
    p.add_argument("--augment-on-device", action="store_true")
    p.add_argument("--videos", type=int, default=64)
    p.add_argument("--replica-memory-mb", type=int, default=30000,
                   help="memory of each of the 2 logical GPUs")
    p.add_argument("--out-md", default=None,
                   help="results file (default: benchmarks/RESULTS_gpu.md; none with --smoke)")
    p.add_argument("--readme", default=None,
                   help="Markdown file whose GPU table to replace (default: docs/benchmarks.md; "
                        "none with --smoke; '' for none)")
    args = p.parse_args(argv)
    if args.out_md is None:
        args.out_md = "" if args.smoke else os.path.join(HERE, "RESULTS_gpu.md")
    if args.readme is None:
        docs = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
        args.readme = "" if args.smoke else docs
    big = dict(encoder="vgg16", size=128, frames=32, chunk=8, batch=128, hidden=256)
    small = dict(encoder="small_cnn", size=32, frames=8, chunk=4, batch=8, hidden=8)
    for k, v in (small if args.smoke else big).items():
        setattr(args, k, v)
    if args.smoke:
        args.seconds, args.videos = min(args.seconds, 0.2), min(args.videos, 8)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    card = card_name()
    print(f"bench_gpu: card: {card}", flush=True)
    device = setup_devices(args.replica_memory_mb)
    if device != "GPU" and not args.smoke:  # `make bench` on a CPU machine: nothing to do
        print("bench_gpu: skipped: no GPU visible to TensorFlow (--smoke runs tiny sizes on "
              "a CPU, writing nothing unless told where)", file=sys.stderr)
        return 0
    import bench_input

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = bench_input.write_data(f"{tmp}/data", args.videos, args.frames, args.size)
        b = Bench(args, data_dir, device)
        for what, fn, note in plan(b):
            b.record(what, fn, note)
            # After every measurement: a run cut short by gpu.sh's timeout keeps its rows.
            write_results(table(b, card, time.perf_counter() - start), args.out_md,
                          args.readme)
    text = table(b, card, time.perf_counter() - start)
    print(text)
    write_results(text, args.out_md, args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
