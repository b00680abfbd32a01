"""Statistics over training seeds and test films: correctness as bool [S, N] (S seeds x N videos).

Pure numpy, built on `report.stats.resampling` and `report.stats.intervals`. A model trained under
S seeds was scored S times on the same N test videos; two sources of randomness move
its accuracy: which test films were drawn (`resampling.cluster_weights`) and which
training seeds. Every interval here is a TWO-LEVEL paired bootstrap: each resample
draws S seeds with replacement and the test films (each film with all its clips), the
same draws for every model; a model's resampled accuracy is the mean over the drawn
seeds of its film-weighted accuracy. The film weights are drawn exactly as
`intervals.bootstrap_ci` draws them (same seed, same weights); the seeds from a generator
of their own (`SEED_STREAM`), so with one seed, or seeds that all scored alike, every
interval EQUALS the film-only one: sums of 0/1 (or -1/0/1) are exact integers in
float64, summed over the drawn seeds before the one division.

A 1-D input is one seed (S = 1). `seed_permutation_test` flips the signs of (seed,
film) cells; with one seed it is `significance.cluster_permutation_test`. How much of a
difference is seeds and how much films, and how often a model wins: `report.stats.seed_variance`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable, Sequence

import numpy as np

from report.stats.intervals import ci_dict, mean_over_present
from report.stats.resampling import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    check_length,
    cluster_codes,
    cluster_weights,
    interval,
)
from report.stats.significance import sign_flip_test

SEED_STREAM = 1  # seeds draw from default_rng([seed, SEED_STREAM]), films from default_rng(seed)


def as_seeds(correct: Sequence | np.ndarray, name: str = "correct") -> np.ndarray:
    """bool [S, N] from [S, N] or [N] (one seed): non-empty."""
    arr = np.asarray(correct)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be [seeds, videos] (or [videos]) and non-empty, got "
                         f"shape {arr.shape}")
    return arr.astype(bool)


def as_seed_pair(a: Sequence | np.ndarray, b: Sequence | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): bool [S, N] each, two models on the same seeds and videos."""
    a, b = as_seeds(a, "a_correct"), as_seeds(b, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in shape (seeds, videos): {a.shape} vs "
                         f"{b.shape}")
    return a, b


@dataclasses.dataclass(frozen=True)
class Draws:
    """One set of two-level resamples, shared by every model of a comparison.

    Attributes:
      weights: float [R, N] film weights (`resampling.cluster_weights`).
      seeds: int [R, S] the seed indices drawn in each resample.
    """

    weights: np.ndarray
    seeds: np.ndarray

    @property
    def n_seeds(self) -> int:
        return self.seeds.shape[1]

    def numerators(self, values: np.ndarray) -> np.ndarray:
        """float [R, S]: film-weighted sums of values [S, N] (exact for integer values)."""
        return self.weights @ np.asarray(values, dtype=np.float64).T

    def picked(self, numerators: np.ndarray) -> np.ndarray:
        """float [R]: numerators [R, S] summed over each resample's drawn seeds."""
        rows = np.arange(numerators.shape[0])[:, None]
        return numerators[rows, self.seeds].sum(axis=1)

    def denominators(self) -> np.ndarray:
        """float [R]: S x the resample's weighted video count."""
        return self.n_seeds * self.weights.sum(axis=1)

    def means(self, values: np.ndarray) -> np.ndarray:
        """float [R]: the two-level mean of values [S, N] (accuracy, or a paired difference)."""
        return self.picked(self.numerators(values)) / self.denominators()


