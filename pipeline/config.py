"""The flags of `vidrec convert`: `ConvertConfig`, built once from argv by `parse_args`.

App flags (listed in `--help`) are parsed with argparse's `parse_known_args`
into a frozen, checked `ConvertConfig`; every other flag goes to Beam's
`PipelineOptions` (``--runner``, ``--direct_num_workers``, ``--project``...).
Bad input raises `vidrec.core.errors.UsageError` with the bad value in its message.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import TYPE_CHECKING, Any

from pipeline import resizing, video
from vidrec.core import errors

if TYPE_CHECKING:  # Beam is imported by the functions that need it: --help stays fast
    from apache_beam.options.pipeline_options import PipelineOptions

PROG = "vidrec convert"
MIN_FRAMES_DEFAULT = 8
# --num-shards 0: about this many videos per shard, but at least MIN_AUTO_SHARDS shards
# per split. Shards are the unit of parallel work (one worker decodes and writes a whole
# shard) and of reading (readers parallelise across files): HMDB51's split 1 gets about
# 100 shards of 30-50 MB, enough to keep 2 local workers or 100 Dataflow workers busy.
SHARD_TARGET_VIDEOS = 50
MIN_AUTO_SHARDS = 8
# --max-failed default: HMDB51 loses a handful of its 6,766 clips to decoding in some
# builds (mmaction2 #101); a wrong codec or folder fails far more than 5%.
MAX_FAILED_DEFAULT = 0.05
OFFICIAL_SPLITS = (1, 2, 3)
COMPRESSIONS = ("none", "gzip")
DEFAULT_DECODE = video.DecodeOptions(min_frames=MIN_FRAMES_DEFAULT)


@dataclasses.dataclass(frozen=True)
class ConvertConfig:
    """What `vidrec convert` converts and how: its app flags, checked.

    Attributes:
      videos: folder of class folders, ``VIDEOS/<class>/<clip>.avi`` (as given).
      output: output folder, local or ``gs://``, without a trailing ``/``.
      splits: folder of HMDB51 ``<class>_test_split{1,2,3}.txt`` files (as
        given); None: folder-per-class data, split by a film hash.
      split: the official split read from `splits` (1, 2 or 3).
      decode: how a video becomes stored frames (frame size, resize mode,
        frame rate, frame limits, JPEG quality).
      val_fraction: share of the train clips moved to val, by whole source films
        across classes, in [0, 1).
      test_fraction: without `splits`: share of the clips in test, by whole
        films across classes, in [0, 1).
      seed: seed of the film hash.
      num_shards: shards per split; 0 = auto (`pipeline.planning.shard_counts`).
      compression: ``none`` or ``gzip``.
      overwrite: replace an earlier conversion in `output` instead of refusing or resuming.
      max_failed: the conversion exits 1 when more than this share of the listed
        videos failed (in [0, 1]).

    Raises:
      ValueError: a value out of range, naming the flag and the value.
    """

    videos: str
    output: str
    splits: str | None = None
    split: int = 1
    decode: video.DecodeOptions = DEFAULT_DECODE
    val_fraction: float = 0.15
    test_fraction: float = 0.3
    seed: int = 0
    num_shards: int = 0
    compression: str = "none"
    overwrite: bool = False
    max_failed: float = MAX_FAILED_DEFAULT

    def __post_init__(self):
        if not 0.0 <= self.max_failed <= 1.0:
            raise ValueError(f"--max-failed must be in [0, 1], got {self.max_failed}")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"--{name.replace('_', '-')} must be in [0, 1), "
                                 f"got {getattr(self, name)}")
        if self.num_shards < 0:
            raise ValueError(f"--num-shards must be >= 0, got {self.num_shards}")
        if self.split not in OFFICIAL_SPLITS:
            raise ValueError(f"--split must be one of {OFFICIAL_SPLITS}, got {self.split}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"--compression must be one of {COMPRESSIONS}, "
                             f"got {self.compression!r}")

    def flags(self) -> dict[str, Any]:
        """Every app flag by its argparse name, sorted: the manifest's ``options``."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "decode"}
        flat.update(dataclasses.asdict(self.decode))
        return dict(sorted(flat.items()))

    def output_flags(self) -> dict[str, Any]:
        """The flags that decide the output's bytes: what a resumed run must repeat."""
        return {k: v for k, v in self.flags().items() if k not in OUTPUT_NEUTRAL}


OUTPUT_NEUTRAL = ("overwrite", "max_failed")  # flags that do not change what is written


