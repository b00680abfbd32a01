"""Paired tests between runs on the same test videos (the headline's family:
`report.answer.questions`).

Every test resamples or permutes source films, and with several training seeds the
seeds too (`report.stats.two_level`: the two-level bootstrap, the permutation test over
(seed, film) cells), paired seed by seed; McNemar's test, which treats videos (and
seeds) as independent, is reported beside them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from report.stats import seed_variance, two_level
from report.stats.significance import holm, mcnemar_exact

if TYPE_CHECKING:
    from report.runs.load import Run


def pair_test(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, films: Sequence[str],
              n_resamples: int, seed: int, draws: two_level.Draws | None = None
              ) -> dict[str, Any]:
    """Paired comparison of two correctness arrays over the same seeds and videos.

    The difference's CI is the two-level bootstrap (seeds, then films); McNemar counts
    every (seed, video) as independent, the permutation test over (seed, film) cells
    does not (its p is the one the headline uses). With one seed these are the
    film-only interval and film-cluster test.

    Args:
      name_a, name_b: what the two arrays are (run names, or orders in the ablation).
      a, b: bool [S, N] (or [N]) right or wrong, per seed and video.
      films: [N] source film of each video.
      n_resamples, seed: as in `intervals.bootstrap_ci`.
      draws: the comparison's resamples (`two_level.draws`), shared by every test.
    """
    a, b = two_level.as_seed_pair(a, b)
    d = draws or two_level.draws(films, a.shape[0], n_resamples, seed)
    diff, lo, hi = two_level.seed_paired_diff(a, b, clusters=films, draws=d)
    m = mcnemar_exact(a.ravel(), b.ravel())
    perm = two_level.seed_permutation_test(a, b, films, n_permutations=10000, seed=seed)
    return {"run_a": name_a, "run_b": name_b, "accuracy_a": float(a.mean()),
            "accuracy_b": float(b.mean()), "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "b": m["b"], "c": m["c"], "p_value": m["p_value"],
            "p_cluster": perm["p_value"], "cluster_exact": perm["exact"],
            "n_films": perm["n_films"], "n_seeds": perm["n_seeds"],
            "p_a_beats_b": seed_variance.p_a_beats_b(a, b, clusters=films, draws=d),
            "rank_first": seed_variance.rank_first({name_a: a, name_b: b}, clusters=films,
                                                   draws=d),
            "variance": seed_variance.variance_split(a.astype(np.float64) - b, clusters=films,
                                                     draws=d)}


def pairwise_tests(runs: Sequence[Run], correct: Mapping[str, np.ndarray], films: Sequence[str],
                   n_resamples: int, seed: int, draws: two_level.Draws | None = None
                   ) -> list[dict[str, Any]]:
    """Every pair (A, B) in the given order; b = A right & B wrong, c = A wrong & B right.

    Args:
      correct: run name -> bool [S, N] (`Run.correct`), on the same seeds.

    Holm-adjusted over all pairs: `p_holm` (McNemar) and `p_cluster_holm` (films).
    """
    tests = [pair_test(a.name, correct[a.name], b.name, correct[b.name], films, n_resamples,
                       seed, draws)
             for a, b in itertools.combinations(runs, 2)]
    for key in ("p_value", "p_cluster"):
        adjusted = holm([t[key] for t in tests])
        for t, p in zip(tests, adjusted):
            t["p_holm" if key == "p_value" else "p_cluster_holm"] = p
    return tests


def find_test(tests: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """The paired test of runs a and b, oriented so diff = accuracy(a) - accuracy(b)."""
    for t in tests:
        if (t["run_a"], t["run_b"]) == (a, b):
            return t
        if (t["run_a"], t["run_b"]) == (b, a):
            win = t["p_a_beats_b"]
            return {**t, "run_a": a, "run_b": b, "accuracy_a": t["accuracy_b"],
                    "accuracy_b": t["accuracy_a"], "diff": -t["diff"], "diff_lo": -t["diff_hi"],
                    "diff_hi": -t["diff_lo"], "b": t["c"], "c": t["b"],
                    "p_a_beats_b": {"value": 1 - win["value"], "lo": 1 - win["hi"],
                                    "hi": 1 - win["lo"]}}
    raise KeyError(f"no paired test between {a!r} and {b!r}")
