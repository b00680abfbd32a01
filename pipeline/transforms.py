"""The Beam side of `vidrec convert`: its elements, DoFns and composite transforms.

`pipeline.convert.run` strings them together::

    ListVideos -> DecodeVideos -> PartitionBySplit -> WriteShards[train|val|test]
    (failed videos + ListPlanFailures) -> MergeFailures -> WriteFailures
    (shard stats) -> MergeStats -> WriteStats

Elements are NamedTuples defined here, at module level, so that Beam pickles
them by reference on every runner (DirectRunner processes, Dataflow workers):
`VideoItem` (a planned video), `EncodedVideo` (a decoded one, with its
SequenceExample) and `ShardStats` (what one written shard holds). Failures
travel as `splits.Failure`.

Shards are written by our own DoFn, not Beam's `WriteToTFRecord` (which assigns
records to shards at random), with the records of a shard sorted by media id:
the same input gives byte-identical files.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import apache_beam as beam
import cv2
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import schema, splits, video

log = logging.getLogger(__name__)
FAILED_TAG = "failed"
PROGRESS_EVERY = 50


class VideoItem(NamedTuple):
    """A planned video, the element of ``ListVideos``: where it is and where it goes."""

    path: str
    class_name: str
    split: str
    media_id: str
    shard: int


class EncodedVideo(NamedTuple):
    """A decoded video: its place in the output and its serialised SequenceExample."""

    split: str
    shard: int
    media_id: str
    class_name: str
    num_frames: int
    record: bytes


class ShardStats(NamedTuple):
    """What one written shard holds: videos per class and each video's frame count."""

    split: str
    shard: int
    per_class: dict[str, int]
    frames: list[int]


def shard_suffix(compression: str) -> str:
    """``.tfrecord``, plus ``.gz`` under gzip compression."""
    return schema.SHARD_SUFFIX + (schema.GZIP_SUFFIX if compression == "gzip" else "")


def shard_name(split: str, shard: int, num_shards: int, compression: str) -> str:
    """``train-00000-of-00004.tfrecord`` (+ ``.gz``)."""
    return f"{split}-{shard:05d}-of-{num_shards:05d}{shard_suffix(compression)}"


