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

A run folder is never silently reused (`trainer.folders.check_run_dir`): an
unfinished run with the same config resumes; a finished run, or one with another
config, is an error unless `overwrite` clears the folder first. Seed groups
(GROUP/seeds.json + GROUP/seed<N>/) are `trainer.folders` too; `train_seeds`
trains one.

TensorBoard logs go to `cfg.log_dir` (scalars, learning rate, the run's
HParams session with its metrics (`trainer.hparams`), what the model sees
(`trainer.pictures`) and the
validation confusion matrix image at the end). Early stopping, the
learning-rate schedule and the recorded val video accuracy (which `vidrec
compare` uses to pick the runs its headline names) read the VAL split; the test
split is never read here.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import callbacks as callbacks_lib
from trainer import data, determinism, evaluate, folders, loop, metrics, models, recipe, summaries
from trainer.config import TrainConfig, load_frame_run, save_config
from trainer.distribute import (
    is_chief,
    is_multi_worker,
    make_strategy,
    worker_count,
    worker_index,
)
from trainer.feature_cache import embedding_dim
from trainer.pictures import input_pictures
from vidrec.core import run_folder
from vidrec.core.eval_file import EvalFile


def compile_model(model: keras.Model, cfg: TrainConfig, num_classes: int) -> keras.Model:
    """Adam + sparse categorical cross-entropy with `metrics.compile_metrics`.

    Call inside the strategy scope the model was built in.
    """
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss="sparse_categorical_crossentropy",
                  metrics=metrics.compile_metrics(num_classes), jit_compile=cfg.jit_compile)
    return model


def fit_model(model: keras.Model, strategy: tf.distribute.Strategy, cfg: TrainConfig,
              manifest: Mapping[str, Any], *, epochs: int, steps_per_epoch: int,
              callbacks: list[keras.callbacks.Callback], verbose: int = 2, **kwargs):
    """Trains with `model.fit`, or `trainer.loop.fit` under MultiWorkerMirroredStrategy.

    `model.fit` fails there (keras-team/keras #20585). Validation is the
    `callbacks.Validation` callback in `callbacks` (neither path validates
    otherwise). `kwargs` go to `model.fit` (what KerasTuner passes on).

    Returns:
      The History.
    """
    if is_multi_worker(strategy):
        return loop.fit(model, strategy, cfg, manifest, epochs=epochs,
                        steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=verbose)
    global_batch = cfg.batch_size * strategy.num_replicas_in_sync
    with callbacks_lib.quiet_fit():
        return model.fit(data.train_dataset(cfg, manifest, global_batch), epochs=epochs,
                         steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                         verbose=verbose, **kwargs)


class NonDeterministicKernelError(RuntimeError):
    """Op determinism is on and a kernel the run needs has no deterministic version."""


def train_seeds(cfg: TrainConfig, seeds: Sequence[int],
                strategy: tf.distribute.Strategy | None = None,
                overwrite: bool = False) -> list[dict[str, Any]]:
    """Trains `cfg` once per seed into the seed group `cfg.out` (GROUP/seed<N>, seeds.json).

    Each seed varies initialisation, data order, frame sampling and augmentation
    together. A seed whose folder holds a finished run of this config is kept (a
    rerun after a crash trains only what is left); an unfinished one resumes.

    Returns:
      The train summaries, one per seed, in `seeds` order.
    """
    folders.write_seed_group(cfg.out, seeds, overwrite)
    summaries = []
    for i, seed in enumerate(seeds, 1):
        one = folders.seed_config(cfg, seed)
        if not overwrite and folders.finished_same(one):
            print(f"vidrec train: seed {seed} ({i}/{len(seeds)}): finished already in "
                  f"{one.out}, kept", flush=True)
            with tf.io.gfile.GFile(run_folder.join(one.out, run_folder.SUMMARY)) as f:
                summaries.append(json.load(f))
            continue
        print(f"vidrec train: seed {seed} ({i}/{len(seeds)}) -> {one.out}", flush=True)
        summaries.append(train(one, strategy, overwrite=overwrite))
    return summaries


