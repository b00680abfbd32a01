"""`vidrec demo`: the whole experiment, end to end: `studies/demo.toml` run by `vidrec study`.

Per official split (`--split 1` by default, `--split 1,2,3` for all three):

  convert (Beam) and inspect -> train the encoder (a frame model on images) ->
  embed (its frozen encoder's per-frame embeddings) -> train frame, pooled, recurrent
  on those embeddings with one recipe, with temporal convolutions and attention
  beside them, each under the same seeds (0, 1, 2), each seed evaluated (natural, and
  shuffled / reversed for the multi-frame runs) -> tune the recurrent model on them and
  retrain its best under those seeds

then one `vidrec compare` over every run of every split. The recipe is like for
like by construction: frame, pooled, recurrent and the tuner's best share the
encoder (frozen, trained once on the split's train videos), the augmentation
(none: cached embeddings), the head, the optimiser and the budget; only the
temporal part differs, which the report's "what differs" table shows.

On the synthetic data the answer is known: on the order-only classes the
recurrent model must clearly beat the frame and pooled models. The demo
checks that in every split and exits non-zero when it does not. A rerun
resumes (the study's rules): finished jobs are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from vidrec.core import errors

DEMO = "demo"  # studies/demo.toml
REAL_DATA = "hmdb51"  # studies/hmdb51.toml: the original study's recipe, for --videos
# --smallest: tiny sizes for a smoke test of the plumbing (not of the answer).
SMALLEST = {"data.synth.clips_per_class": 6, "data.synth.frames": 8, "encoder.epochs": 1,
            "encoder.patience": 1, "encoder.batch_size": 4, "train.epochs": 1,
            "train.patience": 1, "train.chunk_length": 4, "train.batch_size": 4,
            "tune.max_trials": 2, "tune.trial_epochs": 1, "study.seeds": [0]}


def parse_splits(text: str) -> list[int]:
    """``1`` or ``1,2,3`` -> [1, 2, 3] (each of HMDB51's official splits at most once)."""
    try:
        splits = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        splits = []
    if not splits or any(s not in (1, 2, 3) for s in splits) or len(set(splits)) < len(splits):
        raise ValueError(f"--split must be a comma list of 1, 2, 3, got {text!r}")
    return splits


def overrides(smallest: bool = False, videos: str | None = None, splits: str | None = None,
              split: tuple[int, ...] = (1,)) -> dict:
    """The `--set` values that turn the demo's (or HMDB51's) spec into this demo."""
    values: dict = {"study.splits": list(split)}
    if videos:
        values["data"] = {"videos": videos, "split_files": splits,
                          "convert": {"frame_size": 128}}
    elif smallest:
        values.update(SMALLEST)
    return values


def plan(out: str, smallest: bool = False, videos: str | None = None,
         splits: str | None = None, split: tuple[int, ...] = (1,)):
    """The demo's study plan (`vidrec.study.plan.Plan`); docs/demo.md's walkthrough lists its
    commands."""
    from vidrec.study import cli as study_cli

    spec = REAL_DATA if videos else DEMO
    values = overrides(smallest, videos, splits, split)
    return study_cli.load_plan(f"studies/{spec}.toml", out, [], values)


def commands(out: str, smallest: bool = False, videos: str | None = None,
             splits: str | None = None, split: tuple[int, ...] = (1,)) -> list[list[str]]:
    """Every command of the demo's study, in order."""
    return [list(step) for job in plan(out, smallest, videos, splits, split).jobs
            for step in job.steps]


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
    p = errors.CommandParser(
        prog="vidrec demo",
        description="Run the whole experiment: `vidrec study studies/demo.toml` (synthetic "
        "videos) or, with --videos/--splits, studies/hmdb51.toml on your videos. Per official "
        "split: convert, inspect, train the encoder, embed, train frame, pooled, recurrent, "
        "conv and attention on its frozen embeddings with one recipe, each under seeds 0,1,2 "
        "(--smallest: seed 0), tune (its best retrained under the same seeds), evaluate every "
        "seed (incl. shuffled and reversed frame order), and one compare over all splits into "
        "OUT/report/report.md. With no --videos it finishes in minutes on 2 CPU cores and "
        "checks the known answer (recurrent wins on the order-only classes). A rerun resumes.")
    p.add_argument("--out", default="demo_out", help="output folder (default %(default)s)")
    p.add_argument("--videos", help="real videos (HMDB51 layout: one folder per class)")
    p.add_argument("--splits", help="official split files (with --videos)")
    p.add_argument("--split", default="1",
                   help="official splits to run, e.g. 1,2,3 for HMDB51's protocol (each "
                   "split's runs in OUT/split<N>/, one report over all; default %(default)s)")
    p.add_argument("--smallest", action="store_true",
                   help="tiny sizes for a smoke test: checks the plumbing, not the answer")
    p.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="jobs at once (vidrec study --parallel; default %(default)s)")
    return p


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


@errors.command("demo", build_parser)
def main(args: argparse.Namespace) -> int:
    from vidrec.study import cli as study_cli

    if bool(args.videos) != bool(args.splits):
        raise errors.UsageError("--videos and --splits go together")
    with errors.bad_input(ValueError):
        split = parse_splits(args.split)
        if args.parallel < 1:
            raise ValueError(f"--parallel must be >= 1, got {args.parallel}")
        study = plan(args.out.rstrip("/"), args.smallest, args.videos, args.splits, tuple(split))
    out = study.out
    start = time.time()
    code = study_cli.run(study, parallel=args.parallel)
    if code:
        return code
    with open(f"{out}/report/summary.json") as f:
        summary = json.load(f)
    print(f"\n{'=' * 70}\n{summary['headline']}\n\nreport: {out}/report/report.md\n"
          f"all runs side by side (HParams, Images, Text): tensorboard --logdir {out}\n"
          f"finished in {time.time() - start:.0f}s")
    if not args.videos and not args.smallest:
        for one in _split_summaries(out, split):
            problem = check_answer(one)
            if problem:
                print(f"vidrec demo: split {one.get('official_split')}: {problem}",
                      file=sys.stderr)
                return 1
    return 0
