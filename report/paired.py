"""Paired tests between runs on the same test videos (the headline's family: `report.parts`).

Every test resamples or permutes source films (`report.stats`, clusters = films);
McNemar's test, which treats videos as independent, is reported beside them.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from report import stats
from report.runs import Predictions, Run


def pair_test(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, films: Sequence[str],
              n_resamples: int, seed: int) -> dict[str, Any]:
    """Paired comparison of two correctness vectors over the same videos.

    The difference's CI resamples films; McNemar treats videos as independent,
    the film-cluster permutation test does not (its p is the one the headline uses).

    Args:
      name_a, name_b: what the two vectors are (run names, or orders in the ablation).
      a, b: bool [N] right or wrong on the same videos.
      films: [N] source film of each video.
      n_resamples, seed: as in `stats.bootstrap_ci`.
    """
    diff, lo, hi = stats.paired_bootstrap_diff(a, b, n_resamples, seed, clusters=films)
    m = stats.mcnemar_exact(a, b)
    perm = stats.cluster_permutation_test(a, b, films, n_permutations=10000, seed=seed)
    return {"run_a": name_a, "run_b": name_b, "accuracy_a": float(a.mean()),
            "accuracy_b": float(b.mean()), "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "b": m["b"], "c": m["c"], "p_value": m["p_value"],
            "p_cluster": perm["p_value"], "cluster_exact": perm["exact"],
            "n_films": perm["n_clusters"]}


def pairwise_tests(runs: Sequence[Run], preds: dict[str, Predictions], n_resamples: int,
                   seed: int) -> list[dict[str, Any]]:
    """Every pair (A, B) in the given order; b = A right & B wrong, c = A wrong & B right.

    Holm-adjusted over all pairs: `p_holm` (McNemar) and `p_cluster_holm` (films).
    """
    tests = [pair_test(a.name, preds[a.name].correct, b.name, preds[b.name].correct,
                       preds[a.name].films, n_resamples, seed)
             for a, b in itertools.combinations(runs, 2)]
    for key in ("p_value", "p_cluster"):
        adjusted = stats.holm([t[key] for t in tests])
        for t, p in zip(tests, adjusted):
            t["p_holm" if key == "p_value" else "p_cluster_holm"] = p
    return tests


def find_test(tests: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """The paired test of runs a and b, oriented so diff = accuracy(a) - accuracy(b)."""
    for t in tests:
        if (t["run_a"], t["run_b"]) == (a, b):
            return t
        if (t["run_a"], t["run_b"]) == (b, a):
            return {**t, "run_a": a, "run_b": b, "accuracy_a": t["accuracy_b"],
                    "accuracy_b": t["accuracy_a"], "diff": -t["diff"], "diff_lo": -t["diff_hi"],
                    "diff_hi": -t["diff_lo"], "b": t["c"], "c": t["b"]}
    raise KeyError(f"no paired test between {a!r} and {b!r}")
