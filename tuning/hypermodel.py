"""The HyperModel of `vidrec tune`: samples values, then calls the trainer's own builders.

`build(hp)` only turns sampled values into a `TrainConfig` and calls
`trainer.models.build_model`; `fit(hp, model, ...)` builds that trial's
`tf.data` input (chunk length is a data hyperparameter) and forwards the
callbacks KerasTuner passes in. Neither knows about strategies: KerasTuner
builds inside `distribution_strategy.scope()`, and the global batch is
computed here from the replica count, which KerasTuner never does.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import keras_tuner
import tensorflow as tf

from trainer import data, evaluate, loop, train
from trainer.config import TrainConfig
from trainer.distribute import all_reduce_sum, is_multi_worker
from tuning.space import SearchSpace

VIDEO_OBJECTIVE = "val_video_accuracy"


class VideoAccuracy(keras.callbacks.Callback):
    """Adds `val_video_accuracy` (softmax averaged over each video's chunks) to the epoch logs.

    It must run before KerasTuner's own callbacks, which read the logs. On a
    cluster each worker scores its own share of the videos and one all-reduce sums
    the counts, so every worker reports the same value (and the lock-stepped
    searches stay identical).
    """

    def __init__(self, cfg: TrainConfig, manifest: dict, batch: int,
                 strategy: tf.distribute.Strategy):
        super().__init__()
        self._strategy = strategy
        self._examples = loop.val_examples(cfg, manifest, "val", batch)  # all of it on 1 worker
        self._classes = manifest["classes"]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        preds = evaluate.predict_clips(self.model, self._examples)
        metrics = evaluate.compute_metrics(preds.probs, preds.labels, preds.ids, self._classes)
        counts = all_reduce_sum(self._strategy, [metrics["video_top1"] * metrics["num_videos"],
                                                 metrics["num_videos"]])
        if logs is not None:
            logs[VIDEO_OBJECTIVE] = float(counts[0] / max(counts[1], 1.0))


class FailOnNaN(keras.callbacks.Callback):
    """Turns a NaN/inf loss into a failed trial (recorded with its reason), not a crash."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            raise keras_tuner.errors.FailedTrialError(f"loss became {loss} at batch {batch}")


class RecurrentHyperModel(keras_tuner.HyperModel):
    """Searches the recurrent model's RNN type, size, chunk length (and LR, dropout if asked).

    Args:
      base: the trainer configuration every trial starts from.
      space: the ranges searched.
      manifest: the data's manifest (from `schema.read_manifest`).
      strategy: the distribution strategy the trials run under (KerasTuner opens
        its scope); under `MultiWorkerMirroredStrategy` trials train with
        `trainer.loop.fit`, as `vidrec train` does on a cluster.
      objective: the logged metric reported to the oracle.
    """

    def __init__(self, base: TrainConfig, space: SearchSpace, manifest: dict,
                 strategy: tf.distribute.Strategy, objective: str = VIDEO_OBJECTIVE):
        super().__init__(name="vidrec_recurrent", tunable=True)
        self.base, self.space, self.manifest = base, space, manifest
        self.strategy, self.objective = strategy, objective
        self.num_replicas = strategy.num_replicas_in_sync

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.space.declare(hp)

    def trial_config(self, hp: keras_tuner.HyperParameters, **overrides: Any) -> TrainConfig:
        """The TrainConfig of the trial whose values `hp` holds."""
        searched = {k: float(hp.get(k)) for k in ("learning_rate", "dropout") if k in hp}
        return dataclasses.replace(
            self.base, model="recurrent", rnn=hp.get("rnn"),
            bidirectional=bool(hp.get("bidirectional")), hidden=int(hp.get("hidden")),
            chunk_length=int(hp.get("chunk_length")), **searched, **overrides)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return train.build_and_compile(self.trial_config(hp), self.manifest)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        cfg = self.trial_config(hp)
        global_batch = cfg.batch_size * self.num_replicas
        steps = data.steps_per_epoch(cfg, self.manifest, global_batch)
        callbacks = [VideoAccuracy(cfg, self.manifest, global_batch, self.strategy), FailOnNaN()]
        callbacks += list(kwargs.pop("callbacks", []))
        epochs, verbose = kwargs.pop("epochs", cfg.epochs), kwargs.pop("verbose", 2)
        try:
            if is_multi_worker(self.strategy):  # Keras fit fails there (keras #20585)
                return loop.fit(model, self.strategy, cfg, self.manifest, epochs=epochs,
                                steps_per_epoch=steps, callbacks=callbacks, verbose=verbose)
            with train.quiet_fit():
                return model.fit(data.train_dataset(cfg, self.manifest, global_batch),
                                 validation_data=data.eval_dataset(cfg, self.manifest, "val",
                                                                   global_batch),
                                 callbacks=callbacks, steps_per_epoch=steps, epochs=epochs,
                                 verbose=verbose, **kwargs)
        except tf.errors.ResourceExhaustedError as e:
            raise keras_tuner.errors.FailedTrialError(
                f"out of memory (hidden={cfg.hidden}, chunk={cfg.chunk_length}, "
                f"batch={global_batch}): {e.message.splitlines()[0]}") from e
