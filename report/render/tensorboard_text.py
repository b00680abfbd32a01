"""The answer in TensorBoard: `vidrec compare`'s headline and report as text summaries.

Someone who only opens TensorBoard reads the answer in its Text tab. The text goes
to a run of its own, ``compare`` (`TEXT_RUN`), under the TensorBoard log root of the
compared runs: the folder that holds most of their log dirs (each run logs to
``<log root>/<run name>``, as train_summary.json's log_dir says), so `tensorboard
--logdir` on that root or on any folder above it shows it beside the runs. Tags:
``compare/headline`` (the headline) and ``compare/report`` (report.md: the headline,
every table and the warnings; its pictures are left out, the PNGs live beside
report.md and in each run's Images). Step 0: a later `vidrec compare` replaces the
text. A log that cannot be written is a warning of the report, never a failed one.
"""

from __future__ import annotations

import collections
import posixpath
import re
from typing import Sequence

import tensorflow as tf

from report.runs.curves import log_dirs
from report.runs.load import Run
from vidrec.core.run_folder import join

TEXT_RUN = "compare"
TAGS = {"headline": "compare/headline", "report": "compare/report"}
_PICTURE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")


def log_root(runs: Sequence[Run]) -> str | None:
    """The folder holding most of the runs' TensorBoard log dirs (ties: the first run's; a
    seed group's are its first seed's, under <log root>/<group>/); None when no run records
    one."""
    roots = []
    for run in runs:
        candidates = log_dirs(run)
        if candidates:
            found = next((d for d in candidates if tf.io.gfile.isdir(d)), candidates[0])
            root = posixpath.dirname(found.rstrip("/"))
            if run.members:  # a seed logs to <log root>/<group>/seed<N>: the root is above
                root = posixpath.dirname(root)
            roots.append(root or ".")
    if not roots:
        return None
    counts = collections.Counter(roots)
    return max(dict.fromkeys(roots), key=lambda r: counts[r])  # first of the most common


def without_pictures(report: str) -> str:
    """report.md without its image lines (TensorBoard cannot show the relative PNGs)."""
    return "\n".join(line for line in report.splitlines() if not _PICTURE.match(line.strip()))


def log_report(runs: Sequence[Run], headline: str, report: str,
               warnings: list[str]) -> str | None:
    """Writes the headline and report.md as text under the runs' log root; returns the
    directory written (None, with a warning appended, when nothing could be)."""
    root = log_root(runs)
    if root is None:
        warnings.append("No compared run records a TensorBoard log dir (train_summary.json's "
                        "log_dir): the report is not written to TensorBoard.")
        return None
    directory = join(root, TEXT_RUN)
    try:
        tf.io.gfile.makedirs(directory)
        writer = tf.summary.create_file_writer(directory)
        with writer.as_default():
            tf.summary.text(TAGS["headline"], headline, step=0,
                            description="The answer of `vidrec compare`, part by part.")
            tf.summary.text(TAGS["report"], without_pictures(report), step=0,
                            description="report.md of `vidrec compare` (its pictures are "
                            "beside report.md and in each run's Images).")
        writer.close()
    except (OSError, tf.errors.OpError) as e:
        warnings.append(f"The report could not be written to TensorBoard under {directory} "
                        f"({str(e).splitlines()[0] if str(e) else type(e).__name__}).")
        return None
    return directory
