"""The record format shared by the Beam writer and the tf.data reader.

One `tf.train.SequenceExample` per video, in the layout TensorFlow Model
Garden's video input reads (`official/vision/dataloaders/video_input.py`):

context
    clip/label/index   int64    label index into `manifest.json`'s `classes`
    clip/label/text    bytes    class name
    clip/media_id      bytes    unique video id (``<class>/<file name>``, extension kept)
    clip/source_path   bytes    path of the source video
    clip/num_frames    int64    number of frames stored (T)
    clip/fps           float    frame rate of the stored frames
    clip/decoded_frames int64   frames the source decoded to (before resampling)
    clip/covered_seconds float  time those frames cover (last timestamp + one frame)
    image/height       int64    stored frame height (H)
    image/width        int64    stored frame width (W)
feature_list
    image/encoded      bytes    one JPEG (RGB) per frame, T entries

Feature caches written by `vidrec embed` use the same context plus
``embedding/dim`` and a feature list ``embedding/encoded`` holding one
little-endian float16 vector per frame.

This module imports TensorFlow but never Beam, so the trainer can use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from pipeline import records

if TYPE_CHECKING:  # TensorFlow is imported by the readers only: writers run without it
    import tensorflow as tf

SCHEMA_VERSION = 1

LABEL_INDEX_KEY = "clip/label/index"
LABEL_TEXT_KEY = "clip/label/text"
MEDIA_ID_KEY = "clip/media_id"
SOURCE_PATH_KEY = "clip/source_path"
NUM_FRAMES_KEY = "clip/num_frames"
FPS_KEY = "clip/fps"
DECODED_FRAMES_KEY = "clip/decoded_frames"
COVERED_SECONDS_KEY = "clip/covered_seconds"
HEIGHT_KEY = "image/height"
WIDTH_KEY = "image/width"
IMAGE_KEY = "image/encoded"
EMBEDDING_DIM_KEY = "embedding/dim"
EMBEDDING_KEY = "embedding/encoded"

SPLITS = ("train", "val", "test")
MANIFEST_NAME = "manifest.json"
# A feature cache's manifest (`vidrec embed`): "features": {"source_data": the conversion its
# embeddings come from, "source_manifest_sha256": that conversion's identity, ...}.
FEATURES_KEY = "features"
SOURCE_DATA_KEY = "source_data"
SOURCE_SHA_KEY = "source_manifest_sha256"
LABEL_MAP_NAME = "label_map.txt"
FAILURES_NAME = "failures.jsonl"
VIDEOS_NAME = "videos.jsonl"  # one line per stored video: decoded/covered/stored, its shard
SHARD_SUFFIX = ".tfrecord"
GZIP_SUFFIX = ".gz"

def _context_features() -> dict[str, Any]:
    """The context features of a record as `tf.io.parse_single_sequence_example` reads them."""
    import tensorflow as tf

    return {
        LABEL_INDEX_KEY: tf.io.FixedLenFeature([], tf.int64),
        LABEL_TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
        MEDIA_ID_KEY: tf.io.FixedLenFeature([], tf.string),
        SOURCE_PATH_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
        NUM_FRAMES_KEY: tf.io.FixedLenFeature([], tf.int64),
        FPS_KEY: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
        DECODED_FRAMES_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=0),
        COVERED_SECONDS_KEY: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
        HEIGHT_KEY: tf.io.FixedLenFeature([], tf.int64),
        WIDTH_KEY: tf.io.FixedLenFeature([], tf.int64),
    }


def _context(
    *, label: int, label_text: str, media_id: str, source_path: str, num_frames: int,
    fps: float, height: int, width: int, decoded_frames: int, covered_seconds: float,
) -> dict[str, records.Value]:
    if num_frames < 1:
        raise ValueError(f"A record needs at least one frame, got num_frames={num_frames}")
    return {
        LABEL_INDEX_KEY: int(label),
        LABEL_TEXT_KEY: label_text.encode(),
        MEDIA_ID_KEY: media_id.encode(),
        SOURCE_PATH_KEY: source_path.encode(),
        NUM_FRAMES_KEY: int(num_frames),
        FPS_KEY: float(fps),
        DECODED_FRAMES_KEY: int(decoded_frames),
        COVERED_SECONDS_KEY: float(covered_seconds),
        HEIGHT_KEY: int(height),
        WIDTH_KEY: int(width),
    }


def encode_video(
    jpeg_frames: Sequence[bytes], *, label: int, label_text: str, media_id: str,
    source_path: str, fps: float, height: int, width: int, decoded_frames: int = 0,
    covered_seconds: float = 0.0,
) -> bytes:
    """Serialises one video as a SequenceExample (`pipeline.records`: no TensorFlow).

    Args:
      jpeg_frames: T JPEG-encoded RGB frames of shape [H, W, 3].
      label, label_text: class index and name.
      media_id: id of the video, unique within a dataset.
      source_path, fps, height, width: provenance and geometry.
      decoded_frames, covered_seconds: what the source decoded to (0: unknown).

    Returns:
      The serialised `tf.train.SequenceExample`, as TensorFlow's deterministic
      serialisation writes it.
    """
    context = _context(
        label=label, label_text=label_text, media_id=media_id, source_path=source_path,
        num_frames=len(jpeg_frames), fps=fps, height=height, width=width,
        decoded_frames=decoded_frames, covered_seconds=covered_seconds)
    return records.sequence_example(context, {IMAGE_KEY: jpeg_frames})


def encode_embeddings(
    embeddings: np.ndarray, *, label: int, label_text: str, media_id: str,
    source_path: str, fps: float, height: int, width: int, decoded_frames: int = 0,
    covered_seconds: float = 0.0,
) -> bytes:
    """Serialises per-frame embeddings `float [T, D]` of one video (stored as float16)."""
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be [T, D], got shape {embeddings.shape}")
    context = _context(
        label=label, label_text=label_text, media_id=media_id, source_path=source_path,
        num_frames=embeddings.shape[0], fps=fps, height=height, width=width,
        decoded_frames=decoded_frames, covered_seconds=covered_seconds)
    context[EMBEDDING_DIM_KEY] = int(embeddings.shape[1])
    rows = embeddings.astype("<f2")
    return records.sequence_example(context, {EMBEDDING_KEY: [r.tobytes() for r in rows]})


def parse_video(serialized: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Parses one serialised video record without decoding any JPEG.

    Returns:
      (context, jpegs): the context features by key, and `string [T]` JPEGs.
    """
    import tensorflow as tf

    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=_context_features(),
        sequence_features={IMAGE_KEY: tf.io.FixedLenSequenceFeature([], tf.string)})
    return context, sequence[IMAGE_KEY]


