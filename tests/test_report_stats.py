"""report.stats against hand-computed values."""

import math

import numpy as np
import pytest

from report import stats
from vidrec.core.eval_file import topk_hits


def _pairs(both: int, a_only: int, b_only: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return np.array(a), np.array(b)


def test_mcnemar_exact_known_p_value():
    a, b = _pairs(both=5, a_only=1, b_only=9, neither=3)
    result = stats.mcnemar_exact(a, b)
    assert (result["b"], result["c"]) == (1, 9)
    # 2 * P(X <= 1 | n=10, p=0.5) = 2 * 11 / 1024
    assert result["p_value"] == pytest.approx(0.021484375, abs=1e-12)


def test_mcnemar_exact_symmetric_and_edge_cases():
    a, b = _pairs(both=4, a_only=0, b_only=5, neither=1)
    assert stats.mcnemar_exact(a, b)["p_value"] == pytest.approx(2 * 0.5**5)
    assert stats.mcnemar_exact(b, a)["p_value"] == pytest.approx(2 * 0.5**5)
    assert stats.mcnemar_exact(b, a)["b"] == 5
    same = np.array([True, False, True])
    assert stats.mcnemar_exact(same, same) == {"b": 0, "c": 0, "p_value": 1.0}
    a, b = _pairs(both=0, a_only=3, b_only=3, neither=0)
    assert stats.mcnemar_exact(a, b)["p_value"] == pytest.approx(1.0)


def test_bootstrap_ci_contains_mean_and_shrinks_with_n():
    small = np.array([True] * 14 + [False] * 6)  # 70% of 20
    large = np.tile(small, 50)  # 70% of 1000
    m_s, lo_s, hi_s = stats.bootstrap_ci(small, n_resamples=2000, seed=0)
    m_l, lo_l, hi_l = stats.bootstrap_ci(large, n_resamples=2000, seed=0)
    assert m_s == m_l == pytest.approx(0.7)
    assert lo_s < 0.7 < hi_s and lo_l < 0.7 < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 3
    # normal approximation: half-width ~ 1.96 * sqrt(0.21 / 1000) = 0.028
    assert (hi_l - lo_l) / 2 == pytest.approx(1.96 * math.sqrt(0.21 / 1000), rel=0.15)


def test_bootstrap_ci_deterministic_and_degenerate():
    x = np.array([True, False, True, True, False])
    assert stats.bootstrap_ci(x, 500, seed=3) == stats.bootstrap_ci(x, 500, seed=3)
    assert stats.bootstrap_ci(np.ones(7, bool)) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="empty"):
        stats.bootstrap_ci([])


def test_paired_bootstrap_diff():
    a, b = _pairs(both=10, a_only=8, b_only=2, neither=10)  # acc 18/30 vs 12/30
    diff, lo, hi = stats.paired_bootstrap_diff(a, b, n_resamples=2000, seed=0)
    assert diff == pytest.approx(0.2)
    assert lo < 0.2 < hi
    assert stats.paired_bootstrap_diff(a, a) == (0.0, 0.0, 0.0)
    assert stats.paired_bootstrap_diff(np.ones(5, bool), np.zeros(5, bool)) == (1.0, 1.0, 1.0)
    # pairing: concordant videos add no variance, so the paired CI is narrower
    # than the unpaired sum of the two separate intervals
    _, alo, ahi = stats.bootstrap_ci(a, 2000, seed=1)
    _, blo, bhi = stats.bootstrap_ci(b, 2000, seed=2)
    assert (hi - lo) < (ahi - alo) + (bhi - blo)
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_bootstrap_diff(a, b[:-1])


