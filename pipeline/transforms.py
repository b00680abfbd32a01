"""The Beam side of `vidrec convert`: its elements and the DoFn that writes a shard.

`pipeline.convert.run` strings them together::

    ListShards -> Spread (Reshuffle) -> ConvertShards

The shard plan is made before the pipeline runs (`pipeline.planning.shard_plans`),
so a shard is one element: `ConvertShardFn` decodes its videos in plan order
(sorted by media id) and streams each record into the shard file as soon as it
is encoded. Nothing groups encoded videos, so memory does not grow with the
dataset, and parallelism comes from shards (``Spread`` lets Dataflow hand them
to different workers).

A finished shard is renamed into place atomically, then its *sidecar*
``_shards/<shard file>.json`` is written (atomically too): the videos planned,
what was written (per video: stored, decoded frames, covered seconds), the
failures with their reasons and the shard's byte count. A shard with a valid
sidecar is finished; a rerun (`pipeline.convert`, `pipeline.resume`) skips it. After the pipeline
the sidecars become failures.jsonl, videos.jsonl and the manifest.

Elements are NamedTuples defined here, at module level, so that Beam pickles
them by reference on every runner: `VideoItem` (a planned video) and
`ShardPlan` (one shard's videos).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import Any, Iterator, NamedTuple

import apache_beam as beam
import cv2
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import fsio, records, schema, splits, video

log = logging.getLogger(__name__)
SIDECAR_DIR = "_shards"  # under the output; removed once the manifest is written
PROGRESS_WRITE_SECONDS = 1.0


class VideoItem(NamedTuple):
    """A planned video: where it is and where it goes."""

    path: str
    class_name: str
    split: str
    media_id: str


class ShardPlan(NamedTuple):
    """One shard to write: its place and its videos, sorted by media id."""

    split: str
    shard: int
    num_shards: int
    items: tuple[VideoItem, ...]

    def file_name(self, compression: str) -> str:
        return schema.shard_name(self.split, self.shard, self.num_shards, compression)

    def media_ids(self) -> list[str]:
        return [v.media_id for v in self.items]


def sidecar_path(out: str, file_name: str) -> str:
    """Where the sidecar of shard file `file_name` lives."""
    return f"{out}/{SIDECAR_DIR}/{file_name}.json"


class ProgressFile:
    """One worker's running totals, in a local file the main process sums (DirectRunner).

    Written at most every `PROGRESS_WRITE_SECONDS` and at each shard's end, by
    rename, so a reader never sees half a file. `folder` None (Dataflow) writes nothing.
    """

    def __init__(self, folder: str | None):
        self._path = f"{folder}/{os.getpid()}-{uuid.uuid4().hex}.json" if folder else None
        self.videos = self.frames = 0
        self._written = 0.0

    def add(self, videos: int, frames: int, force: bool = False) -> None:
        self.videos += videos
        self.frames += frames
        now = time.monotonic()
        if self._path and (force or now - self._written >= PROGRESS_WRITE_SECONDS):
            self._written = now
            with open(self._path + ".tmp", "w") as f:
                json.dump({"videos": self.videos, "frames": self.frames}, f)
            os.replace(self._path + ".tmp", self._path)


class ConvertShardFn(beam.DoFn):
    """`ShardPlan` -> its shard file and sidecar, written atomically; yields the shard's name.

    Args:
      out: the conversion's output folder.
      options: how a video becomes stored frames.
      classes: class names in label order.
      compression: ``none`` or ``gzip``.
      threads: OpenCV and FFmpeg threads of this worker (0 = OpenCV's default:
        one per core). One: parallelism comes from workers (one per core on the
        DirectRunner by default, `pipeline.config`; one per vCPU on Dataflow), so
        N workers never oversubscribe the cores.
      progress_dir: local folder for `ProgressFile`s (None: no progress files).
    """

    def __init__(self, out: str, options: video.DecodeOptions, classes: tuple[str, ...],
                 compression: str, threads: int = 1, progress_dir: str | None = None):
        self._out, self._options, self._classes = out, options, classes
        self._compression, self._threads, self._progress_dir = compression, threads, progress_dir

    def setup(self):
        if self._threads:
            cv2.setNumThreads(self._threads)
        self._videos = Metrics.counter("vidrec", "videos_written")
        self._failed = Metrics.counter("vidrec", "videos_failed")
        self._frames = Metrics.counter("vidrec", "frames_written")
        self._shards = Metrics.counter("vidrec", "shards_written")
        self._progress = ProgressFile(self._progress_dir)

    def _decode(self, item: VideoItem) -> video.DecodedVideo:
        if not FileSystems.exists(item.path):
            raise video.VideoError("file does not exist")
        # Local inputs are copied too: one code path for every filesystem, and
        # copying a clip costs far less than decoding it.
        with video.local_copy(item.path, fsio.open_read) as local:
            return video.decode(local, self._options, threads=self._threads)

    def _fail(self, item: VideoItem, reason: str) -> dict[str, Any]:
        self._failed.inc()
        category = reason.split(":")[0].strip().replace(" ", "_")[:60]
        Metrics.counter("vidrec", f"failed_{category}").inc()
        return splits.Failure(item.path, reason, item.class_name, item.split).to_json()

    def _record(self, item: VideoItem, decoded: video.DecodedVideo) -> bytes:
        size = self._options.frame_size
        return schema.encode_video(
            decoded.jpegs, label=self._classes.index(item.class_name),
            label_text=item.class_name, media_id=item.media_id, source_path=item.path,
            fps=decoded.fps, height=size, width=size, decoded_frames=decoded.decoded_frames,
            covered_seconds=decoded.covered_seconds)

    def _decode_or_fail(self, item: VideoItem) -> video.DecodedVideo | str:
        """The decoded video, or the reason it failed (one bad video never stops the job)."""
        try:
            return self._decode(item)
        except video.VideoError as e:
            return e.reason
        except Exception as e:  # noqa: BLE001
            return f"unexpected {type(e).__name__}: {(str(e).splitlines() or [''])[0]}"

    def process(self, plan: ShardPlan) -> Iterator[str]:
        name = plan.file_name(self._compression)
        path = f"{self._out}/{name}"
        written, failures = [], []

        def write(f):
            for item, decoded in zip(plan.items, map(self._decode_or_fail, plan.items)):
                if isinstance(decoded, str):
                    failures.append(self._fail(item, decoded))
                    self._progress.add(1, 0)
                    continue
                records.write(f, self._record(item, decoded))
                n = len(decoded.jpegs)
                written.append({
                    "media_id": item.media_id, "class": item.class_name, "path": item.path,
                    "stored_frames": n, "decoded_frames": decoded.decoded_frames,
                    "covered_seconds": decoded.covered_seconds,
                    "native_fps": round(decoded.native_fps, 3), "fps": round(decoded.fps, 3)})
                self._videos.inc()
                self._frames.inc(n)
                self._progress.add(1, n)

        fsio.write_atomically(path, write, compression=(
            CompressionTypes.GZIP if self._compression == "gzip" else fsio.RAW))
        sidecar = {"file": name, "split": plan.split, "shard": plan.shard,
                   "num_shards": plan.num_shards, "planned": plan.media_ids(),
                   "bytes": fsio.size(path), "videos": written, "failures": failures}
        fsio.write_json(sidecar_path(self._out, name), sidecar)
        self._shards.inc()
        self._progress.add(0, 0, force=True)
        yield name


def finished(out: str, plan: ShardPlan, compression: str) -> dict[str, Any] | None:
    """The sidecar of `plan`'s shard when that shard is finished and matches the plan.

    Finished: the sidecar lists exactly the planned media ids and the shard file
    exists with the byte count the sidecar recorded. Anything else is redone.
    """
    name = plan.file_name(compression)
    try:
        sidecar = fsio.read_json(sidecar_path(out, name))
    except ValueError:  # unreadable: redone
        return None
    if not sidecar or sidecar.get("planned") != plan.media_ids():
        return None
    return sidecar if fsio.size(f"{out}/{name}") == sidecar.get("bytes") else None


class ConvertShards(beam.PTransform):
    """`ShardPlan`s -> shard files + sidecars; outputs the written shards' names."""

    def __init__(self, fn: ConvertShardFn):
        super().__init__()
        self._fn = fn

    def expand(self, shard_plans):
        return (shard_plans | "Spread" >> beam.Reshuffle()
                | "Convert" >> beam.ParDo(self._fn))


def failure_lines(failures: list[dict]) -> list[str]:
    """failures.jsonl: one sorted-key JSON object a failure, the lines sorted."""
    return sorted(json.dumps(f, sort_keys=True) for f in failures)
