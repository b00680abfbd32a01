"""Every metric of the trainer in one place.

* what `model.compile` tracks during training (`compile_metrics`);
* the same metrics as sums over batches (`batch_sums`, `logs_from_sums`): the
  multi-worker loop's training step and validation use them, so their logs
  carry the keys `model.fit` writes (loss, accuracy, top5 from 5 classes on);
* clip- and video-level metrics of an evaluation (`score`, as the eval file's
  `vidrec.core.eval_file.Scores`): a video's prediction is the mean softmax of its clips.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from vidrec.core.eval_file import TOP_K, EvalVideo, Scores, topk_hits

__all__ = ["SUMS", "TOP_K", "batch_sums", "compile_metrics", "compute_metrics",
           "logs_from_sums", "score"]
SUMS = ("loss", "correct", "top5", "count")


def compile_metrics(num_classes: int) -> list[Any]:
    """`model.compile` metrics: accuracy, and top-5 ("top5") when there are >= 5 classes."""
    metrics: list[Any] = ["accuracy"]
    if num_classes >= TOP_K:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=TOP_K, name="top5"))
    return metrics


def batch_sums(labels: tf.Tensor, probs: tf.Tensor, num_classes: int) -> tf.Tensor:
    """`float32 [4]` (SUMS): summed cross-entropy, top-1 hits, top-5 hits, examples."""
    labels = tf.cast(labels, tf.int32)
    probs = tf.cast(probs, tf.float32)
    loss = keras.losses.sparse_categorical_crossentropy(labels, probs)
    hit1 = tf.cast(tf.equal(tf.argmax(probs, axis=-1, output_type=tf.int32), labels), tf.float32)
    hit5 = tf.cast(tf.math.in_top_k(labels, probs, min(TOP_K, num_classes)), tf.float32)
    return tf.stack([tf.reduce_sum(loss), tf.reduce_sum(hit1), tf.reduce_sum(hit5),
                     tf.cast(tf.size(labels), tf.float32)])


def logs_from_sums(sums: np.ndarray, num_classes: int, prefix: str = "") -> dict[str, float]:
    """{"loss", "accuracy", ["top5"]} (with `prefix`) from summed SUMS, as `compile_metrics`."""
    loss, correct, top5, count = (float(v) for v in sums)
    count = max(count, 1.0)
    logs = {f"{prefix}loss": loss / count, f"{prefix}accuracy": correct / count}
    if num_classes >= TOP_K:
        logs[f"{prefix}top5"] = top5 / count
    return logs


def compute_metrics(clip_probs: np.ndarray, clip_labels: np.ndarray,
                    clip_video_ids: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """`score` as the eval file writes it: a dict (`Scores.to_dict`)."""
    return score(clip_probs, clip_labels, clip_video_ids, classes).to_dict()


def score(clip_probs: np.ndarray, clip_labels: np.ndarray, clip_video_ids: Sequence[str],
          classes: Sequence[str]) -> Scores:
    """Clip- and video-level metrics from clip predictions (pure numpy).

    Args:
      clip_probs: `float [N, C]` softmax per clip.
      clip_labels: `int [N]` true class per clip.
      clip_video_ids: `[N]` video id per clip (str or bytes).
      classes: the C class names.

    Returns:
      `Scores`: clip_top1, clip_top5, video_top1, video_top5 (top-min(5, C)),
      mean_class_accuracy, per_class_accuracy {class: float} (video level; NaN-free:
      classes without videos are left out of the mean and reported as null),
      confusion_matrix `int [C, C]` (rows true, cols predicted, video level),
      num_clips, num_videos, videos (`EvalVideo`s: id, label, predicted, probabilities)
      sorted by id.
    """
    probs = np.asarray(clip_probs, dtype=np.float64)
    labels = np.asarray(clip_labels, dtype=np.int64)
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in clip_video_ids]
    c = len(classes)
    if probs.ndim != 2 or probs.shape[1] != c or not len(labels) == len(probs) == len(ids):
        raise ValueError(f"expected probs [N, {c}], labels [N], ids [N]; got {probs.shape}, "
                         f"{labels.shape}, {len(ids)}")
    by_video: dict[str, list[int]] = {}
    for n, vid in enumerate(ids):
        by_video.setdefault(vid, []).append(n)
    videos, v_probs, v_labels = [], [], []
    for vid in sorted(by_video):
        rows = by_video[vid]
        if len(set(labels[rows].tolist())) != 1:
            raise ValueError(f"video {vid!r} has clips with different labels")
        p = probs[rows].mean(axis=0)
        v_probs.append(p)
        v_labels.append(int(labels[rows[0]]))
        videos.append(EvalVideo(vid, classes[v_labels[-1]], classes[int(np.argmax(p))],
                                [round(float(x), 6) for x in p]))
    v_probs_a, v_labels_a = np.array(v_probs).reshape(-1, c), np.array(v_labels, dtype=np.int64)
    v_pred = v_probs_a.argmax(axis=1)
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (v_labels_a, v_pred), 1)
    per_class = {}
    for k, name in enumerate(classes):
        total = confusion[k].sum()
        per_class[name] = float(confusion[k, k] / total) if total else None
    present = [v for v in per_class.values() if v is not None]
    return Scores(
        clip_top1=float(topk_hits(labels, probs, 1).mean()) if len(probs) else 0.0,
        clip_top5=float(topk_hits(labels, probs, TOP_K).mean()) if len(probs) else 0.0,
        video_top1=float((v_pred == v_labels_a).mean()) if len(videos) else 0.0,
        video_top5=float(topk_hits(v_labels_a, v_probs_a, TOP_K).mean()) if videos else 0.0,
        mean_class_accuracy=float(np.mean(present)) if present else 0.0,
        per_class_accuracy=per_class,
        confusion_matrix=confusion.tolist(),
        num_clips=int(len(probs)),
        num_videos=len(videos),
        videos=tuple(videos),
    )
