"""report.stats against hand-computed values."""

import math

import numpy as np
import pytest

from report import stats


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
    assert stats.topk_correct(labels, probs, 1).tolist() == [False, False, True]
    assert stats.topk_correct(labels, probs, 2).tolist() == [True, False, True]
    assert stats.topk_correct(labels, probs, 5).tolist() == [True, True, True]
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
