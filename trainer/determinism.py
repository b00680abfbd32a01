"""Identical reruns: one place that seeds everything and records what results depend on.

The same command twice on the same machine gives the same weights, history and
per-video predictions when

* every random draw comes from the run's seed: `seed_everything` sets Python's,
  NumPy's, TensorFlow's and Keras' global seeds (`keras.utils.set_random_seed`),
  and the input pipeline draws each video's frames and augmentation from
  (seed, pass over the data, video id) with stateless ops (`trainer.data`), never
  from a position in a stream;
* TensorFlow's op determinism is on (`tf.config.experimental.enable_op_determinism`):
  deterministic kernels, and every tf.data `map`/`interleave` keeps its order. Our
  maps use stateless random ops only, so they still run in parallel;
* the machine is the same: oneDNN picks kernels by instruction set and thread
  count, so a result is bit-identical only on the same CPU kind, versions and
  thread pools. `environment()` records them with every run (config.json, the
  eval files) and `vidrec compare` warns when the runs it compares differ.

On a GPU some kernels have no deterministic version and raise
`UnimplementedError` under op determinism (PITFALLS.md; benchmarks/gpu.sh checks
which model kinds do): `--no-deterministic` turns it off for such a run, which is
then not reproducible bit for bit (its config says so).
"""

from __future__ import annotations

import hashlib
import os
import platform
from typing import Any

SEED_MODULUS = 2**31 - 1


def derive_seed(seed: int, *parts: Any) -> int:
    """A seed in [0, 2**31 - 1) from `seed` and `parts` (e.g. a trial id), stable across
    processes and machines (sha256, not Python's salted `hash`)."""
    text = "/".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % SEED_MODULUS


def set_op_determinism(enabled: bool) -> None:
    """Turns TensorFlow's op determinism on or off for this process (it is global)."""
    import tensorflow as tf

    if enabled:
        tf.config.experimental.enable_op_determinism()
    else:
        from vidrec.core import compat

        compat.disable_op_determinism()


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras with `seed`; op determinism on or off.

    Call before building a model (its initial weights draw from these seeds).
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    set_op_determinism(deterministic)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """The cores this process may use (its CPU affinity where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def environment(deterministic: bool) -> dict[str, Any]:
    """What bit-identical reruns depend on beyond the seed: versions, CPU, oneDNN, threads.

    A flat dict of scalars, the same on every call in one process on one machine.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu) or {}
        gpu_names.append(str(details.get("device_name", gpu.name)))
    return {
        "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu": _cpu_model(), "cores": cores(),
        "gpus": ", ".join(gpu_names) or "none",
        # TensorFlow's default is on for x86 Linux builds; TF_ENABLE_ONEDNN_OPTS=0 turns it off.
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "op_determinism": bool(deterministic),
    }
