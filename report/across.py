"""Runs from several official splits: one report per split and the across-split summary.

HMDB51 results are reported per official split and as the mean over the three
splits. Runs are grouped by the official split of the data they were evaluated
on (the manifest's ``split``) and matched across splits by display name (the
run folder's name: ``runs/split1/lstm`` and ``runs/split2/lstm`` are both
``lstm``). Every split must hold the same run names. The headline's roles are
chosen once, by validation accuracy averaged over the splits (or by the user),
so every split's report names the same runs.

Nothing here writes: `report.compare` writes, under OUT::

    OUT/report.md, OUT/summary.json       the across-split table and headline
    OUT/split<N>/report.md, summary.json, figures   one full report per split
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from report import roles
from report.fmt import fmt_p, pct, plus_minus, points, table
from report.headline import SIGNIFICANCE, confound_words, mismatch_words
from report.markdown import differences_section
from report.runs import Run, unique_names


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


def _across(summaries: dict[Any, dict[str, Any]], names: list[str],
            chosen: dict[str, Any]) -> dict[str, Any]:
    """Per-run accuracy in every split with mean ± std, and the headline pairs' differences."""
    rows = []
    for name in names:
        per = {str(split): next(r for r in s["runs"] if r["name"] == name)
               for split, s in summaries.items()}
        top1 = {k: r["video_top1"]["value"] for k, r in per.items()}
        first = next(iter(per.values()))
        rows.append({"name": name, "model": first["model"], "architecture": first["architecture"],
                     "video_top1": top1, **_mean_std(list(top1.values())),
                     "val_video_top1": chosen["val_video_top1"].get(name)})
    pairs = {}
    for role in ("baseline", "pooled"):
        other = chosen[role]
        if chosen["candidate"] and other:
            tests = {str(split): s["headline_tests"][role] for split, s in summaries.items()}
            diffs = [t["diff"] for t in tests.values()]
            pairs[role] = {"run_a": chosen["candidate"], "run_b": other,
                           "diff": {k: t["diff"] for k, t in tests.items()},
                           **{f"diff_{k}": v for k, v in _mean_std(diffs).items()},
                           "higher": sum(d > 0 for d in diffs),
                           "significant": sum(t["diff"] > 0 and t["p_family"] < SIGNIFICANCE
                                              for t in tests.values()),
                           "p_family": {k: t["p_family"] for k, t in tests.items()}}
    return {"runs": rows, "pairs": pairs}


def choose_roles(groups: dict[Any, list[Run]], baseline: str | None,
                 candidate: str | None) -> dict[str, Any]:
    """The headline's runs for every split at once, by mean validation accuracy or by name.

    Raises:
      ValueError: the splits hold differently named runs, or roles cannot be chosen.
    """
    for runs in groups.values():
        unique_names(runs)
    _check_same_names(groups)
    chosen = roles.choose_roles(next(iter(groups.values())), baseline, candidate,
                                score=_mean_val(groups))
    if chosen["chosen_by"] == roles.CHOSEN_BY_VAL:
        chosen["chosen_by"] += " (mean over the splits)"
    return chosen


