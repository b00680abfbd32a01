"""Input-pipeline benchmark (not a test): is tf.data fast enough, and is its memory bounded?

1. Augmentation cost, in one run on the same shards (recurrent chunks of 8 at
   128x128, batch 16): frames/s of a bare tf.data loop (read, parse, decode_jpeg
   of 8 frames per video, batch), of `trainer.data.train_dataset` with
   `--augment none` and with the default augmentation, and of the default
   augmentation applied after batching (`augment.augment_batch`), each as a
   ratio to the bare loop (goal: default >= 0.6x). The variants alternate over
   several rounds and the median is kept, so load that comes and goes on the
   machine hits them alike. With each, the CPU time per chunk (all threads), and
   the default augmentation alone on chunks held in memory: where a default
   chunk's CPU time goes.
2. What a training step of the small_cnn recurrent model consumes (chunks/s),
   timed on one batch held in memory so the input is not in the measurement.
3. Peak RSS of a fresh process that iterates one pass of the input over N and
   4N videos: it should not grow with the dataset (sample-then-decode, no cache).

Writes benchmarks/RESULTS_input.md. Usage: python benchmarks/bench_input.py [--videos 48]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FRAMES, SIZE, CHUNK, BATCH = 48, 128, 8, 16
GOAL = 0.6  # default augmentation vs the bare decode loop
CLASSES = ("grow", "shrink", "fade_in", "fade_out")


def write_data(out: str, videos: int, frames: int = FRAMES, size: int = SIZE) -> str:
    """`videos` synthetic training videos (+ a small val split) written with the schema writer."""
    import cv2
    import numpy as np
    import tensorflow as tf

    from pipeline import schema, synth

    cfg = synth.SynthConfig(out="", classes=CLASSES, frames=frames, size=size)
    os.makedirs(out, exist_ok=True)
    splits = {}
    for split, n in (("train", videos), ("val", 8)):
        shards = 4
        writers = [tf.io.TFRecordWriter(f"{out}/{schema.shard_name(split, k, shards)}")
                   for k in range(shards)]
        for i in range(n):
            label = i % len(CLASSES)
            clip = synth.render_clip(CLASSES[label], cfg, np.random.default_rng(i))
            jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes()
                     for f in clip]
            writers[i % shards].write(schema.encode_video(
                jpegs, label=label, label_text=CLASSES[label], media_id=f"{split}/{i}",
                source_path="", fps=10.0, height=size, width=size))
        for w in writers:
            w.close()
        splits[split] = {"videos": n, "shards": shards, "frames": n * frames,
                         "min_frames": frames, "max_frames": frames,
                         "file_pattern": schema.file_pattern(split)}
    schema.write_json(f"{out}/{schema.MANIFEST_NAME}", {
        "schema_version": schema.SCHEMA_VERSION, "classes": list(CLASSES), "splits": splits,
        "frame_size": size, "compression": "none"})
    return out


def _cfg(data_dir: str, augment: str | None = None):
    from trainer.config import DEFAULT_AUGMENT, TrainConfig

    return TrainConfig(data=data_dir, out="/tmp/unused", model="recurrent", chunk_length=CHUNK,
                       batch_size=BATCH, hidden=64, augment=augment or DEFAULT_AUGMENT)


def _bare_loop(data_dir: str):
    """The reference: read, parse and decode_jpeg CHUNK frames per video, batch; no trainer."""
    import tensorflow as tf

    from pipeline import schema
    from trainer import reading

    files = reading.match_files(data_dir, "train")
    ds = tf.data.Dataset.from_tensor_slices(files).repeat().interleave(
        tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.map(lambda s: schema.decode_frames(schema.parse_video(s)[1][:CHUNK]),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return ds.batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _augment_after_batching(data_dir: str, manifest: dict):
    """`--augment none` batches, then the default augmentation over each whole batch."""
    import tensorflow as tf

    from trainer import augment, data
    from trainer.config import DEFAULT_AUGMENT, augment_list

    ops = augment_list(DEFAULT_AUGMENT)
    ds = data.train_dataset(_cfg(data_dir, "none"), manifest, BATCH)
    seeds = tf.data.Dataset.random(seed=1).batch(2)
    ds = tf.data.Dataset.zip((ds, seeds)).map(
        lambda xy, s: (augment.augment_batch(xy[0], s, ops), xy[1]),
        num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


VARIANTS = ("bare", "none", "default", "after_batching")


def _timed(it, batches: int) -> tuple[float, float]:
    """(frames/s, CPU ms per chunk) of `batches` batches of `it` after a warm-up."""
    for _ in range(5):  # warm-up: thread pools, autotune, XLA compilation
        next(it)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    seconds = time.perf_counter() - start
    end = resource.getrusage(resource.RUSAGE_SELF)
    used = end.ru_utime - cpu.ru_utime + end.ru_stime - cpu.ru_stime
    return batches * BATCH * CHUNK / seconds, 1000 * used / (batches * BATCH)


def _augmentation_alone():
    """The default augmentation of uint8 chunks held in memory, as in the trainer's map."""
    import numpy as np
    import tensorflow as tf

    from trainer import augment
    from trainer.config import DEFAULT_AUGMENT, augment_list

    ops = augment_list(DEFAULT_AUGMENT)
    chunk = tf.constant(np.random.default_rng(0).integers(0, 256, (CHUNK, SIZE, SIZE, 3),
                                                          dtype=np.uint8))
    seeds = tf.data.Dataset.random(seed=1).batch(2)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensors(chunk).repeat(), seeds))
    ds = ds.map(lambda c, s: augment.augment_chunk(c, s, ops), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(BATCH).prefetch(tf.data.AUTOTUNE)


def augmentation_cost(data_dir: str, batches: int, rounds: int) -> dict:
    """Median frames/s and CPU ms per chunk of each of VARIANTS over `rounds`
    alternating rounds, and of the augmentation alone (`_augmentation_alone`)."""
    import numpy as np

    from pipeline import schema
    from trainer import data

    manifest = schema.read_manifest(data_dir)
    make = {"bare": lambda: _bare_loop(data_dir),
            "none": lambda: data.train_dataset(_cfg(data_dir, "none"), manifest, BATCH),
            "default": lambda: data.train_dataset(_cfg(data_dir), manifest, BATCH),
            "after_batching": lambda: _augment_after_batching(data_dir, manifest)}
    make["alone"] = _augmentation_alone
    rates = {k: [] for k in make}
    cpu = {k: [] for k in make}
    for _ in range(rounds):
        for name in make:
            rate, ms = _timed(iter(make[name]()), batches)
            rates[name].append(rate)
            cpu[name].append(ms)
    return ({k: float(np.median(v)) for k, v in rates.items()} | {"rounds": rates}
            | {"cpu_ms": {k: float(np.median(v)) for k, v in cpu.items()}})


def input_throughput(data_dir: str, batches: int) -> dict:
    from pipeline import schema
    from trainer import data

    cfg = _cfg(data_dir)
    it = iter(data.train_dataset(cfg, schema.read_manifest(data_dir), BATCH))
    for _ in range(3):  # warm-up: thread pools, autotune
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    dt = time.perf_counter() - start
    chunks = batches * BATCH
    return {"chunks_per_s": chunks / dt, "frames_per_s": chunks * CHUNK / dt}


def held_batch_seconds(cfg, manifest: dict, steps: int, repeats: int = 3) -> float:
    """Seconds `model.fit` takes for `steps` steps on ONE batch held in memory (the input
    is not in the measurement): the fastest of `repeats`, after a warm-up."""
    import tensorflow as tf

    from trainer import data, models, train

    batch = next(iter(data.train_dataset(cfg, manifest, BATCH)))
    model = models.build_model(cfg, len(CLASSES), SIZE)
    train.compile_model(model, cfg, len(CLASSES))
    held = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(held, steps_per_epoch=3, epochs=1, verbose=0)  # compile + warm-up
    dt = float("inf")
    for _ in range(repeats):  # the fastest: a single run here can take twice as long
        start = time.perf_counter()
        model.fit(held, steps_per_epoch=steps, epochs=1, verbose=0)
        dt = min(dt, time.perf_counter() - start)
    return dt


def step_consumption(data_dir: str, steps: int) -> dict:
    from pipeline import schema

    dt = held_batch_seconds(_cfg(data_dir), schema.read_manifest(data_dir), steps)
    return {"chunks_per_s": steps * BATCH / dt, "step_ms": 1000 * dt / steps}


def child_peak_rss(data_dir: str) -> dict:
    """Run in a fresh process: one full pass over the training videos; peak RSS in MiB."""
    from pipeline import schema
    from trainer import data

    manifest = schema.read_manifest(data_dir)
    cfg = _cfg(data_dir)
    steps = manifest["splits"]["train"]["videos"] // BATCH
    start = time.perf_counter()
    for _ in data.train_dataset(cfg, manifest, BATCH).take(steps):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"peak_rss_mib": rss, "batches": steps, "seconds": time.perf_counter() - start}


