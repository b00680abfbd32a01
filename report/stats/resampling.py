"""How the bootstrap redraws a test set: its videos, or its source films.

Pure numpy. Without `clusters` the test videos are resampled with replacement,
so an interval reflects how much the accuracy would move on another test set
of the same size drawn the same way. With `clusters` (one source-film id per
video) the test FILMS are resampled instead, each drawn film bringing all of
its clips: clips cut from one film share actors, sets and camera work, so they
are not independent and a per-video bootstrap would give intervals that are
too narrow. Each video then counts as often as its film was drawn
(`cluster_weights`). Paired statistics reuse one set of resampled videos or
films for both models, which is what makes them paired.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_ALPHA = 0.05
SIGNIFICANCE = 0.05  # the level an (adjusted) test must reach for the answer to say "yes"


def as_bool(x: Sequence[bool] | np.ndarray, name: str) -> np.ndarray:
    """bool [N] from a non-empty 1-D sequence; `name` is the argument's name in the error."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: need at least one video")
    return arr.astype(bool)


def as_pair(a_correct: Sequence[bool] | np.ndarray,
            b_correct: Sequence[bool] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): bool [N] each, two models' correctness on the same videos."""
    a = as_bool(a_correct, "a_correct")
    b = as_bool(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    return a, b


def check_length(clusters: Sequence[Hashable], n: int) -> None:
    """Raises ValueError unless there is one cluster id per video."""
    if len(clusters) != n:
        raise ValueError(f"clusters has {len(clusters)} entries but the data has {n} videos")


def resample_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap indices: int64 [n_resamples, n], each row drawn with replacement."""
    if n < 1:
        raise ValueError(f"need at least one item to resample, got n={n}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def cluster_codes(clusters: Sequence[Hashable]) -> np.ndarray:
    """int64 [N] cluster ids as 0..K-1 in order of first appearance."""
    ids = list(clusters)
    if not ids:
        raise ValueError(f"clusters is empty: need at least one video, got {clusters!r}")
    lookup: dict[Hashable, int] = {}
    return np.array([lookup.setdefault(c, len(lookup)) for c in ids], dtype=np.int64)


def cluster_weights(
    clusters: Sequence[Hashable], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Cluster bootstrap weights: float64 [n_resamples, N].

    Each resample draws K clusters with replacement (K = distinct ids); video i
    weighs as many times as its cluster was drawn, so a row sums to the number
    of videos in the drawn clusters, and its per-cluster counts sum to K.

    Args:
      clusters: [N] hashable ids (film names), one per video.
      n_resamples: bootstrap resamples R.
      seed: random seed; the same seed and clusters give the same weights.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    codes = cluster_codes(clusters)
    k = int(codes.max()) + 1
    draws = np.random.default_rng(seed).integers(0, k, size=(n_resamples, k))
    # One bincount over (row, cluster) pairs instead of a Python loop over resamples.
    flat = (np.arange(n_resamples)[:, None] * k + draws).ravel()
    counts = np.bincount(flat, minlength=n_resamples * k).reshape(n_resamples, k)
    return counts[:, codes].astype(np.float64)


def resampled_means(values: np.ndarray, n_resamples: int, seed: int,
                    clusters: Sequence[Hashable] | None) -> np.ndarray:
    """float [R]: the mean of values [N] in each of R resampled test sets.

    Args:
      values: [N] one number per video (1/0 for right/wrong, or a paired difference).
      n_resamples: R.
      seed: random seed.
      clusters: None to resample videos, else [N] film ids to resample films.
    """
    if clusters is None:
        return values[resample_indices(values.size, n_resamples, seed)].mean(axis=1)
    check_length(clusters, values.size)
    weights = cluster_weights(clusters, n_resamples, seed)
    return weights @ values.astype(np.float64) / weights.sum(axis=1)


def interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    """(lower, upper) percentile interval of the finite samples; NaNs when there are none."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)
