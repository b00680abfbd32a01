"""`vidrec inspect DATA`: look at a converted dataset before spending GPU hours on it.

Fast on large sets: the counts come from ``manifest.json``, the failures from
``failures.jsonl``, every video's length from ``videos.jsonl`` when the conversion
wrote it; records are read only for the contact sheet (shard after shard, the splits'
first shards first, until every class has a video: a shard holds most classes) and, for
a conversion without ``videos.jsonl``, for the lengths of a sample (`--sample`
records, whole shards spread over the splits). Only the contact sheet's frames are
decoded. Everything goes through `pipeline.schema` (the record contract) and
`tf.io.gfile`, so gs:// works wherever a local path does. A feature cache (`vidrec
embed`) is inspected through the frames it was made from (its ``source_data``).

Writes to ``--out`` (default DATA/inspect)::

    summary.json           counts per split and class, failures by reason, lengths
    summary.md             the same as tables, with the pictures
    class_counts.png       videos per class, stacked by split
    frames_per_video.png   histogram of stored frames per video, per split
    duration.png           histogram of stored seconds per video, per split
    contact_sheet.png      one chunk per class: --chunk-length consecutive frames from
                           the middle of one of its videos, in order

and prints a short summary. The pictures are drawn by `pipeline.inspect_figures`.
"""

from __future__ import annotations

import argparse
import collections
import json
from typing import Any, Iterator, Sequence

import numpy as np

from pipeline.inspect_figures import (
    class_counts_png,
    contact_rows,
    contact_sheet_png,
    histogram_png,
)
from vidrec.core.errors import CommandParser, UsageError, bad_input, command
from vidrec.core.markdown import table

FIGURES = {"class_counts": "class_counts.png", "frames_per_video": "frames_per_video.png",
           "duration": "duration.png", "contact_sheet": "contact_sheet.png"}
SUMMARY_JSON, SUMMARY_MD = "summary.json", "summary.md"
EXAMPLES = 3  # failures shown per reason


def build_parser() -> argparse.ArgumentParser:
    """The flags of `vidrec inspect` (a bad one raises `vidrec.core.errors.UsageError`)."""
    p = CommandParser(prog="vidrec inspect", description=__doc__.split("\n\n")[0] + (
        " Per-split and per-class counts, frames-per-video and duration histograms, "
        "failures grouped by reason and a contact sheet with one chunk per class, as PNGs "
        "and summary.md / summary.json in --out."))
    p.add_argument("data", metavar="DATA", help="a `vidrec convert` output (local or gs://)")
    p.add_argument("--out", default=None,
                   help="where the PNGs and summaries go (default: DATA/inspect)")
    p.add_argument("--sample", type=int, default=200,
                   help="records read for the lengths when DATA has no videos.jsonl "
                   "(default %(default)s)")
    p.add_argument("--chunk-length", type=int, default=8,
                   help="frames per class in the contact sheet (default %(default)s)")
    return p


def _lines(path: str) -> list[dict[str, Any]]:
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def failures_by_reason(failures: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """failures.jsonl grouped by the reason's kind (its words before the first colon),
    most frequent first: {kind: {"count", "examples": the first few lines}}."""
    groups: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in failures:
        groups[str(f.get("reason", "unknown")).split(":")[0].strip() or "unknown"].append(f)
    return {kind: {"count": len(items), "examples": items[:EXAMPLES]}
            for kind, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))}


