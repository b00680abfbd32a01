"""Render one split's summary dict as report.md, section by section.

Everything here reads the summary dict built by `report.summary`; no numbers
are computed that summary.json does not hold, except formatting (`report.fmt`).
The headline at its top is `report.headline`'s.
"""

from __future__ import annotations

from typing import Any

from report.fmt import ci, count, diff_ci, duration, fmt_p, pct, points, table
from report.headline import SIDES, family_words, n_seeds, top_warnings
from report.kinds import ROLES
from report.seedtables import seeds_section


def _runs_table(summary: dict[str, Any]) -> list[str]:
    header = ["Run", "Model", "Kind", "RNN", "Hidden", "Chunk", "Clip top-1", "Clip top-5",
              "Video top-1 [95% CI]", "Video top-5 [95% CI]", "Mean class acc. [95% CI]",
              "Val video top-1", "Params", "Train time", "Seeds"]
    rows = []
    for r in summary["runs"]:
        rnn = "–"
        if r["rnn"] is not None:
            rnn = ("bi-" if r.get("bidirectional") else "") + str(r["rnn"]).upper()
        rows.append([r["name"], r["model"], r["kind_label"], rnn,
                     r["hidden"] if r["hidden"] is not None else "–",
                     r["chunk_length"] if r["chunk_length"] is not None else "–",
                     pct(r["clip_top1"]), pct(r["clip_top5"]), ci(r["video_top1"]),
                     ci(r["video_top5"]), ci(r["mean_class_accuracy"]), pct(r["val_video_top1"]),
                     count(r["params"]), duration(r["train_time_s"]),
                     ", ".join(map(str, r.get("seeds") or [])) or "–"])
    return table(header, rows)


def _tests_section(summary: dict[str, Any]) -> list[str]:
    if not summary["tests"]:
        return []
    intro = ("Every pair of runs on the same test videos. *b* = videos A gets right and B wrong, "
             "*c* = the reverse. The exact McNemar test treats videos as independent; clips of "
             "one source film are not, so the film-cluster permutation test (signs of each "
             "film's summed difference flipped) is the one the headline uses. The difference's "
             "CI is a paired bootstrap over films. Holm-adjusted p-values correct for testing "
             "every pair.")
    if n_seeds(summary) > 1:
        intro = intro.replace("film-cluster permutation test (signs of each film's", (
            "permutation test over (seed, film) cells (signs of each seed's and film's")).replace(
            "over films.", "over seeds and films, paired by seed; b and c count every seed.")
    header = ["A", "B", "Acc. A", "Acc. B", "A − B [95% CI]", "b", "c", "McNemar p",
              f"{_perm(summary)} perm. p", f"Holm ({_perm(summary).lower()} perm.)"]
    rows = [[t["run_a"], t["run_b"], pct(t["accuracy_a"]), pct(t["accuracy_b"]), diff_ci(t),
             t["b"], t["c"], f"{t['p_value']:.3g}", f"{t['p_cluster']:.3g}",
             f"{t['p_cluster_holm']:.3g}"] for t in summary["tests"]]
    return ["## Paired tests", "", intro, ""] + table(header, rows) + [""]


def _perm(summary: dict[str, Any]) -> str:
    """What the permutation test flips: "Film" (one seed) or "Seed×film" cells."""
    return "Film" if n_seeds(summary) == 1 else "Seed×film"


def _roles_section(summary: dict[str, Any]) -> list[str]:
    """Which run fills each role of the answer, and how it was chosen."""
    chosen = summary["roles"]
    if len(summary["runs"]) < 2:
        return []
    kinds = {r["name"]: r["kind_label"] for r in summary["runs"]}
    rows = [[role, chosen[role] or "–", kinds.get(chosen[role], "–"),
             pct(chosen["val_video_top1"].get(chosen[role])), chosen["chosen_by_role"][role]]
            for role in ROLES]
    family = summary.get("headline_tests") or {}
    return (["## Which runs the answer names", "",
             f"Each role is the run of its kind with the best validation video accuracy, unless "
             f"named: {chosen['chosen_by']}; the test split played no part in the choice. The "
             f"headline's {len(family)} test(s) ({', '.join(family) or 'none'}) are "
             "Holm-adjusted together.", ""]
            + table(["Role", "Run", "Kind", "Val video top-1", "Chosen by"], rows) + [""])