def _beam_open(path: str):
    """Opens `path` for reading through Beam's FileSystems, bytes as stored."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def write_atomically(path: str, write: Callable[[str], None]) -> None:
    """Calls `write(tmp)` on a temporary name next to `path`, then renames it to `path`."""
    tmp = f"{posixpath.dirname(path)}/.tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}"
    write(tmp)
    tf.io.gfile.rename(tmp, path, overwrite=True)


def write_lines(path: str, lines: list[str]) -> None:
    """Writes `lines`, each ended by a newline, atomically."""
    def write(tmp):
        with tf.io.gfile.GFile(tmp, "w") as f:
            f.write("".join(line + "\n" for line in lines))

    write_atomically(path, write)


class DecodeVideoFn(beam.DoFn):
    """`VideoItem` -> `EncodedVideo`, or a `splits.Failure` tagged ``failed``."""

    def __init__(self, options: video.DecodeOptions, classes: tuple[str, ...]):
        self._options = options
        self._classes = classes

    def setup(self):
        self._videos = Metrics.counter("vidrec", "videos_written")
        self._failed = Metrics.counter("vidrec", "videos_failed")
        self._frames = Metrics.counter("vidrec", "frames_written")
        self._seen = 0

    def _fail(self, item: VideoItem, reason: str) -> beam.pvalue.TaggedOutput:
        self._failed.inc()
        category = reason.split(":")[0].strip().replace(" ", "_")[:60]
        Metrics.counter("vidrec", f"failed_{category}").inc()
        return beam.pvalue.TaggedOutput(FAILED_TAG, splits.Failure(
            item.path, reason, item.class_name, item.split))

    def process(self, item: VideoItem) -> Iterator[Any]:
        self._seen += 1
        if self._seen % PROGRESS_EVERY == 0:
            log.info("this worker has decoded %d videos", self._seen)
        try:
            if not FileSystems.exists(item.path):
                raise video.VideoError("file does not exist")
            # Local inputs are copied too: one code path for every filesystem, and
            # copying a clip costs far less than decoding it.
            with video.local_copy(item.path, _beam_open) as local:
                decoded = video.decode(local, self._options)
        except video.VideoError as e:
            yield self._fail(item, e.reason)
            return
        except (cv2.error, Exception) as e:  # one bad video never stops the job
            yield self._fail(item, f"unexpected {type(e).__name__}: {str(e).splitlines()[0]}")
            return
        size = self._options.frame_size
        record = schema.encode_video(
            decoded.jpegs, label=self._classes.index(item.class_name),
            label_text=item.class_name, media_id=item.media_id, source_path=item.path,
            fps=decoded.fps, height=size, width=size)
        self._videos.inc()
        self._frames.inc(len(decoded.jpegs))
        yield EncodedVideo(item.split, item.shard, item.media_id, item.class_name,
                           len(decoded.jpegs), record)


class WriteShardFn(beam.DoFn):
    """(shard, videos) -> one TFRecord file, records sorted by media id; yields `ShardStats`."""

    def __init__(self, out: str, split: str, num_shards: int, compression: str):
        self._out, self._split, self._n, self._compression = out, split, num_shards, compression

    def process(self, element: tuple[int, Iterable[EncodedVideo | None]]
                ) -> Iterator[ShardStats]:
        shard, values = element
        videos = sorted((v for v in values if v is not None), key=lambda v: v.media_id)
        path = f"{self._out}/{shard_name(self._split, shard, self._n, self._compression)}"
        options = "GZIP" if self._compression == "gzip" else None

        def write(tmp):
            with tf.io.TFRecordWriter(tmp, options=options) as writer:
                for v in videos:
                    writer.write(v.record)

        write_atomically(path, write)
        Metrics.counter("vidrec", "shards_written").inc()
        per_class: dict[str, int] = {}
        for v in videos:
            per_class[v.class_name] = per_class.get(v.class_name, 0) + 1
        yield ShardStats(self._split, shard, per_class, [v.num_frames for v in videos])


class DecodeVideos(beam.PTransform):
    """`VideoItem`s -> `EncodedVideo`s (main output) and `splits.Failure`s (tagged ``failed``)."""

    def __init__(self, options: video.DecodeOptions, classes: tuple[str, ...]):
        super().__init__()
        self._fn = DecodeVideoFn(options, classes)

    def expand(self, items):
        return items | "Decode" >> beam.ParDo(self._fn).with_outputs(FAILED_TAG, main="records")


class WriteShards(beam.PTransform):
    """`EncodedVideo`s of one split -> `num_shards` files, every shard written even when empty."""

    def __init__(self, out: str, split: str, num_shards: int, compression: str):
        super().__init__()
        self._fn = WriteShardFn(out, split, num_shards, compression)
        self._n = num_shards

    def expand(self, records):
        keyed = records | "KeyByShard" >> beam.Map(lambda v: (v.shard, v))
        empty = records.pipeline | "EveryShard" >> beam.Create([(i, None) for i in range(self._n)])
        return ((keyed, empty) | "Merge" >> beam.Flatten()
                | "GroupByShard" >> beam.GroupByKey() | "Write" >> beam.ParDo(self._fn))


def failure_lines(failures: list[splits.Failure]) -> list[str]:
    """failures.jsonl: one sorted-key JSON object a failure, the lines sorted."""
    return sorted(json.dumps(f.to_json(), sort_keys=True) for f in failures)


def stats_lines(stats: list[ShardStats]) -> list[str]:
    """The stats file: one JSON list of every shard's stats, by split and shard."""
    return [json.dumps([s._asdict() for s in sorted(stats, key=lambda s: (s.split, s.shard))])]


def read_stats(path: str) -> list[ShardStats]:
    """The `ShardStats` a `stats_lines` file holds."""
    with tf.io.gfile.GFile(path) as f:
        return [ShardStats(**s) for s in json.load(f)]


class WriteAsOneFile(beam.PTransform):
    """A whole (small) PCollection -> one file; `render` turns the element list into lines."""

    def __init__(self, path: str, render: Callable[[list[Any]], list[str]]):
        super().__init__()
        self._path, self._render = path, render

    def expand(self, pcoll):
        return (pcoll | "Collect" >> beam.combiners.ToList()
                | "Write" >> beam.Map(lambda items, path, render: write_lines(
                    path, render(items)), self._path, self._render))