def test_accuracy_subset_and_mean_class_accuracy():
    labels = np.array([0, 0, 1, 1, 2, 2, 3])
    predicted = np.array([0, 1, 2, 1, 2, 2, 0])
    sub = stats.accuracy_subset(labels, predicted, [1, 2], n_resamples=500)
    assert sub["n"] == 4
    assert sub["value"] == pytest.approx(3 / 4)  # a 1 predicted as 2 is wrong
    assert sub["lo"] <= sub["value"] <= sub["hi"]
    empty = stats.accuracy_subset(labels, predicted, [5])
    assert empty["n"] == 0 and math.isnan(empty["value"])
    # class 0: 1/2, class 1: 1/2, class 2: 2/2, class 3: 0/1; class 4 absent is ignored
    assert stats.mean_class_accuracy(labels, predicted, 5) == pytest.approx(0.5)
    m, lo, hi = stats.bootstrap_mean_class_accuracy(labels, predicted, 5, n_resamples=500)
    assert m == pytest.approx(0.5) and lo <= m <= hi


def test_topk_and_holm():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([2, 1, 2])
    assert topk_hits(labels, probs, 1).tolist() == [False, False, True]
    assert topk_hits(labels, probs, 2).tolist() == [True, False, True]
    assert topk_hits(labels, probs, 5).tolist() == [True, True, True]
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


# --- film-cluster resampling ---------------------------------------------------------------


def _films(n_films: int, clips: int) -> list[str]:
    return [f"film{f}" for f in range(n_films) for _ in range(clips)]


def _weighted_accuracies(correct: np.ndarray, clusters: list, n_resamples: int) -> np.ndarray:
    w = stats.cluster_weights(clusters, n_resamples, seed=0)
    return w @ correct.astype(float) / w.sum(axis=1)


def test_cluster_weights_counts_draws_per_film():
    clusters = ["b", "a", "b", "c", "a", "b"]  # K = 3 films
    w = stats.cluster_weights(clusters, n_resamples=500, seed=4)
    assert w.shape == (500, 6) and w.dtype == np.float64
    # every clip of one film weighs the same in a row
    assert np.array_equal(w[:, 0], w[:, 2]) and np.array_equal(w[:, 0], w[:, 5])
    assert np.array_equal(w[:, 1], w[:, 4])
    # one clip per film: the draw counts, K = 3 draws per resample
    assert np.all(w[:, [0, 1, 3]].sum(axis=1) == 3)
    assert np.all(w == np.rint(w)) and w.min() >= 0
    assert np.array_equal(w, stats.cluster_weights(clusters, 500, seed=4))
    assert not np.array_equal(w, stats.cluster_weights(clusters, 500, seed=5))
    # a single film is drawn once every time
    assert np.array_equal(stats.cluster_weights(["x"] * 4, 10), np.ones((10, 4)))
    with pytest.raises(ValueError, match="empty"):
        stats.cluster_weights([])
    with pytest.raises(ValueError, match="n_resamples must be >= 1, got 0"):
        stats.cluster_weights(["a"], n_resamples=0)


def test_bootstrap_ci_two_films_by_hand():
    # film A: 3 clips all right; film B: 1 clip wrong. Drawing 2 films:
    # AA -> 1 (p 1/4), AB or BA -> 3/4 (p 1/2), BB -> 0 (p 1/4).
    correct = np.array([True, True, True, False])
    films = ["A", "A", "A", "B"]
    acc = _weighted_accuracies(correct, films, 20000)
    assert set(np.round(acc, 9)) == {0.0, 0.75, 1.0}
    assert np.mean(acc == 1.0) == pytest.approx(0.25, abs=0.02)
    assert np.mean(acc == 0.75) == pytest.approx(0.5, abs=0.02)
    assert np.mean(acc == 0.0) == pytest.approx(0.25, abs=0.02)
    assert stats.bootstrap_ci(correct, clusters=films) == (0.75, 0.0, 1.0)
    # as 4 independent videos all-wrong resamples are rare (1/256): narrower interval
    assert stats.bootstrap_ci(correct) == (0.75, 0.25, 1.0)
    with pytest.raises(ValueError, match="3 entries but the data has 4 videos"):
        stats.bootstrap_ci(correct, clusters=films[:3])


