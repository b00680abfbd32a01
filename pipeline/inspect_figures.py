"""The pictures of `vidrec inspect` (`pipeline.inspection`): counts, lengths, a contact sheet.

Each `*_png` function returns PNG bytes of a `matplotlib.figure.Figure` (object API: no
pyplot state, no GUI backend); frames are decoded through `pipeline.schema`.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

THUMB = 64  # largest side of a contact-sheet frame, pixels
COLOURS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}


def contact_rows(videos: dict[int, tuple[str, list[bytes]]], classes: Sequence[str],
                 chunk_length: int) -> list[tuple[str, str, np.ndarray | None]]:
    """(class, media id, uint8 [L, h, w, 3] or None) per class: the middle `chunk_length`
    consecutive frames of its video (looped when shorter, as training loops it)."""
    import tensorflow as tf

    from pipeline import schema

    rows = []
    for label, name in enumerate(classes):
        if label not in videos:
            rows.append((name, "", None))
            continue
        media_id, jpegs = videos[label]
        start = max(0, (len(jpegs) - chunk_length) // 2)
        picked = [jpegs[(start + i) % len(jpegs)] for i in range(chunk_length)]
        frames = schema.decode_frames(tf.constant(picked))
        scale = THUMB / max(frames.shape[1], frames.shape[2])
        if scale < 1:
            size = [max(1, round(frames.shape[1] * scale)), max(1, round(frames.shape[2] * scale))]
            frames = tf.cast(tf.image.resize(frames, size, method="area"), tf.uint8)
        rows.append((name, media_id, frames.numpy()))
    return rows


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def class_counts_png(manifest: dict[str, Any]) -> bytes:
    """Horizontal bars: videos per class, stacked by split."""
    from matplotlib.figure import Figure

    classes = list(manifest["classes"])
    fig = Figure(figsize=(7, 1.2 + 0.22 * len(classes)))
    ax = fig.subplots()
    left = np.zeros(len(classes))
    for split, info in manifest["splits"].items():
        counts = np.array([info.get("per_class", {}).get(c, 0) for c in classes], float)
        ax.barh(range(len(classes)), counts, left=left, label=f"{split} ({int(counts.sum())})",
                color=COLOURS.get(split))
        left += counts
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("videos")
    ax.set_title("Videos per class and split", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def histogram_png(lengths: Sequence[dict[str, Any]], key: str, source: str) -> bytes:
    """Histogram of frames (`key` "frames") or seconds ("seconds") per video, per split."""
    from matplotlib.figure import Figure

    def value(r):
        return r["frames"] if key == "frames" else (r["frames"] / r["fps"] if r["fps"] > 0
                                                     else None)

    per_split = {s: [v for r in lengths if r["split"] == s and (v := value(r)) is not None]
                 for s in COLOURS}
    per_split = {s: v for s, v in per_split.items() if v}
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    if per_split:
        ax.hist(list(per_split.values()), bins=min(30, max(5, len(lengths) // 5)),
                label=[f"{s} ({len(v)})" for s, v in per_split.items()],
                color=[COLOURS[s] for s in per_split])
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no frame rate recorded", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("stored frames per video" if key == "frames" else "seconds per video "
                  "(stored frames / fps)")
    ax.set_ylabel("videos")
    ax.set_title(f"{'Frames' if key == 'frames' else 'Duration'} per video ({source})",
                 fontsize=10)
    return _png(fig)


def contact_sheet_png(rows: Sequence[tuple[str, str, np.ndarray | None]],
                      chunk_length: int) -> bytes:
    """One row per class: its chunk's frames left to right, class and video on the left."""
    from matplotlib.figure import Figure

    shapes = [r[2].shape[1:3] for r in rows if r[2] is not None]
    h, w = (max(s[0] for s in shapes), max(s[1] for s in shapes)) if shapes else (THUMB, THUMB)
    gap = 2
    sheet = np.full((len(rows) * (h + gap), chunk_length * (w + gap), 3), 255, np.uint8)
    for i, (_, _, frames) in enumerate(rows):
        for j, frame in enumerate(frames if frames is not None else []):
            y, x = i * (h + gap), j * (w + gap)
            sheet[y:y + frame.shape[0], x:x + frame.shape[1]] = frame
    fig = Figure(figsize=(1.5 + sheet.shape[1] / 60, 0.6 + sheet.shape[0] / 60))
    ax = fig.subplots()
    ax.imshow(sheet, interpolation="nearest")
    labels = [f"{name}  {media_id.rsplit('/', 1)[-1][:28]}" if frames is not None
              else f"{name}  (no video read)" for name, media_id, frames in rows]
    ax.set_yticks([i * (h + gap) + h / 2 for i in range(len(rows))], labels, fontsize=7)
    ax.set_xticks([j * (w + gap) + w / 2 for j in range(chunk_length)],
                  [str(j + 1) for j in range(chunk_length)], fontsize=7)
    ax.tick_params(length=0)
    ax.set_title(f"One chunk per class: {chunk_length} consecutive frames from the middle of "
                 "one video", fontsize=9)
    return _png(fig)
