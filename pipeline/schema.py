"""The record format shared by the Beam writer and the tf.data reader.

One `tf.train.SequenceExample` per video, in the layout TensorFlow Model
Garden's video input reads (`official/vision/dataloaders/video_input.py`):

context
    clip/label/index   int64    label index into `manifest.json`'s `classes`
    clip/label/text    bytes    class name
    clip/media_id      bytes    stable video id (``<class>/<file stem>``)
    clip/source_path   bytes    path of the source video
    clip/num_frames    int64    number of frames stored (T)
    clip/fps           float    frame rate of the stored frames
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
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

SCHEMA_VERSION = 1

LABEL_INDEX_KEY = "clip/label/index"
LABEL_TEXT_KEY = "clip/label/text"
MEDIA_ID_KEY = "clip/media_id"
SOURCE_PATH_KEY = "clip/source_path"
NUM_FRAMES_KEY = "clip/num_frames"
FPS_KEY = "clip/fps"
HEIGHT_KEY = "image/height"
WIDTH_KEY = "image/width"
IMAGE_KEY = "image/encoded"
EMBEDDING_DIM_KEY = "embedding/dim"
EMBEDDING_KEY = "embedding/encoded"

SPLITS = ("train", "val", "test")
MANIFEST_NAME = "manifest.json"
LABEL_MAP_NAME = "label_map.txt"
FAILURES_NAME = "failures.jsonl"
SHARD_SUFFIX = ".tfrecord"
GZIP_SUFFIX = ".gz"

_CONTEXT_FEATURES = {
    LABEL_INDEX_KEY: tf.io.FixedLenFeature([], tf.int64),
    LABEL_TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
    MEDIA_ID_KEY: tf.io.FixedLenFeature([], tf.string),
    SOURCE_PATH_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    NUM_FRAMES_KEY: tf.io.FixedLenFeature([], tf.int64),
    FPS_KEY: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    HEIGHT_KEY: tf.io.FixedLenFeature([], tf.int64),
    WIDTH_KEY: tf.io.FixedLenFeature([], tf.int64),
}


def _bytes(values: Sequence[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _int64(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _float(value: float) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))


def _context(
    *, label: int, label_text: str, media_id: str, source_path: str, num_frames: int,
    fps: float, height: int, width: int,
) -> dict[str, tf.train.Feature]:
    if num_frames < 1:
        raise ValueError(f"A record needs at least one frame, got num_frames={num_frames}")
    return {
        LABEL_INDEX_KEY: _int64(label),
        LABEL_TEXT_KEY: _bytes([label_text.encode()]),
        MEDIA_ID_KEY: _bytes([media_id.encode()]),
        SOURCE_PATH_KEY: _bytes([source_path.encode()]),
        NUM_FRAMES_KEY: _int64(num_frames),
        FPS_KEY: _float(fps),
        HEIGHT_KEY: _int64(height),
        WIDTH_KEY: _int64(width),
    }


def encode_video(
    jpeg_frames: Sequence[bytes], *, label: int, label_text: str, media_id: str,
    source_path: str, fps: float, height: int, width: int,
) -> bytes:
    """Serialises one video as a SequenceExample.

    Args:
      jpeg_frames: T JPEG-encoded RGB frames of shape [H, W, 3].
      label, label_text: class index and name.
      media_id: stable id of the video, unique within a dataset.
      source_path, fps, height, width: provenance and geometry.

    Returns:
      The serialised `tf.train.SequenceExample`.
    """
    context = _context(
        label=label, label_text=label_text, media_id=media_id, source_path=source_path,
        num_frames=len(jpeg_frames), fps=fps, height=height, width=width)
    frames = tf.train.FeatureList(feature=[_bytes([f]) for f in jpeg_frames])
    example = tf.train.SequenceExample(
        context=tf.train.Features(feature=context),
        feature_lists=tf.train.FeatureLists(feature_list={IMAGE_KEY: frames}))
    return example.SerializeToString(deterministic=True)  # map order fixed


def encode_embeddings(
    embeddings: np.ndarray, *, label: int, label_text: str, media_id: str,
    source_path: str, fps: float, height: int, width: int,
) -> bytes:
    """Serialises per-frame embeddings `float [T, D]` of one video (stored as float16)."""
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be [T, D], got shape {embeddings.shape}")
    context = _context(
        label=label, label_text=label_text, media_id=media_id, source_path=source_path,
        num_frames=embeddings.shape[0], fps=fps, height=height, width=width)
    context[EMBEDDING_DIM_KEY] = _int64(embeddings.shape[1])
    rows = embeddings.astype("<f2")
    frames = tf.train.FeatureList(feature=[_bytes([r.tobytes()]) for r in rows])
    example = tf.train.SequenceExample(
        context=tf.train.Features(feature=context),
        feature_lists=tf.train.FeatureLists(feature_list={EMBEDDING_KEY: frames}))
    return example.SerializeToString(deterministic=True)  # map order fixed


def parse_video(serialized: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Parses one serialised video record without decoding any JPEG.

    Returns:
      (context, jpegs): the context features by key, and `string [T]` JPEGs.
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=_CONTEXT_FEATURES,
        sequence_features={IMAGE_KEY: tf.io.FixedLenSequenceFeature([], tf.string)})
    return context, sequence[IMAGE_KEY]


def parse_embeddings(serialized: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Parses one feature-cache record into (context, `float32 [T, D]` embeddings)."""
    features = dict(_CONTEXT_FEATURES)
    features[EMBEDDING_DIM_KEY] = tf.io.FixedLenFeature([], tf.int64)
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=features,
        sequence_features={EMBEDDING_KEY: tf.io.FixedLenSequenceFeature([], tf.string)})
    rows = tf.io.decode_raw(sequence[EMBEDDING_KEY], tf.float16, little_endian=True)
    return context, tf.cast(rows, tf.float32)


def decode_frames(jpegs: tf.Tensor) -> tf.Tensor:
    """Decodes `string [T]` JPEGs into `uint8 [T, H, W, 3]` RGB frames."""
    return tf.map_fn(
        lambda j: tf.io.decode_jpeg(j, channels=3), jpegs,
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))


def shard_pattern(data_dir: str, split: str) -> str:
    """Glob matching every shard of `split` under `data_dir`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return f"{data_dir.rstrip('/')}/{split}-*-of-*{SHARD_SUFFIX}*"


def read_manifest(data_dir: str) -> dict[str, Any]:
    """Reads `DATA_DIR/manifest.json`, raising a one-line error when it is absent or foreign."""
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


def manifest_sha256(data_dir: str) -> str:
    """Identity of the videos a data folder holds: sha256 of its manifest.json bytes.

    A feature cache (`vidrec embed`) answers with its source conversion's hash,
    so runs on cached embeddings compare with runs on the frames they came from.
    """
    path = f"{data_dir.rstrip('/')}/{MANIFEST_NAME}"
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    source = json.loads(raw).get("features", {}).get("source_manifest_sha256")
    return source or hashlib.sha256(raw).hexdigest()


def write_json(path: str, payload: Mapping[str, Any]) -> None:
    """Writes `payload` as indented JSON to a local or `gs://` path."""
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")
