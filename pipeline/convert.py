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

The conversion in three modules: `pipeline.config` (flags -> `ConvertConfig`),
this one (listing and planning, output checks, `run` of the pipeline, the
manifest, `main`) and `pipeline.transforms` (the Beam elements, DoFns and
composite transforms `run` strings together).
"""

from __future__ import annotations

import logging
import math
import posixpath
import uuid

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, TestOptions
from apache_beam.runners.runner import PipelineResult

from pipeline import dataflow, schema, splits
from pipeline.config import (
    MIN_AUTO_SHARDS,
    PROG,
    SHARD_TARGET_VIDEOS,
    ConvertConfig,
    build_parser,
    parse_args,
)
from pipeline.transforms import (
    FAILED_TAG,
    DecodeVideos,
    ShardStats,
    VideoItem,
    WriteAsOneFile,
    WriteShards,
    failure_lines,
    read_stats,
    shard_suffix,
    stats_lines,
    write_atomically,
    write_lines,
)
from vidrec import cli

__all__ = ["ConvertConfig", "build_manifest", "main", "make_plan", "parse_args", "plan_items",
           "run", "shard_counts"]
log = logging.getLogger(__name__)
STATS_NAME = "_convert_stats.json"  # shard statistics, read into the manifest, then deleted


def _match(pattern: str) -> list[str]:
    """The paths matching `pattern`, sorted; [] when nothing matches.

    Raises:
      vidrec.cli.UsageError: listing failed (no access, unknown filesystem...):
        names the pattern and the underlying error.
    """
    try:
        results = FileSystems.match([pattern])
    except (OSError, ValueError) as e:  # Beam wraps each pattern's error in a BeamIOError
        cause = next(iter((getattr(e, "exception_details", None) or {}).values()), e)
        first_line = (str(cause).splitlines() or [""])[0]
        raise cli.UsageError(f"cannot list {pattern}: {type(cause).__name__}: {first_line}"
                             ) from e
    return sorted(m.path for r in results for m in r.metadata_list)


def _read_text(path: str) -> str:
    with FileSystems.open(path) as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def make_plan(config: ConvertConfig) -> splits.Plan:
    """Lists the inputs and decides every video's split.

    Raises:
      vidrec.cli.UsageError: no videos, no split file for `config.split`, a bad
        split file, or inputs that cannot be listed.
    """
    root = config.videos.rstrip("/")
    video_files: dict[str, list[str]] = {}
    for path in _match(f"{root}/*/*"):
        if splits.is_video(path):
            video_files.setdefault(posixpath.basename(posixpath.dirname(path)), []).append(path)
    if not video_files:
        raise cli.UsageError(f"no video files in {root}/<class>/ (missing or empty folder)")
    if config.splits is None:
        return splits.plan_folders(video_files, test_fraction=config.test_fraction,
                                   val_fraction=config.val_fraction, seed=config.seed)
    texts = {}
    for path in _match(f"{config.splits.rstrip('/')}/*_test_split{config.split}.txt"):
        class_name, _ = splits.parse_split_file_name(path)
        texts[class_name] = _read_text(path)
    if not texts:
        raise cli.UsageError(
            f"no <class>_test_split{config.split}.txt files in {config.splits}")
    with cli.bad_input(ValueError):
        return splits.plan_hmdb(video_files, texts, val_fraction=config.val_fraction,
                                seed=config.seed)


def shard_counts(plan: splits.Plan, requested: int) -> dict[str, int]:
    """Shards per split: `requested`, or auto (`pipeline.config` constants); 0 without videos."""
    counts = {}
    for split in schema.SPLITS:
        n = sum(v.split == split for v in plan.videos)
        auto = min(n, max(MIN_AUTO_SHARDS, math.ceil(n / SHARD_TARGET_VIDEOS)))
        counts[split] = 0 if n == 0 else (requested or auto)
    return counts


def plan_items(plan: splits.Plan, num_shards: dict[str, int]) -> list[VideoItem]:
    """The planned videos by split, each split's dealt round-robin over its shards."""
    return [VideoItem(v.path, v.class_name, v.split, v.media_id, i % num_shards[v.split])
            for split in schema.SPLITS
            for i, v in enumerate(v for v in plan.videos if v.split == split)]


def _prepare_output(config: ConvertConfig) -> None:
    """Checks the output is writable and free (or clears it with --overwrite)."""
    out = config.output
    old = _match(f"{out}/{schema.MANIFEST_NAME}") + _match(f"{out}/*-of-*.tfrecord*")
    if old and not config.overwrite:
        raise cli.UsageError(f"{out} already holds a conversion "
                             f"({posixpath.basename(old[0])}); pass --overwrite to replace it")
    probe = f"{out}/.vidrec-write-probe-{uuid.uuid4().hex}"
    try:
        tf.io.gfile.makedirs(out)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("probe")
        tf.io.gfile.remove(probe)
    except (tf.errors.OpError, OSError) as e:
        raise cli.UsageError(f"output {out} is not writable: {str(e).splitlines()[0]}"
                             ) from None
    stale = (old + _match(f"{out}/{schema.FAILURES_NAME}") + _match(f"{out}/.tmp-*")
             + _match(f"{out}/{schema.LABEL_MAP_NAME}") + _match(f"{out}/{STATS_NAME}"))
    for path in sorted(set(stale), key=lambda p: not p.endswith(schema.MANIFEST_NAME)):
        tf.io.gfile.remove(path)  # the manifest first: from here on the folder is unfinished


