"""The report's answer in three parts (four with spatial runs): which two runs each part
compares, and its tests.

1. "frames": do several frames help? The pooled control (the best order-blind
   multi-frame run) against the best frame run.
2. "order": does order help? The best order-aware run against the pooled control,
   and "shuffled": that run on its natural against its shuffled frames.
3. "recurrence": does recurrence help beyond order? The best recurrent run against
   the best non-recurrent order-aware run.
4. "spatial", only where some run is spatial (or the user names a spatial role): does
   spatial temporal modelling beat late fusion? The best spatial run (its temporal part
   sees the encoder's feature maps) against the best late-fusion order-aware run. Parts
   1-3 compare late-fusion runs only, so they are the same with or without spatial runs;
   without spatial runs there is no part 4 at all (not even skipped).

The runs are the roles (`report.answer.roles`), never chosen by test; a part is asked
where its roles are in play (`roles.roles_in_play`). A part whose runs are missing is
skipped with a sentence naming the role that is missing; without a pooled control,
part 2 compares the order-aware run with the frame run instead
("frames_and_order": several frames and their order together) and says so. Every
test the answer quotes is Holm-adjusted with the others on its permutation p over
(seed, film) cells (`p_family`; over films with one seed), and gets its `verdict`:
"yes" only when that test rejects AND the two-level interval of the difference (over
seeds and films) excludes 0 on the side of run_a, "no" when both agree on run_b's side,
else "inconclusive" with an estimate of the seeds it would take
(`report.stats.seed_variance.seeds_needed`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from report.answer.roles import ROLES
from report.stats.paired import find_test
from report.stats.resampling import SIGNIFICANCE
from report.stats.seed_variance import seeds_needed
from report.stats.significance import holm


class Part(NamedTuple):
    """One question and the roles it compares (a − b)."""

    question: str
    a: str
    b: str


PARTS = {"frames": Part("Do several frames help?", "pooled", "frame"),
         "order": Part("Does order help?", "order_aware", "pooled"),
         "recurrence": Part("Does recurrence help beyond order?", "recurrent", "non_recurrent"),
         "spatial": Part("Does spatial temporal modelling beat late fusion?", "spatial",
                         "late_fusion")}
FALLBACK = "frames_and_order"  # part 2 without a pooled control: order-aware vs frame


def _skipped(chosen: dict[str, Any], part: Part) -> str:
    """"Skipped: these runs include no ..." naming each role the part lacks."""
    missing = [ROLES[role].words for role in (part.a, part.b) if chosen[role] is None]
    return f"Skipped: these runs include no {' and no '.join(missing)}."


def _pair(chosen: dict[str, Any], key: str) -> tuple[str | None, str | None, str | None]:
    """(run_a, run_b, note) of a part: note is None when the part compares its own roles."""
    part = PARTS[key]
    a, b = chosen[part.a], chosen[part.b]
    if a is not None and b is not None:
        return a, b, None
    if key == "order" and a is not None and chosen["frame"] is not None:
        return a, chosen["frame"], (
            f"There is no {ROLES['pooled'].words} to tell order apart from seeing several "
            f"frames, so this compares {a} with the frame run: several frames and their order "
            "together.")
    if key == "recurrence" and a is not None:
        return None, None, (
            f"Recurrence cannot be told apart from order with these runs: there is no "
            f"{ROLES['non_recurrent'].words} to compare {a} with.")
    return None, None, _skipped(chosen, part)


def _shuffle_drop(ablation: list[dict[str, Any]], run: str) -> dict[str, Any] | None:
    """`run` natural − shuffled (from its eval_<split>_shuffled.json), or None without one."""
    row = next((a for a in ablation if a["run"] == run), None)
    if row is None or not row.get("shuffled_drop"):
        return None
    return {**row["shuffled_drop"], "run": run, "run_a": "natural", "run_b": "shuffled"}


def answer(chosen: dict[str, Any], tests: list[dict[str, Any]],
           ablation: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts whose roles are in play and the tests the headline quotes.

    Args:
      chosen: `roles.choose_roles`.
      tests: `report.stats.paired.pairwise_tests` of the split's runs.
      ablation: `order_ablation.ablation` of the split's runs.

    Returns:
      (parts, headline_tests). parts: {"frames" | "order" | "recurrence" | "spatial"
      (only where `chosen` holds its roles): {"question",
      "run_a", "run_b" (None when skipped), "test" (its key in headline_tests, or None),
      "shuffled" ("shuffled" or None; part 2 only), "note" (a sentence or None)}}.
      headline_tests: {"frames", "order" (or "frames_and_order"), "shuffled",
      "recurrence", "spatial"}, whichever the runs allow, each a paired test oriented
      run_a − run_b with `p_family`, the Holm adjustment of all their permutation p, its
      `verdict` and `seeds_needed` (None unless inconclusive).
    """
    parts: dict[str, Any] = {}
    family: dict[str, dict[str, Any]] = {}
    for key, part in PARTS.items():
        if part.a not in chosen or part.b not in chosen:
            continue  # the spatial part without spatial runs
        a, b, note = _pair(chosen, key)
        test = None
        if a is not None:
            test = key if b == chosen[part.b] else FALLBACK
            family[test] = find_test(tests, a, b)
        parts[key] = {"question": part.question, "run_a": a, "run_b": b, "test": test,
                      "shuffled": None, "note": note}
        drop = _shuffle_drop(ablation, a) if key == "order" and a is not None else None
        if drop is not None:
            family["shuffled"] = drop
            parts[key]["shuffled"] = "shuffled"
    for t, p in zip(family.values(), holm([t["p_cluster"] for t in family.values()])):
        t["p_family"] = p
        t["verdict"] = verdict(t)
        t["seeds_needed"] = None if t["verdict"] != "inconclusive" else seeds_needed(
            t["diff"], t["variance"]["seed_std"], t["variance"]["film_std"], t["n_seeds"])
    return parts, family


def verdict(t: dict[str, Any]) -> str:
    """"yes" (run_a better), "no" (run_b better) or "inconclusive": a side wins only when
    the Holm-adjusted test rejects and the two-level interval excludes 0 on its side."""
    if t["p_family"] < SIGNIFICANCE and t["diff_lo"] > 0:
        return "yes"
    if t["p_family"] < SIGNIFICANCE and t["diff_hi"] < 0:
        return "no"
    return "inconclusive"
