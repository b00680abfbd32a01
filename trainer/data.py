"""The input pipeline: pure functions in a fixed order.

match files -> shuffle the file list (seeded) -> interleave parallel reads
(those three: `trainer.reading`) -> parse (`schema.parse_video`, no JPEG decoded)
-> SAMPLE frame indices -> decode only the sampled JPEGs -> augment -> batch ->
prefetch.

Decoded frames are never cached and every buffer is bounded, so memory does
not grow with the dataset.

Which frames are sampled (training chunks or frames, the evaluation protocol's
clips, the order ablation) is `trainer.sampling`; this module reads, decodes,
augments and batches them. Whether a run reads chunks comes from its model's
registry entry (`cfg.kind.takes_chunks`).
"""

from __future__ import annotations

from typing import Any, Mapping

import tensorflow as tf

from pipeline import schema
from trainer import augment as augment_lib
from trainer import determinism, feature_cache, reading, sampling
from trainer.config import ORDERS, EvalProtocol, TrainConfig, augment_list

AUTOTUNE = tf.data.AUTOTUNE
_FRAME_SHUFFLE = 256
# The training input runs on a private pool of this many threads per core. On tf.data's
# shared pool the augmentation's XLA programs left the cores ~10% idle (1.83 of 2 busy;
# benchmarks/bench_input.py); a private pool keeps them busy (1.97) and leaves the bare
# decode loop as fast as it was. Of 2, 3, 4 and 6 threads per core, alternating runs of
# bench_input's default variant were fastest at 3.
THREADS_PER_CORE = 3


def longest_video(manifest: Mapping[str, Any]) -> int:
    """Frames of the longest video in any split of the manifest (0 when empty)."""
    return max((s.get("max_frames", 0) for s in manifest.get("splits", {}).values()),
               default=0)


