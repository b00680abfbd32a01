"""One split's summary dict: every number report.md and summary.json show.

`split_summary` checks that the runs compare (same seeds, same videos, same frames)
and computes each run's metrics with two-level intervals over training seeds and
source films (`report.stats.two_level`; over films alone with one seed), its spread over
seeds and seed-vs-film variance, every pairwise test, the answer's three parts (four
with spatial runs: `report.answer.questions`), the order ablation, the per-class gain
and the order-only classes. The eval files' own metrics are read through
`vidrec.core.eval_file` and cross-checked. The figures and the headline are added when the
report is written (`report.compare`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from report.answer import order_ablation, questions, recipes, roles
from report.runs import seed_groups
from report.runs.checks import unique_names, validate_same_data, validate_same_frames
from report.runs.load import Run
from report.stats import paired, seed_variance, two_level
from report.stats.intervals import ci_dict, mean_class_accuracy
from vidrec.core.eval_file import TOP_K, EvalFile, topk_hits

Stated = Callable[[EvalFile], Any]  # one metric as an eval file states it

ABS_TOLERANCE = 1e-4  # file metrics are floats; allow rounding when cross-checking


def _float_or_none(x: Any) -> float | None:
    return None if x is None else float(x)


def _check(run: Run, key: str, stated: Any, computed: float, warnings: list[str]) -> None:
    """Warn when the eval file's own metric (`key`, `stated`) disagrees with the one
    recomputed from its videos."""
    if stated is None or not np.isfinite(computed):
        return
    if abs(float(stated) - computed) > ABS_TOLERANCE:
        warnings.append(f"{run.name}: {key} in the eval file is {float(stated):.4f} but its "
                        f"per-video predictions give {computed:.4f}; the report uses the latter.")


def _metrics(run: Run, labels: np.ndarray, films: list[str], num_classes: int,
             draws: two_level.Draws, warnings: list[str]) -> dict[str, dict[str, float | None]]:
    """Video top-1, top-5 and mean class accuracy (means over seeds) with two-level CIs,
    each seed's cross-checked against its eval file."""
    preds = [m.predictions() for m in run.seed_runs]
    top1 = two_level.seed_bootstrap_ci(np.stack([p.correct for p in preds]), clusters=films,
                                       draws=draws)
    if all(np.isfinite(p.probabilities).all() for p in preds):
        top5_each = [topk_hits(p.labels, p.probabilities, TOP_K) for p in preds]
        top5 = ci_dict(two_level.seed_bootstrap_ci(np.stack(top5_each), clusters=films,
                                                   draws=draws))
    else:  # no per-video probabilities: report the files' value without an interval
        stated = [m.eval.video_top5 for m in run.seed_runs]
        top5_each = None
        top5 = {"value": None if None in stated else float(np.mean(stated)), "lo": None,
                "hi": None}
    mca = two_level.seed_mean_class_accuracy(labels, np.stack([p.predicted for p in preds]),
                                             num_classes, clusters=films, draws=draws)
    for i, (member, p) in enumerate(zip(run.seed_runs, preds)):
        ev = member.eval
        _check(member, "video_top1", ev.video_top1, float(p.correct.mean()), warnings)
        if top5_each is not None:
            _check(member, "video_top5", ev.video_top5, float(top5_each[i].mean()), warnings)
        _check(member, "mean_class_accuracy", ev.mean_class_accuracy,
               mean_class_accuracy(p.labels, p.predicted, num_classes), warnings)
    return {"video_top1": ci_dict(top1), "video_top5": top5,
            "mean_class_accuracy": ci_dict(mca)}


def _run_row(run: Run, labels: np.ndarray, films: list[str], num_classes: int,
             draws: two_level.Draws, warnings: list[str], spatial_key: bool) -> dict[str, Any]:
    """One table row: metrics with CIs over seeds and test films, the spread over seeds,
    plus what describes the run ("kind" holds "spatial" only with `spatial_key`: where some
    compared run is spatial)."""
    cfg = run.config
    metrics = _metrics(run, labels, films, num_classes, draws, warnings)
    correct = run.correct()
    summary = run.summary or {}
    recurrent = run.traits.recurrent and not run.traits.spatial  # an RNN over vectors
    return {
        "name": run.name, "run_dir": run.run_dir, "model": run.model,
        "kind": run.traits.recorded(spatial_key), "kind_label": run.traits.label,
        "architecture": run.describe(), "encoder": run.eval.encoder,
        "rnn": cfg.get("rnn") if recurrent else None,
        "hidden": cfg.get("hidden") if recurrent else None,
        "chunk_length": cfg.get("chunk_length") if run.traits.takes_chunks else None,
        "bidirectional": cfg.get("bidirectional") if recurrent else None,
        "num_videos": len(labels), "num_clips": run.eval.num_clips,
        "clip_top1": _mean_stated(run, lambda ev: ev.clip_top1),
        "clip_top5": _mean_stated(run, lambda ev: ev.clip_top5),
        **metrics,
        "seeds": list(run.seeds), "dropped_seeds": list(run.dropped_seeds),
        "seed_runs": [m.run_dir for m in run.members],
        "seed_spread": seed_variance.seed_spread(correct, run.seeds),
        "variance": seed_variance.variance_split(correct, clusters=films, draws=draws),
        "params": run.params(), "train_time_s": run.train_time_s(),
        "epochs_run": summary.get("epochs_run"),
        "best_val_accuracy": _float_or_none(summary.get("best_val_accuracy")),
        "val_video_top1": run.val_video_top1,
        "protocol": run.eval.protocol_name, "frames_fingerprint": run.eval.protocol_fingerprint,
    }


