"""What a study records in OUT/study/, shared by the runner, the workers and --status::

    OUT/study/
      spec.json                the spec as run (after --set)
      jobs/<job id>.json       one record per job: state, pid and host, steps done, times, log
      logs/<job id>.log        everything the job's commands printed (every attempt appended)
      events.jsonl             one line per step started, finished or failed (all processes)
      report.claim             held by the shard that writes the report

A job is *done* when its record says so and its steps are the plan's; a record
left `running` by a process that is gone (killed) is *interrupted* and resumes.
Records are replaced atomically, events appended line by line, so several
processes (--parallel workers, --shard machines on one bucket mount) share it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from vidrec.study.plan import Job

FOLDER = "study"
# Job states in a record, and what --status adds: left (no record), interrupted, blocked.
RUNNING, DONE, FAILED, BLOCKED = "running", "done", "failed", "blocked"
LEFT, INTERRUPTED = "left", "interrupted"


class State:
    """The OUT/study/ folder of one study."""

    def __init__(self, out: str):
        self.root = f"{out.rstrip('/')}/{FOLDER}"

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def record_path(self, job_id: str) -> str:
        return self.path("jobs", f"{job_id}.json")

    def log_path(self, job_id: str) -> str:
        return self.path("logs", f"{job_id}.log")

    def record(self, job_id: str) -> dict[str, Any] | None:
        try:
            with open(self.record_path(job_id)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def write_record(self, job_id: str, record: dict[str, Any]) -> None:
        write_json(self.record_path(job_id), record)

    def remove_record(self, job_id: str) -> None:
        try:
            os.remove(self.record_path(job_id))
        except FileNotFoundError:
            pass

    def event(self, job_id: str, step: int, kind: str, **extra: Any) -> None:
        """Appends one event line: `kind` is start, done or failed."""
        line = json.dumps({"time": round(time.time(), 3), "job": job_id, "step": step,
                           "event": kind, "host": socket.gethostname(), "pid": os.getpid(),
                           **extra})
        os.makedirs(self.root, exist_ok=True)
        with open(self.path("events.jsonl"), "a") as f:
            f.write(line + "\n")

    def events(self) -> list[dict[str, Any]]:
        try:
            with open(self.path("events.jsonl")) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []


def write_json(path: str, payload: Any) -> None:
    """Writes JSON through a temporary file and a rename: readers never see half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{socket.gethostname()}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any]:
    """The JSON object at `path`, or {} when there is none (or half of one)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {}


def same_host(record: dict[str, Any]) -> bool:
    return record.get("host") == socket.gethostname()


def alive(record: dict[str, Any]) -> bool:
    """Whether the process a `running` record names still runs (another host: assumed)."""
    if not same_host(record):
        return True
    pid = int(record.get("pid") or 0)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"vidrec.study.worker" in f.read()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def steps_done(job: Job, record: dict[str, Any] | None) -> int:
    """How many of the job's steps the record says are done (-1: it did other steps)."""
    done = [tuple(s) for s in (record or {}).get("steps_done", [])]
    if done != list(job.steps[:len(done)]):
        return -1
    return len(done)


def status(job: Job, record: dict[str, Any] | None) -> str:
    """left, running, interrupted, failed, blocked or done."""
    if record is None:
        return LEFT
    state = record.get("state")
    if state == DONE and steps_done(job, record) == len(job.steps):
        return DONE
    if state == RUNNING:
        return RUNNING if alive(record) else INTERRUPTED
    if state in (FAILED, BLOCKED):
        return state
    return LEFT if state == DONE else INTERRUPTED  # done, but the plan added steps


def log_tail(path: str, lines: int = 1) -> str:
    """The last `lines` non-empty lines of a log (its error, mostly)."""
    try:
        with open(path, errors="replace") as f:
            text = [ln.rstrip() for ln in f.readlines()[-200:] if ln.strip()]
    except FileNotFoundError:
        return ""
    errors = [ln for ln in text if "error" in ln.lower() or "Error" in ln]
    return " | ".join((errors or text)[-lines:])
