"""`vidrec embed`: a trained frame run's encoder over every frame -> a feature cache.

The cache names its shards by the conversion's rule (`schema.shard_name`,
``{split}-NNNNN-of-NNNNN.tfrecord``; one output shard per input shard, uncompressed;
``file_pattern`` `schema.file_pattern`), records written with
`schema.encode_embeddings` (float16), and a copy of the source manifest with
``"features": {"encoder_run", "dim", "dtype": "float16", "bytes", "bytes_per_video", ...}``
added, written LAST so a half-written cache has no manifest. With ``maps`` the rows are
the encoder's feature maps, flattened (``"map_shape"``, ``"feature_layer"``:
`trainer.feature_cache`), and a cache estimated over ``max_cache_gb`` is refused before
anything is written.

Nothing is silently reused or lost (`check_out`): ``embedding.json`` (what the
cache is made from: data, its manifest's hash, the encoder run and its weights'
hash, the batch size, maps or vectors and their layer) is written FIRST, and each
shard is written under a temporary name and renamed when complete. So a killed
`vidrec embed` started again with the same flags keeps its finished shards and
embeds only the rest; with other flags it is a one-line error naming them. A finished cache is
replaced only with ``--overwrite``, and a folder that holds no feature cache is
never written into or cleared.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf

from pipeline import schema
from trainer import feature_cache, reading
from trainer.config import TrainConfig
from trainer.recipe import absolute
from vidrec.core import run_folder
from vidrec.core.progress import Progress

STATE_NAME = "embedding.json"  # written first: what the (possibly unfinished) cache is made of
PARTIAL_SUFFIX = ".partial"


class EmbedDirError(ValueError):
    """--out is not a folder this embedding may write into (finished, other flags, foreign)."""


def _embed_shard(path: str, out_path: str, compression: str, forward, batch_size: int,
                 on_video: Callable[[], None] = lambda: None) -> int:
    """Embeds one shard into `out_path` (complete, or absent); returns the videos written.

    Writes `out_path` + PARTIAL_SUFFIX and renames it when the shard is done, so a
    killed run never leaves a shard that looks finished. `on_video` runs per video.
    """
    partial = out_path + PARTIAL_SUFFIX
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
    with tf.io.TFRecordWriter(partial) as writer:
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
            on_video()
    tf.io.gfile.rename(partial, out_path, overwrite=True)
    return written


def _count_records(path: str) -> int:
    return sum(1 for _ in tf.data.TFRecordDataset(path))


class Source(NamedTuple):
    """What a cache is made from, checked: the conversion and the frame run's encoder."""

    data_dir: str
    manifest: dict[str, Any]
    encoder_run: str
    encoder: Any
    forward: Any
    cfg: TrainConfig
    batch_size: int
    shape: tuple[int, ...] = ()  # one frame's row: (D,), or the maps' (h, w, C)
    maps: bool = False
    feature_layer: str = ""  # the maps' layer, resolved ("" for vectors)
    default_layer: str = ""  # the encoder's last conv block ("" for vectors)
    estimated_bytes: int = 0


