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

from trainer import data, evaluate, train
from trainer.config import TrainConfig
from tuning.space import SearchSpace

VIDEO_OBJECTIVE = "val_video_accuracy"


class VideoAccuracy(keras.callbacks.Callback):
    """Adds `val_video_accuracy` (softmax averaged over each video's chunks) to the epoch logs.

    It must run before KerasTuner's own callbacks, which read the logs.
    """

    def __init__(self, cfg: TrainConfig, manifest: dict, batch: int):
        super().__init__()
        self._examples = data.eval_examples(cfg, manifest, "val", batch, "natural")
        self._classes = manifest["classes"]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probs, labels, ids = evaluate.predict_clips(self.model, self._examples)
        metrics = evaluate.compute_metrics(probs, labels, ids, self._classes)
        if logs is not None:
            logs[VIDEO_OBJECTIVE] = metrics["video_top1"]


class FailOnNaN(keras.callbacks.Callback):
    """Turns a NaN/inf loss into a failed trial (recorded with its reason), not a crash."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            raise keras_tuner.errors.FailedTrialError(f"loss became {loss} at batch {batch}")


class RecurrentHyperModel(keras_tuner.HyperModel):
    """Searches the recurrent model's RNN type, size, chunk length, learning rate, dropout.

    Args:
      base: the trainer configuration every trial starts from.
      space: the ranges searched.
      manifest: the data's manifest (from `schema.read_manifest`).
      num_replicas: replicas of the distribution strategy the trials run under.
      objective: the logged metric reported to the oracle.
    """

    def __init__(self, base: TrainConfig, space: SearchSpace, manifest: dict,
                 num_replicas: int, objective: str = VIDEO_OBJECTIVE):
        super().__init__(name="vidrec_recurrent", tunable=True)
        self.base, self.space, self.manifest = base, space, manifest
        self.num_replicas, self.objective = num_replicas, objective

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.space.declare(hp)

    def trial_config(self, hp: keras_tuner.HyperParameters, **overrides: Any) -> TrainConfig:
        """The TrainConfig of the trial whose values `hp` holds."""
        return dataclasses.replace(
            self.base, model="recurrent", rnn=hp.get("rnn"),
            bidirectional=bool(hp.get("bidirectional")), hidden=int(hp.get("hidden")),
            chunk_length=int(hp.get("chunk_length")),
            learning_rate=float(hp.get("learning_rate")), dropout=float(hp.get("dropout")),
            **overrides)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return train.build_and_compile(self.trial_config(hp), self.manifest)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        cfg = self.trial_config(hp)
        global_batch = cfg.batch_size * self.num_replicas
        train_ds = data.train_dataset(cfg, self.manifest, global_batch)
        val_ds = data.eval_dataset(cfg, self.manifest, "val", global_batch)
        callbacks = [VideoAccuracy(cfg, self.manifest, global_batch), FailOnNaN()]
        callbacks += list(kwargs.pop("callbacks", []))
        kwargs.setdefault("epochs", cfg.epochs)
        kwargs.setdefault("verbose", 2)
        try:
            return model.fit(train_ds, validation_data=val_ds, callbacks=callbacks,
                             steps_per_epoch=data.steps_per_epoch(cfg, self.manifest, global_batch),
                             **kwargs)
        except tf.errors.ResourceExhaustedError as e:
            raise keras_tuner.errors.FailedTrialError(
                f"out of memory (hidden={cfg.hidden}, chunk={cfg.chunk_length}, "
                f"batch={global_batch}): {e.message.splitlines()[0]}") from e

