"""The multi-worker training loop: `strategy.run` steps driving the run's Keras callbacks.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy`
(keras-team/keras #20585, "Attempt to convert a value (PerReplica...)"), so a
cluster run trains with this loop instead. Everything else is shared with the
single-machine path: the same model and optimizer (`train.build_compiled`), the
same input functions (`trainer.data`, sharded per worker), the same callbacks
(`train.make_callbacks`: backup/resume, best checkpoint, early stopping, LR
schedule, CSV history, TensorBoard; the writing ones on the chief only) and the
same epoch logs (`loss`, `accuracy`, `top5`, `val_*`), so the run folder looks
the same whichever path wrote it.

The loss is averaged over the GLOBAL batch (`tf.nn.compute_average_loss`) and
the optimizer all-reduces the gradients, so every worker applies the same update;
BatchNormalization statistics are averaged over the workers after every epoch
(`sync_batch_stats`), so every worker ends with the same weights. Validation is
the `callbacks.Validation` callback: each worker scores its own share of the
validation videos and one all-reduce sums the counts, so every worker sees the
same numbers and takes the same early-stopping and LR decisions.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

import keras
import numpy as np
import tensorflow as tf

from trainer import data, metrics
from trainer.config import TrainConfig
from trainer.distribute import all_reduce_sum, worker_count, worker_index
from vidrec.core import compat


def sync_batch_stats(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Averages BatchNormalization moving statistics over the workers.

    Each worker updates them from its own batches, so they drift apart while the
    trainable weights (updated from all-reduced gradients) stay identical. Called
    at the end of every epoch, before validation and checkpoints, so every worker
    evaluates, saves and ends with the same model.
    """
    stats = [v for v in model.non_trainable_variables
             if v.path.endswith(("moving_mean", "moving_variance"))]
    if not stats or worker_count() == 1:
        return
    flat = np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in stats])
    mean = all_reduce_sum(strategy, flat) / worker_count()
    offset = 0
    for v in stats:
        size = int(np.prod(v.shape))
        v.assign(mean[offset:offset + size].reshape(v.shape).astype(v.dtype))
        offset += size


def make_train_step(model: keras.Model, strategy: tf.distribute.Strategy, global_batch: int,
                    num_classes: int):
    """A `tf.function` taking a distributed iterator: one optimizer step on every replica.

    Returns the step's summed (loss, correct, top5, count) over all replicas.
    """

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(
                tf.cast(y, tf.int32), tf.cast(probs, tf.float32))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = model.optimizer.scale_loss(loss)  # a no-op unless mixed precision
        grads = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return metrics.batch_sums(y, probs, num_classes)

    @tf.function
    def train_step(iterator):
        x, y = next(iterator)
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step


def fit(model: keras.Model, strategy: tf.distribute.Strategy, cfg: TrainConfig,
        manifest: Mapping[str, Any], *, epochs: int, steps_per_epoch: int,
        callbacks: list[keras.callbacks.Callback], verbose: int = 2) -> keras.callbacks.History:
    """Trains `model` (built in `strategy.scope()` and compiled) like `model.fit` would.

    Args:
      model, strategy: the compiled model and the strategy it was built under.
      cfg, manifest: the run (batch_size is per replica) and its data.
      epochs, steps_per_epoch: as `model.fit`.
      callbacks: Keras callbacks, called at the same points as `model.fit` calls
        them (BackupAndRestore's resume epoch is honoured).
      verbose: 0 silent; otherwise one line per epoch (from worker 0 only).

    Returns:
      The History, also at `model.history`.
    """
    global_batch = cfg.batch_size * strategy.num_replicas_in_sync
    num_classes = len(manifest["classes"])

    def input_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        return data.train_dataset(cfg, manifest, ctx.get_per_replica_batch_size(global_batch),
                                  shard=(ctx.num_input_pipelines, ctx.input_pipeline_id))

    iterator = iter(strategy.distribute_datasets_from_function(input_fn))
    train_step = make_train_step(model, strategy, global_batch, num_classes)
    cbs = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=False,
                                       model=model, epochs=epochs, steps=steps_per_epoch,
                                       verbose=verbose)
    model.stop_training = False
    compat.reset_initial_epoch(model)  # BackupAndRestore sets it on resume
    # On every worker, in the scope: a resumed run builds the optimizer here (mirrored
    # variables). Later callbacks run outside it: what the chief alone creates while
    # saving (Keras' saving makes a throwaway optimizer) must stay a plain variable, or
    # its creation would wait for a broadcast the other workers never join.
    with strategy.scope():
        cbs.on_train_begin()
    first_epoch = compat.initial_epoch(model)
    for epoch in range(first_epoch, epochs):
        start = time.time()
        cbs.on_epoch_begin(epoch)
        sums = np.zeros(len(metrics.SUMS))
        for step in range(steps_per_epoch):
            cbs.on_train_batch_begin(step)
            step_sums = train_step(iterator).numpy()
            sums += step_sums
            cbs.on_train_batch_end(step, {"loss": step_sums[0] / max(step_sums[3], 1.0)})
            if model.stop_training:
                break
        sync_batch_stats(model, strategy)
        # The Validation callback adds the val_ metrics, before the callbacks reading them.
        cbs.on_epoch_end(epoch, metrics.logs_from_sums(sums, num_classes))
        if verbose and worker_index() == 0:
            logs = {k: v[-1] for k, v in model.history.history.items()}
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()
                               if isinstance(v, float) and math.isfinite(v))
            print(f"Epoch {epoch + 1}/{epochs} - {time.time() - start:.0f}s - {shown}",
                  flush=True)
        if model.stop_training:
            break
    if epochs > first_epoch:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    cbs.on_train_end({k: v[-1] for k, v in model.history.history.items()})
    compat.reset_initial_epoch(model)
    return model.history
