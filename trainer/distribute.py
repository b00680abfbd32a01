"""Devices and the distribution strategy.

`configure_devices` must run before TensorFlow initialises its runtime (the
first op, or the first `list_logical_devices`): the entry points call it first.
"""

from __future__ import annotations

import sys

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


def make_strategy(cfg: TrainConfig) -> tf.distribute.Strategy:
    """The strategy a run trains under (one per device set and process).

    `cfg.devices` names the devices explicitly; otherwise `cfg.cpu_replicas` > 0
    mirrors over that many logical CPUs; otherwise all GPUs; otherwise the CPU.
    Always a `MirroredStrategy` (one replica on a single device), so the code
    path is the same everywhere. Also sets the mixed-precision policy (GPU only).
    """
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
