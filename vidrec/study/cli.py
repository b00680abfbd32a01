"""`vidrec study SPEC`: run (or resume, show, share out) a whole study from its spec file."""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

from vidrec.core import errors
from vidrec.study import plan as study_plan
from vidrec.study import resume, spec
from vidrec.study import state as st

DESCRIPTION = """\
Run a whole study from one TOML file: per official split, the data (synthetic,
real footage filmed by `vidrec camera`, converted here, or converted already),
the encoder and its cached embeddings, every compared run under every seed
(split x run x seed, each evaluated in the spec's frame orders), the tuner's
search with its best retrained under the same seeds, then one `vidrec compare`
over everything. The schema is in vidrec/study/spec.py; studies/demo.toml,
studies/camera.toml and studies/hmdb51.toml are examples.

A rerun skips what finished and resumes what was killed (each command's own
resume rules); a changed spec is refused by naming what changed (--overwrite
NAME redoes it and what is built on it). A failed job is recorded with its log,
the others go on, and the exit status is 1. Progress: jobs done/total, elapsed
and ETA, one line per finished job; --status prints the table any time.
"""
EPILOG = """\
Several GPUs: --parallel N trains N jobs at once, each on its own GPU
(CUDA_VISIBLE_DEVICES; a [[run]] with gpus = 2 gets two and mirrors over them);
without GPUs the cores are shared out. Several machines over one bucket: start
--shard 1/N ... N/N, each on its own machine; every run goes to one shard
whole, and the last shard to finish writes the report.
"""


def find_spec(path: str) -> str:
    """`path`, or the packaged spec it names (studies/NAME.toml, or NAME) when absent."""
    if os.path.exists(path):
        return path
    import studies

    packaged = studies.path(os.path.splitext(os.path.basename(path))[0])
    return packaged if os.path.exists(packaged) else path


def build_parser() -> argparse.ArgumentParser:
    p = errors.CommandParser(prog="vidrec study", description=DESCRIPTION, epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="the study's TOML file (e.g. "
                   "studies/hmdb51.toml; a packaged study's name works anywhere)")
    p.add_argument("--out", default=None, help="output folder, local or a bucket mount "
                   "(default: the spec's [study] out)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command the study would run, and do nothing")
    p.add_argument("--status", action="store_true",
                   help="print what is done, running, failed and left, and do nothing")
    p.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="jobs at once on this machine (default %(default)s)")
    p.add_argument("--shard", default="1/1", metavar="I/N",
                   help="run shard I of N: whole runs, dealt deterministically; start every "
                   "shard over the same --out (default %(default)s)")
    p.add_argument("--overwrite", action="append", default=[], metavar="NAME",
                   help="redo an entry (data, encoder, a run's name, tune, report, a job id "
                   "such as split1/lstm/seed0, or all) and what is built on it; repeatable")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec value, e.g. study.seeds=[0] or train.epochs=5 "
                   "(VALUE is read as TOML; repeatable)")
    return p


def load_plan(spec_path: str, out: str | None, sets: list[str],
              overrides: dict | None = None) -> study_plan.Plan:
    """The plan of a spec (`--set` strings, then `overrides`: dotted key -> value)."""
    values = {**dict(spec.parse_set(s) for s in sets), **(overrides or {})}
    return study_plan.expand(spec.load(find_spec(spec_path), values), out)


def print_plan(plan: study_plan.Plan, shards: int, echo: Callable[[str], None] = print) -> None:
    runs = sum(j.is_run for j in plan.jobs)
    echo(f"# vidrec study {plan.spec.path}: {len(plan.jobs)} jobs ({runs} runs), "
         f"{sum(len(j.steps) for j in plan.jobs)} commands, out {plan.out}")
    for job in plan.jobs:
        shard = study_plan.shard_of(plan, job.id, shards)
        echo(f"\n# {job.id}" + (f" (shard {shard}/{shards})" if shards > 1 and shard else
                                " (the last shard to finish)" if shards > 1 else ""))
        for command in job.commands():
            echo(command)


def print_status(plan: study_plan.Plan, shards: int, echo: Callable[[str], None] = print) -> int:
    state = st.State(plan.out)
    counts: dict[str, int] = {}
    rows = []
    for job in plan.jobs:
        record = state.record(job.id) or {}
        status = st.status(job, state.record(job.id))
        counts[status] = counts.get(status, 0) + 1
        took = record.get("seconds")
        note = (record.get("error") or "") if status in (st.FAILED, st.BLOCKED) else ""
        if status in (st.FAILED, st.RUNNING, st.INTERRUPTED) and record.get("log"):
            note = f"{note} log {record['log']}".strip()
        shard = study_plan.shard_of(plan, job.id, shards) if shards > 1 else ""
        rows.append((job.id, status, f"{took:.0f}s" if took else "", str(shard or ""), note))
    width = max(len(r[0]) for r in rows)
    echo(f"{'job':<{width}}  {'state':<11}  {'time':>6}  {'shard' if shards > 1 else ''}")
    for job_id, status, took, shard, note in rows:
        echo(f"{job_id:<{width}}  {status:<11}  {took:>6}  {shard:>5}  {note}".rstrip())
    echo(f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0


@errors.command("study", build_parser)
def main(args: argparse.Namespace) -> int:
    with errors.bad_input(ValueError):
        if args.parallel < 1:
            raise ValueError(f"--parallel must be >= 1, got {args.parallel}")
        shard = study_plan.parse_shard(args.shard)
        plan = load_plan(args.spec, args.out, args.set)
        if plan.out.startswith("gs://"):
            raise ValueError(f"--out {plan.out!r}: the study writes run folders with local "
                             "file calls: give a local folder or the bucket's mount "
                             "(e.g. /gcs/BUCKET/...)")
    if args.dry_run:
        try:
            print_plan(plan, shard[1])
        except BrokenPipeError:  # `--dry-run | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return 0
    if args.status:
        return print_status(plan, shard[1])
    return run(plan, shard, args.parallel, args.overwrite)


def run(plan: study_plan.Plan, shard: tuple[int, int] = (1, 1), parallel: int = 1,
        overwrite: list[str] | tuple[str, ...] = (), echo: Callable[[str], None] = print) -> int:
    """Runs (or resumes) the plan: what `vidrec study` does after its checks."""
    from vidrec.study.resources import Pool
    from vidrec.study.runner import Runner

    state = st.State(plan.out)
    with errors.bad_input(ValueError):
        resume.check_data(plan)
        redo = resume.to_redo(plan, state, list(overwrite))
        pool = Pool(parallel)
        too_big = [j.id for j in plan.jobs if pool.gpus and j.gpus > len(pool.gpus)]
        if too_big:
            raise ValueError(f"{too_big[0]} asks for {plan.job(too_big[0]).gpus} GPUs; this "
                             f"machine shows {len(pool.gpus)}")
    resume.redo(plan, state, redo, echo)
    st.write_json(state.path("spec.json"), {"spec": plan.spec.path, "out": plan.out,
                                            "document": plan.spec.document,
                                            "started": time.strftime("%Y-%m-%d %H:%M:%S")})
    echo(f"vidrec study: {plan.spec.name}: {len(plan.jobs)} jobs "
         f"({sum(j.is_run for j in plan.jobs)} runs) into {plan.out}; shard "
         f"{shard[0]}/{shard[1]}, {parallel} at once on {pool.describe()}")
    return Runner(plan, shard, parallel, pool, echo).run()
