"""Runs a plan: skips what is done, resumes what was killed, runs the rest N at a time.

Each job runs in its own process (`vidrec.study.worker`), its output in its log;
a failed job is recorded with its log and the others go on (what depends on it
is blocked); the exit status is 1 when any job failed. With `--shard I/N` this
process runs only its share of the jobs, waits for the jobs of other shards it
depends on, and the last shard to finish writes the report.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Callable

from vidrec.core.progress import duration
from vidrec.study import report_job, worker
from vidrec.study import state as st
from vidrec.study.plan import REPORT, Job, Plan, shard_of
from vidrec.study.resources import Pool

POLL_S = 0.2
WAIT_NOTE_S = 60.0  # how often "waiting for shard ..." is said
RUNNING_NOTE_S = 30.0  # how often the running jobs are listed


class Runner:
    """One process's share of a study (`run`)."""

    def __init__(self, plan: Plan, shard: tuple[int, int] = (1, 1), parallel: int = 1,
                 pool: Pool | None = None, echo: Callable[[str], None] = print):
        self.plan, self.shard, self.echo = plan, shard, echo
        self.state = st.State(plan.out)
        self.pool = pool or Pool(parallel)
        self.mine = [j for j in plan.jobs if shard_of(plan, j.id, shard[1]) == shard[0]]
        self.running: dict[str, tuple[subprocess.Popen, int, list[str], float]] = {}
        self.finished: list[tuple[str, str]] = []  # (job id, done | failed | blocked)
        self.durations: list[float] = []
        self.start = time.monotonic()
        self._said = 0.0
        self._listed = time.monotonic()

    # ------------------------------------------------------------------ status
    def status(self, job: Job) -> str:
        """The job's state; a job of this shard left running by another host is interrupted:
        only this shard runs it (a machine replaced after a preemption takes it over)."""
        record = self.state.record(job.id)
        status = st.status(job, record)
        if status == st.RUNNING and job in self.mine and not st.same_host(record):
            return st.INTERRUPTED
        return status

    def _progress(self) -> str:
        total = self.total
        done = len(self.finished) + len(self.finished_before)
        elapsed = time.monotonic() - self.start
        left = total - done
        per = sum(self.durations) / len(self.durations) if self.durations else None
        eta = (f"ETA {duration(per * left / self.pool.parallel)}" if per is not None and left
               else "ETA ?" if left else "")
        return f"[{done}/{total}] {duration(elapsed)} elapsed{', ' + eta if eta else ''}"

    # ------------------------------------------------------------------ jobs
    def _launch(self, job: Job) -> None:
        record = self.state.record(job.id) or {}
        kept = st.steps_done(job, record)
        record = {"id": job.id, "entry": job.entry, "state": "queued",
                  "steps": [list(s) for s in job.steps],
                  "steps_done": record.get("steps_done", [])[:max(kept, 0)],
                  "log": self.state.log_path(job.id), "shard": f"{self.shard[0]}/{self.shard[1]}"}
        self.state.write_record(job.id, record)
        slot, gpus = self.pool.take(job.gpus)
        os.makedirs(os.path.dirname(record["log"]), exist_ok=True)
        with open(record["log"], "a") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} vidrec study: job {job.id}"
                      f"{' (resumed at step ' + str(kept + 1) + ')' if kept > 0 else ''}"
                      f"{', GPUs ' + ','.join(gpus) if gpus else ''} ===\n")
            log.flush()
            proc = subprocess.Popen(
                worker.command(self.plan.out, job.id),
                stdout=log, stderr=subprocess.STDOUT, env=self.pool.environment(gpus),
                preexec_fn=self.pool.pin(slot))
        self.running[job.id] = (proc, slot, gpus, time.monotonic())
        self.echo(f"{self._progress()} | start {job.id}"
                  f"{' (resumes)' if kept > 0 else ''} -> {record['log']}")

    def _reap(self) -> None:
        for job_id, (proc, slot, gpus, began) in list(self.running.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.running[job_id]
            self.pool.give_back(slot, gpus)
            seconds = time.monotonic() - began
            record = self.state.record(job_id) or {}
            if code == 0 and record.get("state") == st.DONE:
                self.durations.append(seconds)
                self.finished.append((job_id, st.DONE))
                note = report_job.outcome(self.plan.job(job_id))
                self.echo(f"{self._progress()} | done {job_id} in {duration(seconds)}"
                          f"{': ' + note if note else ''}")
                report_job.complete_groups(self.plan, self.state)
                continue
            if record.get("state") != st.FAILED:  # killed, or died before recording it
                record.update(state=st.FAILED, exit=code)
            record["error"] = st.log_tail(record.get("log", self.state.log_path(job_id)))
            self.state.write_record(job_id, record)
            self.finished.append((job_id, st.FAILED))
            self.echo(f"{self._progress()} | FAILED {job_id} (exit {code}) after "
                      f"{duration(seconds)}: {record['error']} -> log {record.get('log')}")

    def _dep_states(self, job: Job) -> list[tuple[str, str]]:
        return [(d, self.status(self.plan.job(d))) for d in job.deps]

    def _block(self, job: Job, failed: list[str]) -> None:
        self.state.write_record(job.id, {"id": job.id, "entry": job.entry, "state": st.BLOCKED,
                                         "steps": [list(s) for s in job.steps],
                                         "steps_done": [], "error": f"needs {', '.join(failed)}"})
        self.finished.append((job.id, st.BLOCKED))
        self.echo(f"{self._progress()} | blocked {job.id}: needs {', '.join(failed)}, which "
                  "failed")

    def _step(self) -> bool:
        """Launches what can run; returns whether anything is left to wait for."""
        waiting = []
        for job in list(self.todo):
            if job.id in self.running or not self.pool.fits(job.gpus):
                continue
            deps = self._dep_states(job)
            pending = {j.id for j in self.todo} | set(self.running)  # retried in this run
            failed = [d for d, s in deps if s in (st.FAILED, st.BLOCKED) and d not in pending]
            if failed:
                self.todo.remove(job)
                self._block(job, failed)
                continue
            if any(s != st.DONE for _, s in deps):
                waiting += [d for d, s in deps if s != st.DONE and d not in self.running
                            and not any(d == j.id for j in self.todo)]
                continue
            if self.status(job) == st.RUNNING:  # another process runs it: wait for it
                waiting.append(job.id)
                continue
            self.todo.remove(job)
            self._launch(job)
        self._reap()
        now = time.monotonic()
        if waiting and not self.running and now - self._said >= WAIT_NOTE_S:
            self._said = now
            self.echo(f"{self._progress()} | waiting for {', '.join(sorted(set(waiting))[:4])}"
                      " (another shard or process)")
        if self.running and now - self._listed >= RUNNING_NOTE_S:
            self._listed = now
            self.echo(f"{self._progress()} | running " + ", ".join(
                f"{j} ({duration(now - r[3])})" for j, r in self.running.items()))
        return bool(self.todo or self.running)

    def run(self) -> int:
        """Runs this shard's jobs, then the report when every run is in. Returns 0 or 1."""
        jobs = [j for j in self.mine if j.id != REPORT]
        self.finished_before = [j for j in jobs if self.status(j) == st.DONE]
        self.todo = [j for j in jobs if j not in self.finished_before]
        self.total = len(jobs)
        for job in self.todo:
            if self.status(job) == st.INTERRUPTED:
                self.echo(f"vidrec study: {job.id} was interrupted: it resumes")
        while self._step():
            time.sleep(POLL_S)
        report_code = report_job.finish(self.plan, self.state, self.pool.environment([]),
                                        self.echo)
        bad = [(j, s) for j, s in self.finished if s != st.DONE]
        self.echo(f"vidrec study: {self.plan.spec.name}: {len(self.finished_before)} done "
                  f"before, {sum(s == st.DONE for _, s in self.finished)} done now, "
                  f"{sum(s == st.FAILED for _, s in bad)} failed, "
                  f"{sum(s == st.BLOCKED for _, s in bad)} blocked, in "
                  f"{duration(time.monotonic() - self.start)}")
        for job_id, s in bad:
            record = self.state.record(job_id) or {}
            self.echo(f"  {s}: {job_id}: {record.get('error') or ''} "
                      f"{'-> log ' + record['log'] if record.get('log') else ''}".rstrip())
        return 1 if bad or report_code else 0
