"""Models trained under several seeds: seed groups, pairing by seed, environments.

A SEED GROUP (`vidrec.core.run_folder`: GROUP/seeds.json and one run folder per seed) is one
compared model; a plain run folder is a one-seed model (its config's "seed", 0 when it
records none). `load_model` reads either as a `report.runs.load.Run` whose members are its
seeds' runs. Every model of one official split must list the same seeds, so that the
statistics pair the models seed by seed (`report.stats.two_level`); `pair_seeds` refuses other
lists in one line, or with ``--allow-different-seeds`` keeps the seeds all models share
and says which it dropped. Evaluations made in different environments (the eval files'
"environment": versions, CPU, oneDNN, threads) are compared with a warning: bit-identical
reruns hold only within one environment.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any, Sequence

import tensorflow as tf

from report.runs.load import Run, load_run, read_json
from vidrec.core.run_folder import SEEDS, eval_json, join, seed_run_name


def is_seed_group(path: str) -> bool:
    """`path` holds a seeds.json."""
    return tf.io.gfile.exists(join(path.rstrip("/") or path, SEEDS))


def _seed_list(group: str, spec: Any) -> tuple[list[int], list[str]]:
    """(seeds, run folder names) from seeds.json, checked."""
    seeds = spec.get("seeds") if isinstance(spec, dict) else None
    if not isinstance(seeds, list) or not seeds or \
            not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"{join(group, SEEDS)} must hold \"seeds\": a non-empty list of "
                         f"non-negative integers, got {spec!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{join(group, SEEDS)} lists a seed twice: {seeds}")
    names = spec.get("runs")
    if names is None:
        names = [seed_run_name(s) for s in seeds]
    if not isinstance(names, list) or len(names) != len(seeds):
        raise ValueError(f"{join(group, SEEDS)}: \"runs\" must name one run folder per seed "
                         f"({len(seeds)}), got {names!r}")
    return seeds, [str(n) for n in names]


def _member(group: str, seed: int, name: str, split: str) -> Run:
    """The run folder of one seed of `group`, checked to be that seed's."""
    run_dir = join(group, name)
    if not tf.io.gfile.isdir(run_dir):
        raise ValueError(f"seed group {group!r}: {SEEDS} lists seed {seed} but its run folder "
                         f"{run_dir!r} is missing")
    if not tf.io.gfile.exists(join(run_dir, eval_json(split))):
        raise ValueError(f"seed group {group!r}: seed {seed}'s run {run_dir!r} has no "
                         f"{eval_json(split)}; `vidrec evaluate {run_dir} --split {split}` "
                         "makes it")
    run = load_run(run_dir, split)
    recorded = run.config.get("seed")
    if recorded is not None and int(recorded) != seed:
        raise ValueError(f"seed group {group!r}: {run_dir!r} was trained with seed {recorded}, "
                         f"but {SEEDS} lists it as seed {seed}")
    run.seeds = (seed,)
    return run


def load_model(path: str, split: str = "test") -> Run:
    """One compared model: a seed group (GROUP/seeds.json) or a plain run folder.

    A group's name is its folder's name; its members are named "<name> seed<N>".

    Raises:
      ValueError: no such folder, a malformed seeds.json, a listed seed whose folder or
        eval file is missing, or seeds of different models — one line naming it.
    """
    path = path.rstrip("/") or path
    if not is_seed_group(path):
        return load_run(path, split)
    seeds, names = _seed_list(path, read_json(join(path, SEEDS)))
    members = [_member(path, s, n, split) for s, n in zip(seeds, names)]
    first = members[0]
    other = next((m for m in members if (m.model, m.traits) != (first.model, first.traits)),
                 None)
    if other is not None:
        raise ValueError(f"seed group {path!r} mixes models: {first.run_dir} is {first.model}, "
                         f"{other.run_dir} is {other.model}")
    name = posixpath.basename(path)
    for member in members:
        member.name = f"{name} seed{member.seeds[0]}"
    return dataclasses.replace(first, run_dir=path, name=name, seeds=tuple(seeds),
                               members=members)


def restrict(run: Run, seeds: Sequence[int]) -> Run:
    """`run` on `seeds` only (a subset of its own, in its order); the rest are recorded in
    `dropped_seeds`. The model's own evaluations become its first kept seed's."""
    keep = [m for m in run.seed_runs if m.seeds[0] in seeds]
    if len(keep) == len(run.seed_runs):
        return run
    if not keep:
        raise ValueError(f"{run.name} has none of the seeds {list(seeds)}")
    dropped = run.dropped_seeds + tuple(s for s in run.seeds if s not in seeds)
    return dataclasses.replace(keep[0], run_dir=run.run_dir, name=run.name,
                               seeds=tuple(m.seeds[0] for m in keep), members=keep,
                               dropped_seeds=dropped)


def _lists(runs: Sequence[Run]) -> str:
    return ", ".join(f"{r.name} {list(r.seeds)}" for r in runs)


def pair_seeds(runs: Sequence[Run], allow_different: bool = False) -> list[Run]:
    """The runs paired by seed: all on the same seed list.

    Args:
      runs: the models of one official split.
      allow_different: keep the seeds every model has (in the first model's order)
        instead of refusing; `seeding` then says which were dropped.

    Raises:
      ValueError: one line naming the models and their seed lists (different lists, or,
        allowed, none in common).
    """
    runs = list(runs)
    if len({r.seeds for r in runs}) <= 1:
        return runs
    if not allow_different:
        raise ValueError(f"the models were trained under different seed lists, so they cannot "
                         f"be paired by seed: {_lists(runs)}; train them under one list "
                         "(vidrec train --seeds) or pass --allow-different-seeds")
    common = [s for s in runs[0].seeds if all(s in r.seeds for r in runs)]
    if not common:
        raise ValueError(f"the models share no training seed, so none can be paired: "
                         f"{_lists(runs)}")
    return [restrict(r, common) for r in runs]


def seeding(runs: Sequence[Run]) -> dict[str, Any]:
    """summary["seeding"]: {"seeds", "n_seeds", "dropped": {name: [seeds]}, "warning"}."""
    dropped = {r.name: list(r.dropped_seeds) for r in runs if r.dropped_seeds}
    warning = None
    if dropped:
        gone = "; ".join(f"{name}: seed{'s' if len(s) > 1 else ''} "
                         f"{', '.join(map(str, s))}" for name, s in dropped.items())
        warning = (f"WARNING: these models were trained under different seed lists "
                   f"(--allow-different-seeds): paired by the seeds they share, "
                   f"{list(runs[0].seeds)}; dropped {gone}.")
    return {"seeds": list(runs[0].seeds), "n_seeds": len(runs[0].seeds), "dropped": dropped,
            "warning": warning}


def environment_differences(runs: Sequence[Run]) -> list[str]:
    """The "environment" keys whose values differ between the natural evaluations of every
    seed of every run (evaluations recording none, from an older vidrec, are left out)."""
    found = [ev for ev in (m.eval.environment for r in runs for m in r.seed_runs)
             if isinstance(ev, dict)]
    keys = sorted({k for ev in found for k in ev})
    return [k for k in keys if len({repr(ev.get(k)) for ev in found}) > 1]


def environment_words(keys: Sequence[str]) -> str | None:
    """The warning at the top of report.md when environments differ (None when not)."""
    if not keys:
        return None
    return (f"WARNING: these runs were evaluated in different environments (differing: "
            f"{', '.join(keys)}): bit-identical reruns hold only within one environment, so a "
            "difference between runs or seeds may partly be the environment's.")