def _shard_order(src: str, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(split, shard file) of every shard the manifest lists, the splits' first shards first."""
    from pipeline import schema

    per_split = {s: [f"{src.rstrip('/')}/{name}" for name in schema.shard_names(manifest, s)]
                 for s in schema.SPLITS if manifest["splits"].get(s, {}).get("videos")}
    most = max((len(v) for v in per_split.values()), default=0)
    return [(s, files[k]) for k in range(most) for s, files in per_split.items()
            if k < len(files)]


def read_records(src: str, manifest: dict[str, Any], sample: int
                 ) -> tuple[list[dict[str, Any]], dict[int, tuple[str, list[bytes]]]]:
    """Reads whole shards, spread over the splits, until `sample` records are read and
    every class has a video; only those records' context and one video's JPEGs per class
    are kept.

    Returns:
      (lengths, videos): lengths, one {"split", "class", "frames", "fps"} per record
      read; videos, label index -> (media id, T JPEGs) of the first video of each class.
    """
    import tensorflow as tf

    from pipeline import schema

    classes = manifest["classes"]
    compression = "GZIP" if manifest.get("compression") == "gzip" else ""
    lengths: list[dict[str, Any]] = []
    videos: dict[int, tuple[str, list[bytes]]] = {}
    for split, path in _shard_order(src, manifest):
        if len(lengths) >= sample and len(videos) == len(classes):
            break
        for serialized in tf.data.TFRecordDataset(path, compression_type=compression):
            context, jpegs = schema.parse_video(serialized)
            label = int(context[schema.LABEL_INDEX_KEY])
            lengths.append({"split": split, "class": classes[label],
                            "frames": int(context[schema.NUM_FRAMES_KEY]),
                            "fps": float(context[schema.FPS_KEY])})
            if label not in videos:
                videos[label] = (context[schema.MEDIA_ID_KEY].numpy().decode(),
                                 list(jpegs.numpy()))
            if not sample and len(videos) == len(classes):
                break  # only the contact sheet's videos were wanted
    return lengths, videos


def lengths_from_index(index: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """videos.jsonl lines -> one {"split", "class", "frames", "fps"} per stored video."""
    return [{"split": v.get("split"), "class": v.get("class"),
             "frames": int(v.get("stored_frames", 0)), "fps": float(v.get("fps") or 0.0)}
            for v in index]


def _stats(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    v = np.asarray(values, float)
    return {"min": float(v.min()), "median": float(np.median(v)), "mean": float(v.mean()),
            "max": float(v.max())}


def length_stats(lengths: Sequence[dict[str, Any]], chunk_length: int) -> dict[str, Any]:
    """Frames and seconds per video (seconds: frames / fps, where the fps is known), and
    how many videos are shorter than a chunk."""
    seconds = [r["frames"] / r["fps"] for r in lengths if r["fps"] > 0]
    return {"videos": len(lengths), "frames_per_video": _stats([r["frames"] for r in lengths]),
            "seconds_per_video": _stats(seconds),
            "shorter_than_chunk": sum(r["frames"] < chunk_length for r in lengths)}


def _count_rows(manifest: dict[str, Any]) -> Iterator[list[Any]]:
    for split, info in manifest["splits"].items():
        yield [split, info.get("videos", 0), info.get("shards", 0), info.get("frames", 0),
               f"{info.get('min_frames', 0)}-{info.get('max_frames', 0)}"]


def render(s: dict[str, Any]) -> str:
    """summary.md of an inspection."""
    splits = list(s["splits"])
    lines = [f"# {s['data']}", "", s["headline"], "", "## Videos per split", ""]
    lines += table(["Split", "Videos", "Shards", "Frames", "Frames per video (min-max)"],
                   s["count_rows"])
    lines += ["", "## Videos per class", ""]
    lines += table(["Class", *splits], [[c, *(n.get(sp, 0) for sp in splits)]
                                        for c, n in s["per_class"].items()])
    lines += ["", f"![videos per class]({FIGURES['class_counts']})", "", "## Failures", ""]
    if s["failures"]["by_reason"]:
        lines += table(["Reason", "Videos", "Examples"], [
            [kind, g["count"], "; ".join(f"`{e.get('path', '')}`" for e in g["examples"])]
            for kind, g in s["failures"]["by_reason"].items()])
    else:
        lines += ["No video failed."]
    lengths = s["lengths"]
    lines += ["", f"## Lengths ({lengths['source']})", ""]
    for key, unit in (("frames_per_video", "frames"), ("seconds_per_video", "s")):
        st = lengths[key]
        lines += [f"- {key.replace('_', ' ')}: " + (
            f"median {st['median']:.3g} {unit} (min {st['min']:.3g}, mean {st['mean']:.3g}, "
            f"max {st['max']:.3g})" if st else "unknown (no frame rate recorded)")]
    lines += ["", f"![frames per video]({FIGURES['frames_per_video']})", "",
              f"![duration]({FIGURES['duration']})", "", "## Contact sheet", "",
              f"One chunk of {s['chunk_length']} consecutive frames per class, from the middle "
              "of the first of its videos read.", "",
              f"![contact sheet]({FIGURES['contact_sheet']})", ""]
    return "\n".join(lines)


def inspect(data: str, out: str, sample: int = 200, chunk_length: int = 8) -> dict[str, Any]:
    """Inspects the conversion in `data` into `out`; returns the summary written.

    Raises:
      FileNotFoundError, ValueError: no manifest, a foreign one, no records.
    """
    import tensorflow as tf

    from pipeline import schema

    manifest = schema.read_manifest(data)
    src, src_manifest = schema.frames_dir(data)
    classes = list(src_manifest["classes"])
    index = _lines(f"{src.rstrip('/')}/{schema.VIDEOS_NAME}")
    lengths, videos = read_records(src, src_manifest, 0 if index else sample)
    if not lengths:
        raise ValueError(f"no records in the shards of {src!r}")
    total = sum(info.get("videos", 0) for info in manifest["splits"].values())
    source = (f"every video, from {schema.VIDEOS_NAME}" if index else
              f"a sample: {len(lengths)} of {total} videos, whole shards")
    if index:
        lengths = lengths_from_index(index)
    failures = _lines(f"{src.rstrip('/')}/{schema.FAILURES_NAME}")
    per_class = {c: {sp: info.get("per_class", {}).get(c, 0)
                     for sp, info in manifest["splits"].items()} for c in classes}
    stats = {**length_stats(lengths, chunk_length), "source": source}
    summary = {
        "data": data, "frames_from": src, "classes": classes,
        "splits": {sp: {k: v for k, v in info.items() if k != "per_class"}
                   for sp, info in manifest["splits"].items()},
        "count_rows": list(_count_rows(manifest)), "per_class": per_class,
        "totals": manifest.get("totals"),
        "failures": {"total": len(failures), "by_reason": failures_by_reason(failures)},
        "lengths": stats, "chunk_length": chunk_length,
        "contact_sheet": {c: videos[i][0] if i in videos else None
                          for i, c in enumerate(classes)},
        "figures": dict(FIGURES)}
    summary["headline"] = headline(summary)
    pictures = {
        "class_counts": class_counts_png(manifest),
        "frames_per_video": histogram_png(lengths, "frames", source),
        "duration": histogram_png(lengths, "seconds", source),
        "contact_sheet": contact_sheet_png(contact_rows(videos, classes, chunk_length),
                                           chunk_length)}
    tf.io.gfile.makedirs(out)
    for key, png in pictures.items():
        with tf.io.gfile.GFile(f"{out.rstrip('/')}/{FIGURES[key]}", "wb") as f:
            f.write(png)
    schema.write_json(f"{out.rstrip('/')}/{SUMMARY_JSON}", summary)
    with tf.io.gfile.GFile(f"{out.rstrip('/')}/{SUMMARY_MD}", "w") as f:
        f.write(render(summary))
    return summary


def headline(s: dict[str, Any]) -> str:
    """One paragraph: classes, videos per split, failures, lengths."""
    videos = ", ".join(f"{sp} {info.get('videos', 0):,}" for sp, info in s["splits"].items())
    per_class = [sum(n.values()) for n in s["per_class"].values()]
    fails = s["failures"]
    reasons = ", ".join(f"{k} {g['count']}" for k, g in fails["by_reason"].items())
    frames, seconds = s["lengths"]["frames_per_video"], s["lengths"]["seconds_per_video"]
    words = [f"{len(s['classes'])} classes; videos: {videos}; "
             f"{min(per_class, default=0)}-{max(per_class, default=0)} videos per class.",
             f"{fails['total']} failed" + (f" ({reasons})." if reasons else ".")]
    if frames:
        words.append(f"Frames per video: median {frames['median']:.0f} "
                     f"({frames['min']:.0f}-{frames['max']:.0f})"
                     + (f", {seconds['median']:.1f} s" if seconds else "")
                     + f" ({s['lengths']['source']}); {s['lengths']['shorter_than_chunk']} "
                     f"shorter than {s['chunk_length']} frames (looped in training).")
    return " ".join(words)


@command("inspect", build_parser)
def main(args: argparse.Namespace) -> int:
    """Entry point of `vidrec inspect`; bad input is one line and exit status 2."""
    if args.sample < 1:
        raise UsageError(f"--sample must be >= 1, got {args.sample}")
    if args.chunk_length < 1:
        raise UsageError(f"--chunk-length must be >= 1, got {args.chunk_length}")
    out = args.out or f"{args.data.rstrip('/')}/inspect"
    from pipeline import schema

    with bad_input():
        schema.read_manifest(args.data)
    summary = inspect(args.data, out, args.sample, args.chunk_length)
    print(summary["headline"])
    print(f"wrote {out.rstrip('/')}/{SUMMARY_MD} and {len(FIGURES)} PNGs")
    return 0
