"""report.md's sections beside its figures and pictures: the order ablation, the per-class
gain, the order-only classes, training curves and confusion matrices, and the videos.

Reads the summary dict only, as `report.render.markdown` (which puts them in order) does.
"""

from __future__ import annotations

from typing import Any

from report.render.formats import ci, fmt_p, points
from report.render.headline import n_seeds, perm_cells
from vidrec.core.markdown import table
from vidrec.core.run_folder import ORDERS


def _ablation_row(a: dict[str, Any], perm: str) -> list[str]:
    cells = [a["run"], a["model"], ci(a["natural"])]
    for order in ORDERS[1:]:
        d = a.get(f"{order}_drop")
        cells += [ci(a[order]),
                  f"{points(-d['diff'])} pts ({perm} perm. {fmt_p(d['p_cluster'])})" if d else "–"]
    return cells


def ablation_section(summary: dict[str, Any]) -> list[str]:
    if not summary["ablation"]:
        return []
    lines = ["## Frame order ablation", "",
             "The same test videos with each clip's frames in natural, shuffled and reversed "
             "order. A pooled model averages frames, so it should not care; a model that uses "
             "temporal order should lose accuracy.", ""]
    lines += table(["Run", "Model", "Natural", "Shuffled", "Change", "Reversed", "Change"],
                   [_ablation_row(a, perm_cells(summary).lower()) for a in summary["ablation"]])
    lines.append("")
    lines += [f"- {s}" for a in summary["ablation"] for s in a["sentences"]]
    if "order_ablation" in summary["figures"]:
        lines += ["", f"![order ablation]({summary['figures']['order_ablation']})"]
    return lines + [""]


def per_class_section(summary: dict[str, Any]) -> list[str]:
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


def subset_section(summary: dict[str, Any]) -> list[str]:
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


def figures_sections(summary: dict[str, Any]) -> list[str]:
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
