"""TensorBoard for every run: one HParams table for a whole study, and what the model sees.

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

**What the model sees** (TensorBoard's Images tab, in the run's log dir):
``inputs/train`` at the start of training (a few training chunks as the run
samples and augments them, one strip per chunk, frames in order; the frame model's
augmented frames), ``inputs/val`` (each of a few validation videos' first
evaluation clip) and, from `vidrec evaluate`, ``inputs/<split>[_<order>]`` (only
evaluation reads the test split). Each picture's description names its strips
(class, video, frame indices). A run on cached embeddings shows the frames its
embeddings come from (the cache's ``source_data``), not augmented (cached
embeddings cannot be). Tuner trials get no pictures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from typing import Any, Iterator, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import data, recipe
from trainer.config import EvalProtocol, TrainConfig

# --------------------------------------------------------------------------- the names

# Hyperparameters every session writes (those of a model's temporal part only where
# the model has them, as KerasTuner leaves out a family's sizes in another family's trial).
HPARAMS_ALWAYS = ("run", "model", "temporal_type", "encoder", "encoder_trainable",
                  "features", "init_from", "split", "learning_rate", "dropout", "seed")
# The model's temporal TrainConfig fields (`config.TEMPORAL_FIELDS`) come after these.
# "temporal_type" takes the search space's values (tuning.space.TEMPORAL_TYPES: the RNN
# cell, conv, attention) and these for the models the tuner does not search:
TEMPORAL_TYPE = {"frame": "none", "pooled": "mean", "temporal_conv": "conv",
                 "attention": "attention"}

METRICS_PREFIX = "metrics/"
BEST_VAL_ACCURACY = METRICS_PREFIX + "best_val_accuracy"
BEST_VAL_VIDEO_ACCURACY = METRICS_PREFIX + "best_val_video_accuracy"
# epoch log key -> the tag of its best value
_BEST = {"val_accuracy": BEST_VAL_ACCURACY, "val_video_accuracy": BEST_VAL_VIDEO_ACCURACY}
ORDERS = ("natural", "shuffled", "reversed")
LEVELS = ("clip", "video")


def eval_tag(split: str, level: str, order: str = "natural") -> str:
    """``metrics/test_video_top1``, ``metrics/test_clip_top1_shuffled``, ..."""
    if level not in LEVELS or order not in ORDERS:
        raise ValueError(f"level must be one of {LEVELS} and order one of {ORDERS}, "
                         f"got {level!r}, {order!r}")
    return f"{METRICS_PREFIX}{split}_{level}_top1" + ("" if order == "natural" else f"_{order}")


METRIC_TAGS = (BEST_VAL_ACCURACY, BEST_VAL_VIDEO_ACCURACY,
               *(eval_tag("val", level) for level in LEVELS),
               *(eval_tag("test", level, order) for order in ORDERS for level in LEVELS))
INPUT_TAGS = {"train": "inputs/train", "val": "inputs/val"}
SHOWN = 4  # chunks or videos per picture
MAX_FRAMES = 16  # frames per strip


def input_tag(split: str, order: str = "natural") -> str:
    """``inputs/test``, ``inputs/test_shuffled``, ...: the picture of an evaluation."""
    return f"inputs/{split}" + ("" if order == "natural" else f"_{order}")


def temporal_type(cfg: TrainConfig) -> str:
    """The temporal block as the tuner names it: lstm, gru, simple, conv, attention (or
    none, mean)."""
    return cfg.rnn if cfg.model == "recurrent" else TEMPORAL_TYPE.get(cfg.model, cfg.model)


def hparams(cfg: TrainConfig, manifest: Mapping[str, Any], run: str | None = None
            ) -> dict[str, bool | int | float | str]:
    """The hyperparameters of one session (run or trial), named as every session names them.

    Args:
      cfg: the run's (or trial's) config.
      manifest: the manifest of what it reads (a feature cache's with `--features`).
      run: the name shown in the table (default: the run folder's name).

    Returns:
      {name: value}: `HPARAMS_ALWAYS` (``split`` only when the data is an official
      split), then the model's temporal fields (`config.TEMPORAL_FIELDS`).
    """
    source = recipe.encoder_source(cfg, manifest)
    values: dict[str, Any] = {
        "run": run or cfg.run_name, "model": cfg.model, "temporal_type": temporal_type(cfg),
        "encoder": str(source["encoder"]), "encoder_trainable": str(source["encoder_trainable"]),
        "features": bool(cfg.features), "init_from": cfg.init_from or "none",
        "split": manifest.get("split"), "learning_rate": float(cfg.learning_rate),
        "dropout": float(cfg.dropout), "seed": int(cfg.seed)}
    for name in cfg.kind.temporal_fields:
        if name not in ("model", "rnn"):
            values[name] = getattr(cfg, name)
    return {k: v for k, v in values.items() if v is not None}


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def writing(log_dir: str) -> Iterator[None]:
    """Summaries written inside go to one new event file in `log_dir` (local or gs://)."""
    tf.io.gfile.makedirs(log_dir)
    writer = tf.summary.create_file_writer(log_dir)
    try:
        with writer.as_default():
            yield
    finally:
        writer.close()


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


def metrics(values: Mapping[str, float]) -> None:
    """The session's metrics (tags from `METRIC_TAGS`): scalars at step 0."""
    for tag, value in values.items():
        tf.summary.scalar(tag, float(value), step=0)


def eval_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """An eval dict's clip and video top-1 under their metric tags."""
    return {eval_tag(result["split"], level, result["order"]): float(result[f"{level}_top1"])
            for level in LEVELS}


def run_log_dir(cfg: TrainConfig, summary: Mapping[str, Any] | None, run_dir: str) -> str:
    """The run's log dir: train_summary.json's (as written, else relative to the run dir,
    whichever exists), else the config's."""
    log_dir = (summary or {}).get("log_dir") or cfg.log_dir
    candidates = [log_dir]
    if "://" not in log_dir and not os.path.isabs(log_dir):
        candidates.append(f"{run_dir.rstrip('/')}/{log_dir}")
    return next((d for d in candidates if tf.io.gfile.isdir(d)), log_dir)


def warn(who: str, what: str, err: BaseException) -> None:
    """One line on stderr: a TensorBoard extra that could not be written (never fatal)."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    print(f"{who}: no {what} in TensorBoard: {first}", file=sys.stderr, flush=True)


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
        with writing(self.log_dir):
            session_start(self.values, self.group)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key in _BEST:
            value = (logs or {}).get(key)
            if value is not None and math.isfinite(float(value)):
                self.best[key] = max(self.best.get(key, -math.inf), float(value))

    def on_train_end(self, logs: dict | None = None) -> None:
        with writing(self.log_dir):
            metrics({_BEST[k]: v for k, v in self.best.items()})
            session_end()


# --------------------------------------------------------------------------- pictures


def frames_view(cfg: TrainConfig, manifest: Mapping[str, Any]
                ) -> tuple[TrainConfig, dict[str, Any]]:
    """The config and manifest that read the frames a run sees: the run's own, or for a
    run on cached embeddings the cache's source frames, not augmented.

    Raises:
      FileNotFoundError, ValueError: the cache names no readable source.
    """
    if not cfg.features:
        return cfg, dict(manifest)
    source = (manifest.get("features") or {}).get("source_data")
    if not source:
        raise ValueError(f"the feature cache {cfg.features!r} names no source_data")
    return (dataclasses.replace(cfg, features="", data=source, augment="none"),
            schema.read_manifest(source))


Row = tuple[str, np.ndarray, Sequence[str]]  # (label, uint8 [n, H, W, 3], per-frame captions)
MIN_SIDE = 64  # frames smaller than this are enlarged (nearest neighbour) to be seen


def strips(rows: Sequence[Row]) -> np.ndarray:
    """`uint8 [H', W', 3]`: one strip per row, its frames left to right, white gaps between
    frames and rows (no text: `describe` says what each row is). Small frames are enlarged
    by a whole factor."""
    height = max(r[1].shape[1] for r in rows)
    width = max(r[1].shape[2] for r in rows)
    k = max(1, MIN_SIDE // max(height, width))
    h, w, gap = height * k, width * k, max(2, k)
    most = max(len(r[1]) for r in rows)
    out = np.full((len(rows) * (h + 2 * gap) - 2 * gap, most * (w + gap) - gap, 3), 255,
                  np.uint8)
    for i, (_, frames, _) in enumerate(rows):
        for j, frame in enumerate(frames):
            big = np.repeat(np.repeat(frame, k, axis=0), k, axis=1)
            y, x = i * (h + 2 * gap), j * (w + gap)
            out[y:y + big.shape[0], x:x + big.shape[1]] = big
    return out


def describe(rows: Sequence[Row], intro: str) -> str:
    """Markdown for the picture: `intro`, then each strip's label and its frames' captions."""
    lines = [intro, ""]
    lines += [f"{i}. {label} (frames {', '.join(captions)})" if captions else f"{i}. {label}"
              for i, (label, _, captions) in enumerate(rows, 1)]
    return "\n".join(lines)


def _uint8(x: tf.Tensor | np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x), 0, 255).astype(np.uint8)


def _short(text: str, most: int = 32) -> str:
    return text if len(text) <= most else f"{text[:most // 2 - 1]}..{text[-(most // 2 - 1):]}"


def train_rows(cfg: TrainConfig, manifest: Mapping[str, Any], n: int = SHOWN) -> list[Row]:
    """A few training chunks as the run samples (and augments) them; the frame model's
    augmented frames as one strip."""
    view, view_manifest = frames_view(cfg, manifest)
    classes = view_manifest["classes"]
    count = n if cfg.kind.takes_chunks else 2 * n
    x, y = next(iter(data.train_dataset(view, view_manifest, count)))
    x, y = _uint8(x), y.numpy()
    if not cfg.kind.takes_chunks:
        return [("augmented frames: " + ", ".join(classes[int(k)] for k in y), x, [])]
    return [(classes[int(k)], chunk[:MAX_FRAMES], []) for chunk, k in zip(x, y)]


def eval_rows(cfg: TrainConfig, manifest: Mapping[str, Any], split: str,
              order: str = "natural", protocol: EvalProtocol = EvalProtocol(),
              n: int = SHOWN) -> list[Row]:
    """The first evaluation clip of each of the first `n` videos of `split`, frames in the
    order the model sees them, captioned with their frame indices (the frame model: its
    first frames, one clip each)."""
    view, view_manifest = frames_view(cfg, manifest)
    classes = view_manifest["classes"]
    videos: dict[str, list] = {}
    for batch in data.eval_examples(view, view_manifest, split, 1, order, protocol=protocol):
        vid = batch["video_id"].numpy()[0].decode()
        if vid not in videos:
            if len(videos) == n:
                break
            videos[vid] = [int(batch["label"].numpy()[0]), [], []]
        label, frames, indices = videos[vid]
        clip = _uint8(batch["inputs"][0])
        clip = clip if clip.ndim == 4 else clip[None]
        room = (MAX_FRAMES if cfg.kind.takes_chunks else 8) - len(frames)
        if room > 0 and (not cfg.kind.takes_chunks or not frames):
            frames.extend(clip[:room])
            indices.extend(int(i) for i in batch["clip"].numpy()[0][:room])
    return [(f"{classes[label]}: {_short(vid.rsplit('/', 1)[-1])}", np.stack(frames),
             [str(i) for i in indices]) for vid, (label, frames, indices) in videos.items()]


def images(pictures: Mapping[str, tuple[np.ndarray, str]]) -> None:
    """Pictures as TensorBoard images at step 0: {tag: (uint8 [H, W, 3], description)}."""
    for tag, (picture, description) in pictures.items():
        tf.summary.image(tag, picture[np.newaxis], step=0, description=description)


def _source_words(cfg: TrainConfig) -> str:
    return (" The run reads cached embeddings of these frames (not augmented)."
            if cfg.features else "")


Pictures = dict[str, tuple[np.ndarray, str]]


def input_pictures(cfg: TrainConfig, manifest: Mapping[str, Any]) -> Pictures:
    """``inputs/train`` and ``inputs/val`` of a run about to train (see the module doc).

    Raises:
      FileNotFoundError, ValueError, tf.errors.OpError: the frames cannot be read.
    """
    what = "chunks" if cfg.kind.takes_chunks else "frames"
    augment = "none" if cfg.features else cfg.augment
    train, val = train_rows(cfg, manifest), eval_rows(cfg, manifest, "val")
    pictures = {INPUT_TAGS["train"]: (strips(train), describe(train, (
        f"A few training {what} of {cfg.run_name} as it samples them, augmented "
        f"({augment}): one strip per sample, frames in order.{_source_words(cfg)}")))}
    if val:  # a split may have no validation videos
        pictures[INPUT_TAGS["val"]] = (strips(val), describe(val, (
            f"The first evaluation clip of a few validation videos, frames in the order "
            f"{cfg.run_name} sees them (their indices below).{_source_words(cfg)}")))
    return pictures


def eval_pictures(cfg: TrainConfig, manifest: Mapping[str, Any], split: str, order: str,
                  protocol: EvalProtocol) -> Pictures:
    """``inputs/<split>[_<order>]``: the first clip of a few videos an evaluation scored.

    Raises:
      FileNotFoundError, ValueError, tf.errors.OpError: the frames cannot be read.
    """
    rows = eval_rows(cfg, manifest, split, order, protocol)
    return {input_tag(split, order): (strips(rows), describe(rows, (
        f"The first evaluation clip of a few {split} videos as {cfg.run_name} saw them "
        f"({order} order, protocol {protocol.name}; frame indices below)."
        f"{_source_words(cfg)}")))}