def open_source(data_dir: str, encoder_run: str, batch_size: int = 64, maps: bool = False,
                feature_layer: str = "",
                max_cache_gb: float = feature_cache.DEFAULT_MAX_CACHE_GB) -> Source:
    """Reads the conversion's manifest, loads the frame run's encoder (cut to its feature
    maps at `feature_layer` with `maps`) and checks the cache's estimated size.

    Raises:
      ValueError, FileNotFoundError: bad batch size, no conversion, not a frame run, a
        --feature-layer without maps or not in the encoder, a cache over `max_cache_gb`.
    """
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if feature_layer and not maps:
        raise ValueError(f"--feature-layer {feature_layer} names the layer of the feature "
                         "maps: it needs --maps")
    manifest = schema.read_manifest(data_dir)
    enc = feature_cache.load_encoder(encoder_run, maps, feature_layer)
    estimate = feature_cache.check_size(manifest, enc.shape, max_cache_gb, maps)
    return Source(data_dir, manifest, encoder_run, enc.model, enc.forward, enc.cfg,
                  batch_size, enc.shape, maps, enc.layer, enc.default_layer, estimate)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with tf.io.gfile.GFile(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(src: Source) -> dict[str, Any]:
    """What a cache is made from: equal identities give equal caches (``embedding.json``)."""
    return {schema.SOURCE_DATA_KEY: absolute(src.data_dir),
            schema.SOURCE_SHA_KEY: schema.manifest_sha256(src.data_dir),
            "encoder_run": absolute(src.encoder_run),
            "encoder_model_sha256": _file_sha256(run_folder.join(src.encoder_run,
                                                                 run_folder.MODEL)),
            "batch_size": src.batch_size, "maps": src.maps,
            "feature_layer": src.feature_layer}


# What an embedding.json written before a key existed meant by it (`check_out`).
_IDENTITY_DEFAULTS = {"maps": False, "feature_layer": ""}


def _read_json(path: str) -> dict[str, Any] | None:
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def check_out(src: Source, out: str, overwrite: bool = False) -> str:
    """Decides what embedding into `out` means; never reuses or clears a folder silently.

    Returns:
      ``new`` (no folder, or an empty one), ``resume`` (an unfinished cache of the
      same source: its finished shards are kept) or ``overwrite`` (a feature cache,
      finished or not, is there and `overwrite` is set: `write_cache` clears it).

    Raises:
      EmbedDirError: a finished cache without `overwrite`; an unfinished one of
        another source (naming the fields) without `overwrite`; or a non-empty
        folder that holds no feature cache (never cleared, even with `overwrite`).
    """
    out = out.rstrip("/")
    if not tf.io.gfile.exists(out) or not tf.io.gfile.listdir(out):
        return "new"
    manifest = _read_json(f"{out}/{schema.MANIFEST_NAME}")
    state = _read_json(f"{out}/{STATE_NAME}")
    if manifest is not None and "features" in manifest:
        if overwrite:
            return "overwrite"
        raise EmbedDirError(f"--out {out!r} already holds a finished feature cache "
                            f"({schema.MANIFEST_NAME}); use --overwrite to replace it, or "
                            "another --out")
    if manifest is not None or state is None:
        raise EmbedDirError(f"--out {out!r} is not empty and holds no vidrec feature cache: "
                            "refusing to write into it or clear it; choose an empty or new "
                            "folder")
    if overwrite:
        return "overwrite"
    now = identity(src)
    shown = run_folder.differences({k: state.get(k, _IDENTITY_DEFAULTS.get(k)) for k in now},
                                   now)
    if shown:
        raise EmbedDirError(f"--out {out!r} holds an unfinished feature cache of another "
                            f"source ({shown}); run it with its own flags to finish it, or use "
                            "--overwrite to replace it")
    return "resume"


def write_cache(src: Source, out: str, overwrite: bool = False) -> dict[str, Any]:
    """Embeds every shard of `src` into `out`; writes the cache's manifest last; returns it.

    Resumes an unfinished cache of the same source (see `check_out`, which raises
    EmbedDirError for a folder it must not use). Prints progress (videos done,
    rate, ETA) to stderr every few seconds.
    """
    manifest = src.manifest
    out = out.rstrip("/")
    compression = "GZIP" if manifest.get("compression") == "gzip" else ""
    if check_out(src, out, overwrite) == "overwrite":
        print(f"vidrec embed: --overwrite: clearing the feature cache in {out}", flush=True)
        tf.io.gfile.rmtree(out)
    tf.io.gfile.makedirs(out)
    schema.write_json(f"{out}/{STATE_NAME}", identity(src))
    progress = Progress("vidrec embed", sum(int(i.get("videos") or 0)
                                            for i in manifest["splits"].values()))
    splits = {}
    for split, info in manifest["splits"].items():
        if not info.get("videos"):
            splits[split] = dict(info)
            continue
        files = reading.match_files(src.data_dir, split, manifest)
        for k, path in enumerate(files):
            name = schema.shard_name(split, k, len(files))  # uncompressed
            target = f"{out}/{name}"
            if tf.io.gfile.exists(target):  # finished by an interrupted run: kept
                count = _count_records(target)
                progress.skip(count)
                print(f"vidrec embed: {split} shard {k + 1}/{len(files)}: {count} videos "
                      "(kept from the interrupted run)", flush=True)
                continue
            count = _embed_shard(path, target, compression, src.forward, src.batch_size,
                                 progress.advance)
            print(f"vidrec embed: {split} shard {k + 1}/{len(files)}: {count} videos",
                  flush=True)
        splits[split] = {**info, "shards": len(files),
                         "file_pattern": schema.file_pattern(split)}
    progress.close()
    result = {**manifest, "splits": splits, "compression": "none"}
    result[schema.FEATURES_KEY] = _features_entry(src, feature_cache.measured(out, result))
    schema.write_json(f"{out}/{schema.MANIFEST_NAME}", result)
    return result


def _features_entry(src: Source, size: dict[str, int]) -> dict[str, Any]:
    """The cache manifest's "features" entry: its encoder, row shape and size."""
    cfg = src.cfg
    entry = {"encoder_run": absolute(src.encoder_run),
             "encoder_config": {"encoder": cfg.encoder, "weights": cfg.weights,
                                "trainable_top_layers": cfg.trainable_top_layers},
             "dim": int(np.prod(src.shape)), "dtype": "float16",
             schema.SOURCE_DATA_KEY: absolute(src.data_dir),
             schema.SOURCE_SHA_KEY: schema.manifest_sha256(src.data_dir)}
    if src.maps:
        entry.update({"map_shape": list(src.shape), "feature_layer": src.feature_layer,
                      "default_feature_layer": src.default_layer})
    return {**entry, "estimated_bytes": src.estimated_bytes, **size}


def embed(data_dir: str, encoder_run: str, out: str, batch_size: int = 64,
          overwrite: bool = False, maps: bool = False, feature_layer: str = "",
          max_cache_gb: float = feature_cache.DEFAULT_MAX_CACHE_GB) -> dict[str, Any]:
    """Writes the feature cache of `data_dir` under `out`; returns its manifest.

    Args:
      data_dir: a `vidrec convert` output.
      encoder_run: a trained frame run (its layer "encoder" is used).
      out: the cache folder (created).
      batch_size: frames per encoder call.
      overwrite: replace a feature cache already in `out` (see `check_out`).
      maps: store the encoder's feature maps (for the spatial models), not pooled vectors.
      feature_layer: with `maps`, the layer cut at (default the last conv block).
      max_cache_gb: refuse, before writing anything, a cache estimated larger.
    """
    src = open_source(data_dir, encoder_run, batch_size, maps, feature_layer, max_cache_gb)
    return write_cache(src, out, overwrite)
