"""A run's per-epoch training curves: its TensorBoard logs, else train_summary.json's history.

Reads the Keras TensorBoard layout ``<log_dir>/train`` and ``<log_dir>/validation``
under ``train_summary["log_dir"]`` (absolute, gs://, or relative to the run dir)
through `tf.io.gfile`, so gs:// logs work.
"""

from __future__ import annotations

import posixpath

import tensorflow as tf

from report.runs.load import Run
from vidrec.core.run_folder import join

# Keras names the accuracy metric after what was passed to compile().
ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "acc")

Curves = dict[str, tuple[list[int], list[float]]]


def _tensorboard_dir_scalars(directory: str) -> dict[str, tuple[list[int], list[float]]]:
    """epoch_* scalars of one TensorBoard run directory: name -> (epochs, values)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(directory, size_guidance={ea.TENSORS: 0, ea.SCALARS: 0})
    acc.Reload()
    out: dict[str, tuple[list[int], list[float]]] = {}
    tags = acc.Tags()
    for tag in tags.get("tensors", []):
        if tag.startswith("epoch_"):
            events = acc.Tensors(tag)
            out[tag[len("epoch_"):]] = ([int(e.step) for e in events],
                                        [float(tf.make_ndarray(e.tensor_proto)) for e in events])
    for tag in tags.get("scalars", []):  # summaries written by TF1-style writers
        if tag.startswith("epoch_") and tag[len("epoch_"):] not in out:
            events = acc.Scalars(tag)
            out[tag[len("epoch_"):]] = ([int(e.step) for e in events],
                                        [float(e.value) for e in events])
    return out


def _has_events(directory: str) -> bool:
    """Whether `directory` holds TensorBoard event files."""
    return tf.io.gfile.isdir(directory) and bool(
        tf.io.gfile.glob(join(directory, "events.out.tfevents*")))


def _tensorboard_curves(log_dir: str) -> Curves:
    """Curves of ``log_dir/train`` and ``log_dir/validation`` (the latter prefixed "val_")."""
    curves: Curves = {}
    for sub, prefix in (("train", ""), ("validation", "val_")):
        directory = join(log_dir, sub)
        if _has_events(directory):
            for k, v in _tensorboard_dir_scalars(directory).items():
                curves[prefix + k] = v
    return curves


def log_dirs(run: Run) -> list[str]:
    """Where the run's TensorBoard logs may be: train_summary.json's log_dir as written,
    then (a relative one) under the run dir; [] when the run records none. A seed group's
    are its first seed's."""
    run = run.seed_runs[0]
    log_dir = (run.summary or {}).get("log_dir")
    if not log_dir:
        return []
    candidates = [log_dir]
    if not log_dir.startswith("gs://") and not posixpath.isabs(log_dir):
        candidates.append(join(run.run_dir, log_dir))
    return candidates


def read_curves(run: Run) -> tuple[Curves, str]:
    """Per-epoch training curves of a run.

    Reads the Keras TensorBoard layout ``<log_dir>/train`` and
    ``<log_dir>/validation``; falls back to train_summary.json's history. A seed
    group's curves are its first seed's.

    Returns:
      (curves, source): curves maps "loss", "accuracy", "val_loss",
      "val_accuracy" (whichever exist) to (epochs, values); source is
      "tensorboard", "history" or "none".
    """
    summary = run.seed_runs[0].summary or {}
    for base in log_dirs(run):
        curves = _tensorboard_curves(base)
        if curves:
            return _normalise(curves), "tensorboard"
    history = summary.get("history") or {}
    curves = {k: (list(range(len(v))), [float(x) for x in v])
              for k, v in history.items() if isinstance(v, list)}
    return (_normalise(curves), "history") if curves else ({}, "none")


def _normalise(curves: Curves) -> Curves:
    """Rename the accuracy metric to "accuracy"/"val_accuracy" whatever Keras called it."""
    out = dict(curves)
    for prefix in ("", "val_"):
        if prefix + "accuracy" in out:
            continue
        for key in ACCURACY_KEYS[1:]:
            if prefix + key in out:
                out[prefix + "accuracy"] = out[prefix + key]
                break
    return out
