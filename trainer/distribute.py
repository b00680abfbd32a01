"""Devices and the distribution strategy.

`configure_devices` must run before TensorFlow initialises its runtime (the
first op, or the first `list_logical_devices`): the entry points call it first.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.config import TrainConfig


def configure_devices(cpu_replicas: int) -> None:
    """Splits the physical CPU into `cpu_replicas` logical devices.

    Idempotent: a no-op when `cpu_replicas` <= 0 or when at least that many
    logical CPUs already exist (e.g. configured by a test session).

    Raises:
      RuntimeError: TensorFlow already initialised with fewer logical CPUs.
    """
    if cpu_replicas <= 0:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or []
    if len(current) >= cpu_replicas:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_replicas)])
    except RuntimeError as err:  # runtime already initialised
        have = len(tf.config.list_logical_devices("CPU"))
        if have >= cpu_replicas:
            return
        raise RuntimeError(
            f"--cpu-replicas {cpu_replicas}: TensorFlow is already initialised with {have} "
            "logical CPU device(s); configure devices before any TensorFlow op runs") from err


def _set_precision(cfg: TrainConfig, gpus: list) -> None:
    import keras

    if cfg.mixed_precision and gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        if cfg.mixed_precision:
            print("vidrec: --mixed-precision ignored: no GPU", file=sys.stderr)
        keras.mixed_precision.set_global_policy("float32")


# One strategy per device set and process: two MirroredStrategy objects over the
# same devices both number their collective instances from the same start, so
# the second one's all-reduces collide with the first one's ("Shape mismatch in
# the collective instance 100") when one process trains several models (the
# demo, a resumed tuning search).
_STRATEGIES: dict[tuple[str, ...], tf.distribute.Strategy] = {}


def cluster() -> dict[str, Any] | None:
    """The cluster `TF_CONFIG` names ({"cluster": ..., "task": ...}), or None.

    Raises:
      ValueError: TF_CONFIG is not JSON, or its task is not in its cluster.
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err}): {raw[:200]!r}") from None
    spec = config.get("cluster") or {}
    if not spec:
        return None
    task = config.get("task") or {}
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind not in ("chief", "worker") or index >= len(spec.get(kind, [])):
        raise ValueError(f"TF_CONFIG task {task!r} is not a chief or worker of its cluster "
                         f"{sorted(spec)}")
    return {"cluster": spec, "task": {"type": kind, "index": index}}


def worker_count() -> int:
    """Training processes in the TF_CONFIG cluster (chief + workers); 1 without one."""
    spec = cluster()
    return len(spec["cluster"].get("chief", [])) + len(spec["cluster"].get("worker", [])) \
        if spec else 1


def worker_index() -> int:
    """This process's rank: the chief is 0, then the workers in order; 0 without a cluster."""
    spec = cluster()
    if not spec:
        return 0
    has_chief = bool(spec["cluster"].get("chief"))
    task = spec["task"]
    return 0 if task["type"] == "chief" else task["index"] + int(has_chief)


def is_chief() -> bool:
    """True for the one process that writes checkpoints, logs and exports.

    The `chief` task when the cluster has one, else worker 0, else (no cluster) True.
    """
    return worker_index() == 0


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def all_reduce_sum(strategy: tf.distribute.Strategy, values) -> np.ndarray:
    """Sums a host array over the workers (each worker passes its own); identical result on all.

    Call in cross-replica context on every worker at the same point of the program.
    """
    value = tf.constant(np.asarray(values, dtype=np.float64))
    if not is_multi_worker(strategy):
        return value.numpy()
    local = len(strategy.extended.worker_devices)

    def per_replica(ctx):  # one local replica carries the worker's values
        return value if ctx.replica_id_in_sync_group % local == 0 else tf.zeros_like(value)

    values = strategy.experimental_distribute_values_from_function(per_replica)
    return strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None).numpy()


def make_strategy(cfg: TrainConfig) -> tf.distribute.Strategy:
    """The strategy a run trains under (one per device set and process).

    When `TF_CONFIG` names a cluster: a `MultiWorkerMirroredStrategy` over every
    worker's GPUs (or CPU); `--devices` and `--cpu-replicas` are then ignored.
    Otherwise `cfg.devices` names the devices explicitly; otherwise
    `cfg.cpu_replicas` > 0 mirrors over that many logical CPUs; otherwise all
    GPUs; otherwise the CPU. Always a `MirroredStrategy` on one machine (one
    replica on a single device), so the code path is the same everywhere. Also
    sets the mixed-precision policy (GPU only).
    """
    if cluster():
        return _multi_worker_strategy(cfg)
    configure_devices(cfg.cpu_replicas)
    gpus = tf.config.list_physical_devices("GPU")
    if cfg.devices:
        devices = list(cfg.devices)
    elif cfg.cpu_replicas > 0:
        cpus = tf.config.list_logical_devices("CPU")[: cfg.cpu_replicas]
        devices = [d.name for d in cpus]
    elif gpus:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    else:
        devices = ["/cpu:0"]
    _set_precision(cfg, gpus if not cfg.cpu_replicas else [])
    key = tuple(devices)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = tf.distribute.MirroredStrategy(devices)
    return _STRATEGIES[key]


def _multi_worker_strategy(cfg: TrainConfig) -> tf.distribute.Strategy:
    if "multi-worker" not in _STRATEGIES:
        if cfg.devices or cfg.cpu_replicas:
            print("vidrec: TF_CONFIG names a cluster: --devices/--cpu-replicas ignored, each "
                  "worker uses all its GPUs (or its CPU)", file=sys.stderr)
        _set_precision(cfg, tf.config.list_physical_devices("GPU"))
        _STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGIES["multi-worker"]
