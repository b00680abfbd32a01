"""The finding in plain words, with numbers, for the top of report.md and the terminal.

Reads only the summary dict built by `report.answer.split_summary`: the answer's three
parts, four with spatial runs (`summary["parts"]`, see `report.answer.questions`) and the
tests they quote (`summary["headline_tests"]`: permutation p over (seed, film) cells,
Holm-adjusted together, and each part's verdict). With several training seeds it says "N
seeds x M films", each run's mean ± std over seeds and P(A>B) on a new seed; with one,
that seed variance is unmeasured.
"""

from __future__ import annotations

from typing import Any

from report.render.formats import ci, fmt_p, pct, plus_minus, points
from report.stats.resampling import SIGNIFICANCE

__all__ = ["PART_LABELS", "SIGNIFICANCE", "SIDES", "family_words", "headline", "in_parts",
           "named", "significant", "top_warnings"]

# Who each side of a test is, and what a significant gain would mean, by headline test.
SIDES = {"frames": ("the pooled control", "the frame run"),
         "order": ("the order-aware run", "the pooled control"),
         "frames_and_order": ("the order-aware run", "the frame run"),
         "recurrence": ("the recurrent run", "the non-recurrent order-aware run"),
         "spatial": ("the spatial run", "the late-fusion order-aware run")}
CLAIMS = {"frames": ("several frames help", "they hurt"),
          "order": ("frame order helps beyond seeing the same frames", "it hurts"),
          "frames_and_order": ("several frames with their order help (these runs cannot say "
                               "which of the two)", "they hurt"),
          "recurrence": ("recurrence helps beyond modelling order", "it hurts"),
          "spatial": ("spatial temporal modelling beats late fusion", "it does worse")}
# How the tables name each headline test.
PART_LABELS = {"frames": "1. several frames", "order": "2. order",
               "frames_and_order": "2. frames and order", "shuffled": "2. shuffle drop",
               "recurrence": "3. recurrence beyond order",
               "spatial": "4. spatial vs late fusion"}
NUMBERS = {3: "three", 4: "four"}  # "the answer in three parts": four with spatial runs


def in_parts(parts: Any) -> str:
    """"the answer in three parts" (or four: the spatial part is asked only where a run is
    spatial)."""
    return f"the answer in {NUMBERS.get(len(parts), len(parts))} parts"


