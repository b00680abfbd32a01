"""A spec expanded into jobs: the commands a study runs, in order, with what each needs.

One job is one unit of scheduling, resuming and sharding, run in one process:

    synth                      synthetic videos (OUT/raw)
    split<N>/data              convert (and inspect) split N      -> OUT/split<N>/data
    split<N>/encoder           train the encoder (and embed)      -> OUT/split<N>/runs/encoder
    split<N>/<run>/seed<S>     train one run under one seed, evaluate it in every order
    split<N>/tune              the search, its best retrained under the seeds, evaluated
    report                     `vidrec compare` over every complete run of every split

A *run* job (one seed of one compared run, or a split's search) is what `--shard`
hands out whole; the data and encoder jobs go to the shard of their split.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Iterable

from vidrec.core import run_folder
from vidrec.study.spec import GENERATORS, Spec

REPORT = "report"
COMPARED_BEST = "best"  # the tuner's retrained best, OUT/split<N>/tune/best


@dataclasses.dataclass(frozen=True)
class Job:
    """One job: its steps (vidrec argvs), the folders they write, what it waits for."""

    id: str
    entry: str  # the spec entry it comes from (`Spec.entries`): what --overwrite names
    steps: tuple[tuple[str, ...], ...]
    outputs: tuple[str, ...]
    deps: tuple[str, ...] = ()
    gpus: int = 0  # GPUs it trains on where the machine has them (0: none needed)
    group: str | None = None  # the seed group a run job's seed belongs to
    is_run: bool = False  # a run job: handed out whole by --shard

    def commands(self) -> list[str]:
        return ["vidrec " + shlex.join(step) for step in self.steps]


@dataclasses.dataclass(frozen=True)
class Plan:
    """Every job of a study in the order it runs on one machine."""

    spec: Spec
    out: str
    jobs: tuple[Job, ...]

    def job(self, job_id: str) -> Job:
        return next(j for j in self.jobs if j.id == job_id)

    def groups(self) -> dict[str, tuple[str, ...]]:
        """seed group folder -> the ids of its seeds' jobs (plan order)."""
        groups: dict[str, list[str]] = {}
        for job in self.jobs:
            if job.group:
                groups.setdefault(job.group, []).append(job.id)
        return {g: tuple(ids) for g, ids in groups.items()}

    def compared(self) -> list[str]:
        """Every seed group the report compares: each run of each split, and tune/best."""
        folders: list[str] = []
        for job in self.jobs:
            folder = job.group if job.is_run and job.group else (
                job.outputs[-1] if job.entry == "tune" else None)
            if folder and folder not in folders:
                folders.append(folder)
        return folders

    def downstream(self, job_ids: Iterable[str]) -> list[str]:
        """`job_ids` and every job that depends on one of them, in plan order."""
        marked = set(job_ids)
        for job in self.jobs:
            if any(d in marked for d in job.deps):
                marked.add(job.id)
        return [j.id for j in self.jobs if j.id in marked]


def _split_root(out: str, split: int) -> str:
    return f"{out}/split{split}"


def data_dir(spec: Spec, out: str, split: int) -> str:
    """Where split `split`'s converted data is (the spec's, or the study's conversion)."""
    if spec.converted is not None:
        return spec.converted.replace("{split}", str(split))
    return f"{_split_root(out, split)}/data"


def _data_jobs(spec: Spec, out: str, split: int, deps: tuple[str, ...]) -> list[Job]:
    data = data_dir(spec, out, split)
    steps: list[tuple[str, ...]] = []
    if spec.converted is None:
        videos, splits = ((f"{out}/raw/videos", f"{out}/raw/splits") if spec.synth else
                          (spec.videos.replace("{split}", str(split)),
                           spec.split_files.replace("{split}", str(split))))
        steps.append(("convert", "--videos", videos, "--splits", splits, "--split", str(split),
                      "--output", data, *spec.convert.argv(split)))
    if spec.inspect:
        steps.append(("inspect", data))
    if not steps:
        return []
    outputs = (data,) if spec.converted is None else (f"{data}/inspect",)
    return [Job(f"split{split}/data", "data", tuple(steps), outputs, deps)]


def _encoder_job(spec: Spec, out: str, split: int, deps: tuple[str, ...]) -> list[Job]:
    if spec.encoder is None:
        return []
    root, data = _split_root(out, split), data_dir(spec, out, split)
    encoder = f"{root}/runs/encoder"
    steps = [("train", "--data", data, "--model", "frame", "--out", encoder,
              *spec.encoder.argv(split))]
    outputs = [encoder]
    if spec.cache:
        steps.append(("embed", "--data", data, "--encoder", encoder, "--out",
                      f"{root}/features"))
        outputs.append(f"{root}/features")
    return [Job(f"split{split}/encoder", "encoder", tuple(steps), tuple(outputs), deps,
                gpus=spec.encoder_gpus)]


