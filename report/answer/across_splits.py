"""Runs from several official splits: one report per split and the across-split summary.

HMDB51 results are reported per official split and as the mean over the three
splits. Runs are grouped by the official split of the data they were evaluated
on (the manifest's ``split``) and matched across splits by display name (the
run folder's name: ``runs/split1/lstm`` and ``runs/split2/lstm`` are both
``lstm``). Every split must hold the same run names. The answer's roles are
chosen once, by validation accuracy averaged over the splits (or by the user),
so every split's report answers its three parts (`report.answer.questions`) with the same
runs; on top, each part's difference per split, its mean ± std over the splits
and in how many splits it is significant (its answer is yes). Seed groups are paired
by seed within each split (`report.runs.seed_groups`); a run's accuracy in a split is the
mean over its seeds, and the mean ± std is over the splits of that seed mean. Its headline
and report.md: `report.render.across_splits`.

Nothing here writes: `report.compare` writes, under OUT::

    OUT/report.md, OUT/summary.json       the across-split table and headline
    OUT/split<N>/report.md, summary.json, figures   one full report per split
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from report.answer import roles
from report.runs.checks import unique_names
from report.runs.load import Run


def group_by_split(runs: list[Run]) -> dict[Any, list[Run]]:
    """Official split -> its runs in the order given, splits sorted (one group: no split).

    Raises:
      ValueError: some runs name an official split and others do not.
    """
    groups: dict[Any, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.official_split, []).append(run)
    if len(groups) > 1 and None in groups:
        named = next(r for r in runs if r.official_split is None)
        raise ValueError(f"{named.run_dir} was evaluated on data without an official split, "
                         "while other runs name one: compare runs of one dataset")
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0}


def _check_same_names(groups: dict[Any, list[Run]]) -> None:
    names = {split: [r.name for r in runs] for split, runs in groups.items()}
    first_split, first = next(iter(names.items()))
    for split, these in names.items():
        if sorted(these) != sorted(first):
            missing = sorted(set(first) ^ set(these))
            raise ValueError(f"splits {first_split} and {split} hold different runs "
                             f"(named differently: {missing}); every split needs the same "
                             "run names (the run folders' names) to be averaged")


def _mean_val(groups: dict[Any, list[Run]]):
    def score(run: Run) -> float | None:
        values = [r.val_video_top1 for runs in groups.values() for r in runs
                  if r.name == run.name]
        return None if any(v is None for v in values) else float(np.mean(values))
    return score


def _run_rows(summaries: dict[Any, dict[str, Any]], names: list[str],
              chosen: dict[str, Any]) -> list[dict[str, Any]]:
    """Each run's video accuracy in every split, with mean ± std over the splits."""
    rows = []
    for name in names:
        per = {str(split): next(r for r in s["runs"] if r["name"] == name)
               for split, s in summaries.items()}
        top1 = {k: r["video_top1"]["value"] for k, r in per.items()}
        first = next(iter(per.values()))
        rows.append({"name": name, "model": first["model"], "kind_label": first["kind_label"],
                     "architecture": first["architecture"], "video_top1": top1,
                     "seeds": {k: r.get("seeds", [0]) for k, r in per.items()},
                     **_mean_std(list(top1.values())),
                     "val_video_top1": chosen["val_video_top1"].get(name)})
    return rows


def _part_tests(summaries: dict[Any, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each headline test of every split: its difference per split, mean ± std, and counts."""
    keys = [k for k in next(iter(summaries.values()))["headline_tests"]
            if all(k in s["headline_tests"] for s in summaries.values())]
    out = {}
    for key in keys:
        tests = {str(split): s["headline_tests"][key] for split, s in summaries.items()}
        first = next(iter(tests.values()))
        diffs = [t["diff"] for t in tests.values()]
        out[key] = {"run_a": first["run_a"], "run_b": first["run_b"], "run": first.get("run"),
                    "diff": {k: t["diff"] for k, t in tests.items()},
                    **{f"diff_{k}": v for k, v in _mean_std(diffs).items()},
                    "higher": sum(d > 0 for d in diffs),
                    "significant": sum(t["verdict"] == "yes" for t in tests.values()),
                    "significant_lower": sum(t["verdict"] == "no" for t in tests.values()),
                    "verdict": {k: t["verdict"] for k, t in tests.items()},
                    "p_a_beats_b": {k: t["p_a_beats_b"]["value"] for k, t in tests.items()},
                    "p_family": {k: t["p_family"] for k, t in tests.items()}}
    return out


def choose_roles(groups: dict[Any, list[Run]], named: Mapping[str, str] | None,
                 candidate: str | None, baseline: str | None) -> dict[str, Any]:
    """The answer's runs for every split at once, by mean validation accuracy or by name.

    Raises:
      ValueError: the splits hold differently named runs, or roles cannot be chosen.
    """
    for runs in groups.values():
        unique_names(runs)
    _check_same_names(groups)
    return roles.choose_roles(next(iter(groups.values())), named, candidate, baseline,
                              score=_mean_val(groups),
                              score_words=roles.CHOSEN_BY_VAL + " (mean over the splits)")


def summarise(summaries: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """The across-split summary (no headline yet) of split summaries whose reports are written.

    Args:
      summaries: official split -> `split_summary.split_summary` with its headline set,
        all with the same roles (`choose_roles`).
    """
    first = next(iter(summaries.values()))
    chosen = first["roles"]
    confounds = sorted({c for s in summaries.values() for c in s["confounds"]})
    return {
        "split": first["split"], "official_splits": [str(k) for k in summaries],
        "roles": chosen, "protocol": first["protocol"],
        "num_videos": {str(k): s["num_videos"] for k, s in summaries.items()},
        "num_films": {str(k): s["num_films"] for k, s in summaries.items()},
        "n_resamples": first["n_resamples"], "seed": first["seed"],
        "differences": first["differences"], "confounds": confounds,
        "parts": first["parts"],
        "across": {"runs": _run_rows(summaries, [r["name"] for r in first["runs"]], chosen),
                   "parts": _part_tests(summaries)},
        "splits": {str(k): {"headline": s["headline"], "report": f"split{k}/report.md"}
                   for k, s in summaries.items()},
        "frame_mismatches": sorted({p for s in summaries.values()
                                    for p in s["frame_mismatches"]}),
        "seeding": {str(k): s["seeding"] for k, s in summaries.items()},
        "seed_warnings": [f"Split {k}: {s['seeding']['warning']}" for k, s in summaries.items()
                          if s["seeding"]["warning"]],
        "environment_warnings": [f"Split {k}: {s['environment']['warning']}"
                                 for k, s in summaries.items() if s["environment"]["warning"]],
    }
