"""Reading a split's records: the files the manifest lists, split across workers, read
interleaved in a fixed order.

The first stages of the input pipeline (`trainer.data` does the rest)::

    match_files (raise on none) -> worker_files (FILE or DATA sharding) ->
    shuffle the file list per pass (seeded) -> read (interleaved) -> record shuffle

`eval_records` reads a split once in file order; `training_records` is the endless,
shuffled training stream with each record's pass index. Shard names are
`pipeline.schema.shard_names`: the one rule the writers use.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

import tensorflow as tf

from pipeline import schema

AUTOTUNE = tf.data.AUTOTUNE
_RECORD_SHUFFLE = 64  # serialized records, not decoded frames: bounded memory


def match_files(data_dir: str, split: str,
                manifest: Mapping[str, Any] | None = None) -> list[str]:
    """The paths of `split`'s shards that the manifest lists, in shard order.

    Args:
      data_dir: a conversion or feature cache folder.
      split: train, val or test.
      manifest: its manifest (default: read from `data_dir`).

    Raises:
      FileNotFoundError: the split has no shards, or a listed shard is missing.
    """
    if manifest is None:
        manifest = schema.read_manifest(data_dir)
    root = data_dir.rstrip("/")
    files = [f"{root}/{name}" for name in schema.shard_names(manifest, split)]
    if not files:
        raise FileNotFoundError(f"the manifest of {data_dir!r} lists no {split!r} shard")
    missing = [f for f in files if not tf.io.gfile.exists(f)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of the {len(files)} {split!r} shards the "
                                f"manifest lists are missing, e.g. {missing[0]!r}")
    return files


def compression_type(manifest: Mapping[str, Any]) -> str:
    """``GZIP`` for a gzip conversion, else ``''`` (`tf.data.TFRecordDataset`'s names)."""
    return "GZIP" if manifest.get("compression", "none") == "gzip" else ""


def shard_policy(num_files: int, num_workers: int) -> str:
    """``FILE`` when every worker gets at least one file of the split, else ``DATA``.

    By FILE each worker reads only its own files; by DATA every worker reads
    every file and keeps one record in `num_workers` (correct, but each worker
    does all the reading: tensorflow #36846, tfx #5160).
    """
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    return "FILE" if num_files >= num_workers else "DATA"


def read(files: tf.Tensor | list[str], compression: str) -> tf.data.Dataset:
    """The records of `files`, read interleaved in a fixed order (deterministic)."""
    files = tf.data.Dataset.from_tensor_slices(files)
    return files.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=compression),
        cycle_length=8, block_length=1, num_parallel_calls=AUTOTUNE, deterministic=True)


def worker_files(files: list[str], split: str,
                 shard: tuple[int, int] | None) -> tuple[list[str], str]:
    """(this worker's files, policy): ``NONE`` (one worker), ``FILE`` or ``DATA``."""
    if shard is None or shard[0] <= 1:
        return files, "NONE"
    num, index = shard
    policy = shard_policy(len(files), num)
    if policy == "FILE":
        return files[index::num], policy
    print(f"vidrec: {split!r} has {len(files)} shard file(s) for {num} workers: "
          f"sharding by record, so every worker reads every file; convert with "
          f"--num-shards {num} or more to shard by file", file=sys.stderr, flush=True)
    return files, policy


def eval_records(data_dir: str, manifest: Mapping[str, Any], split: str,
                 shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Serialized records of a split, once, in file order (evaluation).

    `shard` = (num_workers, worker_index) keeps this worker's part, whole records
    only (see `shard_policy`); None reads everything.
    """
    files, policy = worker_files(match_files(data_dir, split, manifest), split, shard)
    ds = read(files, compression_type(manifest))
    return ds.shard(*shard) if policy == "DATA" else ds


def training_records(data_dir: str, manifest: Mapping[str, Any], seed: int,
                     shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Endless (serialized record, pass) pairs of the TRAIN split, shuffled.

    Pass p reads the files in an order drawn from (seed, p), interleaved; records
    are then mixed in a seeded shuffle buffer. Every draw is a function of the seed
    and the pass, so with op determinism the stream is the same on every run; the
    pass index travels with each record so that a video's frames and augmentation
    are drawn from (seed, pass, video id) alone (`trainer.data.video_seed`). Every
    worker shuffles its files with the same seed: DATA sharding below stays disjoint.
    """
    files, policy = worker_files(match_files(data_dir, "train", manifest), "train", shard)
    compression = compression_type(manifest)
    names = tf.constant(files)

    def one_pass(p):
        order = tf.argsort(tf.random.stateless_uniform([len(files)], tf.stack(
            [tf.constant(seed, tf.int64), p])))
        return read(tf.gather(names, order), compression).map(lambda r: (r, p))

    ds = tf.data.Dataset.range(2**62).flat_map(one_pass)
    if policy == "DATA":
        ds = ds.shard(*shard)
    return ds.shuffle(_RECORD_SHUFFLE, seed=seed)
