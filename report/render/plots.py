"""PNG figures for the report.

Uses `matplotlib.figure.Figure` directly rather than pyplot: no global
figure state, no GUI backend, nothing to close. Each `plot_*` function writes
one PNG through `tf.io.gfile` (so gs:// report dirs work) and returns its path;
`draw_figures` draws every figure a split's report has data for.
"""

from __future__ import annotations

import io
import math
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from report.runs.curves import read_curves
from report.runs.load import Run
from vidrec.core.run_folder import ORDERS, join

FIGURES = {"curves": "curves.png", "confusion": "confusion.png",
           "class_gain": "class_gain.png", "order_ablation": "order_ablation.png"}
_ORDER_COLOURS = dict(zip(ORDERS, ("#4C72B0", "#DD8452", "#55A868")))


def png_bytes(fig: Figure, crop: bool = True) -> bytes:
    """The figure as PNG bytes at 110 dpi, cropped to what is drawn unless `crop` is False
    (a figure whose layout engine already fits everything: one draw instead of two)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight" if crop else None)
    return buf.getvalue()


def _save(fig: Figure, path: str) -> str:
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(png_bytes(fig))
    return path


def plot_curves(curves: Mapping[str, Mapping[str, tuple[Sequence[int], Sequence[float]]]],
                path: str) -> str:
    """Validation accuracy and loss per epoch of every run (training curves dashed).

    Args:
      curves: run name -> {"val_accuracy": (epochs, values), "loss": ..., ...}.
      path: output PNG.
    """
    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(curves))]
    for (name, c), colour in zip(curves.items(), colours):
        for ax, metric in zip(axes, ("accuracy", "loss")):
            if "val_" + metric in c:
                x, y = c["val_" + metric]
                ax.plot(x, y, "-o", color=colour, markersize=3, label=f"{name} (val)")
            if metric in c:
                x, y = c[metric]
                ax.plot(x, y, "--", color=colour, alpha=0.5, label=f"{name} (train)")
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per epoch (solid: validation, dashed: training)", fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        axes[1].legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _save(fig, path)


def plot_confusions(matrices: Mapping[str, np.ndarray], classes: Sequence[str], path: str) -> str:
    """Row-normalised confusion matrices side by side (rows true, columns predicted).

    Args:
      matrices: run name -> int [K, K] confusion counts.
      classes: K class names in label order.
      path: output PNG.
    """
    n = len(matrices)
    cols = n if n <= 3 else math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    k = len(classes)
    cell = max(3.5, min(0.22 * k, 9))
    fig = Figure(figsize=(cell * cols + 1, cell * rows + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    fontsize = max(3, min(9, int(0.6 * cell * 72 / max(k, 1))))  # 60% of a cell's height
    image = None
    for i, (ax, (name, m)) in enumerate(zip(axes, matrices.items())):
        m = np.asarray(m, dtype=np.float64)
        totals = m.sum(axis=1, keepdims=True)
        norm = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
        image = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(classes, rotation=90, fontsize=fontsize)
        ax.set_xlabel("predicted")
        if i % cols == 0:  # class names once per row of panels: they would overlap the next
            ax.set_yticklabels(classes, fontsize=fontsize)
            ax.set_ylabel("true")
        else:
            ax.set_yticklabels([])
    for ax in axes[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=list(axes[:n]), shrink=0.6, label="fraction of true class")
    return _save(fig, path)


def plot_class_gain(gains: Mapping[str, float], path: str, title: str) -> str:
    """Horizontal bars of per-class accuracy gained (+) or lost (-), sorted.

    Args:
      gains: class name -> accuracy difference in points.
      path: output PNG.
      title: figure title, e.g. "recurrent minus frame".
    """
    items = sorted(gains.items(), key=lambda kv: kv[1])
    names = [k for k, _ in items]
    values = np.array([v for _, v in items], dtype=np.float64)
    fig = Figure(figsize=(7, max(2.5, 0.22 * len(items) + 1)))
    ax = fig.subplots()
    colours = ["#55A868" if v > 0 else "#C44E52" if v < 0 else "#999999" for v in values]
    ax.barh(range(len(items)), values, color=colours)
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels(names, fontsize=max(4, min(9, int(350 / max(len(items), 1)))))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("per-class video accuracy difference (points)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_order_ablation(rows: Sequence[Mapping], path: str) -> str:
    """Grouped bars: video accuracy with natural, shuffled and reversed frames, with 95% CIs.

    Args:
      rows: one per run: {"run": name, "natural"/"shuffled"/"reversed":
        {"value", "lo", "hi"} fractions or None}.
      path: output PNG.
    """
    fig = Figure(figsize=(max(5, 1.8 * len(rows) + 2), 4))
    ax = fig.subplots()
    width = 0.26
    for j, order in enumerate(ORDERS):
        xs, ys, errs = [], [], [[], []]
        for i, row in enumerate(rows):
            m = row.get(order)
            if m is None:
                continue
            xs.append(i + (j - 1) * width)
            ys.append(100 * m["value"])
            errs[0].append(100 * max(m["value"] - m["lo"], 0))
            errs[1].append(100 * max(m["hi"] - m["value"], 0))
        if xs:
            ax.bar(xs, ys, width, yerr=errs, capsize=3, label=order, color=_ORDER_COLOURS[order])
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["run"] for r in rows], fontsize=8, rotation=15)
    ax.set_ylabel("video top-1 accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title("frame order ablation (95% bootstrap CI)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _confusion_matrix(run: Run, k: int) -> np.ndarray:
    """int [K, K] video counts summed over the run's seeds: rows true class, columns
    predicted."""
    return sum(np.bincount(p.labels * k + p.predicted, minlength=k * k).reshape(k, k)
               for p in (m.predictions() for m in run.seed_runs))


def draw_figures(runs: Sequence[Run], summary: dict[str, Any], out_dir: str) -> dict[str, str]:
    """Draws every figure that has data into `out_dir`.

    Sets each run row's "curves_source" in `summary` ("tensorboard", "history", "none").

    Returns:
      Figure name ("curves", "confusion", ...) -> file name relative to out_dir.
    """
    out: dict[str, str] = {}

    def path(key: str) -> str:
        out[key] = FIGURES[key]
        return join(out_dir, FIGURES[key])

    curves = {}
    for run, row in zip(runs, summary["runs"]):
        c, row["curves_source"] = read_curves(run)
        if c:
            curves[run.name] = c
    if curves:
        plot_curves(curves, path("curves"))
    classes = summary["classes"]
    plot_confusions({run.name: _confusion_matrix(run, len(classes)) for run in runs}, classes,
                    path("confusion"))
    if summary["per_class"]:
        pc = summary["per_class"]
        plot_class_gain(pc["gains_points"], path("class_gain"),
                        f"{pc['run']} minus {pc['baseline']} (per-class video accuracy)")
    if summary["ablation"]:
        plot_order_ablation(summary["ablation"], path("order_ablation"))
    return out