def parse_embeddings(serialized: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Parses one feature-cache record into (context, `float32 [T, D]` embeddings)."""
    import tensorflow as tf

    features = _context_features()
    features[EMBEDDING_DIM_KEY] = tf.io.FixedLenFeature([], tf.int64)
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=features,
        sequence_features={EMBEDDING_KEY: tf.io.FixedLenSequenceFeature([], tf.string)})
    rows = tf.io.decode_raw(sequence[EMBEDDING_KEY], tf.float16, little_endian=True)
    return context, tf.cast(rows, tf.float32)


def decode_frames(jpegs: tf.Tensor) -> tf.Tensor:
    """Decodes `string [T]` JPEGs into `uint8 [T, H, W, 3]` RGB frames."""
    import tensorflow as tf

    return tf.map_fn(
        lambda j: tf.io.decode_jpeg(j, channels=3), jpegs,
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))


# ---------------------------------------------------------------- shard naming: the one rule
# Every writer (`vidrec convert`, `vidrec embed`, the benchmarks) names its shards with
# `shard_name` and declares `file_pattern` in its manifest; every reader lists them with
# `shard_names` (or, tools and tests, globs `shard_pattern`).


def shard_suffix(compression: str = "none") -> str:
    """``.tfrecord``, plus ``.gz`` under gzip compression."""
    return SHARD_SUFFIX + (GZIP_SUFFIX if compression == "gzip" else "")


def shard_name(split: str, shard: int, num_shards: int, compression: str = "none") -> str:
    """``train-00000-of-00004.tfrecord`` (+ ``.gz``): the file name of one shard."""
    return f"{split}-{shard:05d}-of-{num_shards:05d}{shard_suffix(compression)}"


def file_pattern(split: str, compression: str = "none") -> str:
    """``train-*-of-*.tfrecord`` (+ ``.gz``): a manifest's ``file_pattern`` of `split`."""
    return f"{split}-*-of-*{shard_suffix(compression)}"


def shard_pattern(data_dir: str, split: str) -> str:
    """Glob matching every shard of `split` under `data_dir` (for tools and tests: readers
    read exactly the shards `shard_names` lists)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return f"{data_dir.rstrip('/')}/{file_pattern(split)}*"


def shard_names(manifest: Mapping[str, Any], split: str) -> list[str]:
    """The file names of `split`'s shards, exactly as the manifest lists them.

    Derived from the split's ``shards`` count and its ``file_pattern`` (e.g.
    ``train-*-of-*.tfrecord`` -> ``train-00000-of-00004.tfrecord`` ...), never by
    globbing: a file the manifest does not list (a leftover of an earlier write into
    the folder) is never read. Manifests written before `file_pattern` was the one rule
    (feature caches, test fixtures) spell the count out (``train-*-of-00004.tfrecord``):
    they name the same files and are read alike.

    Raises:
      ValueError: the manifest has no such split, or no shard count and pattern.
    """
    info = manifest.get("splits", {}).get(split)
    if info is None:
        raise ValueError(f"the manifest has no {split!r} split")
    count, pattern = info.get("shards"), info.get("file_pattern", "")
    parts = pattern.split("*")
    if not isinstance(count, int) or len(parts) not in (2, 3):
        raise ValueError(f"the manifest's {split!r} split has no shard count and file pattern "
                         f"(shards {count!r}, file_pattern {pattern!r})")
    if len(parts) == 2:  # the count is spelled out: train-*-of-00004.tfrecord
        return [f"{parts[0]}{k:05d}{parts[1]}" for k in range(count)]
    return [f"{parts[0]}{k:05d}{parts[1]}{count:05d}{parts[2]}" for k in range(count)]


def read_manifest(data_dir: str) -> dict[str, Any]:
    """Reads `DATA_DIR/manifest.json`, raising a one-line error when it is absent or foreign."""
    import tensorflow as tf

    path = f"{data_dir.rstrip('/')}/{MANIFEST_NAME}"
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"No {MANIFEST_NAME} in {data_dir!r}: run `vidrec convert` first "
            "(a folder without a manifest is an unfinished or foreign conversion)")
    with tf.io.gfile.GFile(path) as f:
        manifest = json.load(f)
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(
            f"{path} has schema_version={version!r}; this vidrec reads {SCHEMA_VERSION}")
    return manifest


def source_data(manifest: Mapping[str, Any]) -> str | None:
    """The conversion a feature cache's manifest was made from (None: frames, not a cache)."""
    return (manifest.get(FEATURES_KEY) or {}).get(SOURCE_DATA_KEY) or None


def frames_dir(data_dir: str) -> tuple[str, dict[str, Any]]:
    """The folder holding the frames of `data_dir` (a feature cache's source) and its manifest.

    Raises:
      FileNotFoundError, ValueError: no manifest there, or a foreign one (`read_manifest`).
    """
    manifest = read_manifest(data_dir)
    source = source_data(manifest)
    return (source, read_manifest(source)) if source else (data_dir, manifest)


def manifest_sha256(data_dir: str) -> str:
    """Identity of the videos a data folder holds: sha256 of its manifest.json bytes.

    A feature cache (`vidrec embed`) answers with its source conversion's hash,
    so runs on cached embeddings compare with runs on the frames they came from.
    """
    import tensorflow as tf

    path = f"{data_dir.rstrip('/')}/{MANIFEST_NAME}"
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    source = json.loads(raw).get(FEATURES_KEY, {}).get(SOURCE_SHA_KEY)
    return source or hashlib.sha256(raw).hexdigest()


def write_json(path: str, payload: Mapping[str, Any]) -> None:
    """Writes `payload` as indented JSON to a local or `gs://` path."""
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")
