"""The finding in plain words, with numbers, for the top of report.md and the terminal.

Reads only the summary dict built by `report.summary`; the headline's tests are
`summary["headline_tests"]` (film-cluster permutation p, Holm-adjusted together).
"""

from __future__ import annotations

from typing import Any

from report.fmt import ci, fmt_p, pct, points

SIGNIFICANCE = 0.05


def _row(summary: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((r for r in summary["runs"] if r["name"] == name), None) if name else None


def _label(row: dict[str, Any]) -> str:
    if row["model"] == "recurrent":
        return f"the recurrent model ({row['architecture']})"
    return f"the {row['model']} model"


def _capital(text: str) -> str:
    """The text with its first letter upper-cased (str.capitalize lowers the rest)."""
    return text[0].upper() + text[1:]


def _named(row: dict[str, Any]) -> str:
    """"lstm (LSTM, 128)" or just "frame" when the name says it all."""
    arch = row["architecture"]
    return row["name"] if row["name"] == arch else f"{row['name']} ({arch})"


def _test_words(summary: dict[str, Any]) -> str:
    family = summary.get("headline_tests") or {}
    return ("film-cluster permutation test, Holm-adjusted" if len(family) > 1
            else "film-cluster permutation test")


def _verdict(summary: dict[str, Any], t: dict[str, Any]) -> str:
    """"+28.7 points, film-cluster permutation test p < 0.001" for a test oriented a - b."""
    return f"{points(t['diff'])} points, {_test_words(summary)} {fmt_p(t['p_family'])}"


def _significant(t: dict[str, Any]) -> bool:
    return t["p_family"] < SIGNIFICANCE


def _shuffle_words(summary: dict[str, Any], row: dict[str, Any]) -> tuple[str, bool] | None:
    """("Shuffling its frames drops it to 55.0% ...", dropped) for the candidate's shuffled eval."""
    d = (summary.get("headline_tests") or {}).get("shuffled")
    a = next((a for a in summary["ablation"] if a["run"] == row["name"]), None)
    if d is None or a is None:
        return None
    if d["diff_lo"] > 0 and _significant(d):
        return (f"shuffling its frames drops it to {pct(a['shuffled']['value'])} "
                f"({-100 * d['diff']:.1f} points, {fmt_p(d['p_family'])})"), True
    if d["diff_hi"] < 0:
        return (f"shuffling its frames raises it to {pct(a['shuffled']['value'])} "
                f"({points(-d['diff'])} points), so natural order does not help it"), False
    return (f"shuffling its frames leaves it at {pct(a['shuffled']['value'])} "
            f"({points(-d['diff'])} points, not a significant change), so it does not rely on "
            f"frame order"), False


def _gain_words(summary: dict[str, Any], rec: dict[str, Any], base: dict[str, Any],
                pooled: dict[str, Any] | None) -> str:
    """The candidate beats the baseline: does it beat the pooled control too?"""
    verdict = "Recurrence helps here" if rec["model"] == "recurrent" else \
        f"{_capital(_label(rec))} helps here"
    if pooled is None:
        return verdict
    tp = summary["headline_tests"]["pooled"]
    if _significant(tp) and tp["diff"] > 0:
        return verdict + (f", and not only by seeing more frames: it also beats the pooled "
                          f"control, which sees the same frames without their order "
                          f"({_verdict(summary, tp)})")
    return (f"{_capital(_label(rec))} beats {_label(base)} "
            f"but not the pooled control ({_verdict(summary, tp)}), which sees "
            "the same frames without their order, so the gain comes from seeing "
            "several frames rather than from modelling their order")


def _no_gain_words(summary: dict[str, Any], rec: dict[str, Any], base: dict[str, Any]) -> str:
    """The candidate does not beat the baseline: worse, or not significantly different."""
    t = summary["headline_tests"]["baseline"]
    if _significant(t):
        return (f"{_capital(_label(rec))} is significantly worse than "
                f"{_label(base)}: recurrence does not help on this data")
    return (f"The difference is not significant on {summary['num_videos']} videos of "
            f"{summary['num_films']} films (95% CI of the difference "
            f"{points(t['diff_lo'])} to {points(t['diff_hi'])} points), so this data "
            "does not show that recurrence helps (nor that it hurts)")


def _candidate_headline(summary: dict[str, Any], rec: dict[str, Any],
                        base: dict[str, Any], pooled: dict[str, Any] | None) -> list[str]:
    """The sentences comparing the candidate with the baseline and the pooled control."""
    t = summary["headline_tests"]["baseline"]
    s = (f"On these {summary['num_videos']} {summary['split']} videos ({summary['num_films']} "
         f"source films) {_label(rec)} reaches {ci(rec['video_top1'], 1)} video accuracy (95% "
         f"CI over films) vs {ci(base['video_top1'], 1)} for {_label(base)} "
         f"({_verdict(summary, t)})")
    if pooled is not None:
        s += f" and {ci(pooled['video_top1'], 1)} for the pooled control"
    gained = _significant(t) and t["diff"] > 0
    out = [s + ".", (_gain_words(summary, rec, base, pooled) if gained
                     else _no_gain_words(summary, rec, base)) + "."]
    shuffle = _shuffle_words(summary, rec)
    if shuffle:
        words, dropped = shuffle
        tail = ", so the gain comes from modelling order." if gained and dropped else "."
        out.append(_capital(words) + tail)
    return out


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
    return (f"Only one run: {_named(r)} reaches {ci(r['video_top1'])} video accuracy (95% CI "
            f"over films) on {summary['num_videos']} {summary['split']} videos; there is "
            "nothing to compare it with.")


def headline(summary: dict[str, Any]) -> str:
    """The finding in plain words, with numbers, for the top of the report."""
    pre = [w for w in (mismatch_words(summary.get("frame_mismatches") or []),) if w]
    if len(summary["runs"]) == 1:
        return " ".join(pre + [_single_words(summary)])
    chosen = summary["roles"]
    rec, base = _row(summary, chosen["candidate"]), _row(summary, chosen["baseline"])
    pooled = _row(summary, chosen["pooled"])
    if rec is not None and base is not None and rec["model"] == "recurrent":
        out = _candidate_headline(summary, rec, base, pooled)
    else:
        t = summary["headline_tests"]["baseline"]
        out = [f"No recurrent run to compare with. {_named(rec)} reaches "
               f"{ci(rec['video_top1'])} video accuracy (95% CI over films) vs "
               f"{ci(base['video_top1'])} for {_named(base)} ({_verdict(summary, t)}); the "
               f"difference is {'' if _significant(t) else 'not '}significant."]
    failed = [a["run"] for a in summary["ablation"]
              if a["model"] == "pooled" and any("FAILED" in s for s in a["sentences"])]
    if failed:
        out.append(f"Warning: the pooled control {', '.join(failed)} changes when its frames are "
                   "reordered, which mean pooling should not allow; check the evaluation.")
    caution = confound_words(summary.get("confounds") or [])
    return " ".join(pre + out + ([caution] if caution else []))
