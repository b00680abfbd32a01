"""The callbacks of a training run and the run folder's history.

Shared by `vidrec train` (single machine: `model.fit`; a cluster: `trainer.loop`)
and the tuner's trials, so every path validates, checkpoints, stops early and
logs the same way.
"""

from __future__ import annotations

import contextlib
import csv
import os
import warnings
from typing import Any, Iterator, Mapping

import keras
import tensorflow as tf

from trainer import data, evaluate, hparams
from trainer.config import TrainConfig
from trainer.distribute import all_reduce_sum, is_multi_worker, worker_count, worker_index
from vidrec.core import compat, run_folder


def read_history(run_dir: str) -> dict[str, list[float]]:
    """Per-epoch metrics from RUN_DIR/history.csv, one value per epoch (last row wins)."""
    path = run_folder.join(run_dir, run_folder.HISTORY)
    if not tf.io.gfile.exists(path):
        return {}
    rows: dict[int, dict[str, str]] = {}
    with tf.io.gfile.GFile(path) as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    history: dict[str, list[float]] = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key != "epoch" and value not in (None, ""):
                history.setdefault(key, []).append(float(value))
    return history


class Validation(keras.callbacks.Callback):
    """Adds the validation metrics to every epoch's logs, from one pass over the VAL split.

    `evaluate.validation_logs`: val_loss, val_accuracy, val_top5 (from 5 classes) and
    val_video_accuracy (softmax averaged over each video's clips), under the default
    evaluation protocol. It must come before every callback that reads them
    (checkpoint, early stopping, LR schedule, history, TensorBoard, the tuner's
    oracle). On a cluster each worker scores its share of the videos and the sums are
    all-reduced, so every worker reads the same numbers and takes the same decisions.
    `model.fit` and the multi-worker loop run no other validation.
    """

    def __init__(self, cfg: TrainConfig, manifest: Mapping[str, Any],
                 strategy: tf.distribute.Strategy):
        super().__init__()
        self._classes = list(manifest["classes"])
        self._reduce = None
        shard = None
        if is_multi_worker(strategy):
            shard = (worker_count(), worker_index())
            self._reduce = lambda v: all_reduce_sum(strategy, v)
        self._examples = data.val_examples(cfg, manifest, cfg.batch_size, shard=shard)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs.update(evaluate.validation_logs(self.model, self._examples, self._classes,
                                                 self._reduce))


class WarmUp(keras.callbacks.Callback):
    """A linear learning-rate warm-up over the first `epochs` epochs: epoch e < N trains at
    `rate` * (e + 1) / (N + 1), epoch N on at `rate` (then ReduceLROnPlateau may halve it).
    Set at each epoch's start, from the epoch alone, so a resumed run gets the same rates."""

    def __init__(self, epochs: int, rate: float):
        super().__init__()
        self.epochs, self.rate = epochs, rate

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch <= self.epochs:
            self.model.optimizer.learning_rate = self.rate * min(1.0, (epoch + 1) /
                                                                 (self.epochs + 1))


def make_callbacks(cfg: TrainConfig, manifest: Mapping[str, Any],
                   strategy: tf.distribute.Strategy,
                   chief: bool = True) -> list[keras.callbacks.Callback]:
    """The run's callbacks, all watching the VAL split that `Validation` (first) scores.

    Validation, BackupAndRestore, best-val_accuracy checkpoint, EarlyStopping
    (restore_best_weights; not before the warm-up's end), ReduceLROnPlateau, the warm-up
    (`--warmup-epochs`), CSV history, TensorBoard, and the
    run's HParams session (`hparams.HParams`: its hyperparameters and best epoch). A
    non-`chief` worker of a cluster gets only the ones that write nothing (and
    resumes from the chief's backup), so every worker takes the same decisions and
    only the chief writes.
    """
    run_dir = cfg.out.rstrip("/")
    backup = run_folder.join(run_dir, run_folder.BACKUP)
    validation = Validation(cfg, manifest, strategy)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                         patience=cfg.patience, restore_best_weights=True,
                                         start_from_epoch=cfg.warmup_epochs)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                patience=max(1, cfg.patience // 2), min_lr=1e-6)
    warm = [WarmUp(cfg.warmup_epochs, cfg.learning_rate)] if cfg.warmup_epochs else []
    if not chief:
        return [validation, compat.read_only_backup(backup), stop, plateau, *warm]
    best = keras.callbacks.ModelCheckpoint(
        run_folder.join(run_dir, run_folder.BEST), monitor="val_accuracy", mode="max",
        save_best_only=True)
    history = read_history(run_dir)
    previous = history.get("val_accuracy")
    if previous:  # a resumed run keeps the best of its earlier epochs
        best.best = max(previous)
    return [
        validation,
        keras.callbacks.BackupAndRestore(backup),
        best,
        stop,
        plateau,
        *warm,
        # After ReduceLROnPlateau, which adds "learning_rate" to the logs.
        keras.callbacks.CSVLogger(run_folder.join(run_dir, run_folder.HISTORY), append=True),
        keras.callbacks.TensorBoard(cfg.log_dir, write_graph=False),
        hparams.HParams(hparams.hparams(cfg, manifest), cfg.log_dir, group=cfg.log_dir,
                   best={k: max(v) for k, v in history.items() if v}),
    ]


@contextlib.contextmanager
def quiet_fit() -> Iterator[None]:
    """Silences two `model.fit` warnings that are noise for our inputs.

    The finite validation set "runs out" by design (the training set is endless),
    and our tf.data input is already shuffled.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        yield


def log_val_confusion(cfg: TrainConfig) -> None:
    """Logs the confusion matrix PNG of RUN_DIR/eval_val.json (already drawn) to TensorBoard."""
    with tf.io.gfile.GFile(run_folder.join(cfg.out, run_folder.eval_png("val")), "rb") as f:
        png = f.read()
    writer = tf.summary.create_file_writer(os.path.join(cfg.log_dir, "validation"))
    with writer.as_default():
        tf.summary.image("confusion_matrix", tf.image.decode_png(png, channels=4)[None], step=0)
    writer.close()
