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


def _row(summary: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((r for r in summary["runs"] if r["name"] == name), None) if name else None


def _label(row: dict[str, Any]) -> str:
    if row["model"] == "recurrent":
        return f"the recurrent model ({row['architecture']})"
    return f"the {row['model']} model"


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


def _candidate_headline(summary: dict[str, Any], rec: dict[str, Any],
                        base: dict[str, Any], pooled: dict[str, Any] | None) -> list[str]:
    family = summary["headline_tests"]
    t = family["baseline"]
    n = summary["num_videos"]
    s = (f"On these {n} {summary['split']} videos ({summary['num_films']} source films) "
         f"{_label(rec)} reaches {ci(rec['video_top1'], 1)} video accuracy (95% CI over films) "
         f"vs {ci(base['video_top1'], 1)} for {_label(base)} ({_verdict(summary, t)})")
    if pooled is not None:
        s += f" and {ci(pooled['video_top1'], 1)} for the pooled control"
    out = [s + "."]
    shuffle = _shuffle_words(summary, rec)
    if _significant(t) and t["diff"] > 0:
        verdict = "Recurrence helps here" if rec["model"] == "recurrent" else \
            f"{_label(rec)[0].upper()}{_label(rec)[1:]} helps here"
        if pooled is not None:
            tp = family["pooled"]
            if _significant(tp) and tp["diff"] > 0:
                verdict += (f", and not only by seeing more frames: it also beats the pooled "
                            f"control, which sees the same frames without their order "
                            f"({_verdict(summary, tp)})")
            else:
                verdict = (f"{_label(rec)[0].upper()}{_label(rec)[1:]} beats {_label(base)} "
                           f"but not the pooled control ({_verdict(summary, tp)}), which sees "
                           "the same frames without their order, so the gain comes from seeing "
                           "several frames rather than from modelling their order")
        out.append(verdict + ".")
        if shuffle:
            words, dropped = shuffle
            tail = ", so the gain comes from modelling order." if dropped else "."
            out.append(words[0].upper() + words[1:] + tail)
    else:
        if _significant(t):
            out.append(f"{_label(rec)[0].upper()}{_label(rec)[1:]} is significantly worse than "
                       f"{_label(base)}: recurrence does not help on this data.")
        else:
            out.append(f"The difference is not significant on {n} videos of "
                       f"{summary['num_films']} films (95% CI of the difference "
                       f"{points(t['diff_lo'])} to {points(t['diff_hi'])} points), so this data "
                       "does not show that recurrence helps (nor that it hurts).")
        if shuffle:
            words, _ = shuffle
            out.append(words[0].upper() + words[1:] + ".")
    return out


def confound_words(confounds: list[str]) -> str | None:
    """The headline's caution when runs differ beyond the temporal part."""
    if not confounds:
        return None
    return (f"Caution: these runs differ beyond the temporal part ({', '.join(confounds)}), a "
            "confound: the difference may come from that, not from the temporal model (see "
            "\"What differs between these runs\").")


def mismatch_words(problems: list[str]) -> str | None:
    if not problems:
        return None
    return (f"WARNING: these runs were NOT all scored on the same frames "
            f"(--allow-different-frames): {problems[0]}.")


def headline(summary: dict[str, Any]) -> str:
    """The finding in plain words, with numbers, for the top of the report."""
    rows = summary["runs"]
    pre = [w for w in (mismatch_words(summary.get("frame_mismatches") or []),) if w]
    if len(rows) == 1:
        r = rows[0]
        return " ".join(pre + [
            f"Only one run: {_named(r)} reaches {ci(r['video_top1'])} video accuracy (95% CI "
            f"over films) on {summary['num_videos']} {summary['split']} videos; there is "
            "nothing to compare it with."])
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


def _runs_table(summary: dict[str, Any]) -> list[str]:
    lines = ["| Run | Model | RNN | Hidden | Chunk | Clip top-1 | Clip top-5 "
             "| Video top-1 [95% CI] | Video top-5 [95% CI] | Mean class acc. [95% CI] "
             "| Val video top-1 | Params | Train time |",
             "|" + "---|" * 13]
    for r in summary["runs"]:
        rnn = "–"
        if r["rnn"] is not None:
            rnn = ("bi-" if r.get("bidirectional") else "") + str(r["rnn"]).upper()
        cells = [r["name"], r["model"], rnn, r["hidden"] if r["hidden"] is not None else "–",
                 r["chunk_length"] if r["chunk_length"] is not None else "–",
                 pct(r["clip_top1"]), pct(r["clip_top5"]), ci(r["video_top1"]),
                 ci(r["video_top5"]), ci(r["mean_class_accuracy"]), pct(r["val_video_top1"]),
                 _params(r["params"]), _duration(r["train_time_s"])]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _tests_section(summary: dict[str, Any]) -> list[str]:
    if not summary["tests"]:
        return []
    lines = ["## Paired tests", "",
             "Every pair of runs on the same test videos. *b* = videos A gets right and B wrong, "
             "*c* = the reverse. The exact McNemar test treats videos as independent; clips of "
             "one source film are not, so the film-cluster permutation test (signs of each "
             "film's summed difference flipped) is the one the headline uses. The difference's "
             "CI is a paired bootstrap over films. Holm-adjusted p-values correct for testing "
             "every pair.", "",
             "| A | B | Acc. A | Acc. B | A − B [95% CI] | b | c | McNemar p | Film perm. p "
             "| Holm (film perm.) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for t in summary["tests"]:
        diff = f"{points(t['diff'])} [{points(t['diff_lo'])}, {points(t['diff_hi'])}] pts"
        lines.append(f"| {t['run_a']} | {t['run_b']} | {pct(t['accuracy_a'])} | "
                     f"{pct(t['accuracy_b'])} | {diff} | {t['b']} | {t['c']} | "
                     f"{t['p_value']:.3g} | {t['p_cluster']:.3g} | {t['p_cluster_holm']:.3g} |")
    return lines + [""]


def _roles_section(summary: dict[str, Any]) -> list[str]:
    chosen = summary["roles"]
    if not chosen.get("candidate"):
        return []
    named = ", ".join(f"{role} **{chosen[role]}**" for role in ("candidate", "baseline", "pooled")
                      if chosen.get(role))
    val = ", ".join(f"{k} {pct(v)}" for k, v in chosen["val_video_top1"].items())
    family = summary.get("headline_tests") or {}
    return ["## Which runs the headline names", "",
            f"{named}: {chosen['chosen_by']}; the test split played no part in the choice. "
            f"Validation video accuracy: {val}. The headline's {len(family)} test(s) "
            f"({', '.join(family)}) are Holm-adjusted together.", ""]


def _protocol_section(summary: dict[str, Any]) -> list[str]:
    proto = summary.get("protocol") or {}
    lines = ["## Evaluation protocol", "",
             f"Protocol `{proto.get('name')}`: {proto.get('description', '')}. Every run is "
             "scored on the same frames of the same test videos; the fingerprint hashes every "
             "scored frame index of every video with the data's identity.", "",
             "| Run | Protocol | Frames fingerprint |", "|---|---|---|"]
    lines += [f"| {r['name']} | {r['protocol']} | `{r['frames_fingerprint']}` |"
              for r in summary["runs"]]
    return lines + [""]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def differences_section(summary: dict[str, Any]) -> list[str]:
    rows = summary.get("differences") or []
    names = [r["name"] for r in summary["runs"]] if "runs" in summary else \
        [r["name"] for r in summary["across"]["runs"]]
    lines = ["## What differs between these runs", ""]
    if not rows:
        return lines + ["Nothing: the runs share every recorded setting.", ""]
    confounds = summary.get("confounds") or []
    lines.append("Every recorded setting whose value is not the same in all runs. Temporal "
                 "settings are the comparison; any other difference is a confound. "
                 + (f"**Confounds: {', '.join(confounds)}.**" if confounds else
                    "Only temporal settings differ: a like-for-like comparison."))
    lines += ["", "| Setting | Part | " + " | ".join(names) + " |",
              "|---|---|" + "---|" * len(names)]
    for row in rows:
        part = row["part"] if row["part"] == "temporal" else "**shared (confound)**"
        lines.append(f"| {row['field']} | {part} | "
                     + " | ".join(_cell(row["values"].get(n)) for n in names) + " |")
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
                      f"{points(-d['diff'])} pts (film perm. {fmt_p(d['p_cluster'])})" if d
                      else "–"]
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
    official = summary.get("official_split")
    lines = [f"# How important is recurrence? {len(summary['runs'])} runs compared", ""]
    mismatch = mismatch_words(summary.get("frame_mismatches") or [])
    if mismatch:
        lines += [f"**{mismatch}**", ""] + [f"- {p}" for p in summary["frame_mismatches"]] + [""]
    lines += [summary["headline"], "",
              f"Data: split `{summary['split']}`"
              + (f" of official split {official}" if official is not None else "")
              + f", {summary['num_videos']} videos from {summary['num_films']} source films, "
              f"{len(summary['classes'])} classes"
              + (f", manifest sha256 `{sha[:12]}`" if sha else "")
              + (f", `{data['data_dir']}`" if data.get("data_dir") else "")
              + ". Intervals: 95% percentile bootstrap over the test set's source films (the "
              "clips of one film are resampled together, as they are not independent), "
              f"{summary['n_resamples']} resamples, seed {summary['seed']}.", ""]
    lines += _roles_section(summary)
    lines += ["## Runs", ""]
    lines += _runs_table(summary)
    lines += ["", "Clip-level accuracies have no interval: the eval files hold per-video, not "
              "per-clip, predictions, and clips of one video are not independent anyway.", ""]
    lines += differences_section(summary)
    lines += _protocol_section(summary)
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
