"""`compare`: run directories -> report.md, summary.json and PNG figures.

All numbers live in one summary dict (written as summary.json); the headline
and report.md are rendered from it by `report.markdown`, so what a reader
sees and what a test or the demo reads are the same numbers.

Accuracies are fractions in [0, 1] in summary.json and percentages in report.md.
"""

from __future__ import annotations

import itertools
import json
import posixpath
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from report import markdown, plots, stats
from report.runs import (
    MULTI_FRAME_MODELS,
    Predictions,
    Run,
    load_run,
    read_curves,
    unique_names,
    validate_same_data,
)

REPORT_NAME = "report.md"
SUMMARY_NAME = "summary.json"
FIGURES = {"curves": "curves.png", "confusion": "confusion.png",
           "class_gain": "class_gain.png", "order_ablation": "order_ablation.png"}
ABS_TOLERANCE = 1e-4  # file metrics are floats; allow rounding when cross-checking


def _ci(value_lo_hi: tuple[float, float, float]) -> dict[str, float]:
    value, lo, hi = value_lo_hi
    return {"value": value, "lo": lo, "hi": hi}


def _float_or_none(x: Any) -> float | None:
    return None if x is None else float(x)


def _check(run: Run, key: str, computed: float, warnings: list[str]) -> None:
    """Warn when the eval file's own metric disagrees with the one recomputed from its videos."""
    stated = run.eval.get(key)
    if stated is None or not np.isfinite(computed):
        return
    if abs(float(stated) - computed) > ABS_TOLERANCE:
        warnings.append(f"{run.name}: {key} in the eval file is {float(stated):.4f} but its "
                        f"per-video predictions give {computed:.4f}; the report uses the latter.")


def _run_row(run: Run, p: Predictions, num_classes: int, n_resamples: int, seed: int,
             warnings: list[str]) -> dict[str, Any]:
    """One table row: metrics with CIs over videos plus what describes the run."""
    cfg = run.config
    top1 = stats.bootstrap_ci(p.correct, n_resamples, seed)
    if np.isfinite(p.probabilities).all():
        top5 = _ci(stats.bootstrap_ci(stats.topk_correct(p.labels, p.probabilities, 5),
                                      n_resamples, seed))
    else:  # no per-video probabilities: report the file's value without an interval
        v = _float_or_none(run.eval.get("video_top5"))
        top5 = {"value": v, "lo": None, "hi": None}
    mca = stats.bootstrap_mean_class_accuracy(p.labels, p.predicted, num_classes,
                                              n_resamples, seed)
    _check(run, "video_top1", top1[0], warnings)
    if top5["lo"] is not None:
        _check(run, "video_top5", top5["value"], warnings)
    _check(run, "mean_class_accuracy", mca[0], warnings)
    summary = run.summary or {}
    return {
        "name": run.name, "run_dir": run.run_dir, "model": run.model,
        "architecture": run.describe(), "encoder": run.eval.get("encoder"),
        "rnn": cfg.get("rnn") if run.model == "recurrent" else None,
        "hidden": cfg.get("hidden") if run.model == "recurrent" else None,
        "chunk_length": cfg.get("chunk_length") if run.model == "recurrent" else None,
        "bidirectional": cfg.get("bidirectional") if run.model == "recurrent" else None,
        "num_videos": len(p.ids), "num_clips": run.eval.get("num_clips"),
        "clip_top1": _float_or_none(run.eval.get("clip_top1")),
        "clip_top5": _float_or_none(run.eval.get("clip_top5")),
        "video_top1": _ci(top1), "video_top5": top5, "mean_class_accuracy": _ci(mca),
        "params": run.params(), "train_time_s": run.train_time_s(),
        "epochs_run": summary.get("epochs_run"),
        "best_val_accuracy": _float_or_none(summary.get("best_val_accuracy")),
    }