def _part_rows(summary: dict[str, Any], part: dict[str, Any]) -> list[list[Any]]:
    """The first run, then each run or order it is compared with (difference: first − this)."""
    rows = {r["name"]: r for r in summary["runs"]}
    a, b = rows[part["run_a"]], rows[part["run_b"]]
    first = [a["name"], a["kind_label"], ci(a["video_top1"]), "–", "–", "–", "–", "–", "–"]
    others = [(b["name"], b["kind_label"], b["video_top1"], part["test"])]
    if part["shuffled"]:
        shuffled = next(x["shuffled"] for x in summary["ablation"] if x["run"] == a["name"])
        others.append((f"{a['name']}, shuffled frames", a["kind_label"], shuffled,
                       part["shuffled"]))
    out = [first]
    for name, kind, acc, key in others:
        t = summary["headline_tests"][key]
        out.append([name, kind, ci(acc), diff_ci(t), f"{t['p_value']:.3g}",
                    f"{t['p_cluster']:.3g}", f"{t['p_family']:.3g}", _beats(t),
                    f"{pct(t['rank_first'][t['run_a']])} / {pct(t['rank_first'][t['run_b']])}"])
    return out


def _beats(t: dict[str, Any]) -> str:
    """P(A>B) [95% CI], or why there is none with one seed."""
    win = t["p_a_beats_b"]
    if t["n_seeds"] < 2:
        return "– (one seed)"
    return f"{win['value']:.2f} [{win['lo']:.2f}–{win['hi']:.2f}]"


def _answer_section(summary: dict[str, Any]) -> list[str]:
    """"The answer in three parts": one small table per part the runs allow."""
    if len(summary["runs"]) < 2:
        return []
    over = "the test set's source films" if n_seeds(summary) == 1 else \
        "training seeds and the test set's source films (two-level, paired by seed)"
    lines = ["## The answer in three parts", "",
             f"Video accuracy with 95% intervals over {over}. The difference is the first row "
             "minus that row, with a paired bootstrap interval; McNemar treats videos as "
             f"independent; Holm p: {family_words(summary)}, the p the headline quotes. A "
             "part's answer is yes only when that test and the interval agree. P(A>B): the "
             "chance that the first row beats that row on a new training seed. Ranks first: how "
             "often each of the two has the higher accuracy over the bootstrap resamples "
             "(first row / that row).", ""]
    header = ["Run", "Kind", "Video top-1 [95% CI]", "Difference [95% CI]", "McNemar p",
              f"{_perm(summary)} perm. p", "Holm p", "P(A>B) [95% CI]", "Ranks first"]
    for i, part in enumerate(summary["parts"].values(), 1):
        lines += [f"### {i}. {part['question']}", ""]
        if part["test"] is not None:
            a, b = SIDES[part["test"]]
            lines += [f"{a.capitalize()} against {b}"
                      + (" and against its own frames shuffled" if part["shuffled"] else "")
                      + ".", ""]
        if part["note"]:
            lines += [part["note"], ""]
        if part["test"] is not None:
            lines += table(header, _part_rows(summary, part)) + [""]
    return lines


