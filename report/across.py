"""Runs from several official splits: one report per split and the across-split summary.

HMDB51 results are reported per official split and as the mean over the three
splits. Runs are grouped by the official split of the data they were evaluated
on (the manifest's ``split``) and matched across splits by display name (the
run folder's name: ``runs/split1/lstm`` and ``runs/split2/lstm`` are both
``lstm``). Every split must hold the same run names. The answer's roles are
chosen once, by validation accuracy averaged over the splits (or by the user),
so every split's report answers its three parts (`report.parts`) with the same
runs; on top, each part's difference per split, its mean ± std over the splits
and in how many splits it is significant (its answer is yes). Seed groups are paired
by seed within each split (`report.seeds`); a run's accuracy in a split is the mean
over its seeds, and the mean ± std is over the splits of that seed mean.

Nothing here writes: `report.compare` writes, under OUT::

    OUT/report.md, OUT/summary.json       the across-split table and headline
    OUT/split<N>/report.md, summary.json, figures   one full report per split
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from report import roles
from report.fmt import fmt_p, pct, plus_minus, points, table
from report.headline import SIDES, confound_words, mismatch_words, named
from report.kinds import ROLES
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


def _seed_words(result: dict[str, Any]) -> str:
    """"the mean over 3 training seeds per model" (or the one-seed caution) for the headline."""
    counts = sorted({s["n_seeds"] for s in result["seeding"].values()})
    if counts == [1]:
        return "one training seed per model (seed variance unmeasured)"
    return f"the mean over {' or '.join(map(str, counts))} training seeds per model"


LABELS = {"frames": "1. several frames", "order": "2. order",
          "frames_and_order": "2. frames and order", "shuffled": "2. shuffle drop",
          "recurrence": "3. recurrence beyond order"}


def _counts(pair: dict[str, Any], k: int) -> str:
    """"+30.0 ± 5.0 points; higher in 3 of 3 splits, significant in 2 of 3"."""
    s = (f"{points(pair['diff_mean'])} ± {100 * pair['diff_std']:.1f} points; higher in "
         f"{pair['higher']} of {k} splits, significant in {pair['significant']} of {k}")
    if pair["significant_lower"]:
        s += f", significantly lower in {pair['significant_lower']} of {k}"
    return s


def _part_words(result: dict[str, Any], number: int, key: str) -> str:
    """One part of the across-split answer, from each split's test of the same two runs."""
    part, k = result["parts"][key], len(result["official_splits"])
    head = f"{number}. {part['question']}"
    pairs = result["across"]["parts"]
    if part["test"] is None or part["test"] not in pairs:
        return f"{head} {part['note'] or 'Not in every split.'}"
    rows = {r["name"]: r for r in result["across"]["runs"]}
    a, b = rows[part["run_a"]], rows[part["run_b"]]
    side_a, side_b = SIDES[part["test"]]
    out = [head] + ([part["note"]] if part["note"] else [])
    out.append(f"{named(a)}, {side_a}, reaches {plus_minus(a['mean'], a['std'])} vs "
               f"{plus_minus(b['mean'], b['std'])} for {named(b)}, {side_b} "
               f"({_counts(pairs[part['test']], k)}).")
    if part["shuffled"] and "shuffled" in pairs:
        out.append(f"Shuffling its frames costs it {_counts(pairs['shuffled'], k)}.")
    return " ".join(out)


def headline(result: dict[str, Any]) -> str:
    """The across-split finding in plain words."""
    rows = result["across"]["runs"]
    k = len(result["official_splits"])
    where = f"Over the {k} official splits ({', '.join(result['official_splits'])})"
    pre = [w for w in (mismatch_words(result["frame_mismatches"]),) if w]
    pre += result.get("seed_warnings") or []
    if len(rows) == 1:
        return " ".join(pre + [
            f"{where} {named(rows[0])} reaches {plus_minus(rows[0]['mean'], rows[0]['std'])} "
            "video accuracy (mean ± std over splits); there is nothing to compare it with."])
    out = [f"{where}, the answer in three parts (video accuracy, {_seed_words(result)}, mean ± "
           "std over splits; significant: the split's answer is yes, its permutation test, "
           "Holm-adjusted within the split, and its interval agreeing):"]
    out += [_part_words(result, i, key) for i, key in enumerate(result["parts"], 1)]
    caution = confound_words(result["confounds"])
    return " ".join(pre + out + ([caution] if caution else []))


def _tables(result: dict[str, Any]) -> list[str]:
    """Each run's accuracy per split, and each part's difference per split."""
    splits, k = result["official_splits"], len(result["official_splits"])
    per_split = [f"Split {s}" for s in splits]
    runs = [[r["name"], r["architecture"], r["kind_label"],
             *(pct(r["video_top1"][s]) for s in splits), plus_minus(r["mean"], r["std"]),
             pct(r["val_video_top1"]),
             " / ".join(str(len(r["seeds"][s])) for s in splits)]
            for r in result["across"]["runs"]]
    parts = [[LABELS[key], f"{p['run']}: natural − shuffled" if key == "shuffled"
              else f"{p['run_a']} − {p['run_b']}",
              *(f"{points(p['diff'][s])} ({fmt_p(p['p_family'][s])})" for s in splits),
              f"{points(p['diff_mean'])} ± {100 * p['diff_std']:.1f}",
              f"{p['significant']} of {k}"] for key, p in result["across"]["parts"].items()]
    return (table(["Run", "Model", "Kind", *per_split, "Mean ± std", "Val (mean)",
                   "Seeds per split"], runs)
            + ["", "## The answer in three parts, per split", "",
               "Each part's difference in points per split (Holm-adjusted permutation p within "
               "the split), its mean ± std over the splits, and in how many splits it is a "
               "significant gain (the split's answer is yes).", ""]
            + table(["Part", "Comparison", *per_split, "Mean ± std", "Significant"], parts))


def render(result: dict[str, Any]) -> str:
    """report.md of the across-split comparison."""
    splits = result["official_splits"]
    lines = [f"# How important is recurrence? {len(result['across']['runs'])} runs over "
             f"{len(splits)} official splits", ""]
    if result["frame_mismatches"]:
        lines += [f"**{mismatch_words(result['frame_mismatches'])}**", ""]
    for warning in (result.get("seed_warnings") or []) + (result.get("environment_warnings")
                                                           or []):
        lines += [f"**{warning}**", ""]
    chosen = result["roles"]
    named_roles = ", ".join(f"{role} = {chosen[role]}" for role in ROLES if chosen[role])
    lines += [result["headline"], "",
              "Video top-1 accuracy on each split's test videos, the mean over each model's "
              "training seeds (intervals and tests in each split's own report resample seeds "
              "and source films). Protocol "
              f"`{result['protocol']['name']}` for every run in every split. Roles (role = run): "
              f"{named_roles}, {chosen['chosen_by']}; the test split played no part in the "
              "choice.", ""]
    lines += _tables(result) + [""] + differences_section(result)
    lines += ["## Each split", ""]
    for k in splits:
        entry = result["splits"][k]
        lines += [f"### Split {k} ([full report]({entry['report']}))", "", entry["headline"], ""]
    return "\n".join(lines)
