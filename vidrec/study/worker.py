"""One job of a study in one process: `python -m vidrec.study.worker OUT JOB_ID`.

The runner writes the job's record (its steps) and starts this with stdout and
stderr going to the job's log. Each step is one `vidrec` command run in this
process (TensorFlow starts once per job); a step is recorded done as soon as it
returns 0, so a killed job resumes at its first unfinished step, and that
command's own resume rules (a run folder's backup, a conversion's finished
shards) continue it. The process ends when the runner that started it is gone
(a `kill -9` of the study takes its jobs with it).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import traceback

from vidrec.study import state as study_state

MODULE = "vidrec.study.worker"  # what the runner starts: `python -m MODULE OUT JOB_ID`


def command(out: str, job_id: str) -> list[str]:
    """The command line that runs one job."""
    return [sys.executable, "-m", MODULE, out, job_id]


def _exit_with_parent(every_s: float = 1.0) -> None:
    """Ends this process when its parent (the study's runner) has gone."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(137)

    threading.Thread(target=watch, daemon=True, name="study-parent-watch").start()


def _run_step(argv: list[str]) -> int:
    from vidrec import cli

    print(f"\n$ vidrec {' '.join(argv)}", flush=True)
    try:
        return cli.main(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except Exception:  # noqa: BLE001 - the traceback goes to the job's log, the job fails
        traceback.print_exc()
        return 1


def run_job(out: str, job_id: str) -> int:
    """Runs the job's steps not done yet; returns the first failing exit status, else 0."""
    state = study_state.State(out)
    record = state.record(job_id)
    if record is None:
        print(f"vidrec study worker: no record for job {job_id!r} in {state.root}",
              file=sys.stderr)
        return 2
    start = time.time()
    record.update(state=study_state.RUNNING, pid=os.getpid(), host=socket.gethostname(),
                  started=round(start, 3), exit=None, error=None)
    state.write_record(job_id, record)
    steps = [list(s) for s in record["steps"]]
    for i, argv in enumerate(steps):
        if i < len(record["steps_done"]):
            continue
        state.event(job_id, i, "start", argv=argv)
        code = _run_step(argv)
        sys.stdout.flush()
        sys.stderr.flush()
        if code:
            record.update(state=study_state.FAILED, exit=code,
                          seconds=round(time.time() - start, 1))
            state.write_record(job_id, record)
            state.event(job_id, i, "failed", exit=code)
            return code
        record["steps_done"].append(argv)
        state.write_record(job_id, record)
        state.event(job_id, i, "done")
    record.update(state=study_state.DONE, finished=round(time.time(), 3),
                  seconds=round(time.time() - start, 1))
    state.write_record(job_id, record)
    return 0


def main(argv: list[str] | None = None) -> int:
    out, job_id = (argv if argv is not None else sys.argv[1:])[:2]
    _exit_with_parent()
    return run_job(out, job_id)


if __name__ == "__main__":
    sys.exit(main())
