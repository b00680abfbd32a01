"""What a conversion's output folder holds, checked before anything is written.

`prepare_output` answers ``fresh`` (nothing of ours there: stale files cleared,
``_convert_plan.json`` written), ``resume`` (a partial conversion of the same flags
and plan: its finished shards are kept) or ``complete`` (that conversion, finished);
any other conversion in the folder is a one-line `UsageError` naming the difference.
Which shards are finished is each shard's sidecar (`pipeline.transforms.finished`).
"""

from __future__ import annotations

import posixpath
import uuid

from apache_beam.io.filesystems import FileSystems

from pipeline import fsio, planning, schema
from pipeline.config import ConvertConfig
from pipeline.transforms import SIDECAR_DIR
from vidrec.core import errors, run_folder

PLAN_NAME = "_convert_plan.json"  # flags + plan hash of a conversion in progress


def _check_same(config: ConvertConfig, digest: str, saved: dict, what: str) -> None:
    """Raises UsageError unless `saved` (plan file or manifest) has our flags and plan."""
    flags = saved.get("flags") or {k: v for k, v in saved.get("options", {}).items()
                                   if k in config.output_flags()}
    diff = run_folder.differences(flags, config.output_flags(), as_flags=True)
    if diff:
        raise errors.UsageError(f"{config.output} holds {what} made with other flags ({diff}); "
                             "rerun with its flags, or pass --overwrite to start over")
    if saved.get("plan_sha256") != digest:
        raise errors.UsageError(f"{config.output} holds {what} of other inputs (the videos or "
                             "split files changed since); pass --overwrite to start over")


def prepare_output(config: ConvertConfig, digest: str) -> str:
    """Checks the output; returns ``fresh``, ``resume`` or ``complete``.

    Raises:
      vidrec.core.errors.UsageError: the output is not writable, or holds a conversion of
        other flags or inputs (or one without a plan: an older or foreign one).
    """
    out = config.output
    manifest = fsio.read_json(f"{out}/{schema.MANIFEST_NAME}") if not config.overwrite else None
    saved = fsio.read_json(f"{out}/{PLAN_NAME}") if not config.overwrite else None
    if manifest is not None:
        if "plan_sha256" not in manifest:
            raise errors.UsageError(f"{out} already holds a conversion ({schema.MANIFEST_NAME}) "
                                 "that this vidrec cannot resume; pass --overwrite to replace it")
        _check_same(config, digest, manifest, "a finished conversion")
        fsio.remove([f"{out}/{PLAN_NAME}"] + planning.match(f"{out}/.tmp-*"))
        fsio.remove_tree(f"{out}/{SIDECAR_DIR}")
        return "complete"
    if saved is not None:
        _check_same(config, digest, saved, "a partial conversion")
        # pieces of shards being written when it stopped
        fsio.remove(planning.match(f"{out}/.tmp-*"))
        return "resume"
    old = planning.match(f"{out}/*-of-*{schema.SHARD_SUFFIX}*")
    if old and not config.overwrite:
        raise errors.UsageError(f"{out} already holds shards ({posixpath.basename(old[0])}) "
                             "but no conversion plan; pass --overwrite to replace them")
    probe = f"{out}/.vidrec-write-probe-{uuid.uuid4().hex}"
    try:
        with FileSystems.create(probe) as f:
            f.write(b"probe")
        FileSystems.delete([probe])
    except (OSError, ValueError) as e:  # Beam's BeamIOError is an IOError
        raise errors.UsageError(f"output {out} is not writable: {str(e).splitlines()[0]}"
                             ) from None
    stale = [f"{out}/{schema.MANIFEST_NAME}"] + old + [  # the manifest first: unfinished now
        f"{out}/{n}" for n in (schema.FAILURES_NAME, schema.VIDEOS_NAME,
                               schema.LABEL_MAP_NAME, PLAN_NAME)]
    fsio.remove(stale + planning.match(f"{out}/.tmp-*"))
    fsio.remove_tree(f"{out}/{SIDECAR_DIR}")
    fsio.write_json(f"{out}/{PLAN_NAME}", {"flags": config.output_flags(), "plan_sha256": digest})
    return "fresh"
