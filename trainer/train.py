"""`train(cfg)`: the one training function the CLI, the tuner's retrain and the demo call.

Run folder written (RUN_DIR = cfg.out)::

    config.json          the TrainConfig, written first
    history.csv          one row per finished epoch (appended across resumes)
    best.keras           best val_accuracy so far (ModelCheckpoint)
    backup/              BackupAndRestore state: a killed run resumes at its last epoch
    model.keras          final model with the best weights
    saved_model/         serving export (`model.export`), input float32 0..255
    train_summary.json   params, time, epochs, best val accuracy, full history

TensorBoard logs go to `cfg.log_dir` (scalars, learning rate, and a
validation confusion matrix image at the end). Early stopping and the
learning-rate schedule watch the VAL split; the test split is never read here.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
import warnings
from typing import Any, Iterator, Mapping

import keras
import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import data, loop, models
from trainer.config import TrainConfig, load_config, save_config
from trainer.distribute import is_chief, is_multi_worker, make_strategy, worker_count, worker_index

HISTORY_NAME = "history.csv"
SUMMARY_NAME = "train_summary.json"


def compile_model(model: keras.Model, cfg: TrainConfig, num_classes: int) -> keras.Model:
    """Adam + sparse categorical cross-entropy; accuracy, and top-5 when classes >= 5.

    Call inside the strategy scope the model was built in.
    """
    metrics: list[Any] = ["accuracy"]
    if num_classes >= 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5"))
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=metrics)
    return model


def read_history(run_dir: str) -> dict[str, list[float]]:
    """Per-epoch metrics from RUN_DIR/history.csv, one value per epoch (last row wins)."""
    path = os.path.join(run_dir, HISTORY_NAME)
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


class ConfusionMatrixImage(keras.callbacks.Callback):
    """Logs the validation confusion matrix (video level) as a TensorBoard image at the end.

    Holds only the config and manifest (no dataset), so it deep-copies cleanly.
    """

    def __init__(self, cfg: TrainConfig, manifest: Mapping[str, Any], log_dir: str):
        super().__init__()
        self.cfg, self.manifest, self.log_dir = cfg, dict(manifest), log_dir

    def on_train_end(self, logs=None):
        from trainer import evaluate  # evaluate imports matplotlib: only when needed

        ds = data.eval_examples(self.cfg, self.manifest, "val", self.cfg.batch_size)
        probs, labels, ids = evaluate.predict_clips(self.model, ds)
        metrics = evaluate.compute_metrics(probs, labels, ids, self.manifest["classes"])
        png = evaluate.plot_confusion(np.array(metrics["confusion_matrix"]),
                                      self.manifest["classes"], title="val (video level)")
        writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "validation"))
        with writer.as_default():
            image = tf.image.decode_png(png, channels=4)[None]
            tf.summary.image("confusion_matrix", image, step=0)
        writer.close()


class ReadBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that resumes from the chief's backup but never writes.

    For the non-chief workers of a cluster.
    """

    def _save_model(self):
        pass

    def on_train_end(self, logs=None):
        pass