def draws(clusters: Sequence[Hashable], n_seeds: int, n_resamples: int = DEFAULT_RESAMPLES,
          seed: int = 0) -> Draws:
    """The two-level resamples: films as `cluster_weights(clusters, n_resamples, seed)`, seeds
    (S with replacement per resample) from their own generator."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    weights = cluster_weights(clusters, n_resamples, seed)
    picks = np.random.default_rng([seed, SEED_STREAM]).integers(0, n_seeds,
                                                                size=(n_resamples, n_seeds))
    return Draws(weights, picks)


def draws_for(d: Draws | None, clusters: Sequence[Hashable], shape: tuple[int, int],
           n_resamples: int, seed: int) -> Draws:
    """`d` when given (checked against the data's [S, N]), else new draws."""
    if d is None:
        check_length(clusters, shape[1])
        return draws(clusters, shape[0], n_resamples, seed)
    if (d.n_seeds, d.weights.shape[1]) != shape:
        raise ValueError(f"draws are for {d.n_seeds} seeds x {d.weights.shape[1]} videos, the "
                         f"data is {shape[0]} x {shape[1]}")
    return d


def seed_bootstrap_ci(correct: Sequence | np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                      seed: int = 0, alpha: float = DEFAULT_ALPHA, *,
                      clusters: Sequence[Hashable], draws: Draws | None = None
                      ) -> tuple[float, float, float]:
    """Accuracy (mean over seeds) and its two-level percentile bootstrap interval.

    Args:
      correct: bool [S, N] (or [N]: one seed).
      n_resamples, seed, alpha: as in `intervals.bootstrap_ci`.
      clusters: [N] source-film ids.
      draws: resamples to reuse (the comparison's, so every model shares them).

    Returns:
      (accuracy, lower, upper); equal to `intervals.bootstrap_ci(..., clusters=...)` with one
      seed or seeds that scored alike.
    """
    c = as_seeds(correct)
    d = draws_for(draws, clusters, c.shape, n_resamples, seed)
    lo, hi = interval(d.means(c), alpha)
    return float(c.mean()), lo, hi


def seed_paired_diff(a_correct, b_correct, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                     alpha: float = DEFAULT_ALPHA, *, clusters: Sequence[Hashable],
                     draws: Draws | None = None) -> tuple[float, float, float]:
    """A − B paired by seed and video, with its two-level interval (the same seeds and films
    for both); `intervals.paired_bootstrap_diff` with one seed."""
    a, b = as_seed_pair(a_correct, b_correct)
    diff = a.astype(np.float64) - b.astype(np.float64)
    d = draws_for(draws, clusters, a.shape, n_resamples, seed)
    lo, hi = interval(d.means(diff), alpha)
    return float(diff.mean()), lo, hi


def seed_permutation_test(a_correct, b_correct, clusters: Sequence[Hashable],
                          n_permutations: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Paired sign-flip permutation test over (seed, film) cells.

    Cell (s, f) sums A-right-minus-B-right over film f's videos under seed s; under the
    null each cell's sign is a fair coin (`significance.sign_flip_test`: exact at <= 16
    informative cells). With one seed this is `significance.cluster_permutation_test`.

    Returns:
      {"n_clusters": cells S x K, "n_films": K, "n_seeds": S, "n_informative", "exact",
      "statistic", "p_value"}.
    """
    a, b = as_seed_pair(a_correct, b_correct)
    check_length(clusters, a.shape[1])
    codes = cluster_codes(clusters)
    k = int(codes.max()) + 1
    s = a.shape[0]
    cells = (np.arange(s)[:, None] * k + codes[None]).ravel()
    sums = np.bincount(cells, weights=(a.astype(np.int64) - b.astype(np.int64)).ravel(),
                       minlength=s * k)
    return {"n_clusters": s * k, "n_films": k, "n_seeds": s,
            **sign_flip_test(sums, n_permutations, seed)}


def seed_mean_class_accuracy(labels, predicted, num_classes: int,
                             n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                             alpha: float = DEFAULT_ALPHA, *, clusters: Sequence[Hashable],
                             draws: Draws | None = None) -> tuple[float, float, float]:
    """Mean class accuracy (mean over seeds) with its two-level interval.

    Per-class hits are summed over the drawn seeds and film-weighted, the class totals
    scaled by S; with one seed `intervals.bootstrap_mean_class_accuracy(..., clusters=...)`.

    Args:
      labels: int [N] true classes; predicted: int [S, N] (or [N]); num_classes: K.
    """
    lab = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predicted, dtype=np.int64)
    pred = pred[None] if pred.ndim == 1 else pred
    if lab.size == 0 or pred.shape[1] != lab.size:
        raise ValueError(f"labels and predicted must be non-empty and [N], [S, N], got "
                         f"{lab.shape} and {pred.shape}")
    s = pred.shape[0]
    d = draws_for(draws, clusters, pred.shape, n_resamples, seed)
    onehot = np.zeros((lab.size, num_classes))
    onehot[np.arange(lab.size), lab] = 1.0
    right = (pred == lab[None]).astype(np.float64)  # [S, N]
    hits = np.stack([d.weights @ (onehot * r[:, None]) for r in right], axis=1)  # [R, S, K]
    rows = np.arange(d.seeds.shape[0])[:, None]
    picked = hits[rows, d.seeds].sum(axis=1)  # [R, K], exact integers
    samples = mean_over_present(picked, s * (d.weights @ onehot))
    value = mean_over_present((right @ onehot).sum(axis=0)[None],
                              s * onehot.sum(axis=0)[None])[0]
    return float(value), *interval(samples, alpha)


def seed_accuracy_subset(labels, correct, subset: Sequence[int],
                         n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                         alpha: float = DEFAULT_ALPHA, *, clusters: Sequence[Hashable]
                         ) -> dict[str, Any]:
    """Accuracy on the videos whose true class is in `subset`, two-level over seeds and the
    kept videos' films; `intervals.accuracy_subset(..., clusters=...)` with one seed.

    Args:
      labels: int [N]; correct: bool [S, N] (or [N]); subset: class indices kept.

    Returns:
      {"n": videos in the subset, "value", "lo", "hi"}; NaNs when n = 0.
    """
    lab = np.asarray(labels, dtype=np.int64)
    c = as_seeds(correct)
    check_length(clusters, lab.size)
    keep = np.isin(lab, np.asarray(list(subset), dtype=np.int64))
    n = int(keep.sum())
    if n == 0:
        return {"n": 0, **ci_dict((float("nan"),) * 3)}
    kept = [f for f, k in zip(clusters, keep) if k]
    return {"n": n, **ci_dict(seed_bootstrap_ci(c[:, keep], n_resamples, seed, alpha,
                                                clusters=kept))}
