"""Paired significance tests of two classifiers on the same test videos, and Holm's adjustment.

Pure numpy/scipy. McNemar's exact test treats every discordant video as an independent
fair coin, so several clips of one film that a model gets right together count as several
pieces of evidence. `cluster_permutation_test` is the paired test that respects films: it
sums A-right-minus-B-right within each film and, under the null, flips the sign of each
film's sum independently (a sign-flip permutation test). Over training seeds too:
`report.stats.two_level.seed_permutation_test` flips (seed, film) cells.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
from scipy import stats as scipy_stats

from report.stats.resampling import as_pair, check_length, cluster_codes

EXACT_MAX_CLUSTERS = 16  # 2^16 sign patterns: exact enumeration is still cheap
_PERMUTATION_CHUNK = 1000  # random sign flips per batch, bounds memory at many films


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
