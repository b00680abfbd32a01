"""`train(cfg)`: the one training function the CLI, the tuner's retrain and the demo call.

Run folder written (RUN_DIR = cfg.out)::

    config.json          the TrainConfig, written first
    history.csv          one row per finished epoch (appended across resumes)
    best.keras           best val_accuracy so far (ModelCheckpoint)
    backup/              BackupAndRestore state: a killed run resumes at its last epoch
    model.keras          final model with the best weights
    saved_model/         serving export (`model.export`), input float32 0..255
    eval_val.json        the final model on the VAL split, under the default protocol
    train_summary.json   params, time, epochs, best val accuracy (clip and video level),
                         trainable encoder layers, the run's recipe, full history; last

A run folder is never silently reused (`check_run_dir`): an unfinished run
with the same config resumes; a finished run, or one with another config, is an
error unless `overwrite` clears the folder first.

TensorBoard logs go to `cfg.log_dir` (scalars, learning rate, and the
validation confusion matrix image at the end). Early stopping, the
learning-rate schedule and the recorded val video accuracy (which `vidrec
compare` uses to pick the runs its headline names) read the VAL split; the test
split is never read here.
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
from trainer import data, evaluate, loop, models, recipe
from trainer.config import CONFIG_NAME, TrainConfig, load_config, save_config
from trainer.distribute import (
    all_reduce_sum,
    is_chief,
    is_multi_worker,
    make_strategy,
    worker_count,
    worker_index,
)
from trainer.evaluate import SUMMARY_NAME

HISTORY_NAME = "history.csv"
MODEL_NAME = "model.keras"
# Fields that may differ when an unfinished run resumes: where it runs, not what it learns.
RESUMABLE_DIFFERENCES = ("out", "cpu_replicas", "devices", "log_root")


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
    if not tf.io.gfile.exists(f"{run_dir}/{CONFIG_NAME}"):
        return "new"
    if overwrite:
        return "overwrite"
    finished = [n for n in (MODEL_NAME, SUMMARY_NAME) if tf.io.gfile.exists(f"{run_dir}/{n}")]
    if finished:
        raise RunDirError(f"--out {run_dir!r} already holds a finished run ({finished[0]}); "
                          "use --overwrite to replace it, or another --out")
    saved, now = load_config(run_dir).to_dict(), cfg.to_dict()
    differ = [k for k in now if k not in RESUMABLE_DIFFERENCES and saved.get(k) != now[k]]
    if differ:
        shown = ", ".join(f"{k} {saved.get(k)!r} -> {now[k]!r}" for k in differ)
        raise RunDirError(f"--out {run_dir!r} holds an unfinished run with another config "
                          f"({shown}); start it with its own flags to resume it, or use "
                          "--overwrite to replace it")
    return "resume"


class ReadBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that resumes from the chief's backup but never writes.

    For the non-chief workers of a cluster.
    """

    def _save_model(self):
        pass

    def on_train_end(self, logs=None):
        pass


def make_callbacks(cfg: TrainConfig, run_dir: str,
                   chief: bool = True) -> list[keras.callbacks.Callback]:
    """The run's callbacks, all watching the VAL split.

    TensorBoard, best-val_accuracy checkpoint, BackupAndRestore, EarlyStopping
    (restore_best_weights), ReduceLROnPlateau, CSV history. A non-`chief` worker of a cluster gets
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
        if src.model != "frame" or src.features:
            kind = f"{src.model!r} run" + (" on cached features" if src.features else "")
            raise ValueError(f"--init-from {cfg.init_from!r} is a {kind}; it must be a "
                             "'frame' run on images")
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


def _encoder_layers(model: keras.Model) -> list[str] | None:
    """Names of the encoder's trainable weighted layers (None for a feature-cache model)."""
    if not any(lyr.name == "encoder" for lyr in model.layers):
        return None
    return models.trainable_layer_names(model.get_layer("encoder"))


def _describe_layers(cfg: TrainConfig, names: list[str] | None) -> str:
    """One line on what of the encoder this run trains."""
    if names is None:
        return f"frozen: cached embeddings in {cfg.features}"
    if not names:
        return f"{cfg.encoder}, frozen"
    shown = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:3])}, ..., {names[-1]}"
    return f"{cfg.encoder}, {len(names)} trainable weighted layer(s): {shown}"