def build_parser() -> argparse.ArgumentParser:
    """The app flags; defaults are `ConvertConfig`'s."""
    c, d = ConvertConfig, DEFAULT_DECODE
    p = errors.CommandParser(
        prog=PROG, description="Convert videos to sharded TFRecords of JPEG frames. "
        "Flags not listed here go to Beam (--runner, --direct_num_workers, --project...). "
        "Locally it runs one worker per core, as threads (--direct_num_workers N and "
        "--direct_running_mode say otherwise), and prints videos done, frames/s and ETA; "
        "on Dataflow, follow the job in its console. A rerun with the same flags finishes "
        "a partial output.")
    a = p.add_argument
    a("--videos", required=True, help="folder of class folders: VIDEOS/<class>/<clip>.avi")
    a("--splits", default=c.splits, help="folder of HMDB51 <class>_test_split{1,2,3}.txt "
      "files; omitted: folder-per-class data split by a film hash (--test-fraction)")
    a("--split", type=int, choices=OFFICIAL_SPLITS, default=c.split,
      help="official split (default %(default)s)")
    a("--output", required=True, help="output folder (local or gs://)")
    a("--frame-size", type=int, default=d.frame_size,
      help="stored frames are SxS (default %(default)s)")
    a("--resize-mode", choices=resizing.RESIZE_MODES, default=d.resize_mode,
      help="crop: centre square, aspect kept; squash: whole frame (default %(default)s)")
    a("--resize-filter", choices=resizing.RESIZE_FILTERS, default=d.resize_filter,
      help="fast: exact 2x2 halvings, then a light Gaussian and bilinear: over 38 dB PSNR "
      "against INTER_AREA at a fraction of its cost; area: OpenCV's INTER_AREA "
      "(default %(default)s)")
    a("--fps", type=float, default=d.fps,
      help=f"default {d.fps:g}: store the frames as decoded, at the native rate. N: place "
      "frames on a constant-rate grid of min(N, native) frames/s by timestamp, dropping or "
      "repeating frames, so variable-rate and null-frame clips become constant-rate")
    a("--max-frames", type=int, default=d.max_frames,
      help="keep the first N frames (default %(default)s = all)")
    a("--min-frames", type=int, default=d.min_frames,
      help="a clip with fewer stored frames fails as too short (default %(default)s)")
    a("--jpeg-quality", type=int, default=d.jpeg_quality,
      help="JPEG quality (default %(default)s)")
    a("--val-fraction", type=float, default=c.val_fraction,
      help="share of the train clips moved to val, by whole source films ACROSS classes: a "
      "film is in val for every class or for none (default %(default)s)")
    a("--test-fraction", type=float, default=c.test_fraction,
      help="without --splits: share of the clips in test, by whole films across classes "
      "(default %(default)s)")
    a("--seed", type=int, default=c.seed, help="seed of the film hash (default %(default)s)")
    a("--num-shards", type=int, default=c.num_shards,
      help=f"shards per split (default %(default)s = auto: ceil(videos/{SHARD_TARGET_VIDEOS}), "
      f"at least {MIN_AUTO_SHARDS}, at most the split's videos; an explicit N is used for "
      "every split with videos, even if some shards stay empty)")
    a("--compression", choices=COMPRESSIONS, default=c.compression,
      help="(default %(default)s)")
    a("--overwrite", action="store_true",
      help="start over in --output (default: a rerun with the same flags finishes a "
      "partial conversion, keeping its finished shards; other flags are refused)")
    a("--max-failed", type=float, default=c.max_failed,
      help="exit 1 when more than this share of the listed videos failed (default "
      "%(default)s: real data loses a few clips; a wrong codec or folder loses many)")
    return p


def _config(ns: argparse.Namespace) -> ConvertConfig:
    """The parsed app flags as a `ConvertConfig`; a bad value raises UsageError."""
    with errors.bad_input(ValueError):
        decode = video.DecodeOptions(
            frame_size=ns.frame_size, resize_mode=ns.resize_mode, fps=ns.fps,
            max_frames=ns.max_frames, min_frames=ns.min_frames, jpeg_quality=ns.jpeg_quality,
            resize_filter=ns.resize_filter)
        return ConvertConfig(
            videos=ns.videos, output=ns.output.rstrip("/"), splits=ns.splits, split=ns.split,
            decode=decode, val_fraction=ns.val_fraction, test_fraction=ns.test_fraction,
            seed=ns.seed, num_shards=ns.num_shards, compression=ns.compression,
            overwrite=ns.overwrite, max_failed=ns.max_failed)


def is_dataflow(options: PipelineOptions) -> bool:
    """Whether --runner names the DataflowRunner, spelled any way Beam accepts."""
    from apache_beam.options.pipeline_options import StandardOptions

    name = str(options.view_as(StandardOptions).runner or "").rsplit(".", 1)[-1].lower()
    return name in ("dataflow", "dataflowrunner")


def parse_args(argv: list[str]) -> tuple[ConvertConfig, PipelineOptions]:
    """Splits `argv` into the app's `ConvertConfig` and Beam's options, checking both.

    Raises:
      vidrec.core.errors.UsageError: a bad or unknown flag, or a value out of range.
    """
    from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, TestOptions

    ns, rest = build_parser().parse_known_args(argv)
    for flag in rest:  # Beam's own flags use underscores; a dashed one is a typo of ours
        if flag.startswith("--") and "-" in flag.split("=")[0][2:]:
            raise errors.UsageError(f"unrecognized argument {flag!r}")
    config = _config(ns)
    options = PipelineOptions(rest)
    if options.view_as(TestOptions).dry_run and not is_dataflow(options):
        raise errors.UsageError("--dry_run needs --runner DataflowRunner (other runners ignore "
                             "it and would run the job)")
    options.view_as(SetupOptions).save_main_session = False  # DoFns are module-level classes
    _use_every_core(options, rest)
    return config, options


def _use_every_core(options: PipelineOptions, flags: list[str]) -> None:
    """On the DirectRunner, unless told otherwise: one worker per core, as threads.

    Each worker decodes with one thread (`pipeline.transforms.ConvertShardFn`), so
    workers = cores uses the machine without oversubscribing it. multi_threading
    starts in no time (OpenCV releases the GIL while decoding, resizing and
    encoding); multi_processing starts a Python per worker first.
    """
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    runner = str(options.view_as(StandardOptions).runner or "DirectRunner")
    given = {f.split("=")[0] for f in flags if f.startswith("--")}
    if runner.rsplit(".", 1)[-1] not in ("DirectRunner", "direct") or (
            "--direct_num_workers" in given):
        return
    direct = options.view_as(DirectOptions)
    direct.direct_num_workers = os.cpu_count() or 1
    if "--direct_running_mode" not in given:
        direct.direct_running_mode = "multi_threading"
