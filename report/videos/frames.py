"""The test videos' frames for the report's pictures, read through `pipeline.schema` only.

The one place `report` touches the converted data, and only through the record
contract (`pipeline.schema`: manifest, shard pattern, parser, JPEG decoder), never
through the trainer's input pipeline. A run trained on a feature cache names the
cache as its data; the cache's manifest names the frames' folder
(``"features": {"source_data": ...}``). Only the handful of videos a picture shows
are kept, as JPEGs, and only the frames drawn are decoded.

Frames that cannot be read (the data folder is gone, moved or unreadable) are not an
error: `read_frames` returns the reason and the pictures are drawn without strips.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema

MAX_STRIP = 8  # frames in a video's strip


def read_videos(data_dir: str, split: str, ids: Iterable[str]) -> dict[str, list[bytes]]:
    """JPEG frames of the videos `ids` of `split`: media id -> T JPEGs (absent ids left out).

    Raises:
      FileNotFoundError: no manifest or no shards of `split`.
      ValueError, tf.errors.OpError: a foreign manifest or unreadable shards.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    src, manifest = schema.frames_dir(data_dir)
    files = [f"{src.rstrip('/')}/{name}" for name in schema.shard_names(manifest, split)]
    if not files:
        raise FileNotFoundError(f"no {split} shards in {src!r}")
    compression = "GZIP" if manifest.get("compression") == "gzip" else ""
    keys = tf.constant(wanted)
    records = tf.data.TFRecordDataset(files, compression_type=compression).map(schema.parse_video)
    records = records.filter(
        lambda context, _: tf.reduce_any(tf.equal(context[schema.MEDIA_ID_KEY], keys)))
    out: dict[str, list[bytes]] = {}
    for context, jpegs in records:
        out[context[schema.MEDIA_ID_KEY].numpy().decode()] = list(jpegs.numpy())
        if len(out) == len(wanted):
            break
    return out


def strip_indices(num_frames: int, window: int = 0, most: int = MAX_STRIP) -> list[int]:
    """Up to `most` frame indices evenly spaced over the frames the evaluation scored.

    The protocol's frame set is every frame (`window` 0) or the centred `window`
    consecutive frames, as `trainer.sampling.eval_clip_indices` tiles it.
    """
    count = num_frames if window <= 0 else min(num_frames, window)
    first = (num_frames - count) // 2
    n = min(most, count)
    return sorted({int(i) for i in np.linspace(first, first + count - 1, n).round()})


class Frames:
    """The frames of a handful of test videos: JPEGs read once, decoded on request.

    Attributes:
      videos: media id -> T JPEG frames (empty when the frames could not be read).
      window: the evaluation protocol's window (0: every frame).
    """

    def __init__(self, videos: dict[str, list[bytes]], window: int = 0):
        self.videos = videos
        self.window = window

    def clip(self, video_id: str, indices: Sequence[int]) -> np.ndarray | None:
        """uint8 [n, H, W, 3] frames `indices` of a video (looped as the sampler loops them);
        None when the video's frames are not here or do not decode."""
        jpegs = self.videos.get(video_id)
        if not jpegs or not len(indices):
            return None
        chosen = [jpegs[int(i) % len(jpegs)] for i in indices]
        try:
            return schema.decode_frames(tf.constant(chosen)).numpy()
        except tf.errors.OpError:  # a corrupt JPEG: this video is drawn without its strip
            return None

    def strip(self, video_id: str) -> tuple[list[int], np.ndarray] | None:
        """(indices, uint8 [n, H, W, 3]): up to MAX_STRIP evaluated frames in order, or None."""
        jpegs = self.videos.get(video_id)
        if not jpegs:
            return None
        indices = strip_indices(len(jpegs), self.window)
        frames = self.clip(video_id, indices)
        return None if frames is None else (indices, frames)


def read_frames(data_dirs: Sequence[str], split: str, ids: Iterable[str],
                window: int = 0) -> tuple[Frames, str | None]:
    """The frames of `ids` from the first of `data_dirs` that reads, and why none did.

    Returns:
      (frames, problem): problem is None when a folder was read, else one line saying
      why no folder could be (the frames are then empty).
    """
    ids = sorted(set(ids))
    problems = []
    for data_dir in dict.fromkeys(d for d in data_dirs if d):
        try:
            return Frames(read_videos(data_dir, split, ids), window), None
        except (OSError, ValueError, tf.errors.OpError) as e:
            problems.append(f"{data_dir}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return Frames({}, window), "; ".join(problems) or "the eval files name no data folder"
