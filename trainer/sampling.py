"""Which frames a clip is made of: pure TensorFlow index functions, no I/O.

A chunk is `chunk_length` frames `frame_stride` apart, spanning
``(chunk_length - 1) * frame_stride + 1`` frames. Videos shorter than that span
are LOOPED: frame indices wrap around modulo the video length (a 5-frame video
read as an 8-frame chunk is frames 0 1 2 3 4 0 1 2).

* training, a model that takes chunks: one chunk per video per pass at a
  uniformly random start (`train_chunk_indices`).
* training, the single-frame model: `frames_per_video` distinct random frames
  per video per pass, each one example (`train_frame_indices`).
* evaluation and validation (`config.EvalProtocol`, `eval_clip_indices`): one
  frame set per video, chosen from the video alone (every stored frame by
  default), that each model tiles into its own clips: the frame model scores
  each frame; a chunk model splits the set into its stride phases (frames p,
  p+s, p+2s, ...) and each phase into consecutive chunks, the last one looped.
  Every model, whatever its chunk length and stride, is thus scored on the same
  frames (`frames_key` names them, for the evaluation's fingerprint).
* order ablation (`apply_order`): each chunk's frames shuffled or reversed.
"""

from __future__ import annotations

import tensorflow as tf

from trainer.config import ORDERS, EvalProtocol, TrainConfig


def chunk_span(cfg: TrainConfig) -> int:
    """Frames covered by one chunk: (chunk_length - 1) * frame_stride + 1."""
    return (cfg.chunk_length - 1) * cfg.frame_stride + 1


def train_chunk_indices(num_frames: tf.Tensor, cfg: TrainConfig, seed: tf.Tensor) -> tf.Tensor:
    """`int32 [L]` frame indices of one random chunk (looped modulo `num_frames`)."""
    max_start = tf.maximum(num_frames - chunk_span(cfg), 0)
    start = tf.random.stateless_uniform([], seed, 0, max_start + 1, dtype=tf.int32)
    return (start + tf.range(cfg.chunk_length) * cfg.frame_stride) % num_frames


def train_frame_indices(num_frames: tf.Tensor, cfg: TrainConfig, seed: tf.Tensor) -> tf.Tensor:
    """`int32 [F]` distinct random frame indices (F = frames_per_video; loops if too few)."""
    perm = tf.argsort(tf.random.stateless_uniform([num_frames], seed))
    return tf.gather(perm, tf.range(cfg.frames_per_video) % num_frames)


def eval_clip_indices(num_frames: tf.Tensor, cfg: TrainConfig,
                      protocol: EvalProtocol = EvalProtocol()) -> tf.Tensor:
    """`int32 [K, L]` frame indices of the evaluation clips of one video (L = 1: frame model).

    The protocol's frame set (every frame, or a centred window) is split into
    the run's `frame_stride` phases; each phase is cut into consecutive chunks of
    `chunk_length`, its last chunk looped (wrapping to the phase's first frame).
    Every frame of the set is in at least one clip, whatever the chunk length.
    """
    num_frames = tf.cast(num_frames, tf.int32)
    count = num_frames if protocol.window == 0 else tf.minimum(num_frames, protocol.window)
    first = (num_frames - count) // 2
    if not cfg.kind.takes_chunks:
        return tf.reshape(first + tf.range(count), [-1, 1])
    length, stride = cfg.chunk_length, cfg.frame_stride
    chunks = []
    for phase in range(stride):  # static: one run of chunks per stride phase
        m = tf.maximum((count - phase + stride - 1) // stride, 0)  # frames in this phase
        k = (m + length - 1) // length
        q = tf.range(k * length) % tf.maximum(m, 1)
        chunks.append(tf.reshape(first + phase + stride * q, [k, length]))
    return tf.concat(chunks, axis=0)


def frames_key(indices: tf.Tensor) -> tf.Tensor:
    """`string []`: the sorted distinct frame indices of `int32 [...]`, comma-joined."""
    distinct = tf.sort(tf.unique(tf.reshape(indices, [-1]))[0])
    return tf.strings.reduce_join(tf.strings.as_string(distinct), separator=",")


def apply_order(indices: tf.Tensor, order: str, seed: int, video_id: tf.Tensor) -> tf.Tensor:
    """Reorders the frames of each chunk: `int32 [K, L]` -> `int32 [K, L]`.

    natural keeps them; reversed plays each chunk backwards; shuffled permutes
    each chunk with a permutation fixed by (`seed`, video id, chunk).
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if order == "reversed":
        return tf.reverse(indices, axis=[1])
    if order == "shuffled":
        vid = tf.strings.to_hash_bucket_fast(video_id, 2**31 - 1)
        noise = tf.random.stateless_uniform(
            tf.shape(indices), tf.stack([tf.cast(seed, tf.int64), vid]))
        return tf.gather(indices, tf.argsort(noise, axis=1), batch_dims=1)
    return indices
