"""Planning a conversion before Beam runs: list the inputs, deal the shards, hash the plan.

`make_plan` lists ``<videos>/<class>/*`` and the split files and lets
`pipeline.splits` decide every video's split; `shard_counts` and `shard_plans`
deal each split's videos into shards (round-robin, sorted by media id inside a
shard), so a shard is one Beam element (`pipeline.transforms.ShardPlan`);
`plan_sha256` is the plan's identity, which a resumed conversion must match
(`pipeline.resume`).
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath

from apache_beam.io.filesystems import FileSystems

from pipeline import fsio, schema, splits
from pipeline.config import MIN_AUTO_SHARDS, SHARD_TARGET_VIDEOS, ConvertConfig
from pipeline.transforms import ShardPlan, VideoItem
from vidrec.core import errors


def match(pattern: str) -> list[str]:
    """The paths matching `pattern`, sorted; [] when nothing matches.

    Raises:
      vidrec.core.errors.UsageError: listing failed (no access, unknown filesystem...):
        names the pattern and the underlying error.
    """
    try:
        return fsio.match(pattern)
    except (OSError, ValueError) as e:  # Beam wraps each pattern's error in a BeamIOError
        cause = next(iter((getattr(e, "exception_details", None) or {}).values()), e)
        first_line = (str(cause).splitlines() or [""])[0]
        raise errors.UsageError(f"cannot list {pattern}: {type(cause).__name__}: {first_line}"
                             ) from e


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
      vidrec.core.errors.UsageError: no videos, no split file for `config.split`, a bad
        split file, or inputs that cannot be listed.
    """
    root = config.videos.rstrip("/")
    video_files: dict[str, list[str]] = {}
    for path in match(f"{root}/*/*"):
        if splits.is_video(path):
            video_files.setdefault(posixpath.basename(posixpath.dirname(path)), []).append(path)
    if not video_files:
        raise errors.UsageError(f"no video files in {root}/<class>/ (missing or empty folder)")
    if config.splits is None:
        return splits.plan_folders(video_files, test_fraction=config.test_fraction,
                                   val_fraction=config.val_fraction, seed=config.seed)
    texts = {}
    for path in match(f"{config.splits.rstrip('/')}/*_test_split{config.split}.txt"):
        class_name, _ = splits.parse_split_file_name(path)
        texts[class_name] = _read_text(path)
    if not texts:
        raise errors.UsageError(
            f"no <class>_test_split{config.split}.txt files in {config.splits}")
    with errors.bad_input(ValueError):
        return splits.plan_hmdb(video_files, texts, val_fraction=config.val_fraction,
                                seed=config.seed, official=config.split)


def shard_counts(plan: splits.Plan, requested: int) -> dict[str, int]:
    """Shards per split: `requested`, or auto (`pipeline.config` constants); 0 without videos."""
    counts = {}
    for split in schema.SPLITS:
        n = sum(v.split == split for v in plan.videos)
        auto = min(n, max(MIN_AUTO_SHARDS, math.ceil(n / SHARD_TARGET_VIDEOS)))
        counts[split] = 0 if n == 0 else (requested or auto)
    return counts


def shard_plans(plan: splits.Plan, num_shards: dict[str, int]) -> list[ShardPlan]:
    """Every shard with its videos: each split's dealt round-robin, sorted by media id."""
    shards = []
    for split in schema.SPLITS:
        mine = [v for v in plan.videos if v.split == split]
        for shard in range(num_shards[split]):
            items = sorted((VideoItem(v.path, v.class_name, v.split, v.media_id)
                            for v in mine[shard::num_shards[split]]), key=lambda v: v.media_id)
            shards.append(ShardPlan(split, shard, num_shards[split], tuple(items)))
    return shards


def plan_sha256(shards: list[ShardPlan], plan: splits.Plan) -> str:
    """Identity of a plan: every shard's videos and the failures found before decoding."""
    payload = json.dumps([[list(s[:3]), [list(v) for v in s.items]] for s in shards]
                         + [f.to_json() for f in plan.failures] + list(plan.classes))
    return hashlib.sha256(payload.encode()).hexdigest()
