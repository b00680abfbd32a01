"""`vidrec convert` on HMDB51-shaped clips: speed against a bare OpenCV loop, memory, resize.

Clips are written by the project's own code (`pipeline.synth.textured_clip`,
`pipeline.video.write_video`): 320x240 XVID at 30 fps, textured and moving,
150 frames each, like HMDB51's DivX/XviD AVIs. A few are rendered and the rest
are byte copies (the decoding work is the same). Measured in one run:

- **bare**: a single-process OpenCV loop on the same files: read, INTER_AREA
  resize (shorter side to 128, centre crop), JPEG encode. No Beam, no records.
- **convert, default flags** (one worker per core, as threads): ``vidrec convert``
  as a subprocess, whole process (start-up included), and its peak RSS (``ru_maxrss``).
- **1 worker, and 2 workers** in multi_threading and multi_processing mode.
- **--fps 15** (half the native rate) against the native rate, in source frames/s.
- **peak RSS** of the 1-worker conversion at --videos and at --big-videos clips.
- **resize** alone on decoded frames: ms/frame of ``fast`` and INTER_AREA, and
  the PSNR between them.

Usage::

    python benchmarks/bench_convert.py [--videos 480 --big-videos 1920 --unique 24]

Prints the figures and writes benchmarks/RESULTS_convert.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pipeline import synth, video  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "RESULTS_convert.md")
CLASSES = ("brush_hair", "cartwheel", "catch", "chew")
SIZE = 128


def make_clips(folder: str, videos: int, unique: int, frames: int) -> list[str]:
    """`videos` XVID clips under folder/<class>/, `unique` of them rendered, the rest copies."""
    rendered = []
    for k in range(unique):
        cls = CLASSES[k % len(CLASSES)]
        os.makedirs(f"{folder}/{cls}", exist_ok=True)
        path = f"{folder}/{cls}/film{k}_{cls}_u_cm_np1_fr_med_0.avi"
        video.write_video(path, synth.textured_clip(frames, 240, 320, seed=k), 30.0,
                          fourcc="XVID")
        rendered.append(path)
    paths = list(rendered)
    for i in range(videos - unique):
        src = rendered[i % unique]
        dst = src.replace("film", f"copy{i}film")
        shutil.copyfile(src, dst)
        paths.append(dst)
    return sorted(paths)


def bare_loop(paths: list[str], quality: int = 90) -> int:
    """The reference: read, INTER_AREA resize + centre crop, JPEG encode; returns frames."""
    params = [int(cv2.IMWRITE_JPEG_QUALITY), quality]
    frames = 0
    for path in paths:
        capture = cv2.VideoCapture(path)
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            scale = SIZE / min(h, w)
            nh, nw = max(SIZE, round(h * scale)), max(SIZE, round(w * scale))
            small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
            top, left = (nh - SIZE) // 2, (nw - SIZE) // 2
            ok, _ = cv2.imencode(".jpg", small[top:top + SIZE, left:left + SIZE], params)
            frames += 1
        capture.release()
    return frames


def convert(videos: str, out: str, *flags: str) -> dict:
    """One whole `vidrec convert` process; returns seconds, peak RSS (MB) and frames."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "vidrec", "convert", "--videos", videos, "--output", out,
            "--test-fraction", "0.3", *flags]
    # ru_maxrss of RUSAGE_CHILDREN is a running maximum over every waited-for
    # descendant: a wrapper process per run keeps the runs apart.
    wrapper = ("import resource, subprocess, sys, time; s = time.perf_counter(); "
               "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
               "print(rc, time.perf_counter() - s, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = {**os.environ, "PYTHONPATH": ROOT}
    res = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True,
                         text=True, env=env, check=True)
    rc, seconds, rss_kb = res.stdout.split()
    if rc != "0":
        raise SystemExit(f"convert failed ({rc}): {' '.join(argv)}\n{res.stderr[-2000:]}")
    with open(f"{out}/manifest.json") as f:
        manifest = json.load(f)
    with open(f"{out}/videos.jsonl") as f:
        decoded = sum(json.loads(line)["decoded_frames"] for line in f)
    stored = sum(s["frames"] for s in manifest["splits"].values())
    return {"seconds": float(seconds), "rss_mb": int(rss_kb) / 1024, "frames": stored,
            "decoded": decoded}


