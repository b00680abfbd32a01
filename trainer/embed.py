"""`vidrec embed`: a trained frame run's encoder over every frame -> a feature cache.

The cache has the source's shard naming (`{split}-NNNNN-of-NNNNN.tfrecord`, one
output shard per input shard, uncompressed), records written with
`schema.encode_embeddings` (float16), and a copy of the source manifest with
``"features": {"encoder_run", "dim", "dtype": "float16"}`` added, written LAST
so a half-written cache has no manifest.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import data
from trainer.config import TrainConfig, load_frame_run
from trainer.recipe import absolute
from vidrec import run_folder


def _encoder(run_dir: str):

    import trainer.models  # noqa: F401  (registers the vidrec layers)

    cfg = load_frame_run(run_dir, "--encoder")
    encoder = run_folder.load_run_model(run_dir, "--encoder").get_layer("encoder")
    forward = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)
    return encoder, forward, cfg


def _embed_shard(path: str, out_path: str, compression: str, forward, batch_size: int) -> int:
    """Embeds one shard; returns the number of videos written."""
    records = tf.data.TFRecordDataset(path, compression_type=compression)
    parsed = records.map(schema.parse_video)
    # Every frame of the shard, in order, batched across videos; decoded once.
    frames = (parsed.map(lambda ctx, jpegs: schema.decode_frames(jpegs),
                         num_parallel_calls=tf.data.AUTOTUNE)
              .unbatch().map(lambda f: tf.cast(f, tf.float32))
              .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    embeddings = iter(forward(b).numpy() for b in frames)
    buffer = np.zeros((0, 0), np.float32)
    written = 0
    with tf.io.TFRecordWriter(out_path) as writer:
        for ctx, _ in parsed:  # contexts only: cheap, no decoding
            n = int(ctx[schema.NUM_FRAMES_KEY])
            while len(buffer) < n:
                chunk = next(embeddings)
                buffer = chunk if not buffer.size else np.concatenate([buffer, chunk])
            rows, buffer = buffer[:n], buffer[n:]
            writer.write(schema.encode_embeddings(
                rows, label=int(ctx[schema.LABEL_INDEX_KEY]),
                label_text=ctx[schema.LABEL_TEXT_KEY].numpy().decode(),
                media_id=ctx[schema.MEDIA_ID_KEY].numpy().decode(),
                source_path=ctx[schema.SOURCE_PATH_KEY].numpy().decode(),
                fps=float(ctx[schema.FPS_KEY]), height=int(ctx[schema.HEIGHT_KEY]),
                width=int(ctx[schema.WIDTH_KEY])))
            written += 1
    return written


class Source(NamedTuple):
    """What a cache is made from, checked: the conversion and the frame run's encoder."""

    data_dir: str
    manifest: dict[str, Any]
    encoder_run: str
    encoder: Any
    forward: Any
    cfg: TrainConfig
    batch_size: int


def open_source(data_dir: str, encoder_run: str, batch_size: int = 64) -> Source:
    """Reads the conversion's manifest and loads the frame run's encoder.

    Raises:
      ValueError, FileNotFoundError: bad batch size, no conversion, not a frame run.
    """
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    manifest = schema.read_manifest(data_dir)
    encoder, forward, cfg = _encoder(encoder_run)
    return Source(data_dir, manifest, encoder_run, encoder, forward, cfg, batch_size)


def write_cache(src: Source, out: str) -> dict[str, Any]:
    """Embeds every shard of `src` into `out`; writes the cache's manifest last; returns it."""
    manifest = src.manifest
    compression = "GZIP" if manifest.get("compression") == "gzip" else ""
    tf.io.gfile.makedirs(out)
    if tf.io.gfile.exists(os.path.join(out, schema.MANIFEST_NAME)):
        tf.io.gfile.remove(os.path.join(out, schema.MANIFEST_NAME))
    splits = {}
    for split, info in manifest["splits"].items():
        if not info.get("videos"):
            splits[split] = dict(info)
            continue
        files = data.match_files(src.data_dir, split)
        for k, path in enumerate(files):
            name = f"{split}-{k:05d}-of-{len(files):05d}{schema.SHARD_SUFFIX}"
            count = _embed_shard(path, os.path.join(out, name), compression, src.forward,
                                 src.batch_size)
            print(f"vidrec embed: {split} shard {k + 1}/{len(files)}: {count} videos")
        splits[split] = {**info, "shards": len(files),
                         "file_pattern": f"{split}-*-of-{len(files):05d}{schema.SHARD_SUFFIX}"}
    cfg = src.cfg
    result = {**manifest, "splits": splits, "compression": "none",
              "features": {"encoder_run": absolute(src.encoder_run),
                           "encoder_config": {"encoder": cfg.encoder, "weights": cfg.weights,
                                              "trainable_top_layers": cfg.trainable_top_layers},
                           "dim": int(src.encoder.output.shape[-1]), "dtype": "float16",
                           "source_data": absolute(src.data_dir),
                           "source_manifest_sha256": schema.manifest_sha256(src.data_dir)}}
    schema.write_json(os.path.join(out, schema.MANIFEST_NAME), result)
    return result


def embed(data_dir: str, encoder_run: str, out: str, batch_size: int = 64) -> dict[str, Any]:
    """Writes the feature cache of `data_dir` under `out`; returns its manifest.

    Args:
      data_dir: a `vidrec convert` output.
      encoder_run: a trained frame run (its layer "encoder" is used).
      out: the cache folder (created).
      batch_size: frames per encoder call.
    """
    return write_cache(open_source(data_dir, encoder_run, batch_size), out)
