"""Does a model use frame order? The order ablation and the order-only classes.

The ablation compares each multi-frame run's natural-order evaluation with its
shuffled and reversed ones (`eval_<split>_shuffled.json`, ...) on the same
videos, for every seed, two-level (seeds and films) like every other test; the
order-only classes are the classes a single frame cannot tell apart
(``--order-classes``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from report.render.formats import points
from report.runs.load import Run
from report.stats import two_level
from report.stats.intervals import ci_dict
from report.stats.paired import pair_test
from vidrec.core.run_folder import ORDERS

DROP_KEYS = ("diff", "diff_lo", "diff_hi", "b", "c", "p_value", "p_cluster", "n_seeds",
             "p_a_beats_b", "rank_first", "variance")


def order_sentence(run: Run, order: str, drop: dict[str, Any]) -> str:
    """Plain words for one order ablation: does the model use frame order?"""
    points_lost = 100 * drop["diff"]
    ci = f"95% CI of the drop {points(drop['diff_lo'])} to {points(drop['diff_hi'])}"
    who = run.name if run.name == run.describe() else f"{run.name} ({run.describe()})"
    blind = None if run.traits.order_aware else (
        "mean pooling" if run.model == "pooled" else "an order-blind model")
    uses = ("it uses temporal order" if order == "shuffled"
            else "it is sensitive to the direction of time")
    ignores = ("it does not use order" if order == "shuffled"
               else "it does not depend on the direction of time")
    if drop["diff_lo"] > 0:
        s = f"{who} loses {points_lost:.1f} points when its frames are {order} ({ci}): "
        if blind:
            return s + (f"{blind} should ignore order, so this sanity check FAILED: "
                        "check how the evaluation orders frames.")
        return s + uses + "."
    if drop["diff_hi"] < 0:
        s = f"{who} gains {-points_lost:.1f} points when its frames are {order} ({ci}): "
        if blind:
            return s + f"{blind} should ignore order, so this sanity check FAILED."
        return s + "natural order does not help it."
    s = (f"{who} loses nothing (within the CI: {points(drop['diff'])} points, {ci}) "
         f"when its frames are {order}")
    if blind:
        return s + f": as expected, {blind} ignores order (sanity check passed)."
    return s + f": {ignores}."


def _ablation_row(run: Run, orders: list[str], films: list[str], n_resamples: int, seed: int,
                  draws: two_level.Draws | None) -> dict[str, Any]:
    """Natural vs each of `orders`, every seed: accuracies with CIs, the paired drops, words."""
    natural = run.correct("natural")

    def accuracy(correct: np.ndarray) -> dict[str, float]:
        return ci_dict(two_level.seed_bootstrap_ci(
            correct, n_resamples, seed, clusters=films, draws=draws))

    row: dict[str, Any] = {
        "run": run.name, "model": run.model, "kind": run.traits.label,
        "order_aware": run.traits.order_aware, "natural": accuracy(natural),
        "shuffled": None, "reversed": None, "sentences": []}
    for order in orders:
        other = run.correct(order)
        row[order] = accuracy(other)
        drop = pair_test("natural", natural, order, other, films, n_resamples, seed, draws)
        row[f"{order}_drop"] = {k: drop[k] for k in DROP_KEYS}
        row["sentences"].append(order_sentence(run, order, drop))
    return row


def ablation(runs: Sequence[Run], films: list[str], n_resamples: int, seed: int,
             draws: two_level.Draws | None = None) -> list[dict[str, Any]]:
    """Natural vs shuffled vs reversed accuracy for each multi-frame run that has them (for
    every one of its seeds)."""
    rows = []
    for run in runs:
        orders = [o for o in ORDERS[1:] if run.has_order(o)]  # natural against the others
        if run.traits.takes_chunks and orders:
            rows.append(_ablation_row(run, orders, films, n_resamples, seed, draws))
    return rows


def order_subset(runs: Sequence[Run], labels: np.ndarray, films: list[str], classes: list[str],
                 order_classes: Sequence[str], n_resamples: int, seed: int) -> dict[str, Any]:
    """Each run's accuracy on the classes only frame order tells apart (natural and shuffled),
    two-level over its seeds and the kept videos' films.

    Raises:
      ValueError: `order_classes` names a class the data does not have.
    """
    unknown = [c for c in order_classes if c not in classes]
    if unknown:
        raise ValueError(f"--order-classes names classes not in the data: {unknown}; "
                         f"the classes are {classes}")
    subset = [classes.index(c) for c in order_classes]

    def accuracy(correct: np.ndarray) -> dict[str, Any]:
        return two_level.seed_accuracy_subset(labels, correct, subset, n_resamples, seed,
                                              clusters=films)

    rows = [{"run": run.name, "model": run.model, "kind": run.traits.label,
             **accuracy(run.correct()),
             "shuffled": accuracy(run.correct("shuffled")) if run.has_order("shuffled") else None}
            for run in runs]
    return {"classes": list(order_classes), "rows": rows}
