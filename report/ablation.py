"""Does a model use frame order? The order ablation and the order-only classes.

The ablation compares each multi-frame run's natural-order evaluation with its
shuffled and reversed ones (`eval_<split>_shuffled.json`, ...) on the same
videos, film-clustered like every other test; the order-only classes are the
classes a single frame cannot tell apart (``--order-classes``).
"""

from __future__ import annotations

from typing import Any, Sequence

from report import stats
from report.fmt import points
from report.paired import pair_test
from report.runs import Predictions, Run

DROP_KEYS = ("diff", "diff_lo", "diff_hi", "b", "c", "p_value", "p_cluster")


def order_sentence(run: Run, order: str, drop: dict[str, Any]) -> str:
    """Plain words for one order ablation: does the model use frame order?"""
    points_lost = 100 * drop["diff"]
    ci = f"95% CI of the drop {points(drop['diff_lo'])} to {points(drop['diff_hi'])}"
    who = run.name if run.name == run.describe() else f"{run.name} ({run.describe()})"
    blind = None if run.kind.order_aware else (
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


def _ablation_row(run: Run, orders: list[str], n_resamples: int, seed: int) -> dict[str, Any]:
    """Natural vs each of `orders`: accuracies with CIs, the paired drops, and words."""
    base = run.predictions("natural")
    natural, films = base.correct, base.films
    row: dict[str, Any] = {
        "run": run.name, "model": run.model, "kind": run.kind.label,
        "order_aware": run.kind.order_aware,
        "natural": stats.ci_dict(stats.bootstrap_ci(natural, n_resamples, seed, clusters=films)),
        "shuffled": None, "reversed": None, "sentences": []}
    for order in orders:
        other = run.predictions(order).correct
        row[order] = stats.ci_dict(stats.bootstrap_ci(other, n_resamples, seed, clusters=films))
        drop = pair_test("natural", natural, order, other, films, n_resamples, seed)
        row[f"{order}_drop"] = {k: drop[k] for k in DROP_KEYS}
        row["sentences"].append(order_sentence(run, order, drop))
    return row


def ablation(runs: Sequence[Run], n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """Natural vs shuffled vs reversed accuracy for each multi-frame run that has them."""
    rows = []
    for run in runs:
        orders = [o for o in ("shuffled", "reversed") if o in run.evals]
        if run.kind.takes_chunks and orders:
            rows.append(_ablation_row(run, orders, n_resamples, seed))
    return rows


def order_subset(runs: Sequence[Run], preds: dict[str, Predictions], classes: list[str],
                 order_classes: Sequence[str], n_resamples: int, seed: int) -> dict[str, Any]:
    """Each run's accuracy on the classes only frame order tells apart (natural and shuffled).

    Raises:
      ValueError: `order_classes` names a class the data does not have.
    """
    unknown = [c for c in order_classes if c not in classes]
    if unknown:
        raise ValueError(f"--order-classes names classes not in the data: {unknown}; "
                         f"the classes are {classes}")
    subset = [classes.index(c) for c in order_classes]

    def accuracy(p: Predictions) -> dict[str, Any]:
        return stats.accuracy_subset(p.labels, p.predicted, subset, n_resamples, seed,
                                     clusters=p.films)

    rows = [{"run": run.name, "model": run.model, "kind": run.kind.label,
             **accuracy(preds[run.name]),
             "shuffled": (accuracy(run.predictions("shuffled")) if "shuffled" in run.evals
                          else None)}
            for run in runs]
    return {"classes": list(order_classes), "rows": rows}
