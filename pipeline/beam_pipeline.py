"""`vidrec convert`: videos + split files -> sharded TFRecords + manifest.json (Apache Beam).

Output folder::

    train-00000-of-00004.tfrecord ...   one SequenceExample per video (`pipeline.schema`),
    val-*, test-*                       sorted by media id inside a shard
    failures.jsonl                      one {"path", "reason", "class", "split"} per failed video
    label_map.txt                       one class per line, in label order
    manifest.json                       written last: a folder without it is unfinished

Same input and options give byte-identical output: the plan (which video goes to
which split and shard) is made before the pipeline, shards are written by our
own DoFn (Beam's `WriteToTFRecord` assigns records to shards at random) and
records are sorted inside each shard.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import posixpath
import sys
import uuid
from typing import Any, Iterable

import apache_beam as beam
import cv2
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import (
    DebugOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
)
from apache_beam.runners.runner import PipelineResult

from pipeline import dataflow, schema, splits, video

log = logging.getLogger(__name__)
PROG = "vidrec convert"
FAILED_TAG = "failed"
STATS_NAME = "_convert_stats.json"  # shard statistics, read into the manifest, then deleted
MIN_FRAMES_DEFAULT = 8
SHARD_TARGET_VIDEOS = 100  # --num-shards 0: about this many videos per shard...
MIN_AUTO_SHARDS = 4  # ...but at least this many (readers parallelise across files)
PROGRESS_EVERY = 50


class ConvertError(Exception):
    """A fatal error: printed as one line, exit status 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message, and no SystemExit
        raise ConvertError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Convert videos to sharded TFRecords of JPEG frames. "
                "Flags not listed here go to Beam (--runner, --direct_num_workers, --project...).")
    a = p.add_argument
    a("--videos", required=True, help="folder of class folders: VIDEOS/<class>/<clip>.avi")
    a("--splits", default=None, help="folder of HMDB51 <class>_test_split{1,2,3}.txt files; "
      "omitted: folder-per-class data split by a film hash (--test-fraction)")
    a("--split", type=int, choices=(1, 2, 3), default=1, help="official split (default 1)")
    a("--output", required=True, help="output folder (local or gs://)")
    a("--frame-size", type=int, default=128, help="stored frames are SxS (default 128)")
    a("--resize-mode", choices=video.RESIZE_MODES, default="crop",
      help="crop: centre square, aspect kept; squash: whole frame (default crop)")
    a("--fps", type=float, default=0.0, help="resample to this rate (default 0 = native)")
    a("--max-frames", type=int, default=0, help="keep the first N frames (default 0 = all)")
    a("--min-frames", type=int, default=MIN_FRAMES_DEFAULT,
      help="a clip with fewer stored frames fails as too short (default %(default)s)")
    a("--jpeg-quality", type=int, default=90, help="JPEG quality (default 90)")
    a("--val-fraction", type=float, default=0.15,
      help="share of the train clips moved to val, by whole source films ACROSS classes: a "
      "film is in val for every class or for none (default 0.15)")
    a("--test-fraction", type=float, default=0.3,
      help="without --splits: share of the clips in test, by whole films across classes "
      "(default 0.3)")
    a("--seed", type=int, default=0, help="seed of the film hash (default 0)")
    a("--num-shards", type=int, default=0,
      help=f"shards per split (default 0 = auto: ceil(videos/{SHARD_TARGET_VIDEOS}), at least "
      f"{MIN_AUTO_SHARDS}, at most the split's videos; an explicit N is used for every "
      "split with videos, even if some shards stay empty)")
    a("--compression", choices=("none", "gzip"), default="none", help="(default none)")
    a("--overwrite", action="store_true",
      help="replace an earlier conversion in --output (default: refuse)")
    return p


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, PipelineOptions]:
    """Splits `argv` into app flags and Beam options, validating the app flags.

    Raises:
      ConvertError: a bad or unknown flag.
    """
    args, rest = _parser().parse_known_args(argv)
    for flag in rest:  # Beam's own flags use underscores; a dashed one is a typo of ours
        if flag.startswith("--") and "-" in flag.split("=")[0][2:]:
            raise ConvertError(f"unrecognized argument {flag!r}")
    for name in ("val_fraction", "test_fraction"):
        if not 0.0 <= getattr(args, name) < 1.0:
            raise ConvertError(f"--{name.replace('_', '-')} must be in [0, 1), "
                               f"got {getattr(args, name)}")
    if args.num_shards < 0:
        raise ConvertError(f"--num-shards must be >= 0, got {args.num_shards}")
    try:
        args.decode = video.DecodeOptions(
            frame_size=args.frame_size, resize_mode=args.resize_mode, fps=args.fps,
            max_frames=args.max_frames, min_frames=args.min_frames,
            jpeg_quality=args.jpeg_quality)
    except ValueError as e:
        raise ConvertError(str(e)) from None
    args.output = args.output.rstrip("/")
    options = PipelineOptions(rest)
    if options.view_as(TestOptions).dry_run and not _is_dataflow(options):
        raise ConvertError("--dry_run needs --runner DataflowRunner (other runners ignore it "
                           "and would run the job)")
    options.view_as(SetupOptions).save_main_session = False  # DoFns are module-level classes
    return args, options


