"""`vidrec study --parallel`: the demo study run with 1 and with N jobs at once (not a test).

Runs `vidrec study studies/demo.toml` (the whole `make demo`, or `--smallest`
for its tiny sizes) twice on this machine, into two fresh folders: first one
job at a time, then N at once (each pinned to its share of the cores, or its
own GPU). Reports each run's wall time, how long two or more trainings ran side
by side (from the study's events), and checks that both runs gave the same
per-video predictions (thread counts change oneDNN's rounding). Writes benchmarks/RESULTS_study.md.

Usage: python benchmarks/bench_study_parallel.py [--parallel 2] [--smallest] [--keep DIR]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def _overrides(smallest: bool) -> list[str]:
    from vidrec import demo

    if not smallest:
        return []
    return [f"--set={k}={json.dumps(v)}" for k, v in demo.overrides(True).items()]


def run_study(out: str, parallel: int, smallest: bool) -> float:
    """Wall seconds of one whole study into `out`."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vidrec", "study", "studies/demo.toml", "--out", out,
                    "--parallel", str(parallel), *_overrides(smallest)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def overlap_seconds(out: str) -> float:
    """Seconds during which at least two training steps ran at once (from events.jsonl)."""
    spans: dict[str, dict[str, float]] = {}
    with open(f"{out}/study/events.jsonl") as f:
        for line in f:
            e = json.loads(line)
            if e["step"] == 0 and ("/seed" in e["job"] or e["job"].endswith("/tune")):
                spans.setdefault(e["job"], {})[e["event"]] = e["time"]
    edges = sorted([(s["start"], 1) for s in spans.values() if "done" in s]
                   + [(s["done"], -1) for s in spans.values() if "start" in s])
    busy, last, together = 0, None, 0.0
    for t, delta in edges:
        if last is not None and busy >= 2:
            together += t - last
        busy, last = busy + delta, t
    return together


def predictions(root: str) -> dict:
    from vidrec.core.eval_file import EvalFile

    files = sorted(glob.glob(f"{root}/split*/**/eval_*.json", recursive=True))
    return {os.path.relpath(f, root): [(v.id, v.predicted, v.probabilities) for v in
                                       EvalFile.from_dict(json.load(open(f))).videos]
            for f in files}


def agreement(a: dict, b: dict) -> tuple[float, float]:
    """(share of per-video predicted labels that agree, largest probability difference)."""
    same = total = 0
    largest = 0.0
    for name, videos in a.items():
        for (_, label_a, probs_a), (_, label_b, probs_b) in zip(videos, b[name], strict=True):
            same += label_a == label_b
            total += 1
            largest = max(largest, *(abs(x - y) for x, y in zip(probs_a, probs_b, strict=True)))
    return same / max(total, 1), largest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--smallest", action="store_true", help="the demo's --smallest sizes")
    p.add_argument("--keep", default=None, help="write the two studies here (default: a "
                   "temporary folder, removed)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or tmp
        one, many = f"{root}/parallel1", f"{root}/parallel{args.parallel}"
        seconds = {1: run_study(one, 1, args.smallest)}
        seconds[args.parallel] = run_study(many, args.parallel, args.smallest)
        agree, largest = agreement(predictions(one), predictions(many))
        together = {1: overlap_seconds(one), args.parallel: overlap_seconds(many)}
    speedup = seconds[1] / seconds[args.parallel]
    cpu = platform.processor() or platform.machine()
    lines = [
        "# `vidrec study --parallel`: the demo study, 1 vs "
        f"{args.parallel} jobs at once", "",
        f"`python benchmarks/bench_study_parallel.py --parallel {args.parallel}"
        f"{' --smallest' if args.smallest else ''}` on {os.cpu_count()} CPU cores ({cpu}), "
        f"no GPU, {time.strftime('%Y-%m-%d')}: `vidrec study studies/demo.toml`"
        f"{' at the --smallest sizes' if args.smallest else ' (what make demo runs)'}, "
        "each into a fresh folder.", "",
        "| --parallel | wall time | trainings side by side |", "|---:|---:|---:|",
        *(f"| {n} | {seconds[n]:.0f} s | {together[n]:.0f} s |" for n in seconds), "",
        f"Speed-up {speedup:.2f}x. Per-video predicted labels that agree between the two: "
        f"{100 * agree:.1f}%; largest difference of a class probability: {largest:.2g}. On a "
        "CPU each job of `--parallel N` runs on its share of the cores but keeps the whole "
        "machine's TensorFlow thread pools (oneDNN rounds by its thread count), so "
        "`--parallel` does not change a job's numbers.", ""]
    text = "\n".join(lines)
    print(text)
    if not args.smallest:
        with open(os.path.join(HERE, "RESULTS_study.md"), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
