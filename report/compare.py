"""`compare`: run directories -> report.md, summary.json and PNG figures.

All numbers live in one summary dict (written as summary.json); the headline
and report.md are rendered from it by `report.markdown`, so what a reader
sees and what a test or the demo reads are the same numbers.

Accuracies are fractions in [0, 1] in summary.json and percentages in report.md.

The contract of a fair comparison is checked, not assumed: runs must be
evaluated on the same videos (`runs.validate_same_data`) and on the same frames
under the same protocol (`runs.validate_same_frames`); every interval and
paired test resamples source films, not clips (`stats`, clusters = films); the
runs the headline names come from the user or from validation accuracy, never
from test (`roles.choose_roles`); and every recipe difference outside the
temporal part is named as a confound (`roles.differences`). Runs from several
official splits get one report per split and the across-split mean ± std
(`report.across`).
"""

from __future__ import annotations

import itertools
import json
import posixpath
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from report import markdown, plots, roles, stats
from report.runs import (
    MULTI_FRAME_MODELS,
    Predictions,
    Run,
    load_run,
    read_curves,
    unique_names,
    validate_same_data,
    validate_same_frames,
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
    """One table row: metrics with CIs over test films plus what describes the run."""
    cfg = run.config
    films = p.films
    top1 = stats.bootstrap_ci(p.correct, n_resamples, seed, clusters=films)
    if np.isfinite(p.probabilities).all():
        top5 = _ci(stats.bootstrap_ci(stats.topk_correct(p.labels, p.probabilities, 5),
                                      n_resamples, seed, clusters=films))
    else:  # no per-video probabilities: report the file's value without an interval
        v = _float_or_none(run.eval.get("video_top5"))
        top5 = {"value": v, "lo": None, "hi": None}
    mca = stats.bootstrap_mean_class_accuracy(p.labels, p.predicted, num_classes,
                                              n_resamples, seed, clusters=films)
    _check(run, "video_top1", top1[0], warnings)
    if top5["lo"] is not None:
        _check(run, "video_top5", top5["value"], warnings)
    _check(run, "mean_class_accuracy", mca[0], warnings)
    summary = run.summary or {}
    recurrent = run.model == "recurrent"
    return {
        "name": run.name, "run_dir": run.run_dir, "model": run.model,
        "architecture": run.describe(), "encoder": run.eval.get("encoder"),
        "rnn": cfg.get("rnn") if recurrent else None,
        "hidden": cfg.get("hidden") if recurrent else None,
        "chunk_length": cfg.get("chunk_length") if run.model in MULTI_FRAME_MODELS else None,
        "bidirectional": cfg.get("bidirectional") if recurrent else None,
        "num_videos": len(p.ids), "num_clips": run.eval.get("num_clips"),
        "clip_top1": _float_or_none(run.eval.get("clip_top1")),
        "clip_top5": _float_or_none(run.eval.get("clip_top5")),
        "video_top1": _ci(top1), "video_top5": top5, "mean_class_accuracy": _ci(mca),
        "params": run.params(), "train_time_s": run.train_time_s(),
        "epochs_run": summary.get("epochs_run"),
        "best_val_accuracy": _float_or_none(summary.get("best_val_accuracy")),
        "val_video_top1": run.val_video_top1,
        "protocol": (run.eval.get("protocol") or {}).get("name"),
        "frames_fingerprint": (run.eval.get("protocol") or {}).get("fingerprint"),
    }


def _pair_test(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, films: Sequence[str],
               n_resamples: int, seed: int) -> dict[str, Any]:
    """Paired comparison of two correctness vectors over the same videos.

    The difference's CI resamples films; McNemar treats videos as independent,
    the film-cluster permutation test does not (its p is the one the headline uses).
    """
    diff, lo, hi = stats.paired_bootstrap_diff(a, b, n_resamples, seed, clusters=films)
    m = stats.mcnemar_exact(a, b)
    perm = stats.cluster_permutation_test(a, b, films, n_permutations=10000, seed=seed)
    return {"run_a": name_a, "run_b": name_b, "accuracy_a": float(a.mean()),
            "accuracy_b": float(b.mean()), "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "b": m["b"], "c": m["c"], "p_value": m["p_value"],
            "p_cluster": perm["p_value"], "cluster_exact": perm["exact"],
            "n_films": perm["n_clusters"]}


def _pairwise_tests(runs: Sequence[Run], preds: dict[str, Predictions], n_resamples: int,
                    seed: int) -> list[dict[str, Any]]:
    """Every pair (A, B) in the given order; b = A right & B wrong, c = A wrong & B right.

    Holm-adjusted over all pairs: `p_holm` (McNemar) and `p_cluster_holm` (films).
    """
    tests = [_pair_test(a.name, preds[a.name].correct, b.name, preds[b.name].correct,
                        preds[a.name].films, n_resamples, seed)
             for a, b in itertools.combinations(runs, 2)]
    for key in ("p_value", "p_cluster"):
        adjusted = stats.holm([t[key] for t in tests])
        for t, p in zip(tests, adjusted):
            t["p_holm" if key == "p_value" else "p_cluster_holm"] = p
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
        base = run.predictions("natural")
        natural, films = base.correct, base.films
        row: dict[str, Any] = {
            "run": run.name, "model": run.model,
            "natural": _ci(stats.bootstrap_ci(natural, n_resamples, seed, clusters=films)),
            "shuffled": None, "reversed": None, "sentences": []}
        for order in orders:
            other = run.predictions(order).correct
            row[order] = _ci(stats.bootstrap_ci(other, n_resamples, seed, clusters=films))
            drop = _pair_test("natural", natural, order, other, films, n_resamples, seed)
            row[f"{order}_drop"] = {k: drop[k] for k in
                                    ("diff", "diff_lo", "diff_hi", "b", "c", "p_value",
                                     "p_cluster")}
            row["sentences"].append(_order_sentence(run, order, drop))
        rows.append(row)
    return rows


def _per_class_accuracy(p: Predictions, num_classes: int) -> np.ndarray:
    """float [K] per-class video accuracy; NaN for classes without test videos."""
    totals = np.bincount(p.labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(p.labels, weights=p.correct.astype(np.float64), minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def _per_class(runs: Sequence[Run], preds: dict[str, Predictions], classes: list[str],
               chosen: dict[str, Any]) -> dict[str, Any] | None:
    """Per-class gain of the headline's candidate over its baseline (roles, not test, pick them)."""
    if chosen["candidate"] is None or chosen["baseline"] is None:
        return None
    base = next(r for r in runs if r.name == chosen["baseline"])
    a = _per_class_accuracy(preds[chosen["candidate"]], len(classes))
    b = _per_class_accuracy(preds[base.name], len(classes))
    gains = {c: float(100 * (x - y)) for c, x, y in zip(classes, a, b) if np.isfinite(x - y)}
    return {"run": chosen["candidate"], "baseline": base.name, "baseline_model": base.model,
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
               **stats.accuracy_subset(p.labels, p.predicted, subset, n_resamples, seed,
                                       clusters=p.films),
               "shuffled": None}
        if "shuffled" in run.evals:
            s = run.predictions("shuffled")
            row["shuffled"] = stats.accuracy_subset(s.labels, s.predicted, subset,
                                                    n_resamples, seed, clusters=s.films)
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


def _headline_tests(chosen: dict[str, Any], tests: list[dict[str, Any]],
                    ablation: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The tests the headline quotes, oriented candidate - other, Holm-adjusted together.

    Keys: "baseline" (candidate vs baseline), "pooled" (vs the pooled control),
    "shuffled" (candidate natural vs its frames shuffled). `p_family` is the Holm
    adjustment of their film-cluster permutation p-values.
    """
    cand = chosen["candidate"]
    family: dict[str, dict[str, Any]] = {}
    for role in ("baseline", "pooled"):
        if cand and chosen[role]:
            family[role] = markdown.find_test({"tests": tests}, cand, chosen[role])
    for row in ablation:
        if row["run"] == cand and row.get("shuffled_drop"):
            family["shuffled"] = dict(row["shuffled_drop"])
    for t, p in zip(family.values(), stats.holm([t["p_cluster"] for t in family.values()])):
        t["p_family"] = p
    return family


def split_summary(runs: list[Run], split: str, order_classes: Sequence[str] | None,
                  n_resamples: int, seed: int, chosen: dict[str, Any] | None = None,
                  baseline: str | None = None, candidate: str | None = None,
                  allow_different_frames: bool = False) -> dict[str, Any]:
    """The summary of runs evaluated on the same test videos (one split), without figures.

    Raises:
      ValueError: runs on different videos or frames, or roles that cannot be chosen.
    """
    validate_same_data(runs)
    frame_problems = validate_same_frames(runs, allow_different_frames)
    unique_names(runs)
    first = runs[0].eval
    classes = [str(c) for c in first["classes"]]
    preds = {run.name: run.predictions() for run in runs}
    chosen = chosen or roles.choose_roles(runs, baseline, candidate)
    warnings: list[str] = []
    rows = [_run_row(run, preds[run.name], len(classes), n_resamples, seed, warnings)
            for run in runs]
    recipes = {run.name: run.recipe for run in runs}
    diff_rows, confounds = roles.differences(recipes)
    for name in roles.missing_recipes(recipes):
        warnings.append(f"{name} records no recipe (trained by an older vidrec): what differs "
                        "between the runs cannot be checked for it.")
    tests = _pairwise_tests(runs, preds, n_resamples, seed)
    ablation = _ablation(runs, n_resamples, seed)
    films = preds[runs[0].name].films
    return {
        "split": split, "data": dict(first.get("data") or {}),
        "official_split": runs[0].official_split,
        "num_videos": len(preds[runs[0].name].ids), "num_films": len(set(films)),
        "classes": classes, "n_resamples": n_resamples, "seed": seed, "confidence": 0.95,
        "protocol": {k: v for k, v in (first.get("protocol") or {}).items()
                     if k != "fingerprint"},
        "frame_mismatches": frame_problems,
        "roles": chosen, "runs": rows, "tests": tests,
        "headline_tests": _headline_tests(chosen, tests, ablation),
        "differences": diff_rows, "confounds": confounds,
        "ablation": ablation,
        "per_class": _per_class(runs, preds, classes, chosen),
        "order_classes": (_order_subset(runs, preds, classes, order_classes, n_resamples, seed)
                          if order_classes else None),
        "warnings": warnings,
    }


def write_split_report(runs: list[Run], summary: dict[str, Any], out_dir: str) -> None:
    """Draws the figures, sets the headline, writes summary.json and report.md to `out_dir`."""
    tf.io.gfile.makedirs(out_dir)
    preds = {run.name: run.predictions() for run in runs}
    summary["figures"] = _figures(runs, preds, summary["classes"], summary, out_dir)
    summary["headline"] = markdown.headline(summary)
    write_outputs(summary, markdown.render(summary), out_dir)


def write_outputs(summary: dict[str, Any], report: str, out_dir: str) -> None:
    with tf.io.gfile.GFile(posixpath.join(out_dir, SUMMARY_NAME), "w") as f:
        f.write(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    with tf.io.gfile.GFile(posixpath.join(out_dir, REPORT_NAME), "w") as f:
        f.write(report)


def compare(run_dirs: Sequence[str], out_dir: str, split: str = "test",
            order_classes: Sequence[str] | None = None, n_resamples: int = 2000,
            seed: int = 0, baseline: str | None = None, candidate: str | None = None,
            allow_different_frames: bool = False) -> dict[str, Any]:
    """Compare runs evaluated on the same videos and frames and write a report.

    Args:
      run_dirs: run directories (local or gs://), each with eval_<split>.json.
      out_dir: where report.md, summary.json and the PNGs go (created).
      split: which evaluation to compare.
      order_classes: optional class names only frame order tells apart; adds a
        section with each run's accuracy on those classes.
      n_resamples: bootstrap resamples for every confidence interval.
      seed: bootstrap and permutation seed (the same resampled films for every run).
      baseline, candidate: the runs the headline compares (names or run dirs);
        default: chosen by validation video accuracy (`roles.choose_roles`).
      allow_different_frames: report runs scored on different frames or protocols
        anyway, saying so at the top of the report, instead of refusing them.

    Returns:
      The summary dict written to summary.json; summary["headline"] is the
      plain-words finding at the top of report.md. Runs of several official
      splits give {"splits": {...}, "across": ...} (see `report.across`).

    Raises:
      ValueError: no runs, a missing eval file, runs on different data or frames.
    """
    from report import across  # across builds on this module

    if not run_dirs:
        raise ValueError("no runs to compare: give at least one RUN_DIR")
    runs = [load_run(d, split) for d in run_dirs]
    groups = across.group_by_split(runs)
    if len(groups) > 1:
        return across.compare_splits(groups, out_dir, split, order_classes, n_resamples, seed,
                                     baseline, candidate, allow_different_frames)
    summary = split_summary(runs, split, order_classes, n_resamples, seed, None, baseline,
                            candidate, allow_different_frames)
    write_split_report(runs, summary, out_dir)
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