def _is_dataflow(options: PipelineOptions) -> bool:
    """Whether --runner names the DataflowRunner, spelled any way Beam accepts."""
    name = str(options.view_as(StandardOptions).runner or "").rsplit(".", 1)[-1].lower()
    return name in ("dataflow", "dataflowrunner")


def _match(pattern: str) -> list[str]:
    try:
        return sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
    except Exception:  # Beam raises when nothing matches
        return []


def _read_text(path: str) -> str:
    with FileSystems.open(path) as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def make_plan(args: argparse.Namespace) -> splits.Plan:
    """Lists the inputs and decides every video's split.

    Raises:
      ConvertError: no videos, no split file for `--split`, or an unreadable split file.
    """
    root = args.videos.rstrip("/")
    video_files: dict[str, list[str]] = {}
    for path in _match(f"{root}/*/*"):
        if splits.is_video(path):
            video_files.setdefault(posixpath.basename(posixpath.dirname(path)), []).append(path)
    if not video_files:
        raise ConvertError(f"no video files in {root}/<class>/ (missing or empty folder)")
    if args.splits is None:
        return splits.plan_folders(video_files, test_fraction=args.test_fraction,
                                   val_fraction=args.val_fraction, seed=args.seed)
    texts = {}
    for path in _match(f"{args.splits.rstrip('/')}/*_test_split{args.split}.txt"):
        class_name, _ = splits.parse_split_file_name(path)
        texts[class_name] = _read_text(path)
    if not texts:
        raise ConvertError(f"no <class>_test_split{args.split}.txt files in {args.splits}")
    try:
        return splits.plan_hmdb(video_files, texts, val_fraction=args.val_fraction,
                                seed=args.seed)
    except ValueError as e:
        raise ConvertError(str(e)) from None


def shard_counts(plan: splits.Plan, requested: int) -> dict[str, int]:
    """Shards per split: `requested`, or auto (module constants); 0 for a split without videos."""
    counts = {}
    for split in schema.SPLITS:
        n = sum(v.split == split for v in plan.videos)
        auto = min(n, max(MIN_AUTO_SHARDS, math.ceil(n / SHARD_TARGET_VIDEOS)))
        counts[split] = 0 if n == 0 else (requested or auto)
    return counts


def shard_name(split: str, shard: int, num_shards: int, compression: str) -> str:
    """``train-00000-of-00004.tfrecord`` (+ ``.gz``)."""
    suffix = schema.SHARD_SUFFIX + (schema.GZIP_SUFFIX if compression == "gzip" else "")
    return f"{split}-{shard:05d}-of-{num_shards:05d}{suffix}"