def make_callbacks(cfg: TrainConfig, run_dir: str, manifest: Mapping[str, Any] | None = None,
                   chief: bool = True) -> list[keras.callbacks.Callback]:
    """The run's callbacks, all watching the VAL split.

    TensorBoard, best-val_accuracy checkpoint, BackupAndRestore, EarlyStopping
    (restore_best_weights), ReduceLROnPlateau, CSV history; plus the confusion
    matrix image when `manifest` is given. A non-`chief` worker of a cluster gets
    only the ones that write nothing (and resumes from the chief's backup), so
    every worker takes the same decisions and only the chief writes.
    """
    backup = os.path.join(run_dir, "backup")
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                         patience=cfg.patience, restore_best_weights=True)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                patience=max(1, cfg.patience // 2), min_lr=1e-6)
    if not chief:
        return [ReadBackup(backup), stop, plateau]
    best = keras.callbacks.ModelCheckpoint(
        os.path.join(run_dir, "best.keras"), monitor="val_accuracy", mode="max",
        save_best_only=True)
    previous = read_history(run_dir).get("val_accuracy")
    if previous:  # a resumed run keeps the best of its earlier epochs
        best.best = max(previous)
    callbacks = [
        keras.callbacks.BackupAndRestore(backup),
        best,
        stop,
        plateau,
        # After ReduceLROnPlateau, which adds "learning_rate" to the logs.
        keras.callbacks.CSVLogger(os.path.join(run_dir, HISTORY_NAME), append=True),
        keras.callbacks.TensorBoard(cfg.log_dir, write_graph=False),
    ]
    if manifest is not None:
        callbacks.append(ConfusionMatrixImage(cfg, manifest, cfg.log_dir))
    return callbacks


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


def _embedding_dim(cfg: TrainConfig, manifest: Mapping[str, Any]) -> int | None:
    return int(manifest["features"]["dim"]) if cfg.features else None


def prepare(cfg: TrainConfig, num_replicas: int) -> dict[str, Any]:
    """Reads and validates everything a run needs before building; returns the manifest.

    Raises:
      FileNotFoundError, ValueError: bad data folder, chunk, batch or --init-from.
    """
    manifest = schema.read_manifest(data.source_dir(cfg))
    data.validate(cfg, manifest, cfg.batch_size * num_replicas, num_replicas)
    if cfg.init_from:
        if cfg.features:
            raise ValueError("--init-from initialises an image encoder; a --features run "
                             "has none")
        src = load_config(cfg.init_from)
        if src.model != "frame":
            raise ValueError(f"--init-from {cfg.init_from!r} is a {src.model!r} run; it must "
                             "be a 'frame' run")
        if src.encoder != cfg.encoder:
            raise ValueError(f"--init-from {cfg.init_from!r} has encoder {src.encoder!r}, this "
                             f"run has {cfg.encoder!r}")
    return manifest


def build_and_compile(cfg: TrainConfig, manifest: Mapping[str, Any]) -> keras.Model:
    """Builds, initialises (--init-from) and compiles the model in the CURRENT scope.

    The tuner's `HyperModel.build` calls this (KerasTuner opens the strategy scope).
    """
    num_classes = len(manifest["classes"])
    model = models.build_model(cfg, num_classes, int(manifest.get("frame_size", 0)),
                               _embedding_dim(cfg, manifest))
    if cfg.init_from:
        models.init_encoder_from(model, cfg.init_from, cfg.freeze_encoder, cfg.encoder)
    return compile_model(model, cfg, num_classes)


def build_compiled(cfg: TrainConfig, manifest: Mapping[str, Any],
                   strategy: tf.distribute.Strategy) -> keras.Model:
    """`build_and_compile` inside `strategy.scope()`."""
    with strategy.scope():
        return build_and_compile(cfg, manifest)


def train(cfg: TrainConfig, strategy: tf.distribute.Strategy | None = None,
          extra_callbacks: list[keras.callbacks.Callback] | None = None) -> dict[str, Any]:
    """Trains one run into `cfg.out` (resuming from its backup if one exists).

    Under a cluster (`TF_CONFIG`, `MultiWorkerMirroredStrategy`) every worker
    calls this; they train with `trainer.loop.fit` and only the chief writes the
    run folder and the logs.

    Args:
      cfg: the run's configuration.
      strategy: default `make_strategy(cfg)`.
      extra_callbacks: appended to `make_callbacks` (e.g. tests, tuner).

    Returns:
      The train_summary.json dict.
    """
    strategy = strategy or make_strategy(cfg)
    replicas = strategy.num_replicas_in_sync
    manifest = prepare(cfg, replicas)
    run_dir = cfg.out.rstrip("/")
    chief = is_chief()
    if chief:
        save_config(cfg, run_dir)
    global_batch = cfg.batch_size * replicas
    keras.utils.set_random_seed(cfg.seed)
    model = build_compiled(cfg, manifest, strategy)
    callbacks = make_callbacks(cfg, run_dir, manifest, chief) + list(extra_callbacks or [])
    steps = data.steps_per_epoch(cfg, manifest, global_batch)
    workers = f", worker {worker_index()} of {worker_count()}" if is_multi_worker(strategy) else ""
    print(f"vidrec train: {cfg.model} model, {model.count_params():,} params, "
          f"{replicas} replica(s){workers}, global batch {global_batch} -> {run_dir}", flush=True)
    start = time.time()
    if is_multi_worker(strategy):
        loop.fit(model, strategy, cfg, manifest, epochs=cfg.epochs, steps_per_epoch=steps,
                 callbacks=callbacks)
    else:
        train_ds = data.train_dataset(cfg, manifest, global_batch)
        val_ds = data.eval_dataset(cfg, manifest, "val", global_batch)
        with quiet_fit():
            model.fit(train_ds, epochs=cfg.epochs, steps_per_epoch=steps,
                      validation_data=val_ds, callbacks=callbacks, verbose=2)
    train_time = time.time() - start
    if not chief:
        return {"train_time_s": round(train_time, 3), "num_replicas": replicas, "chief": False}
    best_path = os.path.join(run_dir, "best.keras")
    if tf.io.gfile.exists(best_path):
        model.load_weights(best_path)
    model.save(os.path.join(run_dir, "model.keras"))
    model.export(os.path.join(run_dir, "saved_model"), verbose=False)
    history = read_history(run_dir)
    val_acc = history.get("val_accuracy", [])
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    summary = {
        "params": int(model.count_params()),
        "trainable_params": trainable,
        "train_time_s": round(train_time, 3),
        "epochs_run": len(history.get("loss", [])),
        "best_val_accuracy": max(val_acc) if val_acc else None,
        "history": history,
        "log_dir": cfg.log_dir,
        "num_replicas": replicas,
        "num_workers": worker_count() if is_multi_worker(strategy) else 1,
    }
    schema.write_json(os.path.join(run_dir, SUMMARY_NAME), summary)
    return summary
