"""Throughput of `vidrec convert`: Beam with 1 and N workers vs a bare OpenCV loop.

All three do the same work per video (`pipeline.video.decode`: decode, resize,
JPEG-encode); the Beam runs also build records and write shards. Times are
wall-clock seconds of the whole call, start-up included (for the Beam runs:
pipeline construction and, in multi_processing mode, starting the worker
processes). Usage::

    python benchmarks/bench_convert.py [--videos 96 --frames 40 --size 160 --workers 2]

Prints frames/s and ratios and writes them to benchmarks/RESULTS_convert.md.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline import convert, schema, synth, video  # noqa: E402

CLASSES = ("grow", "shrink", "square", "cross")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS_convert.md")


def _bare(paths: list[str], options: video.DecodeOptions) -> int:
    """The baseline: one process, one video after another; returns frames encoded."""
    return sum(len(video.decode(p, options).jpegs) for p in paths)


def _beam(videos: str, out: str, frame_size: int, extra: list[str]) -> int:
    """One `vidrec convert` run (folder-per-class); returns the frames it wrote."""
    shutil.rmtree(out, ignore_errors=True)
    argv = ["--videos", videos, "--output", out, "--frame-size", str(frame_size), *extra]
    if convert.main(argv) != 0:
        raise SystemExit(f"convert failed: {argv}")
    manifest = schema.read_manifest(out)
    if manifest["totals"]["failed"]:
        raise SystemExit(f"{manifest['totals']['failed']} videos failed")
    return sum(s["frames"] for s in manifest["splits"].values())


def _timed(fn, *args) -> tuple[float, int]:
    start = time.perf_counter()
    frames = fn(*args)
    return time.perf_counter() - start, frames


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=96, help="synthetic videos (default 96)")
    p.add_argument("--frames", type=int, default=90, help="frames per video (default 90)")
    p.add_argument("--size", type=int, default=240, help="source frame size (default 240)")
    p.add_argument("--frame-size", type=int, default=128, help="stored size (default 128)")
    p.add_argument("--workers", type=int, default=2, help="multi_processing workers (default 2)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each, best kept (default 1)")
    p.add_argument("--copies", type=int, default=4,
                   help="copies of each video (more work without more rendering; default 4)")
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench_convert_")
    try:
        data, tiny = f"{tmp}/data", f"{tmp}/tiny"
        start = time.perf_counter()
        synth.generate(synth.SynthConfig(
            data, classes=CLASSES, clips_per_class=args.videos // len(CLASSES),
            frames=args.frames, size=args.size, fps=25.0))
        synth.generate(synth.SynthConfig(tiny, classes=CLASSES, clips_per_class=4, frames=8,
                                         size=args.size, fps=25.0))
        for path in glob.glob(f"{data}/videos/*/*.avi"):
            for k in range(1, args.copies):
                shutil.copyfile(path, path.replace(".avi", f"_copy{k}.avi"))
        paths = sorted(glob.glob(f"{data}/videos/*/*.avi"))
        print(f"generated {args.videos} videos of {args.frames} frames at {args.size}px "
              f"in {time.perf_counter() - start:.1f}s, {len(paths)} with copies")
        options = video.DecodeOptions(frame_size=args.frame_size, min_frames=1)
        n = str(args.workers)
        beam_flags = {
            "beam1": ["--direct_num_workers", "1"],
            f"beam{n}": ["--direct_num_workers", n, "--direct_running_mode", "multi_processing"],
            f"beam{n}t": ["--direct_num_workers", n, "--direct_running_mode", "multi_threading"],
        }
        runs = {"bare": lambda: _bare(paths, options)}
        for name, flags in beam_flags.items():
            runs[name] = (lambda flags=flags: _beam(
                f"{data}/videos", f"{tmp}/out", args.frame_size, flags))
        best, startup = {}, {}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                seconds, frames = _timed(fn)
                print(f"  {name:6s} {frames} frames in {seconds:.2f}s = {frames / seconds:.0f}/s")
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, frames)
        for name, flags in beam_flags.items():  # fixed cost: the same run on 16 tiny videos
            startup[name] = _timed(_beam, f"{tiny}/videos", f"{tmp}/out", args.frame_size, flags)
            print(f"  {name:6s} on 16 videos of 8 frames: {startup[name][0]:.2f}s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rate = {name: frames / seconds for name, (seconds, frames) in best.items()}
    # Throughput once started: (frames - tiny frames) / (seconds - tiny seconds).
    marginal = {name: (best[name][1] - f) / max(best[name][0] - t, 1e-9)
                for name, (t, f) in startup.items()}
    marginal["bare"] = rate["bare"]
    n = args.workers
    lines = [
        "# `vidrec convert` throughput",
        "",
        f"Measured by `python benchmarks/bench_convert.py` on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}: {args.videos} synthetic "
        f"MJPG videos x {args.copies} copies of {args.frames} frames at {args.size}x{args.size} -> "
        f"{args.frame_size}x{args.frame_size} JPEGs (crop), best of {args.repeats} runs. "
        "`frames/s` is wall-clock, start-up included; `start-up` is the same run on 16 "
        "videos of 8 frames; `frames/s once started` = extra frames / extra seconds "
        "between the two.",
        "",
        "| run | seconds | frames/s | start-up s | frames/s once started |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {"bare": "bare OpenCV loop (1 process, `video.decode`)",
              "beam1": "Beam DirectRunner, 1 worker",
              f"beam{n}": f"Beam DirectRunner multi_processing, {n} workers",
              f"beam{n}t": f"Beam DirectRunner multi_threading, {n} workers"}
    for name, (seconds, _) in best.items():
        up = f"{startup[name][0]:.2f}" if name in startup else "-"
        lines.append(f"| {labels[name]} | {seconds:.2f} | {rate[name]:.0f} | {up} | "
                     f"{marginal[name]:.0f} |")
    lines += [
        "",
        f"- beam1 / bare = {rate['beam1'] / rate['bare']:.2f} wall-clock, "
        f"{marginal['beam1'] / marginal['bare']:.2f} once started (goal >= 0.7)",
        f"- beam{n} / beam1 (multi_processing) = {rate[f'beam{n}'] / rate['beam1']:.2f} "
        f"wall-clock, {marginal[f'beam{n}'] / marginal['beam1']:.2f} once started (goal >= 1.5)",
        f"- beam{n} / beam1 (multi_threading) = {rate[f'beam{n}t'] / rate['beam1']:.2f} "
        f"wall-clock, {marginal[f'beam{n}t'] / marginal['beam1']:.2f} once started",
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(RESULTS, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
