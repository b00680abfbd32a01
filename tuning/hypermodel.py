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
import os
from typing import Any, Mapping

import keras
import keras_tuner
import tensorflow as tf

from trainer import callbacks as callbacks_lib
from trainer import data, hparams, train
from trainer.config import TrainConfig
from tuning import space as space_lib
from tuning.space import SearchSpace

VIDEO_OBJECTIVE = "val_video_accuracy"


class FailOnNaN(keras.callbacks.Callback):
    """Turns a NaN/inf loss into a failed trial (recorded with its reason), not a crash."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            raise keras_tuner.errors.FailedTrialError(f"loss became {loss} at batch {batch}")


def own_hparams(callbacks: list[keras.callbacks.Callback], cfg: TrainConfig,
                manifest: Mapping[str, Any]) -> list[keras.callbacks.Callback]:
    """KerasTuner's HParams callback swapped for the trainer's (`trainer.hparams.HParams`).

    KerasTuner 1.4.8 adds `hparams_api.KerasCallback` beside each TensorBoard callback
    it points at ``<log root>/<trial id>/execution<k>``, with the trial's sampled
    values only. The trial's session gets every run's hyperparameters instead, named
    as `vidrec train` names them, so trials and runs share one HParams table; the
    session group is the trial's folder (its executions are averaged into one row).
    """
    from tensorboard.plugins.hparams import api as hp_api

    kept = [c for c in callbacks if not isinstance(c, hp_api.KerasCallback)]
    boards = [c for c in kept if isinstance(c, keras.callbacks.TensorBoard)]
    for board in boards:
        trial_dir = os.path.dirname(str(board.log_dir).rstrip("/"))
        run = f"{cfg.run_name}/trial {os.path.basename(trial_dir)}"
        kept.append(hparams.HParams(hparams.hparams(cfg, manifest, run=run), str(board.log_dir),
                               group=trial_dir))
    return kept


class TemporalHyperModel(keras_tuner.HyperModel):
    """Searches the temporal part: family (RNN cells, conv, attention), its sizes, chunk
    length (and LR, dropout if asked).

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
        super().__init__(name="vidrec_temporal", tunable=True)
        self.base, self.space, self.manifest = base, space, manifest
        self.strategy, self.objective = strategy, objective
        self.num_replicas = strategy.num_replicas_in_sync

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.space.declare(hp)

    def trial_config(self, hp: keras_tuner.HyperParameters, **overrides: Any) -> TrainConfig:
        """The TrainConfig of the trial whose values `hp` holds."""
        return dataclasses.replace(self.base, **space_lib.trial_values(hp), **overrides)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return train.build_and_compile(self.trial_config(hp), self.manifest)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        cfg = self.trial_config(hp)
        global_batch = cfg.batch_size * self.num_replicas
        steps = data.steps_per_epoch(cfg, self.manifest, global_batch)
        # Validation first: it adds val_video_accuracy, which KerasTuner's callbacks read.
        callbacks = [callbacks_lib.Validation(cfg, self.manifest, self.strategy), FailOnNaN()]
        callbacks += own_hparams(list(kwargs.pop("callbacks", [])), cfg, self.manifest)
        epochs, verbose = kwargs.pop("epochs", cfg.epochs), kwargs.pop("verbose", 2)
        try:
            return train.fit_model(model, self.strategy, cfg, self.manifest, epochs=epochs,
                                   steps_per_epoch=steps, callbacks=callbacks, verbose=verbose,
                                   **kwargs)
        except tf.errors.ResourceExhaustedError as e:
            raise keras_tuner.errors.FailedTrialError(
                f"out of memory (hidden={cfg.hidden}, chunk={cfg.chunk_length}, "
                f"batch={global_batch}): {e.message.splitlines()[0]}") from e
