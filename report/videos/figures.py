"""The report's video pictures: mistakes, where the temporal model changed the answer, and
order flips.

Each `*_figure` function returns a `matplotlib.figure.Figure` (object API, as
`report.render.plots`; constrained layout, sized so that HMDB51's 51 class names, ids and
titles stay inside it); `report.videos.pictures` chooses the videos, saves the PNGs and
logs them to TensorBoard. A video is a row: a strip of its frames (the evaluated frames
evenly spaced, or a clip as the model saw it) and its predictions; without frames the
strip says so and the rest is drawn as usual.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from report.videos.selection import top_classes

Strip = tuple[Sequence[int], np.ndarray]  # (frame indices, uint8 [n, H, W, 3] frames)
_TRUE, _WRONG, _OTHER = "#55A868", "#C44E52", "#8C8C8C"
_GAP = 2  # white pixels between the frames of a strip
WIDTH = 12.5  # inches: every picture is this wide


@dataclasses.dataclass
class Answer:
    """One model's prediction of one video.

    Attributes:
      who: what answered ("frame", "natural order", ...).
      predicted: the predicted class.
      probabilities: float [K] (NaN where the eval file recorded none).
      strip: the frames this answer saw, where they differ between answers.
      clip: the frame indices of that clip (drawn as text when the frames are missing).
    """

    who: str
    predicted: int
    probabilities: np.ndarray
    strip: Strip | None = None
    clip: Sequence[int] = ()


@dataclasses.dataclass
class VideoView:
    """One test video as a picture shows it: its id, true class, strip and answers."""

    video_id: str
    true: int
    answers: list[Answer]
    strip: Strip | None = None


def short(text: str, most: int = 56) -> str:
    """`text` cut in the middle to `most` characters ("April_09_brush…_ba_goo_0")."""
    if len(text) <= most:
        return text
    head = (most - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (most - 1 - head):]


def _prob(a: Answer, k: int) -> str:
    p = a.probabilities[k]
    return f"{p:.2f}" if np.isfinite(p) else "?"


def _strip_image(frames: np.ndarray) -> np.ndarray:
    """uint8 [H, n*W + (n-1)*gap, 3]: the frames side by side on white."""
    n, h, w, _ = frames.shape
    image = np.full((h, n * w + (n - 1) * _GAP, 3), 255, dtype=np.uint8)
    for i, frame in enumerate(frames):
        image[:, i * (w + _GAP):i * (w + _GAP) + w] = frame
    return image


def draw_strip(ax, strip: Strip | None, title: str, clip: Sequence[int] = ()) -> None:
    """A strip of frames with their indices below, or words saying the frames are missing."""
    ax.set_title(title, fontsize=8, loc="left")
    ax.set_yticks([])
    if strip is None:
        words = "frames not available"
        if len(clip):
            words += "\n" + textwrap.fill("frames " + " ".join(map(str, clip)), 70)
        ax.text(0.5, 0.5, words, ha="center", va="center", fontsize=7, color="#555555",
                transform=ax.transAxes)
        ax.set_xticks([])
        for spine in ax.spines.values():
            spine.set_color("#CCCCCC")
        return
    indices, frames = strip
    w = frames.shape[2]
    ax.imshow(_strip_image(frames), interpolation="nearest")
    ax.set_xticks([i * (w + _GAP) + (w - 1) / 2 for i in range(len(indices))],
                  [str(i) for i in indices], fontsize=6 if len(indices) <= 16 else 5)
    ax.tick_params(length=0, pad=1)
    for spine in ax.spines.values():
        spine.set_visible(False)


def draw_bars(ax, rows: Sequence[tuple[str, float]], true: str, predicted: str,
              title: str) -> None:
    """Horizontal probability bars, likeliest on top: true class green, a wrong guess red."""
    ax.set_title(title, fontsize=8, loc="left")
    values = np.array([v for _, v in rows], dtype=np.float64)
    if not np.isfinite(values).all():
        ax.text(0.5, 0.5, "no probabilities recorded", ha="center", va="center", fontsize=7,
                transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    colours = [_TRUE if name == true else _WRONG if name == predicted else _OTHER
               for name, _ in rows]
    ax.barh(range(len(rows)), values, color=colours, height=0.75)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=7)
    for label in ax.get_yticklabels():
        if label.get_text() == true:
            label.set(color=_TRUE, fontweight="bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks([])  # each bar carries its value
    ax.tick_params(axis="y", length=0, pad=2)
    for y, v in enumerate(values):
        inside = v > 0.8
        ax.text(v - 0.02 if inside else v + 0.02, y, f"{v:.2f}", va="center", fontsize=6,
                ha="right" if inside else "left", color="white" if inside else "black")


def _title(fig: Figure, title: str) -> None:
    """The figure's title, wrapped to its width (about 12 characters an inch at 10 pt)."""
    fig.suptitle(textwrap.fill(title, int(fig.get_figwidth() * 12)), fontsize=10)


def _row_height(bars: int) -> float:
    return max(1.5, 0.17 * bars + 0.75)