def _protocol_section(summary: dict[str, Any]) -> list[str]:
    proto = summary.get("protocol") or {}
    rows = [[r["name"], r["protocol"], f"`{r['frames_fingerprint']}`"] for r in summary["runs"]]
    return (["## Evaluation protocol", "",
             f"Protocol `{proto.get('name')}`: {proto.get('description', '')}. Every run is "
             "scored on the same frames of the same test videos; the fingerprint hashes every "
             "scored frame index of every video with the data's identity.", ""]
            + table(["Run", "Protocol", "Frames fingerprint"], rows) + [""])


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def differences_section(summary: dict[str, Any]) -> list[str]:
    """"What differs between these runs": every recipe setting whose value differs.

    Works on a split's summary and on the across-split one (`report.across`).
    """
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
    cells = [[row["field"], row["part"] if row["part"] == "temporal" else "**shared (confound)**",
              *(_cell(row["values"].get(n)) for n in names)] for row in rows]
    return lines + [""] + table(["Setting", "Part", *names], cells) + [""]


def _ablation_row(a: dict[str, Any], perm: str) -> list[str]:
    cells = [a["run"], a["model"], ci(a["natural"])]
    for order in ("shuffled", "reversed"):
        d = a.get(f"{order}_drop")
        cells += [ci(a[order]),
                  f"{points(-d['diff'])} pts ({perm} perm. {fmt_p(d['p_cluster'])})" if d else "–"]
    return cells


def _ablation_section(summary: dict[str, Any]) -> list[str]:
    if not summary["ablation"]:
        return []
    lines = ["## Frame order ablation", "",
             "The same test videos with each clip's frames in natural, shuffled and reversed "
             "order. A pooled model averages frames, so it should not care; a model that uses "
             "temporal order should lose accuracy.", ""]
    lines += table(["Run", "Model", "Natural", "Shuffled", "Change", "Reversed", "Change"],
                   [_ablation_row(a, _perm(summary).lower()) for a in summary["ablation"]])
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
    rows = [[r["run"], r["model"], r["kind"], r["n"], ci(r),
             ci(r["shuffled"]) if r["shuffled"] else "–"] for r in oc["rows"]]
    return (["## Classes only order tells apart", "",
             f"Classes: {', '.join(oc['classes'])}. A single frame cannot tell these apart "
             "from their look-alikes, so a model that ignores order should do no better than "
             "guessing among them; the last column shows what is left when order is destroyed.",
             ""]
            + table(["Run", "Model", "Kind", "Videos", "Accuracy [95% CI]",
                     "With shuffled frames"], rows)
            + [""])


def _top(summary: dict[str, Any]) -> list[str]:
    """Title, frame-mismatch warning, headline and what data the numbers come from."""
    data, official = summary["data"], summary.get("official_split")
    sha = data.get("manifest_sha256")
    lines = [f"# How important is recurrence? {len(summary['runs'])} runs compared", ""]
    for warning in top_warnings(summary, environment=True):
        lines += [f"**{warning}**", ""]
        if warning.startswith("WARNING: these runs were NOT all scored"):
            lines += [f"- {p}" for p in summary["frame_mismatches"]] + [""]
    n = n_seeds(summary)
    seeds = (" One training seed per model: seed variance is unmeasured (see \"Training "
             "seeds\")." if n == 1 else
             f" With {n} training seeds per model each resample first draws {n} seeds with "
             "replacement, then the films (a two-level bootstrap, the same draws for every "
             "model).")
    return lines + [
        summary["headline"], "",
        f"Data: split `{summary['split']}`"
        + (f" of official split {official}" if official is not None else "")
        + f", {summary['num_videos']} videos from {summary['num_films']} source films, "
        f"{len(summary['classes'])} classes"
        + (f", manifest sha256 `{sha[:12]}`" if sha else "")
        + (f", `{data['data_dir']}`" if data.get("data_dir") else "")
        + ". Intervals: 95% percentile bootstrap over the test set's source films (the "
        "clips of one film are resampled together, as they are not independent), "
        f"{summary['n_resamples']} resamples, seed {summary['seed']}.{seeds}", ""]


