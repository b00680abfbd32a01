"""One split's summary dict: every number report.md and summary.json show.

`split_summary` checks that the runs compare (same videos, same frames) and
computes each run's metrics with intervals over source films, every pairwise
test, the answer's three parts (`report.parts`), the order ablation, the
per-class gain and the order-only classes. The figures and the headline are
added when the report is written (`report.compare`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from report import ablation, paired, parts, roles, stats
from report.runs import (
    Predictions,
    Run,
    unique_names,
    validate_same_data,
    validate_same_frames,
)

ABS_TOLERANCE = 1e-4  # file metrics are floats; allow rounding when cross-checking


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


def _metrics(run: Run, p: Predictions, num_classes: int, n_resamples: int, seed: int,
             warnings: list[str]) -> dict[str, dict[str, float | None]]:
    """Video top-1, top-5 and mean class accuracy with CIs over films, cross-checked."""
    films = p.films
    top1 = stats.bootstrap_ci(p.correct, n_resamples, seed, clusters=films)
    if np.isfinite(p.probabilities).all():
        top5 = stats.ci_dict(stats.bootstrap_ci(stats.topk_correct(p.labels, p.probabilities, 5),
                                                n_resamples, seed, clusters=films))
    else:  # no per-video probabilities: report the file's value without an interval
        top5 = {"value": _float_or_none(run.eval.get("video_top5")), "lo": None, "hi": None}
    mca = stats.bootstrap_mean_class_accuracy(p.labels, p.predicted, num_classes,
                                              n_resamples, seed, clusters=films)
    _check(run, "video_top1", top1[0], warnings)
    if top5["lo"] is not None:
        _check(run, "video_top5", top5["value"], warnings)
    _check(run, "mean_class_accuracy", mca[0], warnings)
    return {"video_top1": stats.ci_dict(top1), "video_top5": top5,
            "mean_class_accuracy": stats.ci_dict(mca)}


def _run_row(run: Run, p: Predictions, num_classes: int, n_resamples: int, seed: int,
             warnings: list[str]) -> dict[str, Any]:
    """One table row: metrics with CIs over test films plus what describes the run."""
    cfg = run.config
    metrics = _metrics(run, p, num_classes, n_resamples, seed, warnings)
    summary = run.summary or {}
    recurrent = run.kind.recurrent
    protocol = run.eval.get("protocol") or {}
    return {
        "name": run.name, "run_dir": run.run_dir, "model": run.model,
        "kind": run.kind._asdict(), "kind_label": run.kind.label,
        "architecture": run.describe(), "encoder": run.eval.get("encoder"),
        "rnn": cfg.get("rnn") if recurrent else None,
        "hidden": cfg.get("hidden") if recurrent else None,
        "chunk_length": cfg.get("chunk_length") if run.kind.takes_chunks else None,
        "bidirectional": cfg.get("bidirectional") if recurrent else None,
        "num_videos": len(p.ids), "num_clips": run.eval.get("num_clips"),
        "clip_top1": _float_or_none(run.eval.get("clip_top1")),
        "clip_top5": _float_or_none(run.eval.get("clip_top5")),
        **metrics,
        "params": run.params(), "train_time_s": run.train_time_s(),
        "epochs_run": summary.get("epochs_run"),
        "best_val_accuracy": _float_or_none(summary.get("best_val_accuracy")),
        "val_video_top1": run.val_video_top1,
        "protocol": protocol.get("name"), "frames_fingerprint": protocol.get("fingerprint"),
    }


def _per_class_accuracy(p: Predictions, num_classes: int) -> np.ndarray:
    """float [K] per-class video accuracy; NaN for classes without test videos."""
    totals = np.bincount(p.labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(p.labels, weights=p.correct.astype(np.float64), minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def _per_class(runs: Sequence[Run], preds: dict[str, Predictions], classes: list[str],
               chosen: dict[str, Any]) -> dict[str, Any] | None:
    """Per-class gain of the order-aware candidate over the frame baseline (roles, not test,
    pick them); without one of them, the pooled control takes its place."""
    run = chosen["candidate"] or chosen["pooled"]
    baseline = chosen["frame"] or (chosen["pooled"] if run != chosen["pooled"] else None)
    if run is None or baseline is None:
        return None
    base = next(r for r in runs if r.name == baseline)
    a = _per_class_accuracy(preds[run], len(classes))
    b = _per_class_accuracy(preds[base.name], len(classes))
    gains = {c: float(100 * (x - y)) for c, x, y in zip(classes, a, b) if np.isfinite(x - y)}
    return {"run": run, "baseline": base.name, "baseline_model": base.model,
            "gains_points": dict(sorted(gains.items(), key=lambda kv: -kv[1]))}


def _recipe_differences(runs: Sequence[Run], warnings: list[str]
                        ) -> tuple[list[dict[str, Any]], list[str]]:
    """`roles.differences` of the runs' recipes; warns about runs that recorded none."""
    recipes = {run.name: run.recipe for run in runs}
    for name in roles.missing_recipes(recipes):
        warnings.append(f"{name} records no recipe (trained by an older vidrec): what differs "
                        "between the runs cannot be checked for it.")
    return roles.differences(recipes)


def split_summary(runs: list[Run], split: str, order_classes: Sequence[str] | None,
                  n_resamples: int, seed: int, chosen: dict[str, Any] | None = None,
                  baseline: str | None = None, candidate: str | None = None,
                  allow_different_frames: bool = False,
                  named: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The summary of runs evaluated on the same test videos (one split), without figures.

    `chosen` (roles chosen across splits) or else `named`, `candidate` and `baseline`
    (`roles.choose_roles`) say which runs the answer's parts compare.

    Raises:
      ValueError: runs on different videos or frames, or roles that cannot be chosen.
    """
    validate_same_data(runs)
    frame_problems = validate_same_frames(runs, allow_different_frames)
    unique_names(runs)
    first = runs[0].eval
    classes = [str(c) for c in first["classes"]]
    preds = {run.name: run.predictions() for run in runs}
    chosen = chosen or roles.choose_roles(runs, named, candidate, baseline)
    warnings: list[str] = []
    rows = [_run_row(run, preds[run.name], len(classes), n_resamples, seed, warnings)
            for run in runs]
    diff_rows, confounds = _recipe_differences(runs, warnings)
    tests = paired.pairwise_tests(runs, preds, n_resamples, seed)
    order_ablation = ablation.ablation(runs, n_resamples, seed)
    answer, headline_tests = parts.answer(chosen, tests, order_ablation)
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
        "parts": answer, "headline_tests": headline_tests,
        "differences": diff_rows, "confounds": confounds,
        "ablation": order_ablation,
        "per_class": _per_class(runs, preds, classes, chosen),
        "order_classes": (ablation.order_subset(runs, preds, classes, order_classes,
                                                n_resamples, seed)
                          if order_classes else None),
        "warnings": warnings,
    }
