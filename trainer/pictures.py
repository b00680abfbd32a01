"""What the model sees (TensorBoard's Images tab, in the run's log dir):
``inputs/train`` at the start of training (a few training chunks as the run
samples and augments them, one strip per chunk, frames in order; the frame model's
augmented frames), ``inputs/val`` (each of a few validation videos' first
evaluation clip) and, from `vidrec evaluate`, ``inputs/<split>[_<order>]`` (only
evaluation reads the test split). Each picture's description names its strips
(class, video, frame indices). A run on cached embeddings shows the frames its
embeddings come from (the cache's ``source_data``), not augmented (cached
embeddings cannot be). Tuner trials get no pictures.

Written with `trainer.summaries.images`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import data
from trainer.config import EvalProtocol, TrainConfig

INPUT_TAGS = {"train": "inputs/train", "val": "inputs/val"}
SHOWN = 4  # chunks or videos per picture
MAX_FRAMES = 16  # frames per strip


def input_tag(split: str, order: str = "natural") -> str:
    """``inputs/test``, ``inputs/test_shuffled``, ...: the picture of an evaluation."""
    return f"inputs/{split}" + ("" if order == "natural" else f"_{order}")


def frames_view(cfg: TrainConfig, manifest: Mapping[str, Any]
                ) -> tuple[TrainConfig, dict[str, Any]]:
    """The config and manifest that read the frames a run sees: the run's own, or for a
    run on cached embeddings the cache's source frames, not augmented.

    Raises:
      FileNotFoundError, ValueError: the cache names no readable source.
    """
    if not cfg.features:
        return cfg, dict(manifest)
    source = schema.source_data(manifest)
    if not source:
        raise ValueError(f"the feature cache {cfg.features!r} names no "
                         f"{schema.SOURCE_DATA_KEY}")
    return (dataclasses.replace(cfg, features="", data=source, augment="none"),
            schema.read_manifest(source))


Row = tuple[str, np.ndarray, Sequence[str]]  # (label, uint8 [n, H, W, 3], per-frame captions)
MIN_SIDE = 64  # frames smaller than this are enlarged (nearest neighbour) to be seen


def strips(rows: Sequence[Row]) -> np.ndarray:
    """`uint8 [H', W', 3]`: one strip per row, its frames left to right, white gaps between
    frames and rows (no text: `describe` says what each row is). Small frames are enlarged
    by a whole factor."""
    height = max(r[1].shape[1] for r in rows)
    width = max(r[1].shape[2] for r in rows)
    k = max(1, MIN_SIDE // max(height, width))
    h, w, gap = height * k, width * k, max(2, k)
    most = max(len(r[1]) for r in rows)
    out = np.full((len(rows) * (h + 2 * gap) - 2 * gap, most * (w + gap) - gap, 3), 255,
                  np.uint8)
    for i, (_, frames, _) in enumerate(rows):
        for j, frame in enumerate(frames):
            big = np.repeat(np.repeat(frame, k, axis=0), k, axis=1)
            y, x = i * (h + 2 * gap), j * (w + gap)
            out[y:y + big.shape[0], x:x + big.shape[1]] = big
    return out


def describe(rows: Sequence[Row], intro: str) -> str:
    """Markdown for the picture: `intro`, then each strip's label and its frames' captions."""
    lines = [intro, ""]
    lines += [f"{i}. {label} (frames {', '.join(captions)})" if captions else f"{i}. {label}"
              for i, (label, _, captions) in enumerate(rows, 1)]
    return "\n".join(lines)


def _uint8(x: tf.Tensor | np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x), 0, 255).astype(np.uint8)


def _short(text: str, most: int = 32) -> str:
    return text if len(text) <= most else f"{text[:most // 2 - 1]}..{text[-(most // 2 - 1):]}"


def train_rows(cfg: TrainConfig, manifest: Mapping[str, Any], n: int = SHOWN) -> list[Row]:
    """A few training chunks as the run samples (and augments) them; the frame model's
    augmented frames as one strip."""
    view, view_manifest = frames_view(cfg, manifest)
    classes = view_manifest["classes"]
    count = n if cfg.kind.takes_chunks else 2 * n
    x, y = next(iter(data.train_dataset(view, view_manifest, count)))
    x, y = _uint8(x), y.numpy()
    if not cfg.kind.takes_chunks:
        return [("augmented frames: " + ", ".join(classes[int(k)] for k in y), x, [])]
    return [(classes[int(k)], chunk[:MAX_FRAMES], []) for chunk, k in zip(x, y)]


def eval_rows(cfg: TrainConfig, manifest: Mapping[str, Any], split: str,
              order: str = "natural", protocol: EvalProtocol = EvalProtocol(),
              n: int = SHOWN) -> list[Row]:
    """The first evaluation clip of each of the first `n` videos of `split`, frames in the
    order the model sees them, captioned with their frame indices (the frame model: its
    first frames, one clip each)."""
    view, view_manifest = frames_view(cfg, manifest)
    classes = view_manifest["classes"]
    videos: dict[str, list] = {}
    for batch in data.eval_examples(view, view_manifest, split, 1, order, protocol=protocol):
        vid = batch["video_id"].numpy()[0].decode()
        if vid not in videos:
            if len(videos) == n:
                break
            videos[vid] = [int(batch["label"].numpy()[0]), [], []]
        label, frames, indices = videos[vid]
        clip = _uint8(batch["inputs"][0])
        clip = clip if clip.ndim == 4 else clip[None]
        room = (MAX_FRAMES if cfg.kind.takes_chunks else 8) - len(frames)
        if room > 0 and (not cfg.kind.takes_chunks or not frames):
            frames.extend(clip[:room])
            indices.extend(int(i) for i in batch["clip"].numpy()[0][:room])
    return [(f"{classes[label]}: {_short(vid.rsplit('/', 1)[-1])}", np.stack(frames),
             [str(i) for i in indices]) for vid, (label, frames, indices) in videos.items()]


def _source_words(cfg: TrainConfig) -> str:
    return (" The run reads cached embeddings of these frames (not augmented)."
            if cfg.features else "")


Pictures = dict[str, tuple[np.ndarray, str]]


def input_pictures(cfg: TrainConfig, manifest: Mapping[str, Any]) -> Pictures:
    """``inputs/train`` and ``inputs/val`` of a run about to train (see the module doc).

    Raises:
      FileNotFoundError, ValueError, tf.errors.OpError: the frames cannot be read.
    """
    what = "chunks" if cfg.kind.takes_chunks else "frames"
    augment = "none" if cfg.features else cfg.augment
    train, val = train_rows(cfg, manifest), eval_rows(cfg, manifest, "val")
    pictures = {INPUT_TAGS["train"]: (strips(train), describe(train, (
        f"A few training {what} of {cfg.run_name} as it samples them, augmented "
        f"({augment}): one strip per sample, frames in order.{_source_words(cfg)}")))}
    if val:  # a split may have no validation videos
        pictures[INPUT_TAGS["val"]] = (strips(val), describe(val, (
            f"The first evaluation clip of a few validation videos, frames in the order "
            f"{cfg.run_name} sees them (their indices below).{_source_words(cfg)}")))
    return pictures


def eval_pictures(cfg: TrainConfig, manifest: Mapping[str, Any], split: str, order: str,
                  protocol: EvalProtocol) -> Pictures:
    """``inputs/<split>[_<order>]``: the first clip of a few videos an evaluation scored.

    Raises:
      FileNotFoundError, ValueError, tf.errors.OpError: the frames cannot be read.
    """
    rows = eval_rows(cfg, manifest, split, order, protocol)
    return {input_tag(split, order): (strips(rows), describe(rows, (
        f"The first evaluation clip of a few {split} videos as {cfg.run_name} saw them "
        f"({order} order, protocol {protocol.name}; frame indices below)."
        f"{_source_words(cfg)}")))}
