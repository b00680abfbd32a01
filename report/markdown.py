"""Render the comparison summary as a plain-words headline and report.md.

Everything here reads the summary dict built by `report.compare`; no numbers
are computed that summary.json does not hold, except formatting.
"""

from __future__ import annotations

from typing import Any

SIGNIFICANCE = 0.05


def pct(x: float | None, digits: int = 1) -> str:
    """0.912 -> "91.2%"; None -> "–"."""
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def ci(m: dict[str, Any] | None, digits: int = 1) -> str:
    """{"value", "lo", "hi"} -> "91.2% [85.0–96.3]"."""
    if m is None or m.get("value") is None:
        return "–"
    if m.get("lo") is None:
        return pct(m["value"], digits)
    return f"{pct(m['value'], digits)} [{100 * m['lo']:.{digits}f}–{100 * m['hi']:.{digits}f}]"


def points(x: float, digits: int = 1) -> str:
    """Signed percentage points of a fraction: 0.287 -> "+28.7" (never "-0.0")."""
    v = round(100 * x, digits)
    return f"{v + 0.0:+.{digits}f}"


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _duration(s: float | None) -> str:
    if s is None:
        return "–"
    s = float(s)
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _params(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)


def find_test(summary: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """The paired test of runs a and b, oriented so diff = accuracy(a) - accuracy(b)."""
    for t in summary["tests"]:
        if (t["run_a"], t["run_b"]) == (a, b):
            return t
        if (t["run_a"], t["run_b"]) == (b, a):
            return {**t, "run_a": a, "run_b": b, "accuracy_a": t["accuracy_b"],
                    "accuracy_b": t["accuracy_a"], "diff": -t["diff"], "diff_lo": -t["diff_hi"],
                    "diff_hi": -t["diff_lo"], "b": t["c"], "c": t["b"]}
    raise KeyError(f"no paired test between {a!r} and {b!r}")


def _best(summary: dict[str, Any], model: str) -> dict[str, Any] | None:
    rows = [r for r in summary["runs"] if r["model"] == model]
    return max(rows, key=lambda r: r["video_top1"]["value"]) if rows else None


def _label(row: dict[str, Any]) -> str:
    if row["model"] == "recurrent":
        return f"the recurrent model ({row['architecture']})"
    return f"the {row['model']} model"


def _named(row: dict[str, Any]) -> str:
    """"lstm (LSTM, 128)" or just "frame" when the name says it all."""
    arch = row["architecture"]
    return row["name"] if row["name"] == arch else f"{row['name']} ({arch})"


def _verdict(t: dict[str, Any]) -> str:
    """"+28.7 points, McNemar p < 0.001" for a test oriented a - b."""
    return f"{points(t['diff'])} points, McNemar {fmt_p(t['p_value'])}"


def _significant(t: dict[str, Any]) -> bool:
    return t["p_value"] < SIGNIFICANCE


def _shuffle_words(summary: dict[str, Any], row: dict[str, Any]) -> tuple[str, bool] | None:
    """("Shuffling its frames drops it to 55.0% ...", dropped) for a run with a shuffled eval."""
    for a in summary["ablation"]:
        if a["run"] == row["name"] and a.get("shuffled_drop"):
            d = a["shuffled_drop"]
            if d["diff_lo"] > 0:
                return (f"shuffling its frames drops it to {pct(a['shuffled']['value'])} "
                        f"({-100 * d['diff']:.1f} points, {fmt_p(d['p_value'])})"), True
            if d["diff_hi"] < 0:
                return (f"shuffling its frames raises it to {pct(a['shuffled']['value'])} "
                        f"({points(-d['diff'])} points), so natural order does not help it"
                        ), False
            return (f"shuffling its frames leaves it at {pct(a['shuffled']['value'])} "
                    f"({points(-d['diff'])} points, within the CI), so it does not rely on "
                    f"frame order"), False
    return None


def _recurrent_headline(summary: dict[str, Any], rec: dict[str, Any],
                        base: dict[str, Any], pooled: dict[str, Any] | None) -> list[str]:
    t = find_test(summary, rec["name"], base["name"])
    n = summary["num_videos"]
    s = (f"On these {n} {summary['split']} videos {_label(rec)} reaches "
         f"{ci(rec['video_top1'], 1)} video accuracy (95% CI) vs {ci(base['video_top1'], 1)} "
         f"for {_label(base)} ({_verdict(t)})")
    if pooled is not None and pooled is not base:
        s += f" and {ci(pooled['video_top1'], 1)} for the pooled control"
    out = [s + "."]
    shuffle = _shuffle_words(summary, rec)
    if _significant(t) and t["diff"] > 0:
        verdict = "Recurrence helps here"
        if pooled is not None and pooled is not base:
            tp = find_test(summary, rec["name"], pooled["name"])
            if _significant(tp) and tp["diff"] > 0:
                verdict += (f", and not only by seeing more frames: it also beats the pooled "
                            f"control, which sees the same frames without their order "
                            f"({_verdict(tp)})")
            else:
                verdict = ("The recurrent model beats the frame model but not the pooled control "
                           f"({_verdict(tp)}), which sees the same frames without their order, "
                           "so the gain comes from seeing several frames rather than from "
                           "modelling their order")
        out.append(verdict + ".")
        if shuffle:
            words, dropped = shuffle
            tail = ", so the gain comes from modelling order." if dropped else "."
            out.append(words[0].upper() + words[1:] + tail)
    else:
        if _significant(t):
            out.append(f"The recurrent model is significantly worse than {_label(base)}: "
                       "recurrence does not help on this data.")
        else:
            out.append(f"The difference is not significant on {n} videos (95% CI of the "
                       f"difference {points(t['diff_lo'])} to {points(t['diff_hi'])} points), "
                       "so this data does not show that recurrence helps (nor that it hurts).")
        if shuffle:
            words, _ = shuffle
            out.append(words[0].upper() + words[1:] + ".")
    return out


def headline(summary: dict[str, Any]) -> str:
    """The finding in plain words, with numbers, for the top of the report."""
    rows = summary["runs"]
    if len(rows) == 1:
        r = rows[0]
        return (f"Only one run: {_named(r)} reaches "
                f"{ci(r['video_top1'])} video accuracy (95% CI) on {summary['num_videos']} "
                f"{summary['split']} videos; there is nothing to compare it with.")
    rec, frame, pooled = (_best(summary, m) for m in ("recurrent", "frame", "pooled"))
    base = frame or pooled
    if rec is not None and base is not None:
        out = _recurrent_headline(summary, rec, base, pooled)
    else:
        ranked = sorted(rows, key=lambda r: -r["video_top1"]["value"])
        best, second = ranked[0], ranked[1]
        t = find_test(summary, best["name"], second["name"])
        out = [f"No {'recurrent' if rec is None else 'frame or pooled'} run to compare with. "
               f"The best run, {_named(best)}, reaches "
               f"{ci(best['video_top1'])} video accuracy vs {ci(second['video_top1'])} for the "
               f"next, {_named(second)} ({_verdict(t)}); the "
               f"difference is {'' if _significant(t) else 'not '}significant."]
    failed = [a["run"] for a in summary["ablation"]
              if a["model"] == "pooled" and any("FAILED" in s for s in a["sentences"])]
    if failed:
        out.append(f"Warning: the pooled control {', '.join(failed)} changes when its frames are "
                   "reordered, which mean pooling should not allow; check the evaluation.")
    return " ".join(out)


def _runs_table(summary: dict[str, Any]) -> list[str]:
    lines = ["| Run | Model | RNN | Hidden | Chunk | Clip top-1 | Clip top-5 "
             "| Video top-1 [95% CI] | Video top-5 [95% CI] | Mean class acc. [95% CI] "
             "| Params | Train time |",
             "|" + "---|" * 12]
    for r in summary["runs"]:
        rnn = "–"
        if r["rnn"] is not None:
            rnn = ("bi-" if r.get("bidirectional") else "") + str(r["rnn"]).upper()
        cells = [r["name"], r["model"], rnn, r["hidden"] if r["hidden"] is not None else "–",
                 r["chunk_length"] if r["chunk_length"] is not None else "–",
                 pct(r["clip_top1"]), pct(r["clip_top5"]), ci(r["video_top1"]),
                 ci(r["video_top5"]), ci(r["mean_class_accuracy"]), _params(r["params"]),
                 _duration(r["train_time_s"])]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _tests_section(summary: dict[str, Any]) -> list[str]:
    if not summary["tests"]:
        return []
    lines = ["## Paired tests", "",
             "Every pair of runs on the same test videos. *b* = videos A gets right and B wrong, "
             "*c* = the reverse; the exact McNemar test asks whether b and c could be a fair coin "
             "split of the b + c discordant videos. The difference's CI is a paired bootstrap "
             "over videos. Holm-adjusted p-values correct for testing several pairs.", "",
             "| A | B | Acc. A | Acc. B | A − B [95% CI] | b | c | McNemar p | Holm p |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in summary["tests"]:
        diff = f"{points(t['diff'])} [{points(t['diff_lo'])}, {points(t['diff_hi'])}] pts"
        lines.append(f"| {t['run_a']} | {t['run_b']} | {pct(t['accuracy_a'])} | "
                     f"{pct(t['accuracy_b'])} | {diff} | {t['b']} | {t['c']} | "
                     f"{t['p_value']:.3g} | {t['p_holm']:.3g} |")
    return lines + [""]


def _ablation_section(summary: dict[str, Any]) -> list[str]:
    if not summary["ablation"]:
        return []
    lines = ["## Frame order ablation", "",
             "The same test videos with each clip's frames in natural, shuffled and reversed "
             "order. A pooled model averages frames, so it should not care; a model that uses "
             "temporal order should lose accuracy.", "",
             "| Run | Model | Natural | Shuffled | Change | Reversed | Change |",
             "|---|---|---|---|---|---|---|"]
    for a in summary["ablation"]:
        cells = [a["run"], a["model"], ci(a["natural"])]
        for order in ("shuffled", "reversed"):
            d = a.get(f"{order}_drop")
            cells += [ci(a[order]),
                      f"{points(-d['diff'])} pts ({fmt_p(d['p_value'])})" if d else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {s}" for a in summary["ablation"] for s in a["sentences"]]
    if "order_ablation" in summary["figures"]:
        lines += ["", f"![order ablation]({summary['figures']['order_ablation']})"]
    return lines + [""]


def _per_class_section(summary: dict[str, Any]) -> list[str]:
    pc = summary["per_class"]
    if not pc:
        return []
    gains = list(pc["gains_points"].items())
    top = ", ".join(f"{c} ({g:+.0f})" for c, g in gains[:5] if g > 0) or "none"
    bottom = ", ".join(f"{c} ({g:+.0f})" for c, g in reversed(gains[-5:]) if g < 0) or "none"
    lines = ["## Per-class gain", "",
             f"Per-class video accuracy of {pc['run']} minus {pc['baseline']} "
             f"({pc['baseline_model']}), in points. Largest gains: {top}. Largest losses: "
             f"{bottom}.", ""]
    if "class_gain" in summary["figures"]:
        lines.append(f"![per-class gain]({summary['figures']['class_gain']})")
    return lines + [""]


def _subset_section(summary: dict[str, Any]) -> list[str]:
    oc = summary["order_classes"]
    if not oc:
        return []
    lines = ["## Classes only order tells apart", "",
             f"Classes: {', '.join(oc['classes'])}. A single frame cannot tell these apart "
             "from their look-alikes, so a model that ignores order should do no better than "
             "guessing among them; the last column shows what is left when order is destroyed.",
             "",
             "| Run | Model | Videos | Accuracy [95% CI] | With shuffled frames |",
             "|---|---|---|---|---|"]
    for r in oc["rows"]:
        lines.append(f"| {r['run']} | {r['model']} | {r['n']} | {ci(r)} | "
                     f"{ci(r['shuffled']) if r['shuffled'] else '–'} |")
    return lines + [""]


def render(summary: dict[str, Any]) -> str:
    """report.md text for a summary dict (headline already set)."""
    data = summary["data"]
    figs = summary["figures"]
    sha = data.get("manifest_sha256")
    lines = [f"# How important is recurrence? {len(summary['runs'])} runs compared", "",
             summary["headline"], "",
             f"Data: split `{summary['split']}`, {summary['num_videos']} videos, "
             f"{len(summary['classes'])} classes"
             + (f", manifest sha256 `{sha[:12]}`" if sha else "")
             + (f", `{data['data_dir']}`" if data.get("data_dir") else "")
             + f". Intervals: 95% percentile bootstrap over test videos, "
             f"{summary['n_resamples']} resamples, seed {summary['seed']}.", "",
             "## Runs", ""]
    lines += _runs_table(summary)
    lines += ["", "Clip-level accuracies have no interval: the eval files hold per-video, not "
              "per-clip, predictions, and clips of one video are not independent anyway.", ""]
    lines += _tests_section(summary)
    lines += _ablation_section(summary)
    lines += _per_class_section(summary)
    lines += _subset_section(summary)
    if "curves" in figs:
        sources = ", ".join(f"{r['name']}: {r.get('curves_source', 'none')}"
                            for r in summary["runs"])
        lines += ["## Training curves", "", f"Source per run: {sources}.", "",
                  f"![training curves]({figs['curves']})", ""]
    if "confusion" in figs:
        lines += ["## Confusion matrices", "",
                  "Rows are true classes, normalised to sum to 1; columns are predictions.", "",
                  f"![confusion matrices]({figs['confusion']})", ""]
    if summary["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in summary["warnings"]] + [""]
    return "\n".join(lines)