def _prepare_output(args: argparse.Namespace) -> None:
    """Checks the output is writable and free (or clears it with --overwrite)."""
    out = args.output
    old = _match(f"{out}/{schema.MANIFEST_NAME}") + _match(f"{out}/*-of-*.tfrecord*")
    if old and not args.overwrite:
        raise ConvertError(f"{out} already holds a conversion ({posixpath.basename(old[0])});"
                           " pass --overwrite to replace it")
    probe = f"{out}/.vidrec-write-probe-{uuid.uuid4().hex}"
    try:
        tf.io.gfile.makedirs(out)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("probe")
        tf.io.gfile.remove(probe)
    except (tf.errors.OpError, OSError) as e:
        raise ConvertError(f"output {out} is not writable: {str(e).splitlines()[0]}") from None
    stale = (old + _match(f"{out}/{schema.FAILURES_NAME}") + _match(f"{out}/.tmp-*")
             + _match(f"{out}/{schema.LABEL_MAP_NAME}") + _match(f"{out}/{STATS_NAME}"))
    for path in sorted(set(stale), key=lambda p: not p.endswith(schema.MANIFEST_NAME)):
        tf.io.gfile.remove(path)  # the manifest first: from here on the folder is unfinished


def _beam_open(path: str):
    """Opens `path` for reading through Beam's FileSystems, bytes as stored."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _write_atomically(path: str, write) -> None:
    tmp = f"{posixpath.dirname(path)}/.tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}"
    write(tmp)
    tf.io.gfile.rename(tmp, path, overwrite=True)


class DecodeVideoFn(beam.DoFn):
    """Planned video dict -> (split, shard, media_id, class, frames, record) or a failure."""

    def __init__(self, options: video.DecodeOptions, classes: tuple[str, ...]):
        self._options = options
        self._classes = classes

    def setup(self):
        self._videos = Metrics.counter("vidrec", "videos_written")
        self._failed = Metrics.counter("vidrec", "videos_failed")
        self._frames = Metrics.counter("vidrec", "frames_written")
        self._seen = 0

    def _fail(self, item: dict, reason: str) -> beam.pvalue.TaggedOutput:
        self._failed.inc()
        category = reason.split(":")[0].strip().replace(" ", "_")[:60]
        Metrics.counter("vidrec", f"failed_{category}").inc()
        return beam.pvalue.TaggedOutput(FAILED_TAG, splits.Failure(
            item["path"], reason, item["class"], item["split"]).to_json())

    def process(self, item: dict) -> Iterable[Any]:
        self._seen += 1
        if self._seen % PROGRESS_EVERY == 0:
            log.info("this worker has decoded %d videos", self._seen)
        try:
            if not FileSystems.exists(item["path"]):
                raise video.VideoError("file does not exist")
            # Local inputs are copied too: one code path for every filesystem, and
            # copying a clip costs far less than decoding it.
            with video.local_copy(item["path"], _beam_open) as local:
                decoded = video.decode(local, self._options)
        except video.VideoError as e:
            yield self._fail(item, e.reason)
            return
        except (cv2.error, Exception) as e:  # one bad video never stops the job
            yield self._fail(item, f"unexpected {type(e).__name__}: {str(e).splitlines()[0]}")
            return
        size = self._options.frame_size
        record = schema.encode_video(
            decoded.jpegs, label=self._classes.index(item["class"]), label_text=item["class"],
            media_id=item["media_id"], source_path=item["path"], fps=decoded.fps,
            height=size, width=size)
        self._videos.inc()
        self._frames.inc(len(decoded.jpegs))
        yield (item["split"], item["shard"], item["media_id"], item["class"],
               len(decoded.jpegs), record)


class WriteShardFn(beam.DoFn):
    """(shard, records) -> one TFRecord file, records sorted by media id; yields its stats."""

    def __init__(self, out: str, split: str, num_shards: int, compression: str):
        self._out, self._split, self._n, self._compression = out, split, num_shards, compression

    def process(self, element: tuple[int, Iterable[Any]]) -> Iterable[dict]:
        shard, values = element
        records = sorted((v for v in values if v is not None), key=lambda v: v[2])
        path = f"{self._out}/{shard_name(self._split, shard, self._n, self._compression)}"
        options = "GZIP" if self._compression == "gzip" else None

        def write(tmp):
            with tf.io.TFRecordWriter(tmp, options=options) as writer:
                for record in records:
                    writer.write(record[5])

        _write_atomically(path, write)
        Metrics.counter("vidrec", "shards_written").inc()
        per_class: dict[str, int] = {}
        for r in records:
            per_class[r[3]] = per_class.get(r[3], 0) + 1
        yield {"split": self._split, "shard": shard, "per_class": per_class,
               "frames": [r[4] for r in records]}


class DecodeVideos(beam.PTransform):
    """Planned videos -> encoded records (main output) and failures (tagged ``failed``)."""

    def __init__(self, options: video.DecodeOptions, classes: tuple[str, ...]):
        super().__init__()
        self._fn = DecodeVideoFn(options, classes)

    def expand(self, items):
        return items | "Decode" >> beam.ParDo(self._fn).with_outputs(FAILED_TAG, main="records")


class WriteShards(beam.PTransform):
    """Records of one split -> `num_shards` files, every shard written even when empty."""

    def __init__(self, out: str, split: str, num_shards: int, compression: str):
        super().__init__()
        self._fn = WriteShardFn(out, split, num_shards, compression)
        self._n = num_shards

    def expand(self, records):
        keyed = records | "KeyByShard" >> beam.Map(lambda r: (r[1], r))
        empty = records.pipeline | "EveryShard" >> beam.Create([(i, None) for i in range(self._n)])
        return ((keyed, empty) | "Merge" >> beam.Flatten()
                | "GroupByShard" >> beam.GroupByKey() | "Write" >> beam.ParDo(self._fn))


def _write_lines(path: str, lines: list[str]) -> None:
    def write(tmp):
        with tf.io.gfile.GFile(tmp, "w") as f:
            f.write("".join(line + "\n" for line in lines))

    _write_atomically(path, write)


def _failure_lines(failures: list[dict]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in failures)


def _stats_lines(stats: list[dict]) -> list[str]:
    return [json.dumps(sorted(stats, key=lambda s: (s["split"], s["shard"])))]


class WriteAsOneFile(beam.PTransform):
    """A whole (small) PCollection -> one file; `render` turns the element list into lines."""

    def __init__(self, path: str, render):
        super().__init__()
        self._path, self._render = path, render

    def expand(self, pcoll):
        return (pcoll | "Collect" >> beam.combiners.ToList()
                | "Write" >> beam.Map(lambda items, path, render: _write_lines(
                    path, render(items)), self._path, self._render))


def run(args: argparse.Namespace, options: PipelineOptions, plan: splits.Plan,
        num_shards: dict[str, int]) -> PipelineResult:
    """Builds and runs the Beam pipeline, waiting until it has finished."""
    out = args.output
    items = [{"path": v.path, "class": v.class_name, "split": v.split, "media_id": v.media_id,
              "shard": i % num_shards[v.split]}
             for split in schema.SPLITS
             for i, v in enumerate(v for v in plan.videos if v.split == split)]
    with beam.Pipeline(options=options) as p:
        decoded = (p | "ListVideos" >> beam.Create(items)
                   | "DecodeVideos" >> DecodeVideos(args.decode, plan.classes))
        by_split = decoded.records | "PartitionBySplit" >> beam.Partition(
            lambda r, _: schema.SPLITS.index(r[0]), len(schema.SPLITS))
        stats = [by_split[i] | f"WriteShards[{split}]" >> WriteShards(
                    out, split, num_shards[split], args.compression)
                 for i, split in enumerate(schema.SPLITS) if num_shards[split]]
        stats = stats or [p | "NoShards" >> beam.Create([])]
        planned_failures = p | "ListPlanFailures" >> beam.Create(
            [f.to_json() for f in plan.failures])
        _ = ((decoded[FAILED_TAG], planned_failures) | "MergeFailures" >> beam.Flatten()
             | "WriteFailures" >> WriteAsOneFile(f"{out}/{schema.FAILURES_NAME}", _failure_lines))
        _ = (stats | "MergeStats" >> beam.Flatten()
             | "WriteStats" >> WriteAsOneFile(f"{out}/{STATS_NAME}", _stats_lines))
    return p.result


def build_manifest(args: argparse.Namespace, options: PipelineOptions, plan: splits.Plan,
                   num_shards: dict[str, int], stats: list[dict], failed: int) -> dict:
    """The manifest.json payload (format in the README and `tests/test_convert.py`).

    ``totals`` reconcile exactly: ``listed`` = videos the conversion was asked
    for (split-file entries with id 1 or 2 plus video files in no split file;
    every video file in folder-per-class mode) = ``written + failed``, where
    ``failed`` is the number of lines of failures.jsonl. ``unused`` counts the
    id-0 entries, which are neither converted nor failures.
    """
    suffix = schema.SHARD_SUFFIX + (schema.GZIP_SUFFIX if args.compression == "gzip" else "")
    split_info = {}
    for split in schema.SPLITS:
        mine = [s for s in stats if s["split"] == split]
        frames = [n for s in mine for n in s["frames"]]
        split_info[split] = {
            "videos": len(frames),
            "per_class": {c: sum(s["per_class"].get(c, 0) for s in mine) for c in plan.classes},
            "shards": num_shards[split], "frames": sum(frames),
            "min_frames": min(frames, default=0), "max_frames": max(frames, default=0),
            "file_pattern": f"{split}-*-of-*{suffix}"}
    written = sum(s["videos"] for s in split_info.values())
    totals = {"listed": plan.listed, "written": written, "failed": failed, "unused": plan.unused}
    if totals["listed"] != written + failed:
        raise RuntimeError(f"manifest totals do not reconcile: {totals}")
    app = {k: v for k, v in sorted(vars(args).items()) if k != "decode"}
    beam_opts = {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                 for k, v in sorted(options.get_all_options(drop_default=True).items())}
    return {
        "schema_version": schema.SCHEMA_VERSION, "created_by": PROG, "classes": list(plan.classes),
        "splits": split_info, "totals": totals, "frame_size": args.frame_size,
        "resize_mode": args.resize_mode, "fps": args.fps, "compression": args.compression,
        "source": plan.source, "split": args.split if plan.source == "hmdb51-splits" else None,
        "options": {**app, "beam": beam_opts}}


def _finish(args, options, plan, num_shards) -> dict:
    """After the pipeline: label map, then the manifest (last), then clean up."""
    out = args.output
    stats_path = f"{out}/{STATS_NAME}"
    with tf.io.gfile.GFile(stats_path) as f:
        stats = json.load(f)
    with tf.io.gfile.GFile(f"{out}/{schema.FAILURES_NAME}") as f:
        failed = sum(1 for line in f if line.strip())
    manifest = build_manifest(args, options, plan, num_shards, stats, failed)
    _write_lines(f"{out}/{schema.LABEL_MAP_NAME}", list(plan.classes))
    _write_atomically(f"{out}/{schema.MANIFEST_NAME}",
                      lambda tmp: schema.write_json(tmp, manifest))
    if tf.io.gfile.exists(stats_path):
        tf.io.gfile.remove(stats_path)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """`vidrec convert`: returns 0, or 2 after a one-line error (nothing written)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        _parser().print_help()
        return 0
    try:
        args, options = parse_args(argv)
        plan = make_plan(args)
        num_shards = shard_counts(plan, args.num_shards)
        dry_run = bool(options.view_as(TestOptions).dry_run)
        if not dry_run:
            _prepare_output(args)
    except ConvertError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    log.info("converting %d videos of %d classes (%s; %d failed before decoding) to %s",
             len(plan.videos), len(plan.classes), plan.source, len(plan.failures), args.output)
    result = run(args, options, plan, num_shards)
    if dry_run:  # DataflowRunner --dry_run=True: the job was built and validated only
        print(f"dry run: the pipeline for {len(plan.videos)} videos was built; "
              f"nothing written to {args.output}")
        if options.view_as(DebugOptions).dataflow_job_file:  # Beam skips it in a dry run
            print("job description: " + ", ".join(dataflow.write_job_description(result.job)))
        return 0
    manifest = _finish(args, options, plan, num_shards)
    totals = manifest["totals"]
    print(f"written {totals['written']}, failed {totals['failed']}, "
          f"see {args.output}/{schema.FAILURES_NAME}")
    return 0