def _mean_stated(run: Run, stated: Stated) -> float | None:
    """The mean over seeds of a metric the eval files state (None when one does not)."""
    values = [stated(m.eval) for m in run.seed_runs]
    return None if None in values else float(np.mean([float(v) for v in values]))


def _per_class_accuracy(run: Run, num_classes: int) -> np.ndarray:
    """float [K] per-class video accuracy, the mean over seeds; NaN for classes without test
    videos."""
    labels = run.predictions().labels
    totals = len(run.seed_runs) * np.bincount(labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(labels, weights=run.correct().sum(axis=0).astype(np.float64),
                       minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def _per_class(runs: Sequence[Run], classes: list[str], chosen: dict[str, Any]
               ) -> dict[str, Any] | None:
    """Per-class gain of the order-aware candidate over the frame baseline (roles, not test,
    pick them); without one of them, the pooled control takes its place."""
    run = chosen["candidate"] or chosen["pooled"]
    baseline = chosen["frame"] or (chosen["pooled"] if run != chosen["pooled"] else None)
    if run is None or baseline is None:
        return None
    by_name = {r.name: r for r in runs}
    base = by_name[baseline]
    a = _per_class_accuracy(by_name[run], len(classes))
    b = _per_class_accuracy(base, len(classes))
    gains = {c: float(100 * (x - y)) for c, x, y in zip(classes, a, b) if np.isfinite(x - y)}
    return {"run": run, "baseline": base.name, "baseline_model": base.model,
            "gains_points": dict(sorted(gains.items(), key=lambda kv: -kv[1]))}


def _recipe_differences(runs: Sequence[Run], warnings: list[str]
                        ) -> tuple[list[dict[str, Any]], list[str]]:
    """`recipes.differences` of the runs' recipes; warns about runs that recorded none."""
    recorded = {run.name: run.recipe for run in runs}
    for name in recipes.missing_recipes(recorded):
        warnings.append(f"{name} records no recipe (trained by an older vidrec): what differs "
                        "between the runs cannot be checked for it.")
    return recipes.differences(recorded)


def split_summary(runs: list[Run], split: str, order_classes: Sequence[str] | None,
                  n_resamples: int, seed: int, chosen: dict[str, Any] | None = None,
                  baseline: str | None = None, candidate: str | None = None,
                  allow_different_frames: bool = False,
                  named: Mapping[str, str] | None = None,
                  allow_different_seeds: bool = False) -> dict[str, Any]:
    """The summary of runs evaluated on the same test videos (one split), without figures.

    `chosen` (roles chosen across splits) or else `named`, `candidate` and `baseline`
    (`roles.choose_roles`) say which runs the answer's parts compare. The runs should
    already be paired by seed (`seed_groups.pair_seeds`, as `compare.prepare` does); runs that
    are not are paired here.

    Raises:
      ValueError: runs on different seeds (unless allowed), videos or frames, or roles
        that cannot be chosen.
    """
    unique_names(runs)
    runs = seed_groups.pair_seeds(runs, allow_different_seeds)
    validate_same_data(runs)
    frame_problems = validate_same_frames(runs, allow_different_frames)
    first = runs[0].eval
    classes = [str(c) for c in first.classes]
    p = runs[0].predictions()
    films, labels = p.films, p.labels
    chosen = chosen or roles.choose_roles(runs, named, candidate, baseline)
    warnings: list[str] = []
    draws = two_level.draws(films, len(runs[0].seeds), n_resamples, seed)
    correct = {run.name: run.correct() for run in runs}
    spatial_key = any(run.traits.spatial for run in runs)
    rows = [_run_row(run, labels, films, len(classes), draws, warnings, spatial_key)
            for run in runs]
    diff_rows, confounds = _recipe_differences(runs, warnings)
    tests = paired.pairwise_tests(runs, correct, films, n_resamples, seed, draws)
    ablation = order_ablation.ablation(runs, films, n_resamples, seed, draws)
    answer, headline_tests = questions.answer(chosen, tests, ablation)
    environment = seed_groups.environment_differences(runs)
    return {
        "split": split, "data": dict(first.data or {}),
        "official_split": runs[0].official_split,
        "num_videos": len(p.ids), "num_films": len(set(films)),
        "classes": classes, "n_resamples": n_resamples, "seed": seed, "confidence": 0.95,
        "protocol": first.protocol_settings,
        "frame_mismatches": frame_problems,
        "seeding": seed_groups.seeding(runs),
        "environment": {"differs": environment,
                        "warning": seed_groups.environment_words(environment)},
        "roles": chosen, "runs": rows, "tests": tests,
        "rank_first": seed_variance.rank_first(correct, clusters=films, draws=draws),
        "parts": answer, "headline_tests": headline_tests,
        "differences": diff_rows, "confounds": confounds,
        "ablation": ablation,
        "per_class": _per_class(runs, classes, chosen),
        "order_classes": (order_ablation.order_subset(runs, labels, films, classes,
                                                      order_classes, n_resamples, seed)
                          if order_classes else None),
        "warnings": warnings,
    }