def test_cluster_interval_wider_when_clips_of_a_film_agree():
    # 20 films x 5 clips, a film's clips are all right (14 films) or all wrong (6)
    correct = np.repeat(np.arange(20) < 14, 5)
    films = _films(20, 5)
    m_v, lo_v, hi_v = stats.bootstrap_ci(correct, seed=0)
    m_c, lo_c, hi_c = stats.bootstrap_ci(correct, seed=0, clusters=films)
    assert m_c == m_v == pytest.approx(0.7)
    assert lo_c <= 0.7 <= hi_c
    # effective sample size is 20 films, not 100 videos: width ratio ~ sqrt(5)
    assert (hi_c - lo_c) / (hi_v - lo_v) > 1.5
    # one clip per film: resampling films is resampling videos
    single = np.arange(200) < 140
    _, lo_1, hi_1 = stats.bootstrap_ci(single, seed=0)
    _, lo_2, hi_2 = stats.bootstrap_ci(single, seed=1, clusters=_films(200, 1))
    assert lo_2 == pytest.approx(lo_1, abs=0.02) and hi_2 == pytest.approx(hi_1, abs=0.02)


def test_paired_bootstrap_diff_with_clusters():
    films = _films(20, 5)
    a = np.repeat(np.arange(20) < 14, 5)  # A right on films 0-13
    b = np.repeat(np.arange(20) < 10, 5)  # B right on films 0-9
    # the same films are resampled for both models, so equal models never differ
    assert stats.paired_bootstrap_diff(a, a, clusters=films) == (0.0, 0.0, 0.0)
    ones, zeros = np.ones(100, bool), np.zeros(100, bool)
    assert stats.paired_bootstrap_diff(ones, zeros, clusters=films) == (1.0, 1.0, 1.0)
    diff, lo, hi = stats.paired_bootstrap_diff(a, b, clusters=films)
    _, lo_v, hi_v = stats.paired_bootstrap_diff(a, b)
    assert diff == pytest.approx(0.2) and lo < 0.2 < hi
    assert (hi - lo) / (hi_v - lo_v) > 1.5
    with pytest.raises(ValueError, match="99 entries but the data has 100 videos"):
        stats.paired_bootstrap_diff(a, b, clusters=films[:-1])


def test_mean_class_accuracy_and_subset_with_clusters():
    # film A: class 0 right, class 1 right; film B: class 0 right, class 1 wrong.
    # AA -> (1 + 1) / 2 = 1, AB -> (1 + 1/2) / 2 = 0.75, BB -> (1 + 0) / 2 = 0.5
    labels, predicted = np.array([0, 1, 0, 1]), np.array([0, 1, 0, 0])
    films = ["A", "A", "B", "B"]
    assert stats.bootstrap_mean_class_accuracy(labels, predicted, 3, clusters=films) == (
        0.75, 0.5, 1.0)
    labels = np.array([0, 0, 1, 1, 2, 2, 3])
    predicted = np.array([0, 1, 2, 1, 2, 2, 0])
    films = ["x", "x", "y", "y", "z", "w", "w"]
    m, lo, hi = stats.bootstrap_mean_class_accuracy(labels, predicted, 5, clusters=films)
    assert m == pytest.approx(0.5) and lo <= m <= hi
    with pytest.raises(ValueError, match="6 entries but the data has 7 videos"):
        stats.bootstrap_mean_class_accuracy(labels, predicted, 5, clusters=films[1:])
    # subset: only the films of kept videos are drawn; here the two-film case by hand
    labels = np.array([1, 1, 0, 0, 0, 0])
    predicted = np.array([1, 1, 0, 0, 0, 1])
    films = ["C", "D", "A", "A", "A", "B"]
    sub = stats.accuracy_subset(labels, predicted, [0], clusters=films)
    assert sub == {"n": 4, "value": 0.75, "lo": 0.0, "hi": 1.0}
    assert stats.accuracy_subset(labels, predicted, [0])["lo"] == 0.25
    with pytest.raises(ValueError, match="5 entries but the data has 6 videos"):
        stats.accuracy_subset(labels, predicted, [0], clusters=films[:5])


def _film_pairs(d_per_film: list[int], concordant: int = 1) -> tuple[np.ndarray, ...]:
    """a, b, clusters where film f has |d_f| discordant clips in d_f's direction."""
    a, b, films = [], [], []
    for f, d in enumerate(d_per_film):
        a += [d > 0] * abs(d) + [True] * concordant
        b += [d < 0] * abs(d) + [True] * concordant
        films += [f"film{f}"] * (abs(d) + concordant)
    return np.array(a), np.array(b), films