def _row(summary: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((r for r in summary["runs"] if r["name"] == name), None) if name else None


def named(row: dict[str, Any]) -> str:
    """"lstm (LSTM, 128)" or just "frame" when the name says it all."""
    arch = row["architecture"]
    return row["name"] if row["name"] == arch else f"{row['name']} ({arch})"


def n_seeds(summary: dict[str, Any]) -> int:
    """Training seeds per model in this comparison (1 for summaries without seeds)."""
    return (summary.get("seeding") or {}).get("n_seeds", 1)


def perm_cells(summary: dict[str, Any]) -> str:
    """What the permutation test flips: "Film" (one seed) or "Seed×film" cells."""
    return "Film" if n_seeds(summary) == 1 else "Seed×film"


def family_words(summary: dict[str, Any]) -> str:
    """Which p-value the headline quotes."""
    n = len(summary.get("headline_tests") or {})
    test = ("film-cluster permutation test" if n_seeds(summary) == 1 else
            "permutation test over (seed, film) cells")
    return f"{test}, Holm-adjusted over the headline's {n} tests" if n > 1 else test


def seed_words(summary: dict[str, Any]) -> str:
    """"3 training seeds per model (3 seeds x 40 films)" or the one-seed caution."""
    n = n_seeds(summary)
    if n == 1:
        return ("one training seed per model (seed variance unmeasured: one training seed is "
                "one draw)")
    return f"{n} training seeds per model ({n} seeds x {summary['num_films']} films)"


def needed_words(t: dict[str, Any]) -> str:
    """Why an inconclusive part is so, and what would likely settle it."""
    need = t.get("seeds_needed") or {}
    var = t.get("variance") or {}
    stds = (f"std over seeds {100 * (var.get('seed_std') or 0):.1f} points, over test films "
            f"{100 * var.get('film_std', 0):.1f}")
    reason = need.get("reason")
    if reason == "unmeasured":
        return (f"Inconclusive: with one training seed per model the seed variance is unmeasured "
                f"(one training seed is one draw); train each model under at least "
                f"{need['n_seeds']} seeds.")
    if reason == "films":
        return (f"Inconclusive: the test films alone make a difference this size noise (the "
                f"difference's std over test films is {100 * var.get('film_std', 0):.1f} "
                f"points, over seeds {100 * (var.get('seed_std') or 0):.1f}), so more test "
                "films, not more seeds, would be needed.")
    if reason == "seeds":
        return (f"Inconclusive: about {need['n_seeds']} seeds per model would likely be needed "
                f"to show a difference this size (80% power; {stds}).")
    return (f"Inconclusive: by the measured variances ({stds}) the {t.get('n_seeds')} seeds at "
            "hand should show a difference this size: a borderline result.")


def spread_words(row: dict[str, Any]) -> str:
    """" (90.0 ± 1.2% over 3 seeds)" for a run of several seeds; "" for one."""
    spread = row.get("seed_spread") or {}
    if len(row.get("seeds") or []) < 2:
        return ""
    return f" ({plus_minus(spread['mean'], spread['std'])} over {len(row['seeds'])} seeds)"


def beats_words(t: dict[str, Any]) -> str:
    """", P(A>B) on a new seed 0.83 [0.50–1.00]" with several seeds; "" with one."""
    win = t.get("p_a_beats_b")
    if not win or (t.get("n_seeds") or 1) < 2:
        return ""
    return f", P(A>B) on a new seed {win['value']:.2f} [{win['lo']:.2f}–{win['hi']:.2f}]"


def significant(t: dict[str, Any]) -> bool:
    """The headline's test of `t` (Holm-adjusted permutation p) is significant."""
    return t["p_family"] < SIGNIFICANCE


def _verdict(summary: dict[str, Any], key: str, t: dict[str, Any]) -> str:
    """"Yes: ...", "No: ..." (test and two-level interval agree) or why it is inconclusive
    for the headline test `key`."""
    claim, hurt = CLAIMS[key]
    if t["verdict"] == "yes":
        return f"Yes: {claim}."
    if t["verdict"] == "no":
        return f"No: {SIDES[key][1]} does significantly better."
    over = "seeds and films" if n_seeds(summary) > 1 else "films"
    if significant(t):
        return (f"The test rejects ({fmt_p(t['p_family'])}) but the 95% interval of the "
                f"difference over {over} ({points(t['diff_lo'])} to {points(t['diff_hi'])} "
                f"points) includes 0, so these runs do not show that {claim} (nor that "
                f"{hurt}). {needed_words(t)}")
    return (f"Not significant on {summary['num_videos']} videos of {summary['num_films']} "
            f"films once adjusted for the headline's tests (unadjusted 95% CI of the difference "
            f"{points(t['diff_lo'])} to {points(t['diff_hi'])} points): these runs do not show "
            f"that {claim} (nor that {hurt}). {needed_words(t)}")


def _shuffle_words(summary: dict[str, Any], part: dict[str, Any], gained: bool) -> str | None:
    """"Shuffling its frames drops it to 30.0% (...)" for part 2's run, or None."""
    d = (summary.get("headline_tests") or {}).get(part["shuffled"] or "")
    a = next((a for a in summary["ablation"] if a["run"] == part["run_a"]), None)
    if d is None or a is None:
        return None
    shuffled = pct(a["shuffled"]["value"])
    if d["verdict"] == "yes":
        tail = ", so the gain comes from modelling order" if gained else ", so it uses order"
        return (f"Shuffling its frames drops it to {shuffled} ({-100 * d['diff']:.1f} points, "
                f"{fmt_p(d['p_family'])}){tail}.")
    if d["diff_hi"] < 0:
        return (f"Shuffling its frames raises it to {shuffled} ({points(-d['diff'])} points), "
                "so natural order does not help it.")
    return (f"Shuffling its frames leaves it at {shuffled} ({points(-d['diff'])} points, not a "
            "significant change), so it does not rely on frame order.")


def part_words(summary: dict[str, Any], number: int, key: str) -> str:
    """One part of the answer: its question, the two runs, the difference and the verdict."""
    part = summary["parts"][key]
    head = f"{number}. {part['question']}"
    if part["test"] is None:
        return f"{head} {part['note']}"
    t = summary["headline_tests"][part["test"]]
    a, b = _row(summary, part["run_a"]), _row(summary, part["run_b"])
    side_a, side_b = SIDES[part["test"]]
    out = [head] + ([part["note"]] if part["note"] else [])
    out.append(f"{named(a)}, {side_a}, reaches {ci(a['video_top1'], 1)}{spread_words(a)} vs "
               f"{ci(b['video_top1'], 1)}{spread_words(b)} for {named(b)}, {side_b} "
               f"({points(t['diff'])} points, {fmt_p(t['p_family'])}{beats_words(t)}). "
               f"{_verdict(summary, part['test'], t)}")
    if key == "order":
        shuffle = _shuffle_words(summary, part, t["verdict"] == "yes")
        out += [shuffle] if shuffle else []
    return " ".join(out)


def confound_words(confounds: list[str]) -> str | None:
    """The headline's caution when runs differ beyond the temporal part."""
    if not confounds:
        return None
    return (f"Caution: these runs differ beyond the temporal part ({', '.join(confounds)}), a "
            "confound: the difference may come from that, not from the temporal model (see "
            "\"What differs between these runs\").")


def mismatch_words(problems: list[str]) -> str | None:
    """The warning when runs were not all scored on the same frames (None when they were)."""
    if not problems:
        return None
    return (f"WARNING: these runs were NOT all scored on the same frames "
            f"(--allow-different-frames): {problems[0]}.")


def _single_words(summary: dict[str, Any]) -> str:
    r = summary["runs"][0]
    over = "films" if n_seeds(summary) == 1 else "seeds and films"
    return (f"Only one run: {named(r)} reaches {ci(r['video_top1'])}{spread_words(r)} video "
            f"accuracy (95% CI over {over}) on {summary['num_videos']} {summary['split']} "
            f"videos, {seed_words(summary)}; there is nothing to compare it with.")


def top_warnings(summary: dict[str, Any], environment: bool = False) -> list[str]:
    """The warnings that open the headline and report.md: other frames, other seed lists
    and (report.md only: `environment`) other environments."""
    words = [mismatch_words(summary.get("frame_mismatches") or []),
             (summary.get("seeding") or {}).get("warning"),
             (summary.get("environment") or {}).get("warning") if environment else None]
    return [w for w in words if w]


def _failed_controls(summary: dict[str, Any]) -> str | None:
    """A warning when an order-blind run changes with frame order (it should not)."""
    failed = [a["run"] for a in summary["ablation"]
              if not a["order_aware"] and any("FAILED" in s for s in a["sentences"])]
    if not failed:
        return None
    return (f"Warning: the order-blind control {', '.join(failed)} changes when its frames are "
            "reordered, which an order-blind model should not allow; check the evaluation.")


def headline(summary: dict[str, Any]) -> str:
    """The finding in plain words, with numbers, for the top of the report."""
    pre = top_warnings(summary)
    if len(summary["runs"]) == 1:
        return " ".join(pre + [_single_words(summary)])
    p = f"; p: {family_words(summary)}" if summary["headline_tests"] else ""
    over = ("with 95% CIs over films" if n_seeds(summary) == 1 else
            "as the mean over seeds, with 95% CIs over seeds and films")
    out = [f"On these {summary['num_videos']} {summary['split']} videos "
           f"({summary['num_films']} source films), {seed_words(summary)}, "
           f"{in_parts(summary['parts'])} (video accuracy {over}{p}):"]
    out += [part_words(summary, i, key) for i, key in enumerate(summary["parts"], 1)]
    tail = (_failed_controls(summary), confound_words(summary.get("confounds") or []))
    return " ".join(pre + out + [w for w in tail if w])
