"""Seeds against films: a model's spread over seeds, where the variance comes from, who wins.

Pure numpy/scipy, on correctness bool [S, N] (S seeds x N videos) and the comparison's
two-level resamples (`report.stats.two_level.Draws`): each run's accuracy per seed
(`seed_spread`), its std over seeds against its std over test films (`variance_split`),
the seeds a difference would likely need (`seeds_needed`), the chance that A beats B on a
new seed (`p_a_beats_b`) and how often each model ranks first (`rank_first`).
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

from report.stats.intervals import ci_dict
from report.stats.resampling import DEFAULT_ALPHA, DEFAULT_RESAMPLES, interval
from report.stats.two_level import Draws, as_seed_pair, as_seeds, draws_for

POWER = 0.8  # the power `seeds_needed` plans for
MIN_SEEDS = 3  # recommended when seed variance is unmeasured


def _share_above(x: np.ndarray, y: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Share of x > y (ties count 1/2) along `axis`."""
    return np.mean((x > y) + 0.5 * (x == y), axis=axis)


def p_a_beats_b(a_correct, b_correct, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                alpha: float = DEFAULT_ALPHA, *, clusters: Sequence[Hashable],
                draws: Draws | None = None) -> dict[str, float]:
    """P(A > B): how likely A beats B on a new training seed (paired by seed).

    The share of seeds whose accuracy is higher for A than for B (ties 1/2), with its
    two-level interval: in each resample, the share among the drawn seeds under the
    drawn films. One seed gives 0, 1/2 or 1: a single draw.

    Returns:
      {"value", "lo", "hi"}.
    """
    a, b = as_seed_pair(a_correct, b_correct)
    d = draws_for(draws, clusters, a.shape, n_resamples, seed)
    value = float(_share_above(a.sum(axis=1), b.sum(axis=1)))  # same N: compare counts
    rows = np.arange(d.seeds.shape[0])[:, None]
    num_a, num_b = d.numerators(a)[rows, d.seeds], d.numerators(b)[rows, d.seeds]
    return ci_dict((value, *interval(_share_above(num_a, num_b, axis=1), alpha)))


def rank_first(correct: Mapping[str, Any], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
               *, clusters: Sequence[Hashable], draws: Draws | None = None) -> dict[str, float]:
    """How often each model has the highest two-level accuracy over the resamples.

    Ties share the resample equally, so the shares sum to 1.

    Args:
      correct: model name -> bool [S, N], all on the same seeds and videos.

    Returns:
      {name: share of resamples in which it ranks first}.
    """
    names = list(correct)
    arrays = [as_seeds(correct[n], n) for n in names]
    d = draws_for(draws, clusters, arrays[0].shape, n_resamples, seed)
    totals = np.stack([d.picked(d.numerators(c)) for c in arrays])  # [M, R], one denominator
    top = totals == totals.max(axis=0)
    shares = (top / top.sum(axis=0)).mean(axis=1)
    return {n: float(v) for n, v in zip(names, shares)}


def seed_spread(correct, seeds: Sequence[int]) -> dict[str, Any]:
    """Each seed's accuracy and their mean, std (ddof=1; None with one seed), min and max.

    Args:
      correct: bool [S, N]; seeds: the S seed numbers, in order.
    """
    c = as_seeds(correct)
    if len(seeds) != c.shape[0]:
        raise ValueError(f"{len(seeds)} seed numbers for {c.shape[0]} seeds")
    hits = c.sum(axis=1).astype(np.float64)  # exact counts: equal seeds give a std of 0
    n = c.shape[1]
    return {"per_seed": {str(s): float(h / n) for s, h in zip(seeds, hits)},
            "mean": float(hits.sum() / (hits.size * n)),
            "std": float(hits.std(ddof=1) / n) if hits.size > 1 else None,
            "min": float(hits.min() / n), "max": float(hits.max() / n)}


def variance_split(values, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, *,
                   clusters: Sequence[Hashable], draws: Draws | None = None
                   ) -> dict[str, float | None]:
    """Seed variance against film variance of an accuracy or a paired difference.

    Args:
      values: [S, N] per seed and video: 1/0 correctness, or A-right minus B-right.

    Returns:
      {"seed_std": std over seeds (ddof=1) of the per-seed mean (None with one seed),
      "film_std": std over film resamples (all seeds kept) of the seed-mean}.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[None] if v.ndim == 1 else v
    d = draws_for(draws, clusters, v.shape, n_resamples, seed)
    sums = v.sum(axis=1)  # integers for 0/1 or -1/0/1 values: equal seeds give a std of 0
    film = d.numerators(v).sum(axis=1) / d.denominators()
    return {"seed_std": float(sums.std(ddof=1) / v.shape[1]) if v.shape[0] > 1 else None,
            "film_std": float(film.std(ddof=1)) if film.size > 1 else 0.0}


def seeds_needed(diff: float, seed_std: float | None, film_std: float, n_seeds: int,
                 alpha: float = DEFAULT_ALPHA, power: float = POWER) -> dict[str, Any]:
    """How many seeds per model would likely show a difference as large as `diff`.

    The seed-mean difference over S seeds on these test films varies by the film draw
    (variance V_f = film_std², which more seeds cannot remove) and by the seed draw
    (sigma² / S, sigma = seed_std). Under a normal approximation a two-sided level-alpha
    test detects a true difference Delta with the given power when
    |Delta| >= z * sqrt(V_f + sigma² / S), z = z_{1-alpha/2} + z_{power} (1.96 + 0.84).
    Solving for S with Delta = the observed difference:

        S >= sigma² / (Delta² / z² - V_f)     when Delta² / z² > V_f;

    when Delta² / z² <= V_f the film variance alone covers the difference and no number
    of seeds will do: more test films are needed. The estimate plugs in the observed
    difference and variances and ignores the Holm adjustment, so it is a rough guide.

    Returns:
      {"reason", "n_seeds" (int or None), "z"}. reason: "unmeasured" (one seed: no seed
      variance; n_seeds is `MIN_SEEDS`), "films" (more films, not seeds), "seeds" (about
      n_seeds per model) or "borderline" (the seeds at hand should already suffice).
    """
    z = float(scipy_stats.norm.ppf(1 - alpha / 2) + scipy_stats.norm.ppf(power))
    if n_seeds < 2 or seed_std is None:
        return {"reason": "unmeasured", "n_seeds": MIN_SEEDS, "z": z}
    room = (diff / z) ** 2 - film_std ** 2
    if room <= 0:
        return {"reason": "films", "n_seeds": None, "z": z}
    n = max(2, math.ceil(seed_std ** 2 / room - 1e-12))
    return {"reason": "seeds" if n > n_seeds else "borderline", "n_seeds": n, "z": z}
