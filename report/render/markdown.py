"""Render one split's summary dict as report.md, section by section.

Everything here reads the summary dict built by `report.answer.split_summary`; no numbers
are computed that summary.json does not hold, except formatting (`report.render.formats`).
The headline at its top is `report.render.headline`'s; the sections around figures and
pictures are `report.render.markdown_figures`', the training seeds'
`report.render.seed_tables`'.
"""

from __future__ import annotations

from typing import Any

from report.answer.roles import ROLES
from report.render.formats import ci, count, diff_ci, duration, pct
from report.render.headline import (
    SIDES,
    family_words,
    in_parts,
    n_seeds,
    perm_cells,
    top_warnings,
)
from report.render.markdown_figures import (
    ablation_section,
    figures_sections,
    per_class_section,
    subset_section,
    videos_section,
)
from report.render.seed_tables import seeds_section
from vidrec.core.markdown import table


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
              f"{perm_cells(summary)} perm. p", f"Holm ({perm_cells(summary).lower()} perm.)"]
    rows = [[t["run_a"], t["run_b"], pct(t["accuracy_a"]), pct(t["accuracy_b"]), diff_ci(t),
             t["b"], t["c"], f"{t['p_value']:.3g}", f"{t['p_cluster']:.3g}",
             f"{t['p_cluster_holm']:.3g}"] for t in summary["tests"]]
    return ["## Paired tests", "", intro, ""] + table(header, rows) + [""]


def _roles_section(summary: dict[str, Any]) -> list[str]:
    """Which run fills each role of the answer, and how it was chosen."""
    chosen = summary["roles"]
    if len(summary["runs"]) < 2:
        return []
    labels = {r["name"]: r["kind_label"] for r in summary["runs"]}
    rows = [[role, chosen[role] or "–", labels.get(chosen[role], "–"),
             pct(chosen["val_video_top1"].get(chosen[role])), chosen["chosen_by_role"][role]]
            for role in ROLES if role in chosen]
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
    """"The answer in three parts" (four with spatial runs): one small table per part the
    runs allow."""
    if len(summary["runs"]) < 2:
        return []
    over = "the test set's source films" if n_seeds(summary) == 1 else \
        "training seeds and the test set's source films (two-level, paired by seed)"
    lines = [f"## {in_parts(summary['parts']).capitalize()}", "",
             f"Video accuracy with 95% intervals over {over}. The difference is the first row "
             "minus that row, with a paired bootstrap interval; McNemar treats videos as "
             f"independent; Holm p: {family_words(summary)}, the p the headline quotes. A "
             "part's answer is yes only when that test and the interval agree. P(A>B): the "
             "chance that the first row beats that row on a new training seed. Ranks first: how "
             "often each of the two has the higher accuracy over the bootstrap resamples "
             "(first row / that row).", ""]
    header = ["Run", "Kind", "Video top-1 [95% CI]", "Difference [95% CI]", "McNemar p",
              f"{perm_cells(summary)} perm. p", "Holm p", "P(A>B) [95% CI]", "Ranks first"]
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

    Works on a split's summary and on the across-split one (`report.answer.across_splits`).
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


def render(summary: dict[str, Any]) -> str:
    """report.md text for a summary dict (headline and figures already set)."""
    lines = _top(summary) + _answer_section(summary) + _roles_section(summary)
    lines += ["## Runs", ""] + _runs_table(summary)
    lines += ["", "Clip-level accuracies have no interval: the eval files hold per-video, not "
              "per-clip, predictions, and clips of one video are not independent anyway.", ""]
    lines += seeds_section(summary)
    for section in (differences_section, _protocol_section, _tests_section, ablation_section,
                    per_class_section, subset_section, figures_sections, videos_section):
        lines += section(summary)
    if summary["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in summary["warnings"]] + [""]
    return "\n".join(lines)
