"""`vidrec convert`: videos + split files -> sharded TFRecords + manifest.json (Apache Beam).

Output folder::

    train-00000-of-00008.tfrecord ...   one SequenceExample per video (`pipeline.schema`),
    val-*, test-*                       sorted by media id inside a shard
    failures.jsonl                      one {"path", "reason", "class", "split"} per failed video
    videos.jsonl                        one line per stored video: its shard, stored and
                                        decoded frames, covered seconds
    label_map.txt                       one class per line, in label order
    manifest.json                       written last: a folder without it is unfinished

While it runs the folder also holds ``_convert_plan.json`` (the flags and the
plan's hash) and ``_shards/*.json`` (one sidecar per finished shard); both go
once the manifest is written.

Same input and options give byte-identical output: the plan (which video goes to
which split and shard) is made before the pipeline, each shard is written whole
by one DoFn call in plan order (Beam's `WriteToTFRecord` assigns records to
shards at random).

**Resume.** A rerun with the same flags on a partial output converts only the
shards without a valid sidecar; other flags, or inputs that changed the plan,
are a one-line error naming the difference; ``--overwrite`` starts over. A rerun
on a finished output says so and exits with the finished run's status.

**Exit status.** 0; 2 for bad input (nothing written); 1 when the conversion ran
but nothing was written, a split that was planned videos ended with none, or
more than ``--max-failed`` of the listed videos failed (the manifest is written
all the same, so the failures can be read).

The conversion in six modules: `pipeline.config` (flags -> `ConvertConfig`),
`pipeline.planning` (listing the inputs, the shard plan and its hash),
`pipeline.resume` (what the output folder holds: fresh, resume or complete),
this one (`run`, the manifest, the summary, `main`), `pipeline.transforms` (the
Beam elements and the DoFn that writes a shard) and `pipeline.progress`
(done/total, rate and ETA on the DirectRunner). A video's frames are
`pipeline.video` (decoding) and `pipeline.resizing`; its split, `pipeline.splits`
and `pipeline.carve`; shard names, `pipeline.schema`.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile

import apache_beam as beam
from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, TestOptions
from apache_beam.runners.runner import PipelineResult

from pipeline import dataflow, fsio, planning, progress, resume, schema, splits
from pipeline.config import PROG, ConvertConfig, build_parser, is_dataflow, parse_args
from pipeline.transforms import (
    SIDECAR_DIR,
    ConvertShardFn,
    ConvertShards,
    ShardPlan,
    failure_lines,
    finished,
)
from vidrec.core import errors

__all__ = ["ConvertConfig", "build_manifest", "main", "parse_args", "run", "summary"]
log = logging.getLogger(__name__)


def run(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
        shards: list[ShardPlan], progress_dir: str | None = None) -> PipelineResult:
    """Builds and runs the Beam pipeline over `shards`, waiting until it has finished."""
    fn = ConvertShardFn(config.output, config.decode, plan.classes, config.compression,
                        progress_dir=progress_dir)
    with beam.Pipeline(options=options) as p:
        _ = (p | "ListShards" >> beam.Create(shards)
             | "ConvertShards" >> ConvertShards(fn))
    return p.result


def build_manifest(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
                   shards: list[ShardPlan], sidecars: list[dict], failed: int,
                   digest: str) -> dict:
    """The manifest.json payload (format in docs/records.md and `tests/test_pipeline_convert.py`).

    ``totals`` reconcile exactly: ``listed`` = videos the conversion was asked
    for (split-file entries with id 1 or 2 plus video files in no split file;
    every video file in folder-per-class mode) = ``written + failed``, where
    ``failed`` is the number of lines of failures.jsonl. ``unused`` counts the
    id-0 entries, which are neither converted nor failures.
    """
    split_info = {}
    for split in schema.SPLITS:
        videos = [v for s in sidecars if s["split"] == split for v in s["videos"]]
        frames = [v["stored_frames"] for v in videos]
        split_info[split] = {
            "videos": len(frames),
            "planned": sum(len(s.items) for s in shards if s.split == split),
            "per_class": {c: sum(v["class"] == c for v in videos) for c in plan.classes},
            "shards": sum(s.split == split for s in shards), "frames": sum(frames),
            "min_frames": min(frames, default=0), "max_frames": max(frames, default=0),
            "file_pattern": schema.file_pattern(split, config.compression)}
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
        "plan_sha256": digest, "options": {**config.flags(), "beam": beam_opts}}


def _finish(config: ConvertConfig, options: PipelineOptions, plan: splits.Plan,
            shards: list[ShardPlan], digest: str) -> dict:
    """After the pipeline: failures, videos, label map, the manifest (last), clean up."""
    out = config.output
    sidecars = []
    for shard in shards:
        sidecar = finished(out, shard, config.compression)
        if sidecar is None:
            raise RuntimeError(f"shard {shard.file_name(config.compression)} was not written "
                               "completely; rerun the same command to finish it")
        sidecars.append(sidecar)
    failures = [f.to_json() for f in plan.failures] + [
        f for s in sidecars for f in s["failures"]]
    fsio.write_lines(f"{out}/{schema.FAILURES_NAME}", failure_lines(failures))
    fsio.write_lines(f"{out}/{schema.VIDEOS_NAME}", [
        json.dumps({"split": s["split"], "shard": s["file"], **v}, sort_keys=True)
        for s in sidecars for v in s["videos"]])
    manifest = build_manifest(config, options, plan, shards, sidecars, len(failures), digest)
    fsio.write_lines(f"{out}/{schema.LABEL_MAP_NAME}", list(plan.classes))
    fsio.write_json(f"{out}/{schema.MANIFEST_NAME}", manifest)
    fsio.remove([f"{out}/{resume.PLAN_NAME}"])
    fsio.remove_tree(f"{out}/{SIDECAR_DIR}")
    return manifest


def summary(manifest: dict, max_failed: float) -> tuple[list[str], list[str]]:
    """(lines written/failed per split, problems that make the exit status 1)."""
    lines, problems = [], []
    totals = manifest["totals"]
    for split, info in manifest["splits"].items():
        lines.append(f"  {split:5s} {info['videos']:>7,} videos written of "
                     f"{info.get('planned', info['videos']):,} planned, "
                     f"{info['shards']} shards, {info['frames']:,} frames")
        if info.get("planned") and not info["videos"]:
            problems.append(f"the {split} split was planned {info['planned']} videos "
                            "and none was written")
    lines.append(f"  total {totals['written']:>7,} written, {totals['failed']:,} failed "
                 f"of {totals['listed']:,} listed ({totals['unused']:,} unused)")
    if not totals["written"]:
        problems.append("nothing was written")
    share = totals["failed"] / totals["listed"] if totals["listed"] else 0.0
    if share > max_failed:
        problems.append(f"{share:.1%} of the listed videos failed, over --max-failed "
                        f"{max_failed:g}")
    return lines, problems


def _report(config: ConvertConfig, manifest: dict) -> int:
    """Prints the closing summary; returns the exit status (0, or 1 with the problems)."""
    lines, problems = summary(manifest, config.max_failed)
    print(f"{config.output}:\n" + "\n".join(lines))
    if manifest["totals"]["failed"]:
        print(f"  failures and their reasons: {config.output}/{schema.FAILURES_NAME}")
    for problem in problems:
        print(f"{PROG}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _report_dry_run(result: PipelineResult, options: PipelineOptions, shards: list[ShardPlan],
                    out: str) -> None:
    """DataflowRunner --dry_run=True built and validated the job only: says so."""
    print(f"dry run: the pipeline for {sum(len(s.items) for s in shards)} videos in "
          f"{len(shards)} shards was built; nothing written to {out}")
    if options.view_as(DebugOptions).dataflow_job_file:  # Beam skips it in a dry run
        print("job description: " + ", ".join(dataflow.write_job_description(result.job)))


@errors.command("convert")
def main(argv: list[str]) -> int:
    """`vidrec convert`: returns 0; 1 (see the module docstring); 2 after a one-line error."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if "-h" in argv or "--help" in argv:  # parse_known_args would print it and exit
        build_parser().print_help()
        return 0
    config, options = parse_args(argv)
    plan = planning.make_plan(config)
    shards = planning.shard_plans(plan, planning.shard_counts(plan, config.num_shards))
    digest = planning.plan_sha256(shards, plan)
    dry_run = bool(options.view_as(TestOptions).dry_run)
    if dry_run:
        _report_dry_run(run(config, options, plan, shards), options, shards, config.output)
        return 0
    state = resume.prepare_output(config, digest)
    if state == "complete":
        print(f"{config.output} already holds this conversion, finished; nothing to do "
              "(--overwrite redoes it)")
        return _report(config, fsio.read_json(f"{config.output}/{schema.MANIFEST_NAME}"))
    todo = [s for s in shards if finished(config.output, s, config.compression) is None]
    done_videos = sum(len(s.items) for s in shards) - sum(len(s.items) for s in todo)
    log.info("converting %d videos of %d classes (%s; %d failed before decoding) to %s%s",
             len(plan.videos), len(plan.classes), plan.source, len(plan.failures),
             config.output, f": resuming, {len(shards) - len(todo)} of {len(shards)} shards "
             "already finished" if state == "resume" else "")
    if todo:
        if is_dataflow(options):  # Dataflow shows progress in its own UI
            run(config, options, plan, todo)
        else:
            with tempfile.TemporaryDirectory(prefix="vidrec-progress-") as folder, \
                    progress.Reporter("convert", folder, len(plan.videos), done_videos):
                run(config, options, plan, todo, progress_dir=folder)
    return _report(config, _finish(config, options, plan, shards, digest))
