"""report.md's "Training seeds" section: spread over seeds, seed vs film variance, rank-first.

Reads the summary dict only (`report.answer.split_summary`: each run's "seeds",
"seed_spread" and "variance", each headline test's "variance" and "seeds_needed", and
"rank_first"), as `report.render.markdown` does for the rest of report.md.
"""

from __future__ import annotations

from typing import Any

from report.render.formats import pct, plus_minus
from report.render.headline import PART_LABELS, n_seeds
from vidrec.core.markdown import table

UNMEASURED = ("One training seed per model: seed variance is unmeasured (one training seed is "
              "one draw), so every interval here covers the test films only, and a different "
              "seed could give a different answer. Train each model under at least 3 seeds "
              "(`vidrec train --seeds 0,1,2`) and compare the seed groups to measure it.")


def _std_points(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _spread_table(summary: dict[str, Any]) -> list[str]:
    """Each run: its seeds, mean ± std, min–max and every seed's video top-1."""
    rows = []
    for r in summary["runs"]:
        s = r["seed_spread"]
        rows.append([r["name"], ", ".join(map(str, r["seeds"])),
                     plus_minus(s["mean"], s["std"]) if s["std"] is not None else pct(s["mean"]),
                     f"{pct(s['min'])}–{pct(s['max'])}",
                     ", ".join(f"seed {k}: {pct(v)}" for k, v in s["per_seed"].items())])
    return table(["Run", "Seeds", "Video top-1, mean ± std over seeds", "Min–max",
                  "Per seed"], rows)


def _needed(t: dict[str, Any]) -> str:
    need = t.get("seeds_needed")
    if not need:
        return "– (settled)"
    if need["reason"] == "films":
        return "more test films, not seeds"
    if need["reason"] == "unmeasured":
        return f"unmeasured: at least {need['n_seeds']}"
    return f"about {need['n_seeds']}" + (" (borderline)" if need["reason"] == "borderline" else "")


def _variance_table(summary: dict[str, Any]) -> list[str]:
    """Std over seeds against the film-bootstrap std of the seed mean: runs, then differences."""
    rows = [[r["name"], "accuracy", _std_points(r["variance"]["seed_std"]),
             _std_points(r["variance"]["film_std"]), "–"] for r in summary["runs"]]
    for key, t in (summary.get("headline_tests") or {}).items():
        who = (f"{t['run']}: natural − shuffled" if key == "shuffled"
               else f"{t['run_a']} − {t['run_b']}")
        rows.append([who, f"difference ({PART_LABELS.get(key, key)})",
                     _std_points(t["variance"]["seed_std"]),
                     _std_points(t["variance"]["film_std"]), _needed(t)])
    return table(["Run or difference", "What", "Std over seeds (points)",
                  "Std over test films (points)", "Seeds needed"], rows)


def seeds_section(summary: dict[str, Any]) -> list[str]:
    """"Training seeds": the spread of every run over its seeds, where the variance comes from
    (seeds or test films), and how often each run ranks first."""
    n = n_seeds(summary)
    lines = ["## Training seeds", ""]
    seeding = summary.get("seeding") or {}
    if n == 1:
        lines += [UNMEASURED, ""]
    else:
        lines += [f"Every model was trained under the same {n} seeds "
                  f"({', '.join(map(str, seeding.get('seeds', [])))}) and the models are "
                  "compared seed by seed. Each resample of every interval draws "
                  f"{n} seeds with replacement and then the test films (the same draws for "
                  "every model); P(A>B) is the chance that A beats B on a new seed.", ""]
        lines += _spread_table(summary) + [""]
    dropped = seeding.get("dropped") or {}
    lines += [f"- {name}: seed{'s' if len(gone) > 1 else ''} {', '.join(map(str, gone))} "
              "left out (not every model has it)." for name, gone in dropped.items()]
    lines += [""] if dropped else []
    lines += ["### Seed variance against film variance", "",
              "The std over seeds of each seed's accuracy (or paired difference), against the "
              "std over test-film resamples of the mean over seeds. More seeds shrink the "
              "first part of an interval, only more test films the second. \"Seeds needed\": "
              "for an inconclusive part, the seeds per model that would likely (80% power) "
              "show a difference as large as the one seen, keeping these test films.", ""]
    lines += _variance_table(summary) + [""]
    ranks = summary.get("rank_first") or {}
    if len(ranks) > 1:
        lines += ["### How often each run ranks first", "",
                  "Share of the bootstrap resamples (seeds and films) in which the run has the "
                  "highest video accuracy (ties shared).", ""]
        lines += table(["Run", "Ranks first"], [[k, pct(v)] for k, v in ranks.items()]) + [""]
    return lines