def _embedding_dim(cfg: TrainConfig, manifest: Mapping[str, Any]
                   ) -> int | tuple[int, int, int] | None:
    """D of a vector cache, `(h, w, C)` of a map cache, None on frames."""
    return embedding_dim(cfg, manifest)


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
        load_frame_run(cfg.init_from, "--init-from", cfg.encoder)
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
      overwrite: replace a run already in `cfg.out` (else `folders.check_run_dir`
        refuses it).

    Returns:
      The train_summary.json dict.

    Raises:
      folders.RunDirError: `cfg.out` holds another or a finished run (see
        `folders.check_run_dir`).
    """
    strategy = strategy or make_strategy(cfg)
    determinism.seed_everything(cfg.seed, cfg.deterministic)  # before any model or dataset
    replicas = strategy.num_replicas_in_sync
    manifest = prepare(cfg, replicas)
    run_dir = cfg.out.rstrip("/")
    chief = is_chief()
    state = folders.check_run_dir(cfg, overwrite)
    if overwrite:  # only a folder holding a vidrec run (config.json) is ever deleted
        folders.clear(run_dir, strategy, delete=chief and state == "overwrite")
    if chief:
        save_config(cfg, run_dir)
    global_batch = cfg.batch_size * replicas
    model = build_compiled(cfg, manifest, strategy)
    encoder_layers = _encoder_layers(model)
    callbacks = (callbacks_lib.make_callbacks(cfg, manifest, strategy, chief)
                 + list(extra_callbacks or []))
    steps = data.steps_per_epoch(cfg, manifest, global_batch)
    workers = f", worker {worker_index()} of {worker_count()}" if is_multi_worker(strategy) else ""
    print(f"vidrec train: {cfg.model} model, {model.count_params():,} params, "
          f"{replicas} replica(s){workers}, global batch {global_batch} -> {run_dir}\n"
          f"vidrec train: encoder {_describe_layers(cfg, encoder_layers)}",
          flush=True)
    if chief:
        _log_inputs(cfg, manifest)
    start = time.time()
    try:
        fit_model(model, strategy, cfg, manifest, epochs=cfg.epochs, steps_per_epoch=steps,
                  callbacks=callbacks)
    except tf.errors.UnimplementedError as err:
        if not cfg.deterministic:
            raise
        first = (err.message or str(err)).strip().splitlines()[0]
        raise NonDeterministicKernelError(
            f"a kernel this run needs has no deterministic version on this device ({first}); "
            "train with --no-deterministic (the run is then not reproducible bit for bit; "
            "benchmarks/gpu.sh --determinism lists the model kinds affected)") from err
    train_time = time.time() - start
    if not chief:
        return {"train_time_s": round(train_time, 3), "num_replicas": replicas, "chief": False}
    return _finish(model, cfg, manifest, encoder_layers, train_time, replicas,
                   worker_count() if is_multi_worker(strategy) else 1)


def _log_inputs(cfg: TrainConfig, manifest: Mapping[str, Any]) -> None:
    """What the model sees, in TensorBoard (`trainer.pictures`); a picture that cannot be
    made (e.g. a feature cache whose source frames moved) is a warning, not a failure."""
    try:
        pictures = input_pictures(cfg, manifest)
    except (OSError, ValueError, tf.errors.OpError) as err:
        summaries.warn("vidrec train", "input pictures", err)
        return
    with summaries.writing(cfg.log_dir):
        summaries.images(pictures)


def _finish(model: keras.Model, cfg: TrainConfig, manifest: Mapping[str, Any],
            encoder_layers: list[str] | None, train_time: float, replicas: int,
            workers: int) -> dict[str, Any]:
    """The chief, after training: best weights, model.keras, export, eval_val.json, summary."""
    run_dir = cfg.out.rstrip("/")
    best_path = run_folder.join(run_dir, run_folder.BEST)
    if tf.io.gfile.exists(best_path):
        model.load_weights(best_path)
    model.save(run_folder.join(run_dir, run_folder.MODEL))
    model.export(run_folder.join(run_dir, run_folder.SAVED_MODEL), verbose=False)
    history = callbacks_lib.read_history(run_dir)
    val_acc = history.get("val_accuracy", [])
    summary = {
        "params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "trainable_encoder_layers": encoder_layers,
        "train_time_s": round(train_time, 3),
        "epochs_run": len(history.get("loss", [])),
        "best_val_accuracy": max(val_acc) if val_acc else None,
        "val_video_top1": None,
        "history": history,
        "log_dir": cfg.log_dir,
        "num_replicas": replicas,
        "num_workers": workers,
        "recipe": recipe.recipe(cfg, manifest, replicas),
        "environment": determinism.environment(cfg.deterministic),
    }
    val = evaluate.evaluate_model(model, cfg, manifest, run_dir, "val", summary=summary,
                                  pictures=False)  # inputs/val: written at the start
    summary["val_video_top1"] = EvalFile.from_dict(val).video_top1
    callbacks_lib.log_val_confusion(cfg)
    schema.write_json(run_folder.join(run_dir, run_folder.SUMMARY), summary)
    return summary