def summarise(summaries: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """The across-split summary (no headline yet) of split summaries whose reports are written.

    Args:
      summaries: official split -> `report.summary.split_summary` with its headline set,
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
        "across": _across(summaries, [r["name"] for r in first["runs"]], chosen),
        "splits": {str(k): {"headline": s["headline"], "report": f"split{k}/report.md"}
                   for k, s in summaries.items()},
        "frame_mismatches": sorted({p for s in summaries.values()
                                    for p in s["frame_mismatches"]}),
    }


def headline(result: dict[str, Any]) -> str:
    """The across-split finding in plain words."""
    chosen, rows = result["roles"], {r["name"]: r for r in result["across"]["runs"]}
    k = len(result["official_splits"])
    splits = ", ".join(result["official_splits"])
    pre = [w for w in (mismatch_words(result["frame_mismatches"]),) if w]
    cand, base = rows.get(chosen["candidate"]), rows.get(chosen["baseline"])
    if cand is None or base is None:
        best = max(rows.values(), key=lambda r: r["val_video_top1"] or 0.0)
        return " ".join(pre + [
            f"Over the {k} official splits ({splits}) {best['name']} reaches "
            f"{plus_minus(best['mean'], best['std'])} video accuracy (mean ± std over splits); "
            "there is no pair to compare."])
    pair = result["across"]["pairs"]["baseline"]
    s = (f"Over the {k} official splits ({splits}) {cand['name']} ({cand['architecture']}) "
         f"reaches {plus_minus(cand['mean'], cand['std'])} video accuracy (mean ± std over "
         f"splits) vs {plus_minus(base['mean'], base['std'])} for {base['name']} "
         f"({points(pair['diff_mean'])} ± {100 * pair['diff_std']:.1f} points; higher "
         f"in {pair['higher']} of {k} splits, significant in {pair['significant']} of {k} at "
         f"film-cluster permutation p < {SIGNIFICANCE} (Holm-adjusted within each split))")
    pooled = result["across"]["pairs"].get("pooled")
    if pooled is not None:
        p = rows[chosen["pooled"]]
        named = "" if p["name"] == "pooled" else f" {p['name']}"
        s += (f" and {plus_minus(p['mean'], p['std'])} for the pooled control{named} "
              f"({points(pooled['diff_mean'])} ± {100 * pooled['diff_std']:.1f} "
              f"points; significant in {pooled['significant']} of {k})")
    out = pre + [s + "."]
    caution = confound_words(result["confounds"])
    return " ".join(out + ([caution] if caution else []))


def _tables(result: dict[str, Any]) -> list[str]:
    """Each run's accuracy per split, and the headline pairs' differences per split."""
    splits = result["official_splits"]
    per_split = [f"Split {k}" for k in splits]
    runs = [[r["name"], r["architecture"], *(pct(r["video_top1"][k]) for k in splits),
             plus_minus(r["mean"], r["std"]), pct(r["val_video_top1"])]
            for r in result["across"]["runs"]]
    pairs = [[f"{pair['run_a']} − {pair['run_b']}",
              *(f"{points(pair['diff'][k])} ({fmt_p(pair['p_family'][k])})" for k in splits),
              f"{points(pair['diff_mean'])} ± {100 * pair['diff_std']:.1f}"]
             for pair in result["across"]["pairs"].values()]
    return (table(["Run", "Model", *per_split, "Mean ± std", "Val (mean)"], runs)
            + ["", "## Differences per split", ""]
            + table(["Candidate − other", *per_split, "Mean ± std"], pairs))


def render(result: dict[str, Any]) -> str:
    """report.md of the across-split comparison."""
    splits = result["official_splits"]
    lines = [f"# How important is recurrence? {len(result['across']['runs'])} runs over "
             f"{len(splits)} official splits", ""]
    if result["frame_mismatches"]:
        lines += [f"**{mismatch_words(result['frame_mismatches'])}**", ""]
    chosen = result["roles"]
    named = ", ".join(f"{role} {chosen[role]}" for role in ("candidate", "baseline", "pooled")
                      if chosen[role])
    lines += [result["headline"], "",
              "Video top-1 accuracy on each split's test videos (intervals and tests in each "
              "split's own report resample source films). Protocol "
              f"`{result['protocol']['name']}` for every run in every split. Headline runs: "
              f"{named}, {chosen['chosen_by']}; the test split played no part in the choice.",
              ""]
    lines += _tables(result) + [""] + differences_section(result)
    lines += ["## Each split", ""]
    for k in splits:
        entry = result["splits"][k]
        lines += [f"### Split {k} ([full report]({entry['report']}))", "", entry["headline"], ""]
    return "\n".join(lines)
