"""`vidrec demo`: the whole experiment, end to end, as the same commands a user would type.

Each stage is one `vidrec` command (printed before it runs, so the demo is
also a tutorial), run in this process through the dispatcher:

  synth -> convert (Beam) -> train frame -> embed -> train pooled and
  recurrent (encoder initialised from the frame model) -> tune (on the cached
  embeddings) -> evaluate everything, natural / shuffled / reversed -> compare

On the synthetic data the answer is known: on the order-only classes the
recurrent model must clearly beat the frame and pooled models. The demo
checks that and exits non-zero when it does not (something is broken).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from vidrec import cli

ORDER_ONLY = "grow,shrink,fade_in,fade_out,move_up,move_down"


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run."""

    clips_per_class: int = 32
    frames: int = 16
    size: int = 32
    frame_epochs: int = 20
    epochs: int = 40
    patience: int = 12
    chunk_length: int = 8
    eval_chunks: int = 3
    tune_trials: int = 4
    tune_epochs: int = 12
    batch_size: int = 8
    cpu_replicas: int = 2
    encoder: str = "small_cnn"
    weights: str = "none"
    check: bool = True


SMALLEST = DemoSettings(clips_per_class=6, frames=8, size=32, frame_epochs=1, epochs=1, patience=1,
                        chunk_length=4, eval_chunks=2, tune_trials=2, tune_epochs=1,
                        batch_size=4, check=False)
REAL_DATA = DemoSettings(size=128, frame_epochs=15, epochs=15, chunk_length=16, eval_chunks=5,
                         tune_trials=20, tune_epochs=8, batch_size=16, cpu_replicas=0,
                         encoder="vgg16", weights="imagenet", check=False)


def _run(argv: list[str]) -> None:
    print(f"\n$ vidrec {' '.join(argv)}", flush=True)
    code = cli.main(argv)
    if code:
        raise SystemExit(f"vidrec demo: `vidrec {' '.join(argv)}` failed with exit code {code}")


def commands(out: str, s: DemoSettings, videos: str | None = None,
             splits: str | None = None) -> list[list[str]]:
    """The demo's commands in order; README's walkthrough lists the same ones."""
    raw, data, feats = f"{out}/raw", f"{out}/data", f"{out}/features"
    runs = f"{out}/runs"
    replicas = ["--cpu-replicas", str(s.cpu_replicas)] if s.cpu_replicas else []
    common = ["--data", data, "--encoder", s.encoder, "--weights", s.weights,
              "--batch-size", str(s.batch_size), "--chunk-length", str(s.chunk_length),
              "--eval-chunks", str(s.eval_chunks), "--patience", str(s.patience), *replicas]
    cmds = []
    synthetic = videos is None
    if synthetic:
        cmds.append(["synth", raw, "--clips-per-class", str(s.clips_per_class),
                     "--frames", str(s.frames), "--size", str(s.size)])
        videos, splits = f"{raw}/videos", f"{raw}/splits"
    cmds.append(["convert", "--videos", videos, "--splits", splits, "--split", "1",
                 "--output", data, "--frame-size", str(s.size)])
    cmds.append(["train", *common, "--model", "frame", "--out", f"{runs}/frame",
                 "--epochs", str(s.frame_epochs)])
    cmds.append(["embed", "--data", data, "--encoder", f"{runs}/frame", "--out", feats])
    for model in ("pooled", "recurrent"):
        cmds.append(["train", *common, "--model", model, "--out", f"{runs}/{model}",
                     "--init-from", f"{runs}/frame", "--epochs", str(s.epochs)])
    cmds.append(["tune", *common, "--features", feats, "--out", f"{out}/tune",
                 "--max-trials", str(s.tune_trials), "--epochs", str(s.tune_epochs)])
    for run in ("frame", "pooled", "recurrent"):
        cmds.append(["evaluate", f"{runs}/{run}"])
    for run in (f"{runs}/pooled", f"{runs}/recurrent", f"{out}/tune/best"):
        for order in ("shuffled", "reversed"):
            cmds.append(["evaluate", run, "--order", order])
    report = ["compare", f"{runs}/frame", f"{runs}/pooled", f"{runs}/recurrent",
              f"{out}/tune/best", "--out", f"{out}/report"]
    if synthetic:
        report += ["--order-classes", ORDER_ONLY]
    cmds.append(report)
    return cmds


def check_answer(summary: dict) -> str | None:
    """On synthetic data: None if recurrent clearly beats frame and pooled on order-only classes."""
    subset = {row["run"]: row for row in (summary.get("order_classes") or {}).get("rows", [])}
    try:
        rec, frame, pooled = (subset[k]["value"] for k in ("recurrent", "frame", "pooled"))
    except KeyError:
        return f"the report has no order-only accuracies for frame/pooled/recurrent: {subset}"
    if rec < max(frame, pooled) + 0.15:
        return (f"recurrent {rec:.2f} does not clearly beat frame {frame:.2f} and pooled "
                f"{pooled:.2f} on the order-only classes (margin 0.15): something is broken")
    return None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vidrec demo",
        description="Run the whole experiment: synth (or your --videos/--splits), convert, "
        "train frame/pooled/recurrent, embed, tune, evaluate (incl. shuffled and reversed "
        "frame order) and compare into OUT/report/report.md. With no --videos it uses the "
        "embedded synthetic data, finishes in minutes on 2 CPU cores and checks the known "
        "answer (recurrent wins on the order-only classes).")
    p.add_argument("--out", default="demo_out", help="output folder (default %(default)s)")
    p.add_argument("--videos", help="real videos (HMDB51 layout: one folder per class)")
    p.add_argument("--splits", help="official split files (with --videos)")
    p.add_argument("--smallest", action="store_true",
                   help="tiny sizes for a smoke test: checks the plumbing, not the answer")
    return p


def main(argv: list[str]) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if bool(args.videos) != bool(args.splits):
        p.error("--videos and --splits go together")
    settings = REAL_DATA if args.videos else (SMALLEST if args.smallest else DemoSettings())
    out = args.out.rstrip("/")
    start = time.time()
    cmds = commands(out, settings, args.videos, args.splits)
    for i, argv_i in enumerate(cmds, 1):
        print(f"\n[{i}/{len(cmds)}] {time.time() - start:6.0f}s", end="")
        _run(argv_i)
    with open(f"{out}/report/summary.json") as f:
        summary = json.load(f)
    print(f"\n{'=' * 70}\n{summary['headline']}\n\nreport: {out}/report/report.md\n"
          f"all runs side by side: tensorboard --logdir {out}\n"
          f"finished in {time.time() - start:.0f}s")
    if settings.check:
        problem = check_answer(summary)
        if problem:
            print(f"vidrec demo: {problem}", file=sys.stderr)
            return 1
    return 0