def _figures_sections(summary: dict[str, Any]) -> list[str]:
    """Training curves and confusion matrices, where they were drawn."""
    figs, lines = summary["figures"], []
    if "curves" in figs:
        sources = ", ".join(f"{r['name']}: {r.get('curves_source', 'none')}"
                            for r in summary["runs"])
        first = " (a seed group's: its first seed's)" if n_seeds(summary) > 1 else ""
        lines += ["## Training curves", "", f"Source per run{first}: {sources}.", "",
                  f"![training curves]({figs['curves']})", ""]
    if "confusion" in figs:
        summed = f" Videos of all {n_seeds(summary)} seeds summed." if n_seeds(summary) > 1 else ""
        lines += ["## Confusion matrices", "",
                  f"Rows are true classes, normalised to sum to 1; columns are predictions."
                  f"{summed}", "",
                  f"![confusion matrices]({figs['confusion']})", ""]
    return lines


def _changed_words(d: dict[str, Any], seed: int) -> list[str]:
    base, cand = d["baseline"], d["candidate"]
    return ["### Where the temporal model changed the answer", "",
            f"{cand} against {base}: {d['c']} test videos {base} gets wrong and {cand} right "
            f"(McNemar's c), {d['b']} the reverse (b). Up to four of each, chosen with seed "
            f"{seed} and spread over true classes, each with both models' five likeliest "
            "classes (true class green, a wrong prediction red).", "",
            f"![where {cand} changed the answer]({d['png']})", ""]


def _flips_words(f: dict[str, Any]) -> list[str]:
    return ["### Order ablation, visible", "",
            f"{f['run']}'s prediction changes on {f['flips']} of {f['num_videos']} test videos "
            "when the frames of each clip are shuffled. For up to four of them: the video's "
            "first clip as the model saw it in natural order (left) and shuffled (right), each "
            "with the prediction the model made from all the video's clips in that order.", "",
            f"![order flips of {f['run']}]({f['png']})", ""]


def videos_section(summary: dict[str, Any]) -> list[str]:
    """"Videos": where the candidate changed the answer, order flips, each run's mistakes."""
    v = summary.get("videos")
    if not v:
        return []
    lines = ["## Videos", ""]
    if n_seeds(summary) > 1:
        first = ", ".join(f"{r['name']} seed {r['seeds'][0]}" for r in summary["runs"])
        lines += [f"The pictures show each model's first seed only ({first}); the numbers "
                  "above use every seed.", ""]
    if not v["frames"]["read"]:
        lines += [f"*The frames could not be read ({v['frames']['problem']}): the pictures "
                  "have no frame strips.*", ""]
    if v["discordant"]:
        lines += _changed_words(v["discordant"], v["seed"])
    if v["order_flips"]:
        lines += _flips_words(v["order_flips"])
    lines += ["### Mistakes, per run", "",
              f"Up to six misclassified test videos per run (seed {v['seed']}; at most one per "
              "true class until every class with mistakes has had its turn): up to eight of the "
              "evaluated frames, evenly spaced; the true and predicted class with their "
              "probabilities; the ten likeliest classes (the true one always among them) and "
              "the rest as \"other\". Each picture's videos are listed in the JSON beside it. "
              "TensorBoard shows the same pictures (Images) in each run's log dir under "
              "`report/`, the comparisons in the candidate's.", ""]
    for m in v["mistakes"]:
        lines += [f"**{m['run']}**: {m['misclassified']} of {m['num_videos']} misclassified "
                  f"([videos]({m['json']})).", "", f"![mistakes of {m['run']}]({m['png']})", ""]
    return lines


def render(summary: dict[str, Any]) -> str:
    """report.md text for a summary dict (headline and figures already set)."""
    lines = _top(summary) + _answer_section(summary) + _roles_section(summary)
    lines += ["## Runs", ""] + _runs_table(summary)
    lines += ["", "Clip-level accuracies have no interval: the eval files hold per-video, not "
              "per-clip, predictions, and clips of one video are not independent anyway.", ""]
    lines += seeds_section(summary)
    for section in (differences_section, _protocol_section, _tests_section, _ablation_section,
                    _per_class_section, _subset_section, _figures_sections, videos_section):
        lines += section(summary)
    if summary["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in summary["warnings"]] + [""]
    return "\n".join(lines)