def _pair_test(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, n_resamples: int,
               seed: int) -> dict[str, Any]:
    diff, lo, hi = stats.paired_bootstrap_diff(a, b, n_resamples, seed)
    m = stats.mcnemar_exact(a, b)
    return {"run_a": name_a, "run_b": name_b, "accuracy_a": float(a.mean()),
            "accuracy_b": float(b.mean()), "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "b": m["b"], "c": m["c"], "p_value": m["p_value"]}


def _pairwise_tests(runs: Sequence[Run], preds: dict[str, Predictions], n_resamples: int,
                    seed: int) -> list[dict[str, Any]]:
    """Every pair (A, B) in the given order; b = A right & B wrong, c = A wrong & B right."""
    tests = [_pair_test(a.name, preds[a.name].correct, b.name, preds[b.name].correct,
                        n_resamples, seed) for a, b in itertools.combinations(runs, 2)]
    for t, adjusted in zip(tests, stats.holm([t["p_value"] for t in tests])):
        t["p_holm"] = adjusted
    return tests


def _order_sentence(run: Run, order: str, drop: dict[str, Any]) -> str:
    """Plain words for one order ablation: does the model use frame order?"""
    verb = {"shuffled": "shuffled", "reversed": "reversed"}[order]
    points = 100 * drop["diff"]
    ci = (f"95% CI of the drop {markdown.points(drop['diff_lo'])} to "
          f"{markdown.points(drop['diff_hi'])}")
    who = run.name if run.name == run.describe() else f"{run.name} ({run.describe()})"
    uses = ("it uses temporal order" if order == "shuffled"
            else "it is sensitive to the direction of time")
    ignores = ("it does not use order" if order == "shuffled"
               else "it does not depend on the direction of time")
    if drop["diff_lo"] > 0:
        s = f"{who} loses {points:.1f} points when its frames are {verb} ({ci}): "
        if run.model == "pooled":
            return s + ("mean pooling should ignore order, so this sanity check FAILED: "
                        "check how the evaluation orders frames.")
        return s + uses + "."
    if drop["diff_hi"] < 0:
        s = f"{who} gains {-points:.1f} points when its frames are {verb} ({ci}): "
        if run.model == "pooled":
            return s + "mean pooling should ignore order, so this sanity check FAILED."
        return s + "natural order does not help it."
    s = (f"{who} loses nothing (within the CI: {markdown.points(drop['diff'])} points, {ci}) "
         f"when its frames are {verb}")
    if run.model == "pooled":
        return s + ": as expected, mean pooling ignores order (sanity check passed)."
    return s + f": {ignores}."


def _ablation(runs: Sequence[Run], n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """Natural vs shuffled vs reversed accuracy for each multi-frame run that has them."""
    rows = []
    for run in runs:
        orders = [o for o in ("shuffled", "reversed") if o in run.evals]
        if run.model not in MULTI_FRAME_MODELS or not orders:
            continue
        natural = run.predictions("natural").correct
        row: dict[str, Any] = {"run": run.name, "model": run.model,
                               "natural": _ci(stats.bootstrap_ci(natural, n_resamples, seed)),
                               "shuffled": None, "reversed": None, "sentences": []}
        for order in orders:
            other = run.predictions(order).correct
            row[order] = _ci(stats.bootstrap_ci(other, n_resamples, seed))
            drop = _pair_test("natural", natural, order, other, n_resamples, seed)
            row[f"{order}_drop"] = {k: drop[k] for k in
                                    ("diff", "diff_lo", "diff_hi", "b", "c", "p_value")}
            row["sentences"].append(_order_sentence(run, order, drop))
        rows.append(row)
    return rows


def _best(runs: Sequence[Run], preds: dict[str, Predictions], model: str) -> Run | None:
    candidates = [r for r in runs if r.model == model]
    return max(candidates, key=lambda r: preds[r.name].correct.mean()) if candidates else None


def _per_class_accuracy(p: Predictions, num_classes: int) -> np.ndarray:
    """float [K] per-class video accuracy; NaN for classes without test videos."""
    totals = np.bincount(p.labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(p.labels, weights=p.correct.astype(np.float64), minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def _per_class(runs: Sequence[Run], preds: dict[str, Predictions],
               classes: list[str]) -> dict[str, Any] | None:
    """Per-class gain of the best recurrent run over the best frame run (else pooled)."""
    rec = _best(runs, preds, "recurrent")
    base = _best(runs, preds, "frame") or _best(runs, preds, "pooled")
    if rec is None or base is None:
        return None
    a = _per_class_accuracy(preds[rec.name], len(classes))
    b = _per_class_accuracy(preds[base.name], len(classes))
    gains = {c: float(100 * (x - y)) for c, x, y in zip(classes, a, b) if np.isfinite(x - y)}
    return {"run": rec.name, "baseline": base.name, "baseline_model": base.model,
            "gains_points": dict(sorted(gains.items(), key=lambda kv: -kv[1]))}


def _order_subset(runs: Sequence[Run], preds: dict[str, Predictions], classes: list[str],
                  order_classes: Sequence[str], n_resamples: int, seed: int) -> dict[str, Any]:
    """Each run's accuracy on the classes only frame order tells apart (natural and shuffled)."""
    unknown = [c for c in order_classes if c not in classes]
    if unknown:
        raise ValueError(f"--order-classes names classes not in the data: {unknown}; "
                         f"the classes are {classes}")
    subset = [classes.index(c) for c in order_classes]
    rows = []
    for run in runs:
        p = preds[run.name]
        row = {"run": run.name, "model": run.model,
               **stats.accuracy_subset(p.labels, p.predicted, subset, n_resamples, seed),
               "shuffled": None}
        if "shuffled" in run.evals:
            s = run.predictions("shuffled")
            row["shuffled"] = stats.accuracy_subset(s.labels, s.predicted, subset,
                                                    n_resamples, seed)
        rows.append(row)
    return {"classes": list(order_classes), "rows": rows}


def _figures(runs: Sequence[Run], preds: dict[str, Predictions], classes: list[str],
             summary: dict[str, Any], out_dir: str) -> dict[str, str]:
    """Draw every figure that has data; returns name -> file name relative to out_dir."""
    out: dict[str, str] = {}

    def path(key: str) -> str:
        out[key] = FIGURES[key]
        return posixpath.join(out_dir, FIGURES[key])

    curves = {}
    for run, row in zip(runs, summary["runs"]):
        c, row["curves_source"] = read_curves(run)
        if c:
            curves[run.name] = c
    if curves:
        plots.plot_curves(curves, path("curves"))
    matrices = {}
    for run in runs:
        p, k = preds[run.name], len(classes)
        matrices[run.name] = np.bincount(p.labels * k + p.predicted,
                                         minlength=k * k).reshape(k, k)
    plots.plot_confusions(matrices, classes, path("confusion"))
    if summary["per_class"]:
        pc = summary["per_class"]
        plots.plot_class_gain(pc["gains_points"], path("class_gain"),
                              f"{pc['run']} minus {pc['baseline']} (per-class video accuracy)")
    if summary["ablation"]:
        plots.plot_order_ablation(summary["ablation"], path("order_ablation"))
    return out


def compare(run_dirs: Sequence[str], out_dir: str, split: str = "test",
            order_classes: Sequence[str] | None = None, n_resamples: int = 2000,
            seed: int = 0) -> dict[str, Any]:
    """Compare runs evaluated on the same videos and write a report.

    Args:
      run_dirs: run directories (local or gs://), each with eval_<split>.json.
      out_dir: where report.md, summary.json and the PNGs go (created).
      split: which evaluation to compare.
      order_classes: optional class names only frame order tells apart; adds a
        section with each run's accuracy on those classes.
      n_resamples: bootstrap resamples for every confidence interval.
      seed: bootstrap seed (the same resampled videos are used for every run).

    Returns:
      The summary dict written to summary.json; summary["headline"] is the
      plain-words finding at the top of report.md.

    Raises:
      ValueError: no runs, a missing eval file, or runs evaluated on different data.
    """
    if not run_dirs:
        raise ValueError("no runs to compare: give at least one RUN_DIR")
    runs = [load_run(d, split) for d in run_dirs]
    validate_same_data(runs)
    unique_names(runs)
    first = runs[0].eval
    classes = [str(c) for c in first["classes"]]
    preds = {run.name: run.predictions() for run in runs}
    warnings: list[str] = []
    rows = [_run_row(run, preds[run.name], len(classes), n_resamples, seed, warnings)
            for run in runs]
    data = dict(first.get("data") or {})
    summary: dict[str, Any] = {
        "split": split, "data": data, "num_videos": len(preds[runs[0].name].ids),
        "classes": classes, "n_resamples": n_resamples, "seed": seed, "confidence": 0.95,
        "runs": rows,
        "tests": _pairwise_tests(runs, preds, n_resamples, seed),
        "ablation": _ablation(runs, n_resamples, seed),
        "per_class": _per_class(runs, preds, classes),
        "order_classes": (_order_subset(runs, preds, classes, order_classes, n_resamples, seed)
                          if order_classes else None),
        "warnings": warnings,
    }
    tf.io.gfile.makedirs(out_dir)
    summary["figures"] = _figures(runs, preds, classes, summary, out_dir)
    summary["headline"] = markdown.headline(summary)
    with tf.io.gfile.GFile(posixpath.join(out_dir, SUMMARY_NAME), "w") as f:
        f.write(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    with tf.io.gfile.GFile(posixpath.join(out_dir, REPORT_NAME), "w") as f:
        f.write(markdown.render(summary))
    return summary


def _finite(x: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None (strict JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
