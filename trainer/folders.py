"""What a run folder holds before training: a single run or a seed group, checked.

`check_run_dir` decides what training into ``--out`` means (new, resume an
unfinished run of the same config, or overwrite) and never reuses a run
silently; `write_seed_group` and `seed_config` lay out a seed group
(GROUP/seeds.json + GROUP/seed<N>/, `vidrec.core.run_folder`); `clear` empties a
run folder for --overwrite, every worker waiting. `trainer.train` trains into them
(`train`, `train_seeds`); the tuner's retrain uses them too.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Sequence

import tensorflow as tf

from pipeline import schema
from trainer.config import TrainConfig, load_config
from trainer.distribute import all_reduce_sum, is_chief, is_multi_worker
from vidrec.core import run_folder

# Fields that may differ when an unfinished run resumes: where it runs, not what it learns.
RESUMABLE_DIFFERENCES = ("out", "cpu_replicas", "devices", "log_root")


class RunDirError(ValueError):
    """A run folder that holds another run: refused unless --overwrite."""


def check_run_dir(cfg: TrainConfig, overwrite: bool = False) -> str:
    """Decides what training into `cfg.out` means; never reuses a run silently.

    Returns:
      ``new`` (no run there), ``resume`` (an unfinished run with the same config:
      training continues from its backup) or ``overwrite`` (a run is there and
      `overwrite` is set: the caller clears the folder).

    Raises:
      RunDirError: a finished run is there, or an unfinished one with another config
        (naming the fields that differ), and `overwrite` is not set.
    """
    run_dir = cfg.out.rstrip("/")
    if tf.io.gfile.exists(run_folder.join(run_dir, run_folder.SEEDS)):
        if overwrite:
            return "overwrite"
        raise RunDirError(f"--out {run_dir!r} holds a seed group (seeds.json): train it with "
                          "--seeds, or give another --out (or --overwrite to replace it)")
    if not tf.io.gfile.exists(run_folder.join(run_dir, run_folder.CONFIG)):
        return "new"
    if overwrite:
        return "overwrite"
    finished = [n for n in (run_folder.MODEL, run_folder.SUMMARY)
                if tf.io.gfile.exists(run_folder.join(run_dir, n))]
    if finished:
        raise RunDirError(f"--out {run_dir!r} already holds a finished run ({finished[0]}); "
                          "use --overwrite to replace it, or another --out")
    shown = _config_differences(cfg)
    if shown:
        raise RunDirError(f"--out {run_dir!r} holds an unfinished run with another config "
                          f"({shown}); start it with its own flags to resume it, or use "
                          "--overwrite to replace it")
    return "resume"


def finished_same(cfg: TrainConfig) -> bool:
    """Whether `cfg.out` holds a FINISHED run of this very config (where it ran aside)."""
    run_dir = cfg.out.rstrip("/")
    if not tf.io.gfile.exists(run_folder.join(run_dir, run_folder.SUMMARY)):
        return False
    return not _config_differences(cfg)


def _config_differences(cfg: TrainConfig) -> str:
    """What differs between the config saved in `cfg.out` and `cfg`, beyond where it runs
    ('' when nothing does)."""
    saved, now = load_config(cfg.out.rstrip("/")).to_dict(), cfg.to_dict()
    return run_folder.differences({k: saved.get(k) for k in now}, now,
                                  ignore=RESUMABLE_DIFFERENCES)


def seed_config(cfg: TrainConfig, seed: int) -> TrainConfig:
    """The run of `seed` in the seed group `cfg.out`: GROUP/seed<N>, with that seed."""
    return dataclasses.replace(cfg, seed=int(seed), out=run_folder.seed_run_dir(cfg.out, seed))


def seed_group(group_dir: str) -> list[int] | None:
    """The seeds a seed group lists (its seeds.json), or None when `group_dir` is none."""
    path = run_folder.join(group_dir, run_folder.SEEDS)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return [int(s) for s in json.load(f)["seeds"]]


def write_seed_group(group_dir: str, seeds: Sequence[int], overwrite: bool = False) -> None:
    """Writes GROUP/seeds.json (`vidrec.core.run_folder`), once every check has passed.

    Raises:
      RunDirError: the folder holds a single run, or a seed group of other seeds
        (unless `overwrite`: the single run is then removed, the seed list replaced).
    """
    group = group_dir.rstrip("/")
    if tf.io.gfile.exists(run_folder.join(group, run_folder.CONFIG)):
        if not overwrite:
            raise RunDirError(f"--out {group!r} holds a single run (config.json), not a seed "
                              "group: give --seeds another --out (or --overwrite to replace it)")
        if is_chief():  # a folder holding a vidrec run (config.json) and nothing else of ours
            tf.io.gfile.rmtree(group)
            print(f"vidrec train: --overwrite: removed the single run in {group}", flush=True)
    before = seed_group(group)
    if before is not None and before != list(seeds) and not overwrite:
        raise RunDirError(f"--out {group!r} is a seed group of seeds {before}, not "
                          f"{list(seeds)}; use its seeds, or --overwrite to retrain it")
    if is_chief():
        tf.io.gfile.makedirs(group)
        schema.write_json(run_folder.join(group, run_folder.SEEDS),
                          run_folder.seed_group_record(seeds))


def clear(run_dir: str, strategy: tf.distribute.Strategy, delete: bool) -> None:
    """--overwrite: the chief deletes the old run; every worker waits until it is gone.

    Every worker of a cluster calls this with --overwrite, whatever it found in the
    folder (the chief may have emptied it already), so the barrier always completes.
    """
    if delete:
        tf.io.gfile.rmtree(run_dir)
        print(f"vidrec train: --overwrite: removed the earlier run in {run_dir}", flush=True)
    if is_multi_worker(strategy):
        all_reduce_sum(strategy, [0.0])  # a barrier: nobody reads the old backup
