"""What one machine lends the study's jobs: GPUs pinned by CUDA_VISIBLE_DEVICES, or cores.

With GPUs, a job gets as many as it asks for (`gpus` in its spec table; 1 by
default), never shared; with none, `--parallel N` shares the cores out: each of
the N slots is pinned (CPU affinity) to its own cores, its TensorFlow thread pools
kept at the whole machine's size so that its numbers do not depend on N.
"""

from __future__ import annotations

import os
import shutil
import subprocess


def gpu_ids() -> list[str]:
    """The GPUs this machine shows: CUDA_VISIBLE_DEVICES where set, else nvidia-smi's."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def cpu_ids() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform: no pinning
        return []


class Pool:
    """Hands out GPUs (by job) or core sets (by slot) to the jobs running at once."""

    def __init__(self, parallel: int, gpus: list[str] | None = None,
                 cpus: list[int] | None = None):
        self.parallel = parallel
        self.gpus = gpu_ids() if gpus is None else gpus
        self.free_gpus = list(self.gpus)
        cpus = cpu_ids() if cpus is None else cpus
        self.slots: list[set[int] | None]
        if parallel == 1 or not cpus:
            self.slots = [None] * parallel
        else:
            k = max(1, len(cpus) // parallel)
            self.slots = [{cpus[(i * k + j) % len(cpus)] for j in range(k)}
                          for i in range(parallel)]
        self.free_slots = list(range(parallel))

    def describe(self) -> str:
        if self.gpus:
            return f"{len(self.gpus)} GPU(s) {','.join(self.gpus)}"
        if self.slots[0] is None:
            return "all cores"
        return "cores " + " | ".join(",".join(map(str, sorted(s))) for s in self.slots)

    def needs(self, gpus: int) -> int:
        """The GPUs a job asking for `gpus` takes here (0 on a machine without)."""
        return min(gpus, len(self.gpus)) if self.gpus and gpus else 0

    def fits(self, gpus: int) -> bool:
        return bool(self.free_slots) and len(self.free_gpus) >= self.needs(gpus)

    def take(self, gpus: int) -> tuple[int, list[str]]:
        """(slot, GPU ids) for a job; `fits` must be true."""
        slot = self.free_slots.pop(0)
        n = self.needs(gpus)
        taken, self.free_gpus = self.free_gpus[:n], self.free_gpus[n:]
        return slot, taken

    def give_back(self, slot: int, gpus: list[str]) -> None:
        self.free_slots.append(slot)
        self.free_slots.sort()
        self.free_gpus = sorted(self.free_gpus + gpus, key=self.gpus.index)

    def environment(self, gpus: list[str]) -> dict[str, str]:
        """A job's environment: its GPUs; on a shared-out CPU, the thread pools of a whole
        machine (see `pin`)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus) if gpus else "-1"
        elif self.slots[0] is not None:
            threads = str(len(cpu_ids()))
            env.setdefault("TF_NUM_INTRAOP_THREADS", threads)
            env.setdefault("TF_NUM_INTEROP_THREADS", threads)
        return env

    def pin(self, slot: int):
        """A `preexec_fn` pinning the job to its slot's cores (None: no pinning).

        TensorFlow sizes its thread pools from the affinity, and its oneDNN kernels
        split work (and round) by the pool's size: `environment` keeps the pools at the
        whole machine's size, so a job gives the same numbers whatever --parallel (tested:
        one core with pools of 2 trains the same weights as two cores; with pools of 1
        it does not).
        """
        cores = self.slots[slot]
        if cores is None or self.gpus:
            return None
        return lambda: os.sched_setaffinity(0, cores)