def _clear(run_dir: str, strategy: tf.distribute.Strategy, delete: bool) -> None:
    """--overwrite: the chief deletes the old run; every worker waits until it is gone.

    Every worker of a cluster calls this with --overwrite, whatever it found in the
    folder (the chief may have emptied it already), so the barrier always completes.
    """
    if delete:
        tf.io.gfile.rmtree(run_dir)
        print(f"vidrec train: --overwrite: removed the earlier run in {run_dir}", flush=True)
    if is_multi_worker(strategy):
        all_reduce_sum(strategy, [0.0])  # a barrier: nobody reads the old backup


def _log_val_confusion(cfg: TrainConfig, result: Mapping[str, Any]) -> None:
    png = evaluate.plot_confusion(np.array(result["confusion_matrix"]), result["classes"],
                                  title="val (video level)")
    writer = tf.summary.create_file_writer(os.path.join(cfg.log_dir, "validation"))
    with writer.as_default():
        tf.summary.image("confusion_matrix", tf.image.decode_png(png, channels=4)[None], step=0)
    writer.close()


def train(cfg: TrainConfig, strategy: tf.distribute.Strategy | None = None,
          extra_callbacks: list[keras.callbacks.Callback] | None = None,
          overwrite: bool = False) -> dict[str, Any]:
    """Trains one run into `cfg.out` (resuming an unfinished run with the same config).

    Under a cluster (`TF_CONFIG`, `MultiWorkerMirroredStrategy`) every worker
    calls this; they train with `trainer.loop.fit` and only the chief writes the
    run folder and the logs.

    Args:
      cfg: the run's configuration.
      strategy: default `make_strategy(cfg)`.
      extra_callbacks: appended to `make_callbacks` (e.g. tests, tuner).
      overwrite: replace a run already in `cfg.out` (else `check_run_dir` refuses it).

    Returns:
      The train_summary.json dict.

    Raises:
      RunDirError: `cfg.out` holds another or a finished run (see `check_run_dir`).
    """
    strategy = strategy or make_strategy(cfg)
    replicas = strategy.num_replicas_in_sync
    manifest = prepare(cfg, replicas)
    run_dir = cfg.out.rstrip("/")
    chief = is_chief()
    state = check_run_dir(cfg, overwrite)
    if overwrite:  # only a folder holding a vidrec run (config.json) is ever deleted
        _clear(run_dir, strategy, delete=chief and state == "overwrite")
    if chief:
        save_config(cfg, run_dir)
    global_batch = cfg.batch_size * replicas
    keras.utils.set_random_seed(cfg.seed)
    model = build_compiled(cfg, manifest, strategy)
    encoder_layers = _encoder_layers(model)
    callbacks = make_callbacks(cfg, run_dir, chief) + list(extra_callbacks or [])
    steps = data.steps_per_epoch(cfg, manifest, global_batch)
    workers = f", worker {worker_index()} of {worker_count()}" if is_multi_worker(strategy) else ""
    print(f"vidrec train: {cfg.model} model, {model.count_params():,} params, "
          f"{replicas} replica(s){workers}, global batch {global_batch} -> {run_dir}\n"
          f"vidrec train: encoder {_describe_layers(cfg, encoder_layers)}",
          flush=True)
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
    model.save(os.path.join(run_dir, MODEL_NAME))
    model.export(os.path.join(run_dir, "saved_model"), verbose=False)
    history = read_history(run_dir)
    val_acc = history.get("val_accuracy", [])
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    summary = {
        "params": int(model.count_params()),
        "trainable_params": trainable,
        "trainable_encoder_layers": encoder_layers,
        "train_time_s": round(train_time, 3),
        "epochs_run": len(history.get("loss", [])),
        "best_val_accuracy": max(val_acc) if val_acc else None,
        "val_video_top1": None,
        "history": history,
        "log_dir": cfg.log_dir,
        "num_replicas": replicas,
        "num_workers": worker_count() if is_multi_worker(strategy) else 1,
        "recipe": recipe.recipe(cfg, manifest, replicas),
    }
    val = evaluate.evaluate_model(model, cfg, manifest, run_dir, "val", summary=summary)
    summary["val_video_top1"] = val["video_top1"]
    _log_val_confusion(cfg, val)
    schema.write_json(os.path.join(run_dir, SUMMARY_NAME), summary)
    return summary
