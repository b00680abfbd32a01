"""Statistics for comparing classifiers evaluated on the same test videos.

Pure numpy/scipy. Every interval is a percentile bootstrap over test videos:
videos are resampled with replacement, so the interval reflects how much the
accuracy would move on another test set of the same size drawn the same way.
Paired statistics reuse one set of resampled indices for both models, which is
what makes them paired.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

DEFAULT_RESAMPLES = 2000
DEFAULT_ALPHA = 0.05


def _as_bool(x: Sequence[bool] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: need at least one video")
    return arr.astype(bool)


def resample_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap indices: int64 [n_resamples, n], each row drawn with replacement."""
    if n < 1:
        raise ValueError(f"need at least one item to resample, got n={n}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[float, float, float]:
    """Accuracy and its percentile bootstrap confidence interval.

    Args:
      correct: bool [N], one entry per test video: was it classified right.
      n_resamples: bootstrap resamples.
      seed: random seed; the same seed and N give the same resamples.
      alpha: 1 - confidence level (0.05 for a 95% interval).

    Returns:
      (accuracy, lower, upper), all fractions in [0, 1].
    """
    c = _as_bool(correct, "correct")
    idx = resample_indices(c.size, n_resamples, seed)
    lo, hi = _interval(c[idx].mean(axis=1), alpha)
    return float(c.mean()), lo, hi


def paired_bootstrap_diff(
    a_correct: Sequence[bool] | np.ndarray,
    b_correct: Sequence[bool] | np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[float, float, float]:
    """Difference in accuracy (A - B) on the same videos, with a paired bootstrap CI.

    Args:
      a_correct: bool [N], model A right on video i.
      b_correct: bool [N], model B right on the same video i.
      n_resamples: bootstrap resamples.
      seed: random seed.
      alpha: 1 - confidence level.

    Returns:
      (difference, lower, upper) as fractions in [-1, 1].
    """
    a = _as_bool(a_correct, "a_correct")
    b = _as_bool(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    d = a.astype(np.float64) - b.astype(np.float64)
    idx = resample_indices(d.size, n_resamples, seed)
    lo, hi = _interval(d[idx].mean(axis=1), alpha)
    return float(d.mean()), lo, hi


def mcnemar_exact(
    a_correct: Sequence[bool] | np.ndarray, b_correct: Sequence[bool] | np.ndarray
) -> dict:
    """Exact (binomial) McNemar test of two classifiers on the same videos.

    Only discordant videos carry information: b = A right and B wrong,
    c = A wrong and B right. Under the null of equal accuracy each discordant
    video is a fair coin, so p = two-sided binomial test of b out of b + c.

    Args:
      a_correct: bool [N].
      b_correct: bool [N].

    Returns:
      {"b": int, "c": int, "p_value": float}; p_value is 1.0 when b + c = 0.
    """
    a = _as_bool(a_correct, "a_correct")
    b = _as_bool(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    n_b = int(np.sum(a & ~b))
    n_c = int(np.sum(~a & b))
    if n_b + n_c == 0:
        p = 1.0
    else:
        p = float(scipy_stats.binomtest(n_b, n_b + n_c, 0.5, alternative="two-sided").pvalue)
    return {"b": n_b, "c": n_c, "p_value": min(p, 1.0)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def topk_correct(labels: np.ndarray, probabilities: np.ndarray, k: int) -> np.ndarray:
    """bool [N]: is the true label among the k most probable classes.

    Args:
      labels: int [N] true class indices.
      probabilities: float [N, K] class scores.
      k: how many top classes count; capped at K.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    k = min(k, probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return np.any(top == labels[:, None], axis=1)


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
) -> tuple[float, float, float]:
    """Mean class accuracy with a bootstrap CI over videos.

    Args:
      labels: int [N]; predicted: int [N]; num_classes: K.
      n_resamples, seed, alpha: as in `bootstrap_ci`.

    Returns:
      (mean class accuracy, lower, upper).
    """
    lab = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predicted, dtype=np.int64)
    if lab.size == 0 or lab.shape != pred.shape:
        raise ValueError(f"labels and predicted must be non-empty and equal length, "
                         f"got {lab.size} and {pred.size}")
    idx = resample_indices(lab.size, n_resamples, seed)
    rows = _mean_class_accuracy_rows(lab[idx], pred[idx], num_classes)
    lo, hi = _interval(rows, alpha)
    return mean_class_accuracy(lab, pred, num_classes), lo, hi


def accuracy_subset(
    labels: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    subset: Sequence[int],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> dict:
    """Accuracy on the videos whose true class is in `subset`, with a bootstrap CI.

    A wrong prediction counts as wrong even when it names another subset class.

    Args:
      labels: int [N] true classes; predicted: int [N].
      subset: class indices to keep.
      n_resamples, seed, alpha: as in `bootstrap_ci`.

    Returns:
      {"n": videos in the subset, "value", "lo", "hi"}; values are NaN when n = 0.
    """
    lab = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predicted, dtype=np.int64)
    keep = np.isin(lab, np.asarray(list(subset), dtype=np.int64))
    n = int(keep.sum())
    if n == 0:
        return {"n": 0, "value": float("nan"), "lo": float("nan"), "hi": float("nan")}
    value, lo, hi = bootstrap_ci(lab[keep] == pred[keep], n_resamples, seed, alpha)
    return {"n": n, "value": value, "lo": lo, "hi": hi}