def test_cluster_permutation_test_exact_by_hand():
    # film x: d = 2; film y: d = 1 plus a concordant clip; film z: +1 and -1 cancel to 0
    a = np.array([True, True, True, True, True, False])
    b = np.array([False, False, False, True, False, True])
    films = ["x", "x", "y", "y", "z", "z"]
    # sign patterns of (+-2, +-1): T* = 3, 1, -1, -3, |T*| >= 3 in 2 of 4
    assert stats.cluster_permutation_test(a, b, films) == {
        "p_value": 0.5, "n_clusters": 3, "n_informative": 2, "exact": True, "statistic": 3}
    assert stats.cluster_permutation_test(b, a, films)["statistic"] == -3
    assert stats.cluster_permutation_test(b, a, films)["p_value"] == 0.5
    a, b, films = _film_pairs([1, 1, 1, 1, 1, 0])
    result = stats.cluster_permutation_test(a, b, films)
    assert result["p_value"] == pytest.approx(2 / 32)
    assert (result["n_clusters"], result["n_informative"], result["exact"]) == (6, 5, True)
    same = np.array([True, False, True])
    assert stats.cluster_permutation_test(same, same, ["a", "b", "a"]) == {
        "p_value": 1.0, "n_clusters": 2, "n_informative": 0, "exact": True, "statistic": 0}


def test_cluster_permutation_test_one_film_is_one_piece_of_evidence():
    # 10 clips of one film, A right and B wrong on all: McNemar sees 10 coins,
    # the film test sees one film whose sign is a single fair coin.
    a, b = np.ones(10, bool), np.zeros(10, bool)
    assert stats.mcnemar_exact(a, b)["p_value"] == pytest.approx(2 / 1024)
    result = stats.cluster_permutation_test(a, b, ["film"] * 10)
    assert result["p_value"] == 1.0 and result["statistic"] == 10


def test_cluster_permutation_test_monte_carlo():
    a, b, films = _film_pairs([1] * 20)
    result = stats.cluster_permutation_test(a, b, films, n_permutations=9999, seed=0)
    # exact p = 2 / 2^20 ~ 2e-6: no random flip reaches |T*| = 20, so p = 1 / (n + 1)
    assert result["exact"] is False and result["n_informative"] == 20
    assert result["p_value"] == pytest.approx(1 / 10000)
    assert result == stats.cluster_permutation_test(a, b, films, n_permutations=9999, seed=0)
    # 12 films +1, 5 films -1: T = 7, exact p = 2 P(X <= 5), X ~ Binomial(17, 1/2)
    a, b, films = _film_pairs([1] * 12 + [-1] * 5, concordant=2)
    exact = 2 * sum(math.comb(17, i) for i in range(6)) / 2**17
    result = stats.cluster_permutation_test(a, b, films, n_permutations=20000, seed=1)
    assert result["exact"] is False and result["statistic"] == 7
    assert result["p_value"] == pytest.approx(exact, abs=0.01)
    with pytest.raises(ValueError, match="n_permutations must be >= 1, got 0"):
        stats.cluster_permutation_test(a, b, films, n_permutations=0)
    with pytest.raises(ValueError, match="entries but the data has"):
        stats.cluster_permutation_test(a, b, films[:-1])


def test_cluster_permutation_test_agrees_with_mcnemar_for_one_clip_per_film():
    for a_only, b_only, agree in [(30, 5, lambda p: p < 0.01), (20, 18, lambda p: p > 0.2)]:
        a, b = _pairs(both=50, a_only=a_only, b_only=b_only, neither=15)
        films = _films(a.size, 1)
        p_perm = stats.cluster_permutation_test(a, b, films)["p_value"]
        p_mcnemar = stats.mcnemar_exact(a, b)["p_value"]
        assert agree(p_perm) and agree(p_mcnemar)
        assert p_perm == pytest.approx(p_mcnemar, abs=0.02)
