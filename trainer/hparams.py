"""TensorBoard's HParams table: one for a whole study, every run and tuner trial in it.

**HParams.** Every training session writes the same hyperparameters, named once here
(`hparams`): each `vidrec train` run, each `vidrec tune` trial and the tuner's
retrained best. So `tensorboard --logdir STUDY` ranks every model of a study, trials
included, in one HParams table. KerasTuner 1.4.8 would log a trial with its sampled
values only, named after the search space (`temporal_type`, `hidden`,
`chunk_length`, ...: `Tuner._configure_tensorboard_dir`); the tuner's HyperModel
swaps that callback for `HParams`, whose names include those (the search space
samples TrainConfig fields under their own names, and `temporal_type` here takes the
search space's values), so trials and runs line up column by column.

A session is the run's log dir (Keras writes its epoch scalars to ``train/`` and
``validation/`` below it; a trial's is ``<tune log root>/<trial id>/execution0``).
Its metrics are scalars at step 0 in that dir, tags `METRIC_TAGS`:

* ``metrics/best_val_accuracy``, ``metrics/best_val_video_accuracy``: the best
  epoch's validation accuracy (clip, video level; the latter is the tuner's
  objective), every run and trial, when training ends;
* ``metrics/<split>_{clip,video}_top1[_<order>]`` (`eval_tag`): written by
  `evaluate.evaluate_model`: ``val`` when training ends (the final model),
  ``test`` (natural, shuffled, reversed) once `vidrec evaluate` ran. Trials are
  never evaluated on test (the test split picks nothing). A re-evaluation
  writes the same tag again and the newest value is the one shown.

Written through `trainer.summaries`; what the model sees is `trainer.pictures`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import keras
import tensorflow as tf

from trainer import recipe, summaries
from trainer.config import TrainConfig
from vidrec.core import run_folder
from vidrec.core.eval_file import EvalFile

# --------------------------------------------------------------------------- the names

# Hyperparameters every session writes (those of a model's temporal part only where
# the model has them, as KerasTuner leaves out a family's sizes in another family's trial).
HPARAMS_ALWAYS = ("run", "model", "temporal_type", "encoder", "encoder_trainable",
                  "features", "init_from", "split", "learning_rate", "dropout", "seed")
# Then the model's own columns (`Temporal.hparams_columns`: its temporal fields but the
# model and what "temporal_type" says). "temporal_type" is the model's tuner name
# (`Temporal.types`: the RNN cell, conv, attention; none, mean for the untuned models).

METRICS_PREFIX = "metrics/"
BEST_VAL_ACCURACY = METRICS_PREFIX + "best_val_accuracy"
BEST_VAL_VIDEO_ACCURACY = METRICS_PREFIX + "best_val_video_accuracy"
# epoch log key -> the tag of its best value
_BEST = {"val_accuracy": BEST_VAL_ACCURACY, "val_video_accuracy": BEST_VAL_VIDEO_ACCURACY}
LEVELS = ("clip", "video")


def eval_tag(split: str, level: str, order: str = "natural") -> str:
    """``metrics/test_video_top1``, ``metrics/test_clip_top1_shuffled``, ..."""
    if level not in LEVELS or order not in run_folder.ORDERS:
        raise ValueError(f"level must be one of {LEVELS} and order one of {run_folder.ORDERS}, "
                         f"got {level!r}, {order!r}")
    return f"{METRICS_PREFIX}{split}_{level}_top1" + ("" if order == "natural" else f"_{order}")


METRIC_TAGS = (BEST_VAL_ACCURACY, BEST_VAL_VIDEO_ACCURACY,
               *(eval_tag("val", level) for level in LEVELS),
               *(eval_tag("test", level, order) for order in run_folder.ORDERS for level in LEVELS))
def temporal_type(cfg: TrainConfig) -> str:
    """The temporal block as the tuner names it: lstm, gru, simple, conv, attention (or
    none, mean): its model's `Temporal.types`."""
    return cfg.kind.type_of(cfg)


def hparams(cfg: TrainConfig, manifest: Mapping[str, Any], run: str | None = None
            ) -> dict[str, bool | int | float | str]:
    """The hyperparameters of one session (run or trial), named as every session names them.

    Args:
      cfg: the run's (or trial's) config.
      manifest: the manifest of what it reads (a feature cache's with `--features`).
      run: the name shown in the table (default: the run folder's name).

    Returns:
      {name: value}: `HPARAMS_ALWAYS` (``split`` only when the data is an official
      split), then the model's own columns (`Temporal.hparams_columns`).
    """
    source = recipe.encoder_source(cfg, manifest)
    values: dict[str, Any] = {
        "run": run or cfg.run_name, "model": cfg.model, "temporal_type": temporal_type(cfg),
        "encoder": str(source["encoder"]), "encoder_trainable": str(source["encoder_trainable"]),
        "features": bool(cfg.features), "init_from": cfg.init_from or "none",
        "split": manifest.get("split"), "learning_rate": float(cfg.learning_rate),
        "dropout": float(cfg.dropout), "seed": int(cfg.seed)}
    for name in cfg.kind.hparams_columns:
        values[name] = getattr(cfg, name)
    return {k: v for k, v in values.items() if v is not None}


def session_start(values: Mapping[str, Any], group: str) -> None:
    """The HParams session of the default writer's dir: its hyperparameters, in group
    `group` (unique per run: the sessions of one group are averaged into one row)."""
    from tensorboard.plugins.hparams import api as hp_api

    hp_api.hparams(dict(values), trial_id=group)


def session_end() -> None:
    """Marks the default writer's session finished (the HParams table's status column)."""
    from tensorboard.plugins.hparams import api_pb2, summary

    tf.summary.experimental.write_raw_pb(
        summary.session_end_pb(api_pb2.STATUS_SUCCESS).SerializeToString(), step=0)


def eval_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """An eval dict's clip and video top-1 under their metric tags."""
    ev = EvalFile.from_dict(result)
    top1 = {"clip": ev.clip_top1, "video": ev.video_top1}
    return {eval_tag(ev.split, level, ev.order): float(top1[level]) for level in LEVELS}


class HParams(keras.callbacks.Callback):
    """Writes a session's hyperparameters when training starts and, when it ends, the best
    epoch's validation accuracies (clip and video level) and the session's end.

    Place it after `callbacks.Validation`, which adds the val_ metrics to the logs.

    Args:
      values: `hparams(...)`.
      log_dir: the session's log dir.
      group: the session group (unique per run or trial).
      best: earlier epochs' values (a resumed run), by log key (``val_accuracy``, ...).
    """

    def __init__(self, values: Mapping[str, Any], log_dir: str, group: str,
                 best: Mapping[str, float] | None = None):
        super().__init__()
        self.values, self.log_dir, self.group = dict(values), log_dir, group
        self.best = {k: float(v) for k, v in (best or {}).items() if k in _BEST}

    def on_train_begin(self, logs: dict | None = None) -> None:
        with summaries.writing(self.log_dir):
            session_start(self.values, self.group)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key in _BEST:
            value = (logs or {}).get(key)
            if value is not None and math.isfinite(float(value)):
                self.best[key] = max(self.best.get(key, -math.inf), float(value))

    def on_train_end(self, logs: dict | None = None) -> None:
        with summaries.writing(self.log_dir):
            summaries.metrics({_BEST[k]: v for k, v in self.best.items()})
            session_end()
