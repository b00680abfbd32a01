"""Do the runs compare? The same data, classes and videos; the same protocol and frames.

Every evaluation (each order, `vidrec.core.run_folder.ORDERS`) of every seed of every run
is checked against the first run's natural one: the eval files' data (manifest hash,
split), class list and video ids (`validate_same_data`), and their evaluation protocol and
each video's frames fingerprint (`validate_same_frames`).
"""

from __future__ import annotations

from typing import Any, Iterator

from report.runs.load import Run
from vidrec.core.eval_file import EvalFile


def _fingerprints(ev: EvalFile) -> dict[str, Any]:
    return {str(v.id): v.frames_fingerprint for v in ev.videos}


def _evaluations(runs: list[Run]) -> Iterator[tuple[str, EvalFile]]:
    """(where, eval) for every evaluation of every seed of every run; `where` names the run
    dir (a seed's own, in a seed group) and order."""
    for member in (m for run in runs for m in run.seed_runs):
        for order, ev in member.evals.items():
            yield (f"{member.run_dir} ({order})" if order != "natural" else member.run_dir), ev


def _video_ids(ev: EvalFile) -> list[Any]:
    return [v.id for v in sorted(ev.videos, key=lambda v: str(v.id))]


def _frames_problem(ref: Run, ev: EvalFile, where: str) -> str | None:
    """How `ev` was not scored like `ref`'s natural evaluation (protocol, frames), or None."""
    a, b = ref.eval.protocol_name, ev.protocol_name
    if a is None or b is None:
        missing = ref.run_dir if a is None else where
        return (f"{missing} records no evaluation protocol (evaluated by an "
                f"older vidrec): run `vidrec evaluate` on it again")
    if a != b:
        return (f"runs were evaluated under different protocols: {a!r} in "
                f"{ref.run_dir} but {b!r} in {where}")
    mine, theirs = _fingerprints(ref.eval), _fingerprints(ev)
    differ = sorted(v for v in mine if mine[v] != theirs.get(v))
    if differ:
        return (f"runs were scored on different frames: {len(differ)} "
                f"videos differ between {ref.run_dir} and {where} (e.g. {differ[0]})")
    return None


def validate_same_frames(runs: list[Run], allow_mismatch: bool = False) -> list[str]:
    """Refuse runs not scored on the same frames: same protocol, same frames per video.

    Every evaluation (each order) of every seed of every run is checked against the first run's
    natural one. With `allow_mismatch` the differences are returned as warnings
    (the report prints them at its top) instead of raised.

    Raises:
      ValueError: one line naming both runs and what differs.
    """
    problems = []
    for where, ev in _evaluations(runs):
        problem = _frames_problem(runs[0], ev, where)
        if problem is not None:
            if not allow_mismatch:
                raise ValueError(problem)
            problems.append(problem)
    return sorted(set(problems))


def _check_same_data(ref: Run, ev: EvalFile, where: str) -> None:
    """Raises ValueError when `ev` is not on `ref`'s data, classes and videos."""
    for key, read in (("manifest_sha256", lambda e: e.manifest_sha256),
                      ("split", lambda e: e.data_split)):
        a, b = read(ref.eval), read(ev)
        if a != b:
            raise ValueError(f"runs were evaluated on different data: {key} is {a!r} "
                             f"in {ref.run_dir} but {b!r} in {where}")
    if list(ev.classes) != list(ref.eval.classes):
        ref_classes = ref.eval.classes
        raise ValueError(f"runs have different class lists: {ref.run_dir} has "
                         f"{len(ref_classes)} classes {ref_classes[:5]}..., "
                         f"{where} has {len(ev.classes)} {ev.classes[:5]}...")
    ref_ids, ids = _video_ids(ref.eval), _video_ids(ev)
    if ids != ref_ids:
        only_a = sorted(set(map(str, ref_ids)) - set(map(str, ids)))[:3]
        only_b = sorted(set(map(str, ids)) - set(map(str, ref_ids)))[:3]
        raise ValueError(
            f"runs were evaluated on different videos: {ref.run_dir} has "
            f"{len(ref_ids)} videos, {where} has {len(ids)} "
            f"(only in the first: {only_a}, only in the second: {only_b})")


def validate_same_data(runs: list[Run]) -> None:
    """Refuse runs that were not evaluated on exactly the same videos.

    Checks manifest hash, split, class list and the video id list of every
    evaluation (natural, shuffled, reversed) against the first run's natural one.

    Raises:
      ValueError: naming the two runs and the differing value.
    """
    if not runs:
        raise ValueError("no runs to compare: give at least one RUN_DIR")
    dirs = [r.run_dir for r in runs]
    twice = sorted({d for d in dirs if dirs.count(d) > 1})
    if twice:
        raise ValueError(f"run dirs given more than once: {twice}")
    for where, ev in _evaluations(runs):
        _check_same_data(runs[0], ev, where)


def unique_names(runs: list[Run]) -> None:
    """Make display names unique in place by appending the run dir when names clash."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.name] = seen.get(run.name, 0) + 1
    for run in runs:
        if seen[run.name] > 1:
            run.name = f"{run.name} ({run.run_dir})"