def run(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
        num_shards: dict[str, int]) -> PipelineResult:
    """Builds and runs the Beam pipeline, waiting until it has finished."""
    out = config.output
    with beam.Pipeline(options=options) as p:
        decoded = (p | "ListVideos" >> beam.Create(plan_items(plan, num_shards))
                   | "DecodeVideos" >> DecodeVideos(config.decode, plan.classes))
        by_split = decoded.records | "PartitionBySplit" >> beam.Partition(
            lambda v, _: schema.SPLITS.index(v.split), len(schema.SPLITS))
        stats = [by_split[i] | f"WriteShards[{split}]" >> WriteShards(
                    out, split, num_shards[split], config.compression)
                 for i, split in enumerate(schema.SPLITS) if num_shards[split]]
        stats = stats or [p | "NoShards" >> beam.Create([])]
        planned_failures = p | "ListPlanFailures" >> beam.Create(list(plan.failures))
        _ = ((decoded[FAILED_TAG], planned_failures) | "MergeFailures" >> beam.Flatten()
             | "WriteFailures" >> WriteAsOneFile(f"{out}/{schema.FAILURES_NAME}", failure_lines))
        _ = (stats | "MergeStats" >> beam.Flatten()
             | "WriteStats" >> WriteAsOneFile(f"{out}/{STATS_NAME}", stats_lines))
    return p.result


def build_manifest(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
                   num_shards: dict[str, int], stats: list[ShardStats], failed: int) -> dict:
    """The manifest.json payload (format in the README and `tests/test_convert.py`).

    ``totals`` reconcile exactly: ``listed`` = videos the conversion was asked
    for (split-file entries with id 1 or 2 plus video files in no split file;
    every video file in folder-per-class mode) = ``written + failed``, where
    ``failed`` is the number of lines of failures.jsonl. ``unused`` counts the
    id-0 entries, which are neither converted nor failures.
    """
    split_info = {}
    for split in schema.SPLITS:
        mine = [s for s in stats if s.split == split]
        frames = [n for s in mine for n in s.frames]
        split_info[split] = {
            "videos": len(frames),
            "per_class": {c: sum(s.per_class.get(c, 0) for s in mine) for c in plan.classes},
            "shards": num_shards[split], "frames": sum(frames),
            "min_frames": min(frames, default=0), "max_frames": max(frames, default=0),
            "file_pattern": f"{split}-*-of-*{shard_suffix(config.compression)}"}
    written = sum(s["videos"] for s in split_info.values())
    totals = {"listed": plan.listed, "written": written, "failed": failed, "unused": plan.unused}
    if totals["listed"] != written + failed:
        raise RuntimeError(f"manifest totals do not reconcile: {totals}")
    beam_opts = {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                 for k, v in sorted(options.get_all_options(drop_default=True).items())}
    return {
        "schema_version": schema.SCHEMA_VERSION, "created_by": PROG, "classes": list(plan.classes),
        "splits": split_info, "totals": totals, "frame_size": config.decode.frame_size,
        "resize_mode": config.decode.resize_mode, "fps": config.decode.fps,
        "compression": config.compression, "source": plan.source,
        "split": config.split if plan.source == "hmdb51-splits" else None,
        "options": {**config.flags(), "beam": beam_opts}}


def _finish(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
            num_shards: dict[str, int]) -> dict:
    """After the pipeline: label map, then the manifest (last), then clean up."""
    out = config.output
    stats_path = f"{out}/{STATS_NAME}"
    stats = read_stats(stats_path)
    with tf.io.gfile.GFile(f"{out}/{schema.FAILURES_NAME}") as f:
        failed = sum(1 for line in f if line.strip())
    manifest = build_manifest(config, options, plan, num_shards, stats, failed)
    write_lines(f"{out}/{schema.LABEL_MAP_NAME}", list(plan.classes))
    write_atomically(f"{out}/{schema.MANIFEST_NAME}",
                     lambda tmp: schema.write_json(tmp, manifest))
    if tf.io.gfile.exists(stats_path):
        tf.io.gfile.remove(stats_path)
    return manifest


def _report_dry_run(result: PipelineResult, options: PipelineOptions, plan: splits.Plan,
                    out: str) -> None:
    """DataflowRunner --dry_run=True built and validated the job only: says so."""
    print(f"dry run: the pipeline for {len(plan.videos)} videos was built; "
          f"nothing written to {out}")
    if options.view_as(DebugOptions).dataflow_job_file:  # Beam skips it in a dry run
        print("job description: " + ", ".join(dataflow.write_job_description(result.job)))


@cli.command("convert")
def main(argv: list[str]) -> int:
    """`vidrec convert`: returns 0, or 2 after a one-line error (nothing written)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if "-h" in argv or "--help" in argv:  # parse_known_args would print it and exit
        build_parser().print_help()
        return 0
    config, options = parse_args(argv)
    plan = make_plan(config)
    num_shards = shard_counts(plan, config.num_shards)
    dry_run = bool(options.view_as(TestOptions).dry_run)
    if not dry_run:
        _prepare_output(config)
    log.info("converting %d videos of %d classes (%s; %d failed before decoding) to %s",
             len(plan.videos), len(plan.classes), plan.source, len(plan.failures), config.output)
    result = run(config, options, plan, num_shards)
    if dry_run:
        _report_dry_run(result, options, plan, config.output)
        return 0
    totals = _finish(config, options, plan, num_shards)["totals"]
    print(f"written {totals['written']}, failed {totals['failed']}, "
          f"see {config.output}/{schema.FAILURES_NAME}")
    return 0
