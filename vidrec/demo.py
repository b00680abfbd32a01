"""`vidrec demo`: the whole experiment, end to end, as the same commands a user would type.

Each stage is one `vidrec` command (printed before it runs, so the demo is
also a tutorial), run in this process through the dispatcher. Per official
split (`--split 1` by default, `--split 1,2,3` for all three):

  convert (Beam) -> train the encoder (a frame model on images) -> inspect the data ->
  embed (its frozen encoder's per-frame embeddings) -> train frame, pooled, recurrent
  on those embeddings with one recipe, with temporal convolutions and attention
  beside them, each under the same seeds (0, 1, 2) -> tune the recurrent model on
  them and retrain its best under those seeds ->
  evaluate everything (natural, and shuffled / reversed for the multi-frame
  runs)

then one `vidrec compare` over every run of every split. The recipe is like for
like by construction: frame, pooled, recurrent and the tuner's best share the
encoder (frozen, trained once on the split's train videos), the augmentation
(none: cached embeddings), the head, the optimiser and the budget; only the
temporal part differs, which the report's "what differs" table shows.

On the synthetic data the answer is known: on the order-only classes the
recurrent model must clearly beat the frame and pooled models. The demo
checks that in every split and exits non-zero when it does not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time

from vidrec import cli

ORDER_ONLY = "grow,shrink,fade_in,fade_out,move_up,move_down"
# run folder name -> --model: single frames, the order-blind control, recurrence, and two
# order-aware models that are not recurrent (the report's third question).
# What `vidrec demo --out OUT` writes directly in OUT: a folder holding nothing else is an
# earlier demo's output, which a rerun clears (`clear_previous`).
DEMO_ENTRIES = frozenset({"raw", "report", "split1", "split2", "split3"})
COMPARED = {"frame": "frame", "pooled": "pooled", "recurrent": "recurrent",
            "conv": "temporal_conv", "attention": "attention"}


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run."""

    clips_per_class: int = 32
    frames: int = 16
    size: int = 32
    encoder_epochs: int = 20
    epochs: int = 40
    patience: int = 12
    chunk_length: int = 8
    tune_trials: int = 4
    tune_epochs: int = 12
    batch_size: int = 8
    cpu_replicas: int = 2
    encoder: str = "small_cnn"
    weights: str = "none"
    trainable_top_layers: int = -1
    seeds: str = "0,1,2"
    check: bool = True


SMALLEST = DemoSettings(clips_per_class=6, frames=8, size=32, encoder_epochs=1, epochs=1,
                        patience=1, chunk_length=4, tune_trials=2, tune_epochs=1,
                        batch_size=4, seeds="0", check=False)
# The original study's encoder regime: VGG16 from ImageNet, its last 4 layers fine-tuned.
REAL_DATA = DemoSettings(size=128, encoder_epochs=15, epochs=30, patience=5, chunk_length=16,
                         tune_trials=30, tune_epochs=10, batch_size=16, cpu_replicas=0,
                         encoder="vgg16", weights="imagenet", trainable_top_layers=4,
                         check=False)


def _run(argv: list[str]) -> int:
    """Runs one stage as `vidrec ARGV...`; says which stage failed. Returns its exit status."""
    print(f"\n$ vidrec {' '.join(argv)}", flush=True)
    code = cli.main(argv)
    if code:
        print(f"vidrec demo: `vidrec {' '.join(argv)}` failed with exit status {code}",
              file=sys.stderr)
    return code


def parse_splits(text: str) -> list[int]:
    """``1`` or ``1,2,3`` -> [1, 2, 3] (each of HMDB51's official splits at most once)."""
    try:
        splits = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        splits = []
    if not splits or any(s not in (1, 2, 3) for s in splits) or len(set(splits)) < len(splits):
        raise ValueError(f"--split must be a comma list of 1, 2, 3, got {text!r}")
    return splits


def split_commands(out: str, s: DemoSettings, videos: str, splits_dir: str,
                   split: int) -> list[list[str]]:
    """One split's convert, encoder, embed, frame/pooled/recurrent, tune and evaluations."""
    root = f"{out}/split{split}"
    data, feats, runs = f"{root}/data", f"{root}/features", f"{root}/runs"
    replicas = ["--cpu-replicas", str(s.cpu_replicas)] if s.cpu_replicas else []
    budget = ["--batch-size", str(s.batch_size), "--patience", str(s.patience), *replicas]
    # Every compared run: the same frozen encoder (cached), head, optimiser and budget, each
    # trained under the same seeds (a seed group per run: `vidrec compare` pairs them by seed).
    recipe = ["--data", data, "--features", feats, "--chunk-length", str(s.chunk_length),
              "--epochs", str(s.epochs), *budget]
    seeds = ["--seeds", s.seeds]
    cmds = [["convert", "--videos", videos, "--splits", splits_dir, "--split", str(split),
             "--output", data, "--frame-size", str(s.size)],
            ["train", "--data", data, "--model", "frame", "--out", f"{runs}/encoder",
             "--encoder", s.encoder, "--weights", s.weights, "--trainable-top-layers",
             str(s.trainable_top_layers), "--epochs", str(s.encoder_epochs), *budget],
            # Counts, lengths, failures, a contact sheet (DATA/inspect). After the first
            # training: the demo runs every stage in one process, and --cpu-replicas must
            # split the CPU before any TensorFlow op runs.
            ["inspect", data],
            ["embed", "--data", data, "--encoder", f"{runs}/encoder", "--out", feats]]
    for name, model in COMPARED.items():
        cmds.append(["train", *recipe, "--model", model, "--out", f"{runs}/{name}", *seeds])
    cmds.append(["tune", *recipe, "--out", f"{root}/tune", "--max-trials", str(s.tune_trials),
                 "--trial-epochs", str(s.tune_epochs), *seeds])
    evaluated = compared_runs(out, split)
    cmds += [["evaluate", run] for run in evaluated[:-1]]  # the tuner evaluates its best
    # (evaluating a seed group evaluates each of its seeds)
    for run in evaluated[1:]:  # every multi-frame run: does it use order?
        for order in ("shuffled", "reversed"):
            cmds.append(["evaluate", run, "--order", order])
    return cmds


