"""The across-split headline and report.md, from `report.answer.across_splits.summarise`.

Each run's accuracy per official split with the mean ± std over splits, each part's
difference per split and in how many splits it is significant, then each split's own
headline with a link to its full report.
"""

from __future__ import annotations

from typing import Any

from report.answer.roles import ROLES
from report.render.formats import fmt_p, pct, plus_minus, points
from report.render.headline import (
    PART_LABELS,
    SIDES,
    confound_words,
    in_parts,
    mismatch_words,
    named,
)
from report.render.markdown import differences_section
from vidrec.core.markdown import table


def _seed_words(result: dict[str, Any]) -> str:
    """"the mean over 3 training seeds per model" (or the one-seed caution) for the headline."""
    counts = sorted({s["n_seeds"] for s in result["seeding"].values()})
    if counts == [1]:
        return "one training seed per model (seed variance unmeasured)"
    return f"the mean over {' or '.join(map(str, counts))} training seeds per model"


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
    out = [f"{where}, {in_parts(result['parts'])} (video accuracy, {_seed_words(result)}, mean ± "
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
    parts = [[PART_LABELS[key], f"{p['run']}: natural − shuffled" if key == "shuffled"
              else f"{p['run_a']} − {p['run_b']}",
              *(f"{points(p['diff'][s])} ({fmt_p(p['p_family'][s])})" for s in splits),
              f"{points(p['diff_mean'])} ± {100 * p['diff_std']:.1f}",
              f"{p['significant']} of {k}"] for key, p in result["across"]["parts"].items()]
    return (table(["Run", "Model", "Kind", *per_split, "Mean ± std", "Val (mean)",
                   "Seeds per split"], runs)
            + ["", f"## {in_parts(result['parts']).capitalize()}, per split", "",
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
    named_roles = ", ".join(f"{role} = {chosen[role]}" for role in ROLES if chosen.get(role))
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
