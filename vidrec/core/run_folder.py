"""The run folder: the one written contract between `trainer`, `tuning` and `report`.

Dependency-free (the standard library only; Keras is imported by `load_run_model`
when it runs), so `report` can read run folders without importing the trainer.
Every module that writes or reads a run folder takes its names from here::

    RUN_DIR/
      config.json                     CONFIG: the TrainConfig, written first
      history.csv                     HISTORY: one row per finished epoch
      best.keras                      BEST: best val_accuracy so far
      backup/                         BACKUP: BackupAndRestore state (resume)
      model.keras                     MODEL: the final model (best weights)
      saved_model/                    SAVED_MODEL: serving export
      eval_<split>[_<order>].json     `eval_json`: one evaluation (and `eval_png`)
      train_summary.json              SUMMARY: written last; the run is finished

One configuration trained under several seeds (`vidrec train --seeds 0,1,2`) is a
SEED GROUP: a folder holding one complete run folder per seed and the list::

    GROUP/
      seeds.json                      SEEDS: {"seeds": [0, 1, 2], "runs": ["seed0", ...]}
      seed0/  seed1/  seed2/          `seed_run_dir`: one run folder each (config seed = N)

Every model of a comparison is trained under the same seed list, so `vidrec compare`
pairs the models' runs by seed.
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

CONFIG = "config.json"
HISTORY = "history.csv"
BEST = "best.keras"
BACKUP = "backup"
MODEL = "model.keras"
SAVED_MODEL = "saved_model"
SUMMARY = "train_summary.json"
ORDERS = ("natural", "shuffled", "reversed")
SEEDS = "seeds.json"
SEED_PREFIX = "seed"


class RunFolderError(ValueError):
    """A folder that is not the run it should be (no run, an unfinished run, another run)."""


def join(run_dir: str, name: str) -> str:
    """`run_dir`/`name` for local and gs:// folders alike."""
    return f"{run_dir.rstrip('/')}/{name}"


def seed_run_name(seed: int) -> str:
    """The name of `seed`'s run folder inside a seed group: seed<N>."""
    return f"{SEED_PREFIX}{int(seed)}"


def seed_run_dir(group_dir: str, seed: int) -> str:
    """The run folder of `seed` inside a seed group: GROUP/seed<N>."""
    return join(group_dir, seed_run_name(seed))


def seed_group_of(run_dir: str) -> str | None:
    """The seed group folder `run_dir` belongs to (GROUP for GROUP/seed<N>), else None."""
    path = run_dir.rstrip("/")
    parent, _, base = path.rpartition("/")
    if parent and base.startswith(SEED_PREFIX) and base[len(SEED_PREFIX):].isdigit():
        return parent
    return None


def run_name(run_dir: str) -> str:
    """How a run is named in logs and reports: its folder's name, ``GROUP/seedN`` for a
    seed of a seed group (so the seeds of two models never share a name)."""
    path = run_dir.rstrip("/")
    base = path.rpartition("/")[2]
    group = seed_group_of(path)
    return f"{group.rpartition('/')[2]}/{base}" if group else base


def seed_group_record(seeds: Collection[int]) -> dict[str, Any]:
    """What GROUP/seeds.json holds for a seed group of `seeds` (in their order)."""
    return {"seeds": [int(s) for s in seeds], "runs": [seed_run_name(s) for s in seeds]}


def parse_seeds(text: str, flag: str = "--seeds") -> tuple[int, ...]:
    """``0,1,2`` -> (0, 1, 2): distinct non-negative integers, in the order given.

    Raises:
      ValueError: one line naming the flag and the bad value (not an integer, negative,
        given twice, or nothing at all).
    """
    items = [t.strip() for t in str(text).split(",")]
    if not any(items):
        raise ValueError(f"{flag} needs a comma list of seeds, e.g. 0,1,2, got {text!r}")
    bad = [t for t in items if not t.isdigit()]
    if bad:
        raise ValueError(f"{flag} takes non-negative integers, e.g. 0,1,2; got {bad[0]!r} "
                         f"in {text!r}")
    seeds = tuple(int(t) for t in items)
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise ValueError(f"{flag} lists seed {twice[0]} more than once in {text!r}: each seed "
                         "is one draw of training randomness")
    return seeds


def eval_stem(split: str, order: str = "natural") -> str:
    """eval_<split> (natural order) or eval_<split>_<order>, without extension."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return f"eval_{split}" if order == "natural" else f"eval_{split}_{order}"


def eval_json(split: str, order: str = "natural") -> str:
    """File name of an evaluation: eval_test.json, eval_test_shuffled.json, ..."""
    return eval_stem(split, order) + ".json"


def eval_png(split: str, order: str = "natural") -> str:
    """File name of an evaluation's confusion matrix."""
    return eval_stem(split, order) + ".png"


def differences(saved: Mapping[str, Any], now: Mapping[str, Any], ignore: Collection[str] = (),
                as_flags: bool = False) -> str:
    """``key old -> new, ...`` for the keys whose values differ ('' when none).

    What a resumed run, search, cache or conversion says when its saved settings are
    not the ones it was started with again. `as_flags` names the keys as flags
    (``--frame-size``).
    """
    keys = [k for k in sorted(set(saved) | set(now))
            if k not in ignore and saved.get(k) != now.get(k)]
    name = (lambda k: f"--{k.replace('_', '-')}") if as_flags else str
    return ", ".join(f"{name(k)} {saved.get(k)!r} -> {now.get(k)!r}" for k in keys)


def check_finished(run_dir: str, flag: str = "run") -> None:
    """Raises RunFolderError unless `run_dir` holds a finished run (its model.keras)."""
    import tensorflow as tf

    if not tf.io.gfile.exists(join(run_dir, MODEL)):
        raise RunFolderError(f"{flag} {run_dir!r} has no {MODEL}: not a finished vidrec run")


def load_run_model(run_dir: str, flag: str = "run"):
    """The finished run's model.keras, loaded without its optimizer.

    The vidrec layers must be registered first (import `trainer.models`).

    Args:
      run_dir: the run folder (local or gs://).
      flag: how the caller names the folder in the error (e.g. ``--init-from``).

    Raises:
      RunFolderError: the folder holds no model.keras (no run, or it did not finish).
    """
    import keras

    check_finished(run_dir, flag)
    return keras.saving.load_model(join(run_dir, MODEL), compile=False)