def resize_figures(path: str) -> dict:
    """ms/frame of the fast filter and INTER_AREA on one clip's frames, and their PSNR."""
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(video.centre_square(frame))
    out = {}
    for name in video.RESIZE_FILTERS:
        fn = video.RESIZERS[name]
        cv2.setNumThreads(1)  # one thread, as each conversion worker runs
        start = time.perf_counter()
        for _ in range(5):
            small = [fn(f, SIZE, SIZE) for f in frames]
        out[name] = (time.perf_counter() - start) / (5 * len(frames)) * 1000
        out[f"{name}_frames"] = small
    mse = np.mean([(a.astype(np.float64) - b) ** 2
                   for a, b in zip(out["fast_frames"], out["area_frames"])])
    cv2.setNumThreads(-1)  # back to OpenCV's default for the bare loop
    return {"fast_ms": out["fast"], "area_ms": out["area"],
            "psnr_db": 10 * np.log10(255.0 ** 2 / mse)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=480, help="clips (default 480)")
    p.add_argument("--big-videos", type=int, default=1920,
                   help="clips of the second memory run (default 1920; 0 = skip)")
    p.add_argument("--unique", type=int, default=24, help="clips rendered (default 24)")
    p.add_argument("--frames", type=int, default=150, help="frames per clip (default 150)")
    p.add_argument("--repeats", type=int, default=2,
                   help="rounds of every 480-clip run, the fastest kept (default 2)")
    args = p.parse_args()
    # The bare loop runs as a user's script would: OpenCV's default threads.

    tmp = tempfile.mkdtemp(prefix="bench_convert_")
    try:
        start = time.perf_counter()
        paths = make_clips(f"{tmp}/videos", args.videos, args.unique, args.frames)
        print(f"{len(paths)} clips ({args.unique} rendered) in {time.perf_counter() - start:.0f}s")
        resize = resize_figures(paths[0])
        print(f"resize: fast {resize['fast_ms']:.3f} ms/frame, INTER_AREA "
              f"{resize['area_ms']:.3f} ms/frame, PSNR {resize['psnr_db']:.1f} dB")
        bare = {"seconds": float("inf")}
        for _ in range(args.repeats):
            start = time.perf_counter()
            bare_frames = bare_loop(paths)
            bare = min(bare, {"seconds": time.perf_counter() - start, "frames": bare_frames},
                       key=lambda r: r["seconds"])
        print(f"bare loop: {bare['frames']} frames in {bare['seconds']:.1f}s (best of "
              f"{args.repeats})")
        flags = {"default": [],
                 "beam1": ["--direct_num_workers", "1"],
                 "beam2p": ["--direct_num_workers", "2", "--direct_running_mode",
                            "multi_processing"],
                 "fps15": ["--fps", "15"]}
        runs = {}
        for _ in range(args.repeats):  # rounds alternate the runs: drift hits them alike
            for name, extra in flags.items():
                r = convert(f"{tmp}/videos", f"{tmp}/out", *extra)
                print(f"{name}: {r['frames']} frames in {r['seconds']:.1f}s, "
                      f"peak RSS {r['rss_mb']:.0f} MB")
                if name not in runs or r["seconds"] < runs[name]["seconds"]:
                    runs[name] = r
        if args.big_videos:
            big = make_clips(f"{tmp}/big", args.big_videos, args.unique, args.frames)
            del big
            runs["big"] = convert(f"{tmp}/big", f"{tmp}/out_big")
            print(f"big: {runs['big']['frames']} frames in {runs['big']['seconds']:.1f}s, "
                  f"peak RSS {runs['big']['rss_mb']:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rate = {n: r["frames"] / r["seconds"] for n, r in runs.items()}
    rate["bare"] = bare["frames"] / bare["seconds"]
    src_rate = {n: runs[n]["decoded"] / runs[n]["seconds"] for n in ("default", "fps15")}
    best2 = max(("default", "beam2p"), key=lambda n: rate[n])
    mode = {"default": "multi_threading", "beam2p": "multi_processing"}
    lines = [
        "# `vidrec convert` on HMDB51-shaped clips",
        "",
        f"Measured by `python benchmarks/bench_convert.py` on {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, OpenCV "
        f"{cv2.__version__}: {args.videos} clips of {args.frames} frames, 320x240 XVID at "
        f"30 fps, textured and moving ({args.unique} rendered, the rest byte copies) -> "
        f"{SIZE}x{SIZE} JPEGs. Every `vidrec convert` figure is a whole process, start-up "
        f"included, default flags unless named; the 480-clip runs alternate over "
        f"{args.repeats} rounds and the fastest of each is kept, the {args.big_videos}-clip "
        "run is one run.",
        "",
        "| run | seconds | frames/s | vs bare loop | peak RSS |",
        "|---|---:|---:|---:|---:|",
        f"| bare OpenCV loop (read, INTER_AREA, JPEG; 1 process) | {bare['seconds']:.1f} | "
        f"{rate['bare']:,.0f} | 1.00x | - |",
    ]
    labels = {"default": f"`vidrec convert`, default flags ({os.cpu_count()} workers, "
              "multi_threading)",
              "beam1": "`vidrec convert --direct_num_workers 1`",
              "beam2p": "`vidrec convert`, 2 workers, multi_processing",
              "fps15": "`vidrec convert --fps 15` (half the native rate), default flags",
              "big": f"`vidrec convert`, default flags, {args.big_videos} clips"}
    for name, r in runs.items():
        lines.append(f"| {labels[name]} | {r['seconds']:.1f} | {rate[name]:,.0f} | "
                     f"{rate[name] / rate['bare']:.2f}x | {r['rss_mb']:,.0f} MB |")
    lines += [
        "",
        f"- default flags / bare loop = **{rate['default'] / rate['bare']:.2f}x** (target >= "
        f"1.5x); 1 worker / bare loop = {rate['beam1'] / rate['bare']:.2f}x",
        f"- 2 workers ({mode[best2]}) / 1 worker = **{rate[best2] / rate['beam1']:.2f}x** "
        "(target >= 1.8x); multi_threading "
        f"{rate['default'] / rate['beam1']:.2f}x, multi_processing "
        f"{rate['beam2p'] / rate['beam1']:.2f}x",
        f"- --fps 15 / native, source frames/s = **{src_rate['fps15'] / src_rate['default']:.2f}x**"
        " (target >= 1.6x)",
        f"- resize 320x240 -> {SIZE}x{SIZE} (crop): fast **{resize['fast_ms']:.3f} ms/frame**, "
        f"INTER_AREA {resize['area_ms']:.3f} ms/frame, PSNR fast vs INTER_AREA "
        f"**{resize['psnr_db']:.1f} dB** (targets <= 0.1 ms, >= 38 dB)",
    ]
    if "big" in runs:
        lines.append(f"- peak RSS, default flags: **{runs['default']['rss_mb']:,.0f} MB** at "
                     f"{args.videos} clips, **{runs['big']['rss_mb']:,.0f} MB** at "
                     f"{args.big_videos} clips (target <= 1,200 MB at both)")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(RESULTS, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
