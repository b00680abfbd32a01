"""Statistics: pure numpy/scipy, on correctness arrays of runs scored on the same test videos.

`resampling` (how the bootstrap redraws a test set: videos or source films),
`intervals` (accuracies with bootstrap intervals), `significance` (McNemar, the
film-cluster permutation test, Holm), `two_level` (over training seeds and films: the
two-level bootstrap, the (seed, film) permutation test), `seed_variance` (spread over
seeds, seed against film variance, seeds needed, P(A>B), rank-first) and `paired` (every
paired test between two runs, as the report quotes it).

The public functions are also importable from `report.stats` itself.
"""

from report.stats.intervals import (
    accuracy_subset,
    bootstrap_ci,
    bootstrap_mean_class_accuracy,
    ci_dict,
    mean_class_accuracy,
    mean_over_present,
    paired_bootstrap_diff,
)
from report.stats.resampling import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    SIGNIFICANCE,
    cluster_weights,
    resample_indices,
)
from report.stats.seed_variance import (
    p_a_beats_b,
    rank_first,
    seed_spread,
    seeds_needed,
    variance_split,
)
from report.stats.significance import (
    EXACT_MAX_CLUSTERS,
    cluster_permutation_test,
    holm,
    mcnemar_exact,
    sign_flip_test,
)
from report.stats.two_level import (
    Draws,
    draws,
    seed_accuracy_subset,
    seed_bootstrap_ci,
    seed_mean_class_accuracy,
    seed_paired_diff,
    seed_permutation_test,
)

__all__ = [
    "DEFAULT_ALPHA", "DEFAULT_RESAMPLES", "EXACT_MAX_CLUSTERS", "SIGNIFICANCE", "Draws",
    "accuracy_subset", "bootstrap_ci", "bootstrap_mean_class_accuracy", "ci_dict",
    "cluster_permutation_test", "cluster_weights", "draws", "holm", "mcnemar_exact",
    "mean_class_accuracy", "mean_over_present", "p_a_beats_b", "paired_bootstrap_diff",
    "rank_first", "resample_indices", "seed_accuracy_subset", "seed_bootstrap_ci",
    "seed_mean_class_accuracy", "seed_paired_diff", "seed_permutation_test", "seed_spread",
    "seeds_needed", "sign_flip_test", "variance_split",
]
