"""Before a study runs: is OUT this study, what to redo (--overwrite), is the data there?

A rerun of the same spec skips what is done. A changed spec is refused, naming
the entries whose finished steps it would change (a step added at the end, such
as another evaluation order, is not a change: it just runs); `--overwrite NAME`
removes what NAME's jobs wrote, and everything built on it, so they run again.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
from typing import Callable, Sequence

from vidrec.study import state as st
from vidrec.study.plan import REPORT, Plan, data_dir
from vidrec.study.spec import SpecError

ALL = "all"


def _flags(step: Sequence[str]) -> dict[str, str]:
    words, flags = list(step), {}
    for i, word in enumerate(words):
        if word.startswith("--"):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            flags[word] = "" if nxt.startswith("--") else nxt
    return flags


def _what_changed(before: Sequence[str], now: Sequence[str] | None) -> str:
    if now is None:
        return f"`vidrec {shlex.join(before)}` is no longer in the plan"
    if before[0] != now[0]:
        return f"`vidrec {before[0]}` -> `vidrec {now[0]}`"
    old, new = _flags(before), _flags(now)
    shown = [f"{k} {old.get(k, '(unset)')} -> {new.get(k, '(unset)')}"
             for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(shown) or "its arguments"


def changed(plan: Plan, state: st.State) -> dict[str, str]:
    """job id -> what changed, for every job whose recorded finished steps the plan changes."""
    out = {}
    for job in plan.jobs:
        record = state.record(job.id)
        if job.id == REPORT or record is None or st.steps_done(job, record) >= 0:
            continue
        done = record.get("steps_done", [])
        i = next(i for i, s in enumerate(done) if i >= len(job.steps) or tuple(s) != job.steps[i])
        out[job.id] = _what_changed(done[i], job.steps[i] if i < len(job.steps) else None)
    return out


def to_redo(plan: Plan, state: st.State, overwrite: Sequence[str]) -> list[str]:
    """The jobs to run again from scratch: those of the named entries and all they feed.

    Raises:
      SpecError: an unknown name, or a changed spec without --overwrite for its entries.
    """
    entries = plan.spec.entries()
    ids = {j.id for j in plan.jobs}
    for name in overwrite:
        if name != ALL and name not in entries and name not in ids:
            raise SpecError(f"--overwrite {name!r}: not an entry of {plan.spec.path} "
                            f"(entries: {', '.join(entries)}, {ALL}; or a job id such as "
                            f"{plan.jobs[-2].id})")
    named = [j.id for j in plan.jobs
             if ALL in overwrite or j.entry in overwrite or j.id in overwrite]
    changes = {j: why for j, why in changed(plan, state).items() if j not in named}
    if changes:
        by_entry: dict[str, list[str]] = {}
        for job_id, why in changes.items():
            by_entry.setdefault(plan.job(job_id).entry, []).append(f"{job_id}: {why}")
        shown = "; ".join(f"{e} ({whys[0]}{', ...' if len(whys) > 1 else ''})"
                          for e, whys in list(by_entry.items())[:3])
        if len(by_entry) > 3:
            shown += f"; and {', '.join(list(by_entry)[3:])}"
        names = list(by_entry) if len(by_entry) <= 3 else [ALL]
        raise SpecError(f"{plan.out} holds this study run with another spec: {shown}. "
                        f"Rerun with --overwrite {' --overwrite '.join(names)} to redo "
                        "them (and what is built on them), or choose another --out")
    return [j for j in plan.downstream(named)
            if state.record(j) is not None or any(os.path.exists(o) for o in plan.job(j).outputs)]


def redo(plan: Plan, state: st.State, job_ids: Sequence[str],
         echo: Callable[[str], None]) -> None:
    """Removes what the jobs wrote (only under OUT) and their records."""
    root = plan.out.rstrip("/") + "/"
    for job_id in job_ids:
        for folder in plan.job(job_id).outputs:
            if not folder.startswith(root):
                continue  # the user's own data (converted elsewhere) is never removed
            if os.path.isdir(folder):
                shutil.rmtree(folder)
        state.remove_record(job_id)
    if job_ids:
        echo(f"vidrec study: --overwrite: removed {len(job_ids)} job(s)' outputs: "
             f"{', '.join(job_ids[:4])}{', ...' if len(job_ids) > 4 else ''}")


def check_data(plan: Plan) -> None:
    """Refuses a split the data does not have (local paths; gs:// is checked by the jobs).

    Raises:
      SpecError: naming the split and what is missing.
    """
    spec = plan.spec
    for split in spec.splits:
        if spec.converted is not None:
            data = data_dir(spec, plan.out, split)
            if "://" not in data and not os.path.exists(f"{data}/manifest.json"):
                raise SpecError(f"{spec.path}: split {split}: {data!r} has no manifest.json "
                                "(convert it first with `vidrec convert ... --output` there)")
        elif spec.videos is not None:
            files = spec.split_files.replace("{split}", str(split))
            if "://" in files:
                continue
            if not os.path.isdir(spec.videos.replace("{split}", str(split))):
                raise SpecError(f"{spec.path}: videos {spec.videos!r} is not a folder")
            if not glob.glob(os.path.join(files, f"*_test_split{split}.txt")):
                raise SpecError(f"{spec.path}: split {split}: no *_test_split{split}.txt in "
                                f"split_files {files!r}")