def _peak_in_fresh_process(data_dir: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", data_dir], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _augmentation_lines(aug: dict) -> list[str]:
    from trainer.config import DEFAULT_AUGMENT

    bare = aug["bare"]
    ratio = aug["default"] / bare
    names = {"bare": "bare tf.data loop: read, parse, decode_jpeg (no trainer code)",
             "none": "trainer input, `--augment none`",
             "default": f"trainer input, default `--augment {DEFAULT_AUGMENT}` (per chunk)",
             "after_batching": "`--augment none` + the default augmentation after batching "
                               "(`augment_batch`)"}
    cpu = aug["cpu_ms"]
    rows = []
    for k in VARIANTS:
        goal = (f" (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})"
                if k == "default" else "")
        runs = ", ".join(f"{r:.0f}" for r in aug["rounds"][k])
        rows.append(f"| {names[k]} | {aug[k]:.0f} | {aug[k] / bare:.2f}{goal} | "
                    f"{cpu[k]:.2f} | {runs} |")
    rows.append(f"| the default augmentation alone, uint8 chunks held in memory | "
                f"{aug['alone']:.0f} | - | {cpu['alone']:.2f} | "
                + ", ".join(f"{r:.0f}" for r in aug["rounds"]["alone"]) + " |")
    share = cpu["alone"] / cpu["default"]
    return ["## Augmentation cost (same shards, same run)", "",
            f"Recurrent chunks of {CHUNK} frames of {SIZE}x{SIZE}, batch {BATCH}; frames/s "
            "delivered and CPU time per chunk (all threads), median over alternating rounds.",
            "",
            "| pipeline | frames/s | vs bare loop | CPU ms/chunk | frames/s each round |",
            "|---|---:|---:|---:|---|", *rows, "",
            f"Where a default chunk's CPU goes: decoding and sampling as with `--augment none` "
            f"({cpu['none']:.2f} ms; the bare loop {cpu['bare']:.2f} ms), the augmentation "
            f"alone {cpu['alone']:.2f} ms (about {share:.0%} of the default's "
            f"{cpu['default']:.2f} ms).", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=48, help="N (memory also at 4N)")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of the augmentation-cost variants")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_peak_rss(args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = write_data(f"{tmp}/n1", args.videos)
        large = write_data(f"{tmp}/n4", 4 * args.videos)
        mem1, mem4 = _peak_in_fresh_process(small), _peak_in_fresh_process(large)
        aug = augmentation_cost(large, 2 * args.batches, args.rounds)
        inp = input_throughput(large, args.batches)
        step = step_consumption(small, 20)
    import tensorflow as tf

    lines = [
        "# Input pipeline benchmark (`python benchmarks/bench_input.py`)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"TensorFlow {tf.__version__}, no GPU. Recurrent small_cnn model, chunks of {CHUNK} "
        f"frames of {SIZE}x{SIZE}, batch {BATCH}, synthetic videos of {FRAMES} frames "
        "(JPEG, 4 shards per split).",
        "",
        *_augmentation_lines(aug),
        "## Input vs training step, memory", "",
        "| measurement | value |",
        "|---|---|",
        f"| input alone (default augmentation): chunks/s | {inp['chunks_per_s']:.0f} |",
        f"| input alone: frames decoded/s | {inp['frames_per_s']:.0f} |",
        f"| train step (batch in memory): chunks/s consumed | {step['chunks_per_s']:.0f} |",
        f"| train step time | {step['step_ms']:.0f} ms |",
        f"| input / consumption ratio | {inp['chunks_per_s'] / step['chunks_per_s']:.1f}x |",
        f"| peak RSS, one pass over {args.videos} videos | {mem1['peak_rss_mib']:.0f} MiB |",
        f"| peak RSS, one pass over {4 * args.videos} videos | {mem4['peak_rss_mib']:.0f} MiB |",
        "",
        "Reading: a ratio above 1 means the input pipeline keeps the model fed (on this CPU "
        "the input and the model share the same cores, so both numbers are lower bounds of "
        "what each does alone). Peak RSS should be flat from N to 4N videos: frames are "
        "decoded only for the sampled indices, never cached, and every shuffle buffer holds "
        "serialized records or a bounded number of frames.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS_input.md")
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
