"""Writing to TensorBoard: an event file per call, scalars and images at step 0, the run's
log dir, and one stderr line for an extra that could not be written (never fatal).

What is written is named in `trainer.hparams` (sessions and metrics) and
`trainer.pictures` (what the model sees).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator, Mapping

import numpy as np
import tensorflow as tf

from trainer.config import TrainConfig


@contextlib.contextmanager
def writing(log_dir: str) -> Iterator[None]:
    """Summaries written inside go to one new event file in `log_dir` (local or gs://)."""
    tf.io.gfile.makedirs(log_dir)
    writer = tf.summary.create_file_writer(log_dir)
    try:
        with writer.as_default():
            yield
    finally:
        writer.close()


def metrics(values: Mapping[str, float]) -> None:
    """Metrics (tags from `trainer.hparams.METRIC_TAGS`): scalars at step 0."""
    for tag, value in values.items():
        tf.summary.scalar(tag, float(value), step=0)


def run_log_dir(cfg: TrainConfig, summary: Mapping[str, Any] | None, run_dir: str) -> str:
    """The run's log dir: train_summary.json's (as written, else relative to the run dir,
    whichever exists), else the config's."""
    log_dir = (summary or {}).get("log_dir") or cfg.log_dir
    candidates = [log_dir]
    if "://" not in log_dir and not os.path.isabs(log_dir):
        candidates.append(f"{run_dir.rstrip('/')}/{log_dir}")
    return next((d for d in candidates if tf.io.gfile.isdir(d)), log_dir)


def warn(who: str, what: str, err: BaseException) -> None:
    """One line on stderr: a TensorBoard extra that could not be written (never fatal)."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    print(f"{who}: no {what} in TensorBoard: {first}", file=sys.stderr, flush=True)


def images(pictures: Mapping[str, tuple[np.ndarray, str]]) -> None:
    """Pictures as TensorBoard images at step 0: {tag: (uint8 [H, W, 3], description)}."""
    for tag, (picture, description) in pictures.items():
        tf.summary.image(tag, picture[np.newaxis], step=0, description=description)
