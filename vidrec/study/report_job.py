"""The study's last step: seed groups completed, then one `vidrec compare` over what is there.

The report compares every run whose seeds all finished and names the ones that
did not (a section at the end of report.md, with each failure's log). It runs
once every run of every shard is done or failed, in the process that sees that
first (`report.claim`, created exclusively, keeps two shards from both writing
it), and again whenever a run finished after it or its command changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
from typing import Callable

from vidrec.core import run_folder
from vidrec.core.eval_file import EvalFile
from vidrec.study import state as st
from vidrec.study import worker
from vidrec.study.plan import REPORT, Job, Plan

MISSING_TITLE = "## Missing from this study"


def outcome(job: Job) -> str:
    """A finished run job's one-line result: validation, then test video top-1."""
    if not job.is_run or not job.group:
        return ""
    run_dir = job.outputs[0]
    val = st.read_json(run_folder.join(run_dir, run_folder.SUMMARY)).get("val_video_top1")
    test = EvalFile.from_dict(st.read_json(run_folder.join(run_dir, run_folder.eval_json("test")))
                              ).video_top1
    parts = [f"val video top-1 {val:.3f}" if isinstance(val, float) else "",
             f"test {test:.3f}" if isinstance(test, float) else ""]
    return ", ".join(p for p in parts if p)


def complete_groups(plan: Plan, state: st.State) -> list[str]:
    """Writes GROUP/seeds.json for every seed group whose seeds all finished; returns them."""
    complete = []
    for group, job_ids in plan.groups().items():
        if all(st.status(plan.job(j), state.record(j)) == st.DONE for j in job_ids):
            seeds = [plan.job(j).outputs[0].rpartition(run_folder.SEED_PREFIX)[2]
                     for j in job_ids]
            record = run_folder.seed_group_record([int(s) for s in seeds])
            path = run_folder.join(group, run_folder.SEEDS)
            if st.read_json(path) != record:
                st.write_json(path, record)
            complete.append(group)
    return complete


def _missing(plan: Plan, state: st.State) -> dict[str, str]:
    """Compared folder -> why it is not complete."""
    missing = {}
    for group, job_ids in plan.groups().items():
        bad = [(j, st.status(plan.job(j), state.record(j))) for j in job_ids]
        bad = [(j, s) for j, s in bad if s != st.DONE]
        if bad:
            missing[group] = "; ".join(
                f"{j.rpartition('/')[2]} {s} (log {(state.record(j) or {}).get('log', '-')})"
                for j, s in bad)
    for job in plan.jobs:
        if job.entry == "tune" and st.status(job, state.record(job.id)) != st.DONE:
            missing[job.outputs[-1]] = f"{job.id} {st.status(job, state.record(job.id))} " \
                                       f"(log {(state.record(job.id) or {}).get('log', '-')})"
    return missing


def _running(pid: object) -> bool:
    """Whether process `pid` of this host runs (the claim's owner is a study process, not a
    job's worker, so `state.alive`'s worker check does not apply)."""
    try:
        pid = int(pid or 0)
        if pid <= 0:
            return False
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's: it runs
        return True
    return True


def _claim(state: st.State) -> bool:
    path = state.path("report.claim")
    os.makedirs(state.root, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        held = st.read_json(path)  # {} while its owner is writing it: held
        if held.get("host") == socket.gethostname() and not _running(held.get("pid")):
            with contextlib.suppress(FileNotFoundError):  # its owner may just have ended
                os.remove(path)  # left by a process that is gone
            return _claim(state)
        return False
    with os.fdopen(fd, "w") as f:
        json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
    return True


def _stale(plan: Plan, state: st.State, report: Job) -> bool:
    record = state.record(REPORT)
    if st.status(report, record) != st.DONE:
        return True
    runs = [state.record(d) or {} for d in report.deps]
    return any((r.get("finished") or 0) > (record.get("finished") or 0) for r in runs)


def finish(plan: Plan, state: st.State, env: dict[str, str],
           echo: Callable[[str], None]) -> int:
    """Writes the report when every run is in; returns 1 when it could not be written."""
    report = plan.job(REPORT)
    open_ = [d for d in report.deps
             if st.status(plan.job(d), state.record(d)) not in (st.DONE, st.FAILED, st.BLOCKED)]
    if open_:
        echo(f"vidrec study: the report waits for {len(open_)} run(s) of another shard or "
             f"process ({', '.join(open_[:3])}{', ...' if len(open_) > 3 else ''}): the last "
             "to finish writes it")
        return 0
    complete_groups(plan, state)
    missing = _missing(plan, state)
    (step,) = report.steps
    report = dataclasses.replace(report, steps=(tuple(w for w in step if w not in missing),))
    if not _stale(plan, state, report):
        echo(f"vidrec study: the report is up to date: {plan.out}/{REPORT}/report.md")
        return 0
    if len(missing) == len(plan.compared()):
        echo("vidrec study: no run finished: no report")
        return 1
    if not _claim(state):
        echo("vidrec study: another process is writing the report")
        return 0
    try:
        if not _stale(plan, state, report):  # written by another process since we looked
            echo(f"vidrec study: the report is up to date: {plan.out}/{REPORT}/report.md")
            return 0
        return _write(plan, state, report, missing, env, echo)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(state.path("report.claim"))


def _write(plan: Plan, state: st.State, report: Job, missing: dict[str, str],
           env: dict[str, str], echo: Callable[[str], None]) -> int:
    for folder in report.outputs:
        shutil.rmtree(folder, ignore_errors=True)
    log = state.log_path(REPORT)
    state.write_record(REPORT, {"id": REPORT, "entry": REPORT, "state": "queued",
                                "steps": [list(s) for s in report.steps], "steps_done": [],
                                "log": log})
    echo(f"vidrec study: report over {len(plan.compared()) - len(missing)} run(s)"
         f"{', ' + str(len(missing)) + ' missing' if missing else ''} -> {log}")
    began = time.monotonic()
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a") as f:
        f.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} vidrec study: job {REPORT} ===\n")
        f.flush()
        code = subprocess.run(worker.command(plan.out, REPORT),
                              stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    if code:
        record = state.record(REPORT) or {}
        record.update(state=st.FAILED, exit=code, error=st.log_tail(log))
        state.write_record(REPORT, record)
        echo(f"vidrec study: FAILED report (exit {code}): {record['error']} -> log {log}")
        return 1
    if missing:
        with open(f"{report.outputs[0]}/report.md", "a") as f:
            f.write(f"\n{MISSING_TITLE}\n\nThe study planned these runs; they are not in this "
                    "report:\n\n" + "".join(f"- `{k}`: {v}\n" for k, v in missing.items()))
    from vidrec.core.progress import duration

    echo(f"vidrec study: report written in {duration(time.monotonic() - began)}: "
         f"{report.outputs[0]}/report.md")
    return 0