def max_chunk_length(manifest: Mapping[str, Any], frame_stride: int = 1) -> int:
    """The longest chunk_length whose span fits the longest video of the manifest."""
    if frame_stride < 1:
        raise ValueError(f"frame_stride must be >= 1, got {frame_stride}")
    longest = longest_video(manifest)
    return max(0, (longest - 1) // frame_stride + 1) if longest else 0


def source_dir(cfg: TrainConfig) -> str:
    """The folder the run reads: the feature cache when `cfg.features` is set."""
    return cfg.features or cfg.data


def validate(cfg: TrainConfig, manifest: Mapping[str, Any], global_batch: int | None = None,
             num_replicas: int = 1) -> None:
    """Checks a config against the data before anything is built.

    Raises:
      ValueError: with the offending numbers.
    """
    longest = longest_video(manifest)
    span = sampling.chunk_span(cfg)
    if cfg.kind.takes_chunks and span > longest:
        raise ValueError(
            f"chunk span (chunk_length-1)*frame_stride+1 = ({cfg.chunk_length}-1)*"
            f"{cfg.frame_stride}+1 = {span} frames exceeds the longest video in the data "
            f"({longest} frames); lower --chunk-length or --frame-stride")
    if cfg.features and schema.FEATURES_KEY not in manifest:
        raise ValueError(f"--features {cfg.features!r} is not a feature cache (its manifest "
                         "has no 'features' entry): write one with `vidrec embed`")
    feature_cache.check_run(cfg, manifest)  # pooled vectors or maps, for this model
    if global_batch is not None:
        if global_batch < num_replicas or global_batch % num_replicas:
            raise ValueError(f"global batch {global_batch} must be a positive multiple of the "
                             f"{num_replicas} replicas")
    for split in ("train", "val"):
        if not manifest.get("splits", {}).get(split, {}).get("videos"):
            raise ValueError(f"the {split!r} split of {source_dir(cfg)!r} has no videos")


def steps_per_epoch(cfg: TrainConfig, manifest: Mapping[str, Any], global_batch: int) -> int:
    """`cfg.steps_per_epoch`, or one pass over the training videos (at least 1)."""
    if cfg.steps_per_epoch:
        return cfg.steps_per_epoch
    items = manifest["splits"]["train"]["videos"]
    if not cfg.kind.takes_chunks:  # each sampled frame is an example
        items *= cfg.frames_per_video
    return max(1, items // global_batch)


def video_seed(seed: int, pass_index: tf.Tensor, video_id: tf.Tensor) -> tf.Tensor:
    """`int64 [2]` stateless seed of one video in one pass over the data.

    A function of (seed, pass, video id) only: a video's training clip and its
    augmentation do not change with the file order, the worker count or the
    tf.data thread count.
    """
    vid = tf.strings.to_hash_bucket_fast(video_id, 2**62)
    base = tf.stack([tf.constant(seed, tf.int64), tf.cast(pass_index, tf.int64)])
    return tf.random.experimental.stateless_fold_in(base, vid)


def _parse(cfg: TrainConfig, serialized: tf.Tensor,
           map_shape: tuple[int, ...] | None = None) -> dict[str, tf.Tensor]:
    """One record -> {"label" int32, "video_id" string, "num_frames" int32, "items" [T]}.

    "items" is `string [T]` JPEGs, or `float32 [T, D]` embeddings in features mode
    (`float32 [T, h, w, C]` of a map cache: `map_shape`).
    """
    if cfg.features:
        context, items = schema.parse_embeddings(serialized)
        if map_shape:
            items = tf.reshape(items, [-1, *map_shape])
    else:
        context, items = schema.parse_video(serialized)
    return {"label": tf.cast(context[schema.LABEL_INDEX_KEY], tf.int32),
            "video_id": context[schema.MEDIA_ID_KEY],
            "num_frames": tf.cast(tf.shape(items)[0], tf.int32),
            "items": items}


def _take(cfg: TrainConfig, frame_size: int, items: tf.Tensor, indices: tf.Tensor,
          dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Gathers the sampled items and decodes only those JPEGs.

    Args:
      items: `string [T]` JPEGs, or `float32 [T, D]` embeddings (`[T, h, w, C]` maps).
      indices: `int32 [...]`.
      dtype: of the decoded frames (uint8 keeps evaluation buffers 4x smaller).

    Returns:
      `[..., H, W, 3]` frames in 0..255 of `dtype`, or `float32 [..., D]` embeddings
      (`[..., h, w, C]` maps).
    """
    picked = tf.gather(items, tf.reshape(indices, [-1]))
    if cfg.features:
        return tf.reshape(picked, tf.concat([tf.shape(indices), tf.shape(picked)[1:]], 0))
    frames = tf.cast(schema.decode_frames(picked), dtype)
    frames = tf.ensure_shape(frames, [None, frame_size, frame_size, 3])
    return tf.reshape(frames, tf.concat([tf.shape(indices), [frame_size, frame_size, 3]], 0))


def _options(ds: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    # Single-worker MirroredStrategy splits batches; DATA is also safe for multi-worker
    # with fewer files than workers (tensorflow #36846).
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return ds.with_options(options)


# --------------------------------------------------------------------------- public datasets


def train_examples(cfg: TrainConfig, manifest: Mapping[str, Any],
                   shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Endless training examples, one per sampled clip (a chunk, or a frame), unbatched.

    Each video's frames and augmentation are drawn from `video_seed` (the run's
    seed, the pass over the data, the video id).

    Yields:
      dicts {"x": `uint8 [H, W, 3]` (frame model) or `uint8 [L, H, W, 3]` (chunk
      models) or `float32 [L, D]` (features; `[L, h, w, C]` maps), "label": `int32 []`, "video_id":
      `string []`, "pass": `int64 []`, "indices": `int32 [L]` (the frame indices; [1]
      for the frame model)}.
    """
    frame_size = int(manifest.get("frame_size", 0))
    ops = () if cfg.features else augment_list(cfg.augment)
    dtype = tf.uint8  # the model casts (see `train_dataset`)
    ds = reading.training_records(source_dir(cfg), manifest, cfg.seed, shard)
    maps = feature_cache.map_shape(manifest)

    def sample(serialized, pass_index):  # parse in the same map: one stage less per record
        rec = _parse(cfg, serialized, maps)
        seed = video_seed(cfg.seed, pass_index, rec["video_id"])
        sample_seed, aug_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        meta = {"label": rec["label"], "video_id": rec["video_id"], "pass": pass_index}
        if cfg.kind.takes_chunks:
            idx = sampling.train_chunk_indices(rec["num_frames"], cfg, sample_seed)
            x = _take(cfg, frame_size, rec["items"], idx, dtype)
            return {"x": augment_lib.augment_chunk(x, aug_seed, ops) if ops else x,
                    "indices": idx, **meta}
        idx = sampling.train_frame_indices(rec["num_frames"], cfg, sample_seed)
        x = _take(cfg, frame_size, rec["items"], idx, dtype)
        if ops:  # one draw per frame: each frame is its own clip
            aug_seeds = tf.random.experimental.stateless_split(aug_seed, cfg.frames_per_video)
            x = tf.map_fn(lambda a: augment_lib.augment_chunk(a[0][None], a[1], ops)[0],
                          (x, aug_seeds), fn_output_signature=dtype)
        n = cfg.frames_per_video
        return {"x": x, "indices": idx[:, None], **{k: tf.fill([n], v) for k, v in meta.items()}}

    ds = ds.map(sample, num_parallel_calls=AUTOTUNE)
    if not cfg.kind.takes_chunks:
        ds = ds.unbatch().shuffle(_FRAME_SHUFFLE, seed=cfg.seed)
    return ds


def train_dataset(cfg: TrainConfig, manifest: Mapping[str, Any], global_batch: int,
                  shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Endless, shuffled, augmented training batches (drop_remainder=True).

    `shard` = (num_workers, worker_index): this worker's part of the videos (see
    `reading.shard_policy`); `global_batch` is then the batch this dataset yields.

    Yields:
      (x, y): x `uint8 [B, H, W, 3]` (frame model), `uint8 [B, L, H, W, 3]`
      (chunk models), or `float32 [B, L, D]` (features); y `int32 [B]`. Frames
      stay uint8 from decoding through augmentation and batching (a quarter of
      float32's bytes copied; on a GPU, sent); Keras converts a model's input
      to its float32 `Input`.
    """
    if global_batch < 1:
        raise ValueError(f"global batch must be >= 1, got {global_batch}")
    ds = train_examples(cfg, manifest, shard).map(lambda e: (e["x"], e["label"]))
    ds = ds.batch(global_batch, drop_remainder=True)
    options = tf.data.Options()
    options.threading.private_threadpool_size = THREADS_PER_CORE * determinism.cores()
    return _options(ds.prefetch(AUTOTUNE).with_options(options))


def _eval_clips(cfg: TrainConfig, manifest: Mapping[str, Any], split: str, order: str,
                protocol: EvalProtocol, shard: tuple[int, int] | None = None
                ) -> tf.data.Dataset:
    """Unbatched evaluation clips as dicts (see `eval_examples`); frames stay uint8 here."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    frame_size = int(manifest.get("frame_size", 0))
    ds = reading.eval_records(source_dir(cfg), manifest, split, shard=shard)
    maps = feature_cache.map_shape(manifest)
    ds = ds.map(lambda s: _parse(cfg, s, maps), num_parallel_calls=AUTOTUNE)

    def clips(rec):
        idx = sampling.eval_clip_indices(rec["num_frames"], cfg, protocol)
        idx = sampling.apply_order(idx, order, cfg.seed, rec["video_id"])
        if not cfg.kind.takes_chunks:  # one frame per clip
            idx = tf.reshape(idx, [-1])
        x = _take(cfg, frame_size, rec["items"], idx, dtype=tf.uint8)
        n = tf.shape(idx)[0]
        return {"inputs": x, "label": tf.fill([n], rec["label"]),
                "video_id": tf.fill([n], rec["video_id"]),
                "frames": tf.fill([n], sampling.frames_key(idx)),
                "clip": tf.reshape(idx, [n, -1])}

    return ds.map(clips, num_parallel_calls=AUTOTUNE).unbatch()


def _as_float(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    return {**batch, "inputs": tf.cast(batch["inputs"], tf.float32)}


def eval_examples(cfg: TrainConfig, manifest: Mapping[str, Any], split: str, batch: int,
                  order: str = "natural", shard: tuple[int, int] | None = None,
                  protocol: EvalProtocol = EvalProtocol()) -> tf.data.Dataset:
    """Every evaluation clip of every video of `split` under `protocol`, once, in file order.

    `shard` = (num_workers, worker_index) keeps this worker's videos only (whole
    videos; together the workers see every video once).

    Yields:
      dicts {"inputs": `float32 [B, H, W, 3]` (frame model, one frame per clip) or
      `float32 [B, L, H, W, 3]` or `float32 [B, L, D]` (features), "label": `int32 [B]`,
      "video_id": `string [B]`, "frames": `string [B]` (the clip's video's scored frame
      indices, see `sampling.frames_key`), "clip": `int32 [B, L]` (the frame indices of
      each clip, in the order the model sees them; L = 1 for the frame model)}; the last
      batch may be smaller.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    ds = _eval_clips(cfg, manifest, split, order, protocol, shard)
    return _options(ds.batch(batch).map(_as_float).prefetch(AUTOTUNE))


def val_examples(cfg: TrainConfig, manifest: Mapping[str, Any], batch: int,
                 shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """`eval_examples` of the VAL split under the default protocol: what validation scores.

    `shard` = (num_workers, worker_index): this worker's share (whole videos).
    """
    return eval_examples(cfg, manifest, "val", batch, shard=shard)