def _rows(fig, views: Sequence[VideoView], bar_columns: int, strip_ratio: float) -> list:
    """Per video: [strip axes or None, bar axes...]. The strip column only when some video
    has frames: without frames its title goes on the first bar axes instead."""
    with_frames = any(v.strip is not None for v in views)
    ratios = ([strip_ratio] if with_frames else []) + [1] * bar_columns
    axes = fig.subplots(len(views), len(ratios), squeeze=False, width_ratios=ratios)
    return [list(row) if with_frames else [None, *row] for row in axes]


def _head(strip_ax, strip: Strip | None, head: str, bar_title: str) -> str:
    """Draws the strip with the video's heading; returns the first bar chart's title (the
    heading, when there is no strip column)."""
    if strip_ax is None:
        return f"{head}\n{bar_title}"
    draw_strip(strip_ax, strip, head)
    return bar_title


def mistakes_figure(views: Sequence[VideoView], classes: Sequence[str], title: str) -> Figure:
    """One row per misclassified video: its evaluated frames, then its probabilities (the top
    10 classes, the true one always among them, plus "other")."""
    bars = min(len(classes), 11)
    with_frames = any(v.strip is not None for v in views)
    fig = Figure(figsize=(WIDTH if with_frames else WIDTH / 2,
                          0.5 + (_row_height(bars) + 0.2 * (not with_frames)) * max(len(views), 1)),
                 layout="constrained")
    _title(fig, title if with_frames else f"{title} (frames not available)")
    if not views:
        _nothing(fig, "no misclassified test videos")
        return fig
    for (strip_ax, bar_ax), view in zip(_rows(fig, views, 1, 1.7), views):
        a, true = view.answers[0], classes[view.true]
        head = (f"{short(view.video_id)}\ntrue {true} ({_prob(a, view.true)}), "
                f"predicted {classes[a.predicted]} ({_prob(a, a.predicted)})")
        draw_bars(bar_ax, top_classes(a.probabilities, classes, view.true), true,
                  classes[a.predicted],
                  _head(strip_ax, view.strip, head, "class probabilities"))
    return fig


def _nothing(fig, words: str) -> None:
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, words, ha="center", va="center", fontsize=9, transform=ax.transAxes)


def _discordant_panel(sub, views: Sequence[VideoView], classes: Sequence[str],
                      title: str) -> None:
    sub.suptitle(title, fontsize=9, x=0.01, ha="left")
    if not views:
        _nothing(sub, "none")
        return
    for (strip_ax, *bar_axes), view in zip(_rows(sub, views, 2, 1.6), views):
        true = classes[view.true]
        for i, (ax, a) in enumerate(zip(bar_axes, view.answers)):
            said = classes[a.predicted]
            who = f"{short(a.who, 24)}: {short(said, 24)} ({_prob(a, a.predicted)})"
            if i == 0:
                who = _head(strip_ax, view.strip,
                            f"{short(view.video_id, 48)}\ntrue {true}", who)
            draw_bars(ax, top_classes(a.probabilities, classes, view.true, most=5), true, said,
                      who)


def discordant_figure(panels: Sequence[tuple[str, Sequence[VideoView]]],
                      classes: Sequence[str], title: str) -> Figure:
    """Two panels of videos, each with both models' top-5 classes (true class green).

    Args:
      panels: (panel title, videos) pairs: the baseline wrong and the candidate right
        (McNemar's c), then the reverse (b); each video's answers are [baseline, candidate].
      classes: class names.
      title: the figure's title.
    """
    rows = [max(len(views), 1) for _, views in panels]
    height = 0.6 + sum(0.35 + _row_height(7) * r for r in rows)
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    _title(fig, title)
    subs = np.atleast_1d(fig.subfigures(len(panels), 1, height_ratios=rows))
    for sub, (panel_title, views) in zip(subs, panels):
        _discordant_panel(sub, views, classes, panel_title)
    return fig


def flips_figure(views: Sequence[VideoView], classes: Sequence[str], title: str) -> Figure:
    """One row per video: its first clip in natural order and shuffled, side by side, each
    with the prediction the model made from the video's clips in that order."""
    longest = max([len(a.clip) for v in views for a in v.answers] + [1])
    frame_in = min(0.8, 0.46 * WIDTH / longest)  # each strip takes about half the width
    width = max(9.0, min(WIDTH, 2 * longest * frame_in + 1.5))  # room for the titles
    fig = Figure(figsize=(width, 0.5 + (frame_in + 0.7) * max(len(views), 1)),
                 layout="constrained")
    fig.get_layout_engine().set(wspace=0.04)  # natural and shuffled strips apart
    _title(fig, title)
    if not views:
        _nothing(fig, "no prediction changes when the frames are shuffled")
        return fig
    axes = fig.subplots(len(views), 2, squeeze=False)
    for row, view in zip(axes, views):
        true = classes[view.true]
        for i, (ax, a) in enumerate(zip(row, view.answers)):
            mark = "right" if a.predicted == view.true else "wrong"
            head = f"{short(view.video_id, 48)} (true {true})" if i == 0 else ""
            draw_strip(ax, a.strip, f"{head}\n{a.who}: {classes[a.predicted]} "
                       f"({_prob(a, a.predicted)}, {mark})", a.clip)
    return fig
