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


class RunFolderError(ValueError):
    """A folder that is not the run it should be (no run, an unfinished run, another run)."""


def join(run_dir: str, name: str) -> str:
    """`run_dir`/`name` for local and gs:// folders alike."""
    return f"{run_dir.rstrip('/')}/{name}"


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
    import tensorflow as tf

    path = join(run_dir, MODEL)
    if not tf.io.gfile.exists(path):
        raise RunFolderError(f"{flag} {run_dir!r} has no {MODEL}: not a finished vidrec run")
    return keras.saving.load_model(path, compile=False)
