"""`compare`: run directories -> report.md, summary.json and PNG figures.

All numbers live in one summary dict (written as summary.json); the headline
and report.md are rendered from it (`report.render.headline`, `report.render.markdown`),
so what a reader sees and what a test or the demo reads are the same numbers.

Accuracies are fractions in [0, 1] in summary.json and percentages in report.md.

The contract of a fair comparison is checked, not assumed: runs must be
evaluated on the same videos (`runs.checks.validate_same_data`) and on the same
frames under the same protocol (`runs.checks.validate_same_frames`); every interval
and paired test resamples source films, not clips (`stats`, clusters = films), and
the training seeds too when models were trained under several
(`runs.seed_groups` pairs them by seed, `stats.two_level`); the runs the headline
names come from the user or from validation accuracy (the mean over seeds), never
from test (`answer.roles.choose_roles`); and every recipe difference outside the
temporal part is named as a confound (`answer.recipes.differences`). Runs from
several official splits get one report per split and the across-split mean ± std
(`answer.across_splits`, `render.across_splits`).

Two steps, so that a caller can tell bad input from a failure to write:
`prepare` reads and checks the runs and computes every number, writing
nothing; `write` draws the figures and writes the reports, and the headline and
report as TensorBoard text under the runs' log root (`render.tensorboard_text`).
`compare` does both.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from report.answer import across_splits
from report.answer.split_summary import split_summary
from report.render import across_splits as across_words
from report.render import headline, markdown, plots, tensorboard_text
from report.runs import seed_groups
from report.runs.checks import unique_names
from report.runs.load import Run
from report.videos import pictures
from vidrec.core.run_folder import join

REPORT_NAME = "report.md"
REPORT_SUMMARY = "summary.json"  # the report's own summary (not a run's train_summary.json)


@dataclasses.dataclass
class Comparison:
    """Runs checked and summarised, before anything is written.

    Attributes:
      groups: official split -> its runs (one group, keyed None, without official splits).
      summaries: official split -> `report.answer.split_summary.split_summary` of its runs.
    """

    groups: dict[Any, list[Run]]
    summaries: dict[Any, dict[str, Any]]


def prepare(run_dirs: Sequence[str], split: str = "test",
            order_classes: Sequence[str] | None = None, n_resamples: int = 2000,
            seed: int = 0, baseline: str | None = None, candidate: str | None = None,
            allow_different_frames: bool = False,
            roles: Mapping[str, str] | None = None,
            allow_different_seeds: bool = False) -> Comparison:
    """Reads and checks the runs and computes every number of the report; writes nothing.

    Args: as in `compare`.

    Raises:
      ValueError: no runs, a missing eval file or seed, runs on different seeds, data or
        frames, unknown --order-classes, roles that cannot be chosen or a run of the
        wrong traits.
    """
    if not run_dirs:
        raise ValueError("no runs to compare: give at least one RUN_DIR")
    runs = [seed_groups.load_model(d, split) for d in run_dirs]
    groups = across_splits.group_by_split(runs)
    for official, group in groups.items():  # paired before roles: val is the seeds' mean
        unique_names(group)
        groups[official] = seed_groups.pair_seeds(group, allow_different_seeds)
    chosen = (across_splits.choose_roles(groups, roles, candidate, baseline) if len(groups) > 1
              else None)
    summaries = {official: split_summary(group, split, order_classes, n_resamples, seed, chosen,
                                         baseline, candidate, allow_different_frames, roles,
                                         allow_different_seeds)
                 for official, group in groups.items()}
    return Comparison(groups, summaries)


def write(comparison: Comparison, out_dir: str, videos: bool = True) -> dict[str, Any]:
    """Writes the report of a prepared comparison to `out_dir`; returns its summary.

    One split: report.md, summary.json and the figures in `out_dir`. Several
    official splits: one such report per split in `out_dir`/split<N>/ and the
    across-split report.md and summary.json in `out_dir`. `videos`: as in `compare`.
    """
    if len(comparison.groups) == 1:
        (runs,), (summary,) = comparison.groups.values(), comparison.summaries.values()
        write_split_report(runs, summary, out_dir, videos, text=True)
        return summary
    for official, runs in comparison.groups.items():
        write_split_report(runs, comparison.summaries[official],
                           join(out_dir, f"split{official}"), videos)
    result = across_splits.summarise(comparison.summaries)
    result["headline"] = across_words.headline(result)
    result.setdefault("warnings", [])
    runs = [run for group in comparison.groups.values() for run in group]
    write_outputs(result, _with_text(runs, result, across_words.render), out_dir)
    return result


def _with_text(runs: Sequence[Run], summary: dict[str, Any], render) -> str:
    """Writes the headline and report to TensorBoard (`render.tensorboard_text`), records
    where in summary["tensorboard_text"]; returns the report rendered with any warning it
    added."""
    summary["tensorboard_text"] = tensorboard_text.log_report(
        runs, summary["headline"], render(summary), summary["warnings"])
    return render(summary)


def compare(run_dirs: Sequence[str], out_dir: str, split: str = "test",
            order_classes: Sequence[str] | None = None, n_resamples: int = 2000,
            seed: int = 0, baseline: str | None = None, candidate: str | None = None,
            allow_different_frames: bool = False,
            roles: Mapping[str, str] | None = None, videos: bool = True,
            allow_different_seeds: bool = False) -> dict[str, Any]:
    """Compare runs evaluated on the same videos and frames and write a report.

    Args:
      run_dirs: run directories (local or gs://), each with eval_<split>.json, or seed
        groups (GROUP/seeds.json and one such run folder per seed, `runs.seed_groups`).
      out_dir: where report.md, summary.json and the PNGs go (created).
      split: which evaluation to compare.
      order_classes: optional class names only frame order tells apart; adds a
        section with each run's accuracy on those classes.
      n_resamples: bootstrap resamples for every confidence interval.
      seed: bootstrap and permutation seed (the same resampled films for every run).
      baseline, candidate: aliases of `roles`: the baseline names the "frame" role, the
        candidate the "spatial" one for a spatial run, the "recurrent" one for a recurrent
        run, else "order_aware".
      roles: role ("frame", "pooled", "order_aware", "recurrent", "non_recurrent",
        "spatial", "late_fusion") -> run name or run dir; a role not named is the best
        run of its traits by validation video accuracy (`answer.roles.choose_roles`).
      allow_different_frames: report runs scored on different frames or protocols
        anyway, saying so at the top of the report, instead of refusing them.
      videos: draw the video pictures (`report.videos`: each run's mistakes, where the
        candidate changed the baseline's answer, order flips), reading the test videos'
        frames; False leaves them out (summary["videos"] is then None).
      allow_different_seeds: report models trained under different seed lists anyway,
        paired by the seeds they share, saying which were dropped at the top of the report
        and in the headline, instead of refusing them.

    Returns:
      The summary dict written to summary.json; summary["headline"] is the
      plain-words finding at the top of report.md. Runs of several official
      splits give {"splits": {...}, "across": ...} (see `answer.across_splits`).

    Raises:
      ValueError: no runs, a missing eval file or seed, models on different seed lists,
        runs on different data or frames, a role named with a run of the wrong traits.
    """
    return write(prepare(run_dirs, split, order_classes, n_resamples, seed, baseline,
                         candidate, allow_different_frames, roles, allow_different_seeds),
                 out_dir, videos)


def write_split_report(runs: list[Run], summary: dict[str, Any], out_dir: str,
                       videos_too: bool = True, text: bool = False) -> None:
    """Draws the figures and video pictures, sets the headline, writes summary.json and
    report.md to `out_dir` (and with `text`, the headline and report to TensorBoard)."""
    tf.io.gfile.makedirs(out_dir)
    summary["figures"] = plots.draw_figures(runs, summary, out_dir)
    summary["videos"] = pictures.draw_videos(runs, summary, out_dir) if videos_too else None
    summary["headline"] = headline.headline(summary)
    report = _with_text(runs, summary, markdown.render) if text else markdown.render(summary)
    write_outputs(summary, report, out_dir)


def write_outputs(summary: dict[str, Any], report: str, out_dir: str) -> None:
    """Writes `summary` as strict JSON to REPORT_SUMMARY and `report` to REPORT_NAME."""
    with tf.io.gfile.GFile(join(out_dir, REPORT_SUMMARY), "w") as f:
        f.write(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    with tf.io.gfile.GFile(join(out_dir, REPORT_NAME), "w") as f:
        f.write(report)


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
