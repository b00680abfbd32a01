"""Accuracies and their bootstrap intervals, for classifiers evaluated on the same test videos.

Pure numpy. Every interval is a percentile bootstrap over the test videos, or over their
source films when `clusters` is given (`report.stats.resampling` says why films: clips of
one film are not independent). Models trained under several seeds:
`report.stats.two_level` (the two-level bootstrap over seeds and films) builds on these.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from report.stats.resampling import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    as_bool,
    as_pair,
    check_length,
    cluster_weights,
    interval,
    resample_indices,
    resampled_means,
)


def ci_dict(estimate: tuple[float, float, float]) -> dict[str, float]:
    """(value, lower, upper) -> {"value", "lo", "hi"}, as summary.json holds an interval."""
    value, lo, hi = estimate
    return {"value": value, "lo": lo, "hi": hi}


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    *,
    clusters: Sequence[Hashable] | None = None,
) -> tuple[float, float, float]:
    """Accuracy and its percentile bootstrap confidence interval.

    Args:
      correct: bool [N], one entry per test video: was it classified right.
      n_resamples: bootstrap resamples.
      seed: random seed; the same seed and N give the same resamples.
      alpha: 1 - confidence level (0.05 for a 95% interval).
      clusters: optional [N] source-film ids; when given, films are resampled
        (`cluster_weights`) instead of videos.

    Returns:
      (accuracy, lower, upper), all fractions in [0, 1].
    """
    c = as_bool(correct, "correct")
    lo, hi = interval(resampled_means(c, n_resamples, seed, clusters), alpha)
    return float(c.mean()), lo, hi


def paired_bootstrap_diff(a_correct: Sequence[bool] | np.ndarray,
                          b_correct: Sequence[bool] | np.ndarray,
                          n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                          alpha: float = DEFAULT_ALPHA, *,
                          clusters: Sequence[Hashable] | None = None
                          ) -> tuple[float, float, float]:
    """Difference in accuracy (A - B) on the same videos, with a paired bootstrap CI.

    Args:
      a_correct: bool [N], model A right on video i.
      b_correct: bool [N], model B right on the same video i.
      n_resamples, seed, alpha, clusters: as in `bootstrap_ci`; the same resampled
        videos (or films) serve both models.

    Returns:
      (difference, lower, upper) as fractions in [-1, 1].
    """
    a, b = as_pair(a_correct, b_correct)
    d = a.astype(np.float64) - b.astype(np.float64)
    lo, hi = interval(resampled_means(d, n_resamples, seed, clusters), alpha)
    return float(d.mean()), lo, hi


def mean_class_accuracy(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Mean over classes present in `labels` of the per-class accuracy.

    Args:
      labels: int [N] true classes; predicted: int [N] predicted classes.
      num_classes: K.
    """
    return float(_mean_class_accuracy_rows(
        np.asarray(labels)[None], np.asarray(predicted)[None], num_classes)[0])


def _mean_class_accuracy_rows(labels: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """float [R] mean class accuracy of each row of labels/predicted int [R, N]."""
    r = labels.shape[0]
    # One bincount over (row, class) pairs instead of a Python loop over resamples.
    flat = (np.arange(r)[:, None] * k + labels).ravel()
    totals = np.bincount(flat, minlength=r * k).reshape(r, k)
    hits = np.bincount(flat, weights=(labels == predicted).ravel().astype(np.float64),
                       minlength=r * k).reshape(r, k)
    return mean_over_present(hits, totals)


def _weighted_mean_class_accuracy(
    labels: np.ndarray, predicted: np.ndarray, k: int, weights: np.ndarray
) -> np.ndarray:
    """float [R] mean class accuracy of labels/predicted int [N] under weights [R, N]."""
    onehot = np.zeros((labels.size, k))
    onehot[np.arange(labels.size), labels] = 1.0
    totals = weights @ onehot
    hits = weights @ (onehot * (labels == predicted)[:, None])
    return mean_over_present(hits, totals)


def mean_over_present(hits: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """float [R]: per-class hits / totals [R, K] averaged over the classes with videos
    (mean class accuracy of R resamples)."""
    present = totals > 0
    per_class = np.divide(hits, totals, out=np.zeros_like(hits), where=present)
    return per_class.sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def bootstrap_mean_class_accuracy(
    labels: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    num_classes: int,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    *,
    clusters: Sequence[Hashable] | None = None,
) -> tuple[float, float, float]:
    """Mean class accuracy with a bootstrap CI over videos (or films).

    With clusters, hits and totals per class are summed with the film weights.

    Args:
      labels: int [N]; predicted: int [N]; num_classes: K.
      n_resamples, seed, alpha, clusters: as in `bootstrap_ci`.

    Returns:
      (mean class accuracy, lower, upper).
    """
    lab = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predicted, dtype=np.int64)
    if lab.size == 0 or lab.shape != pred.shape:
        raise ValueError(f"labels and predicted must be non-empty and equal length, "
                         f"got {lab.size} and {pred.size}")
    if clusters is None:
        idx = resample_indices(lab.size, n_resamples, seed)
        rows = _mean_class_accuracy_rows(lab[idx], pred[idx], num_classes)
    else:
        check_length(clusters, lab.size)
        rows = _weighted_mean_class_accuracy(
            lab, pred, num_classes, cluster_weights(clusters, n_resamples, seed))
    lo, hi = interval(rows, alpha)
    return mean_class_accuracy(lab, pred, num_classes), lo, hi


def accuracy_subset(labels: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray,
                    subset: Sequence[int], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                    alpha: float = DEFAULT_ALPHA, *,
                    clusters: Sequence[Hashable] | None = None) -> dict:
    """Accuracy on the videos whose true class is in `subset`, with a bootstrap CI.

    A wrong prediction counts as wrong even when it names another subset class.

    Args:
      labels: int [N] true classes; predicted: int [N].
      subset: class indices to keep.
      n_resamples, seed, alpha: as in `bootstrap_ci`.
      clusters: optional [N] film ids; only the films of the kept videos are resampled.

    Returns:
      {"n": videos in the subset, "value", "lo", "hi"}; values are NaN when n = 0.
    """
    lab = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predicted, dtype=np.int64)
    keep = np.isin(lab, np.asarray(list(subset), dtype=np.int64))
    kept_clusters = None
    if clusters is not None:
        check_length(clusters, lab.size)
        kept_clusters = [c for c, k in zip(clusters, keep) if k]
    n = int(keep.sum())
    if n == 0:
        return {"n": 0, **ci_dict((float("nan"),) * 3)}
    return {"n": n, **ci_dict(bootstrap_ci(lab[keep] == pred[keep], n_resamples, seed, alpha,
                                           clusters=kept_clusters))}