def compared_runs(out: str, split: int) -> list[str]:
    """The seed groups of one split that the report compares (one run folder per seed)."""
    return ([f"{out}/split{split}/runs/{name}" for name in COMPARED]
            + [f"{out}/split{split}/tune/best"])


def commands(out: str, s: DemoSettings, videos: str | None = None,
             splits: str | None = None, split: tuple[int, ...] = (1,)) -> list[list[str]]:
    """The demo's commands in order; README's walkthrough lists the same ones."""
    cmds = []
    synthetic = videos is None
    if synthetic:
        raw = f"{out}/raw"
        cmds.append(["synth", raw, "--clips-per-class", str(s.clips_per_class),
                     "--frames", str(s.frames), "--size", str(s.size)])
        videos, splits = f"{raw}/videos", f"{raw}/splits"
    for k in split:
        cmds += split_commands(out, s, videos, splits, k)
    report = ["compare", *[r for k in split for r in compared_runs(out, k)],
              "--out", f"{out}/report"]
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
    p = cli.CommandParser(
        prog="vidrec demo",
        description="Run the whole experiment: synth (or your --videos/--splits), then per "
        "official split convert, train the encoder, embed, train frame, pooled, recurrent, "
        "conv and attention on its frozen embeddings with one recipe, each under seeds 0,1,2 "
        "(--smallest: seed 0), tune (its best retrained under the same seeds), evaluate every "
        "seed (incl. shuffled and reversed "
        "frame order), and one compare over all splits into OUT/report/report.md. With no "
        "--videos it uses the embedded synthetic data, finishes in minutes on 2 CPU cores and "
        "checks the known answer (recurrent wins on the order-only classes).")
    p.add_argument("--out", default="demo_out", help="output folder (default %(default)s)")
    p.add_argument("--videos", help="real videos (HMDB51 layout: one folder per class)")
    p.add_argument("--splits", help="official split files (with --videos)")
    p.add_argument("--split", default="1",
                   help="official splits to run, e.g. 1,2,3 for HMDB51's protocol (each "
                   "split's runs in OUT/split<N>/, one report over all; default %(default)s)")
    p.add_argument("--smallest", action="store_true",
                   help="tiny sizes for a smoke test: checks the plumbing, not the answer")
    return p


def clear_previous(out: str) -> bool:
    """Clears an earlier demo's output in `out`, so that the demo runs again from scratch.

    A folder is an earlier demo's when every entry in it is one the demo writes
    (`DEMO_ENTRIES`); an empty or absent folder needs nothing. Returns whether
    something was cleared.

    Raises:
      cli.UsageError: `out` holds anything else (never cleared).
    """
    if not os.path.isdir(out) or not os.listdir(out):
        if os.path.exists(out) and not os.path.isdir(out):
            raise cli.UsageError(f"--out {out!r} is a file, not a folder")
        return False
    foreign = sorted(set(os.listdir(out)) - DEMO_ENTRIES)
    if foreign:
        raise cli.UsageError(f"--out {out!r} holds {', '.join(foreign[:3])}"
                             f"{', ...' if len(foreign) > 3 else ''}, which the demo does not "
                             "write: refusing to clear it; choose another --out")
    for name in os.listdir(out):
        path = os.path.join(out, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return True


def _split_summaries(out: str, split: list[int]) -> list[dict]:
    if len(split) == 1:
        paths = [f"{out}/report/summary.json"]
    else:
        paths = [f"{out}/report/split{k}/summary.json" for k in split]
    summaries = []
    for path in paths:
        with open(path) as f:
            summaries.append(json.load(f))
    return summaries


@cli.command("demo", build_parser)
def main(args: argparse.Namespace) -> int:
    if bool(args.videos) != bool(args.splits):
        raise cli.UsageError("--videos and --splits go together")
    with cli.bad_input(ValueError):
        split = parse_splits(args.split)
    settings = REAL_DATA if args.videos else (SMALLEST if args.smallest else DemoSettings())
    out = args.out.rstrip("/")
    if clear_previous(out):  # a rerun refreshes the whole demo (its commands refuse reuse)
        print(f"vidrec demo: cleared the earlier demo output in {out}", flush=True)
    start = time.time()
    cmds = commands(out, settings, args.videos, args.splits, tuple(split))
    for i, argv_i in enumerate(cmds, 1):
        print(f"\n[{i}/{len(cmds)}] {time.time() - start:6.0f}s", end="")
        code = _run(argv_i)
        if code:
            return code
    with open(f"{out}/report/summary.json") as f:
        summary = json.load(f)
    print(f"\n{'=' * 70}\n{summary['headline']}\n\nreport: {out}/report/report.md\n"
          f"all runs side by side (HParams, Images, Text): tensorboard --logdir {out}\n"
          f"finished in {time.time() - start:.0f}s")
    if settings.check:
        for one in _split_summaries(out, split):
            problem = check_answer(one)
            if problem:
                print(f"vidrec demo: split {one.get('official_split')}: {problem}",
                      file=sys.stderr)
                return 1
    return 0
