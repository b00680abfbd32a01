"""The finding in plain words, with numbers, for the top of report.md and the terminal.

Reads only the summary dict built by `report.summary`: the answer's three parts
(`summary["parts"]`, see `report.parts`) and the tests they quote
(`summary["headline_tests"]`: film-cluster permutation p, Holm-adjusted together).
"""

from __future__ import annotations

from typing import Any

from report.fmt import ci, fmt_p, pct, points

SIGNIFICANCE = 0.05

# Who each side of a test is, and what a significant gain would mean, by headline test.
SIDES = {"frames": ("the pooled control", "the frame run"),
         "order": ("the order-aware run", "the pooled control"),
         "frames_and_order": ("the order-aware run", "the frame run"),
         "recurrence": ("the recurrent run", "the non-recurrent order-aware run")}
CLAIMS = {"frames": ("several frames help", "they hurt"),
          "order": ("frame order helps beyond seeing the same frames", "it hurts"),
          "frames_and_order": ("several frames with their order help (these runs cannot say "
                               "which of the two)", "they hurt"),
          "recurrence": ("recurrence helps beyond modelling order", "it hurts")}


def _row(summary: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((r for r in summary["runs"] if r["name"] == name), None) if name else None


def named(row: dict[str, Any]) -> str:
    """"lstm (LSTM, 128)" or just "frame" when the name says it all."""
    arch = row["architecture"]
    return row["name"] if row["name"] == arch else f"{row['name']} ({arch})"


def family_words(summary: dict[str, Any]) -> str:
    """Which p-value the headline quotes."""
    n = len(summary.get("headline_tests") or {})
    return (f"film-cluster permutation test, Holm-adjusted over the headline's {n} tests"
            if n > 1 else "film-cluster permutation test")


def significant(t: dict[str, Any]) -> bool:
    """The headline's test of `t` (Holm-adjusted film permutation p) is significant."""
    return t["p_family"] < SIGNIFICANCE


def _verdict(summary: dict[str, Any], key: str, t: dict[str, Any]) -> str:
    """"Yes: ...", "No: ..." or "Not significant ..." for the headline test `key`."""
    claim, hurt = CLAIMS[key]
    if significant(t):
        return (f"Yes: {claim}." if t["diff"] > 0
                else f"No: {SIDES[key][1]} does significantly better.")
    return (f"Not significant on {summary['num_videos']} videos of {summary['num_films']} "
            f"films once adjusted for the headline's tests (unadjusted 95% CI of the difference "
            f"{points(t['diff_lo'])} to {points(t['diff_hi'])} points): these runs do not show "
            f"that {claim} (nor that {hurt}).")


def _shuffle_words(summary: dict[str, Any], part: dict[str, Any], gained: bool) -> str | None:
    """"Shuffling its frames drops it to 30.0% (...)" for part 2's run, or None."""
    d = (summary.get("headline_tests") or {}).get(part["shuffled"] or "")
    a = next((a for a in summary["ablation"] if a["run"] == part["run_a"]), None)
    if d is None or a is None:
        return None
    shuffled = pct(a["shuffled"]["value"])
    if d["diff_lo"] > 0 and significant(d):
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
    out.append(f"{named(a)}, {side_a}, reaches {ci(a['video_top1'], 1)} vs "
               f"{ci(b['video_top1'], 1)} for {named(b)}, {side_b} ({points(t['diff'])} "
               f"points, {fmt_p(t['p_family'])}). {_verdict(summary, part['test'], t)}")
    if key == "order":
        shuffle = _shuffle_words(summary, part, significant(t) and t["diff"] > 0)
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
    return (f"Only one run: {named(r)} reaches {ci(r['video_top1'])} video accuracy (95% CI "
            f"over films) on {summary['num_videos']} {summary['split']} videos; there is "
            "nothing to compare it with.")


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
    pre = [w for w in (mismatch_words(summary.get("frame_mismatches") or []),) if w]
    if len(summary["runs"]) == 1:
        return " ".join(pre + [_single_words(summary)])
    p = f"; p: {family_words(summary)}" if summary["headline_tests"] else ""
    out = [f"On these {summary['num_videos']} {summary['split']} videos "
           f"({summary['num_films']} source films), the answer in three parts (video "
           f"accuracy with 95% CIs over films{p}):"]
    out += [part_words(summary, i, key) for i, key in enumerate(summary["parts"], 1)]
    tail = (_failed_controls(summary), confound_words(summary.get("confounds") or []))
    return " ".join(pre + out + [w for w in tail if w])