def _source(spec: Spec, out: str, split: int) -> list[str]:
    """The flags every compared run and the search share: data, encoder, recipe."""
    root = _split_root(out, split)
    words = ["--data", data_dir(spec, out, split)]
    if spec.encoder is not None:
        words += (["--features", f"{root}/features"] if spec.cache else
                  ["--init-from", f"{root}/runs/encoder"])
    return words + spec.train.argv(split)


def _evaluations(run_dir: str, orders: tuple[str, ...], natural: bool) -> list[tuple[str, ...]]:
    steps = [("evaluate", run_dir)] if natural else []
    return steps + [("evaluate", run_dir, "--order", order) for order in orders]


def _multi_frame(spec: Spec, flags: list[str]) -> bool:
    from trainer import cli as trainer_cli  # the parser only: no TensorFlow

    args = trainer_cli.build_train_parser().parse_args([*flags, "--out", "x"])
    return args.model != "frame"


def _run_jobs(spec: Spec, out: str, split: int, deps: tuple[str, ...]) -> list[Job]:
    root, jobs = _split_root(out, split), []
    source = _source(spec, out, split)
    for run in spec.runs:
        group = f"{root}/runs/{run.name}"
        flags = [*source, *run.flags.argv(split)]
        orders = spec.orders if _multi_frame(spec, flags) else ()
        for seed in spec.seeds:
            run_dir = run_folder.seed_run_dir(group, seed)
            steps = [("train", *flags, "--seed", str(seed), "--out", run_dir),
                     *_evaluations(run_dir, orders, natural=True)]
            jobs.append(Job(f"split{split}/{run.name}/{run_folder.seed_run_name(seed)}",
                            run.name, tuple(steps), (run_dir,), deps, gpus=run.gpus,
                            group=group, is_run=True))
    if spec.tune is not None:
        best = f"{root}/tune/{COMPARED_BEST}"
        steps = [("tune", *source, *spec.tune.argv(split), "--out", f"{root}/tune",
                  "--seeds", ",".join(str(s) for s in spec.seeds)),
                 *_evaluations(best, spec.orders, natural=False)]  # the tuner evaluates it
        jobs.append(Job(f"split{split}/tune", "tune", tuple(steps), (f"{root}/tune", best),
                        deps, gpus=spec.tune_gpus, is_run=True))
    return jobs


def expand(spec: Spec, out: str | None = None) -> Plan:
    """The spec's jobs, in the order one machine runs them."""
    out = (out or spec.out).rstrip("/")
    jobs: list[Job] = []
    if spec.synth is not None:
        command = spec.synth.command  # synth or camera
        jobs.append(Job(command, "data", ((command, f"{out}/raw", *spec.synth.argv()),),
                        (f"{out}/raw",)))
    for split in spec.splits:
        deps = tuple(j.id for j in jobs[:1] if j.id in GENERATORS)
        data = _data_jobs(spec, out, split, deps)
        deps = tuple(j.id for j in data) or deps
        encoder = _encoder_job(spec, out, split, deps)
        deps = tuple(j.id for j in encoder) or deps
        jobs += data + encoder + _run_jobs(spec, out, split, deps)
    plan = Plan(spec, out, tuple(jobs))
    report = ("compare", *plan.compared(), "--out", f"{out}/{REPORT}", *spec.report.argv())
    runs = tuple(j.id for j in jobs if j.is_run)
    return dataclasses.replace(plan, jobs=(*jobs, Job(REPORT, REPORT, (report,),
                                                      (f"{out}/{REPORT}",), runs)))


# --------------------------------------------------------------------------- shards

def parse_shard(text: str) -> tuple[int, int]:
    """``2/3`` -> (2, 3): shard I of N, 1 <= I <= N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i = n = 0
    if not 1 <= i <= n:
        raise ValueError(f"--shard takes I/N with 1 <= I <= N, e.g. 1/2, got {text!r}")
    return i, n


def shard_of(plan: Plan, job_id: str, shards: int) -> int:
    """The shard (1..N) that runs `job_id`: run jobs are dealt round-robin in plan order,
    each split's data and encoder jobs go to one shard by split, synth (or camera) to shard
    1, and the report to whichever shard finishes last (0)."""
    if job_id == REPORT:
        return 0
    if job_id in GENERATORS or shards == 1:
        return 1
    runs = [j.id for j in plan.jobs if j.is_run]
    if job_id in runs:
        return runs.index(job_id) % shards + 1
    split = int(job_id.split("/")[0][len("split"):])
    return plan.spec.splits.index(split) % shards + 1
