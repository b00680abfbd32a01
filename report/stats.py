"""Statistics for comparing classifiers evaluated on the same test videos.

Pure numpy/scipy. Every interval is a percentile bootstrap over the test
videos, or over their source films when `clusters` is given (`report.resampling`
says why films: clips of one film are not independent).

McNemar's exact test treats every discordant video as an independent fair coin,
so several clips of one film that a model gets right together count as several
pieces of evidence. `cluster_permutation_test` is the paired test that respects
films: it sums A-right-minus-B-right within each film and, under the null, flips
the sign of each film's sum independently (a sign-flip permutation test).

Models trained under several seeds: `report.seedstats` (the two-level bootstrap over
seeds and films, the permutation test over (seed, film) cells) builds on these.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
from scipy import stats as scipy_stats

from report.resampling import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    as_bool,
    as_pair,
    check_length,
    cluster_codes,
    cluster_weights,
    interval,
    resample_indices,
    resampled_means,
)

__all__ = [
    "DEFAULT_ALPHA", "DEFAULT_RESAMPLES", "EXACT_MAX_CLUSTERS", "accuracy_subset",
    "bootstrap_ci", "bootstrap_mean_class_accuracy", "ci_dict", "cluster_permutation_test",
    "cluster_weights", "holm", "mcnemar_exact", "mean_class_accuracy", "mean_over_present",
    "paired_bootstrap_diff", "resample_indices", "sign_flip_test", "topk_correct",
]

EXACT_MAX_CLUSTERS = 16  # 2^16 sign patterns: exact enumeration is still cheap
_PERMUTATION_CHUNK = 1000  # random sign flips per batch, bounds memory at many films


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
    a, b = as_pair(a_correct, b_correct)
    n_b = int(np.sum(a & ~b))
    n_c = int(np.sum(~a & b))
    if n_b + n_c == 0:
        p = 1.0
    else:
        p = float(scipy_stats.binomtest(n_b, n_b + n_c, 0.5, alternative="two-sided").pvalue)
    return {"b": n_b, "c": n_c, "p_value": min(p, 1.0)}


def cluster_permutation_test(
    a_correct: Sequence[bool] | np.ndarray,
    b_correct: Sequence[bool] | np.ndarray,
    clusters: Sequence[Hashable],
    n_permutations: int = 10000,
    seed: int = 0,
) -> dict:
    """Paired sign-flip permutation test of two classifiers, clustered by film.

    Per film f, d_f = sum over its videos of (A right - B right); T = sum_f d_f.
    Under the null of equal accuracy the sign of each film's d_f is a fair coin,
    independently across films, so p = P(|T*| >= |T|) over random sign flips.
    With at most 16 informative films (d_f != 0) all 2^m sign patterns are
    enumerated and p is exact (the observed pattern included); otherwise
    p = (hits + 1) / (n_permutations + 1) over random flips.

    Args:
      a_correct: bool [N]; b_correct: bool [N], on the same videos.
      clusters: [N] source-film ids, one per video.
      n_permutations: random sign flips when there are more than 16 informative films.
      seed: random seed for those flips.

    Returns:
      {"p_value", "n_clusters", "n_informative", "exact", "statistic": T (int)};
      p_value is 1.0 when no film has d_f != 0.
    """
    a, b = as_pair(a_correct, b_correct)
    check_length(clusters, a.size)
    codes = cluster_codes(clusters)
    k = int(codes.max()) + 1
    d = np.bincount(codes, weights=a.astype(np.int64) - b.astype(np.int64), minlength=k)
    return {"n_clusters": k, **sign_flip_test(d, n_permutations, seed)}


def sign_flip_test(cell_sums: np.ndarray, n_permutations: int = 10000, seed: int = 0) -> dict:
    """The sign-flip permutation test of independent units' summed differences.

    T = sum of the cells; under the null each cell's sign is a fair coin. With at most
    `EXACT_MAX_CLUSTERS` informative cells (sum != 0) every sign pattern is enumerated
    (exact p, the observed pattern included); otherwise p = (hits + 1) / (n + 1) over
    `n_permutations` random flips drawn with `seed`.

    Args:
      cell_sums: float or int [C], each unit's summed A-right-minus-B-right (integers).

    Returns:
      {"n_informative", "exact", "statistic": T (int), "p_value"}; p is 1.0 when no
      cell is informative.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    per_cell = np.rint(np.asarray(cell_sums, dtype=np.float64)).astype(np.int64)  # exact
    t = int(per_cell.sum())
    informative = per_cell[per_cell != 0]
    m = informative.size
    result = {"n_informative": m, "exact": m <= EXACT_MAX_CLUSTERS, "statistic": t}
    if m == 0:
        return {**result, "p_value": 1.0}
    if m <= EXACT_MAX_CLUSTERS:
        signs = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1) * 2 - 1
        return {**result, "p_value": float(np.mean(_at_least(signs @ informative, t)))}
    return {**result, "p_value": _random_flips_p(informative, t, n_permutations, seed)}


def _random_flips_p(informative: np.ndarray, t: int, n_permutations: int, seed: int) -> float:
    """(hits + 1) / (n + 1): how often n random sign flips give |T*| >= |T|."""
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_permutations, _PERMUTATION_CHUNK):
        rows = min(_PERMUTATION_CHUNK, n_permutations - start)
        signs = rng.integers(0, 2, size=(rows, informative.size), dtype=np.int8) * 2 - 1
        hits += int(np.sum(_at_least(signs @ informative, t)))
    return (hits + 1) / (n_permutations + 1)


def _at_least(t_star: np.ndarray, t: float) -> np.ndarray:
    """bool: |T*| >= |T|, with a tolerance so ties count as extreme."""
    return np.abs(t_star) >= abs(t) - 1e-9


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
