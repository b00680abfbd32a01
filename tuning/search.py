"""`tuning.search`: run a KerasTuner search, tabulate the trials, retrain and evaluate the best.

Layout of the search folder OUT::

    OUT/search_config.json     the resolved trainer config and search space
    OUT/search/                KerasTuner's project (oracle state, trials): resume lives here
    OUT/tensorboard/<trial>/   per-trial scalars + HParams, named as every run's
                               (`trainer.hparams`: trials and runs share one HParams table)
    OUT/trials.csv             every trial: status, values, score, failure reason
    OUT/tensorboard/best/      the retrained best run's logs, beside the trials
    OUT/best/                  the best configuration retrained by `trainer.train.train`,
                               with eval_test.json from `trainer.evaluate.evaluate_run`
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from typing import Any

import keras
import tensorflow as tf

from pipeline import schema
from trainer import data, distribute, evaluate, folders, train
from trainer.config import TrainConfig
from tuning import trials, tuners
from tuning.hypermodel import VIDEO_OBJECTIVE, TemporalHyperModel
from tuning.space import SearchSpace
from vidrec.core import run_folder

TUNERS = ("random", "bayesian", "hyperband")
CONFIG_NAME = "search_config.json"
# Flags a resumed search may change: --max-trials extends (or ends) it, and the trainer's
# device flags change where trials run, not what they are (as for `vidrec train`); --seeds
# says only how the best is retrained.
RESUMABLE_DIFFERENCES = (("max_trials", "seeds")
                         + tuple(f"base.{k}" for k in folders.RESUMABLE_DIFFERENCES))


class SearchConfigError(ValueError):
    """--out holds a search started with other flags (and --fresh is not set)."""


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """How the search runs (the trainer's own flags live in `base`)."""

    base: TrainConfig
    space: SearchSpace
    out: str
    tuner: str = "random"
    max_trials: int = 6
    objective: str = VIDEO_OBJECTIVE
    fresh: bool = False
    retrain_best: bool = True
    max_failed_trials: int = 3
    trial_epochs: int = 0
    seeds: tuple[int, ...] = ()

    @property
    def epochs_per_trial(self) -> int:
        """Epochs of each trial (0 = the base's epochs, the retrained best's budget)."""
        return self.trial_epochs or self.base.epochs

    def __post_init__(self):
        if self.tuner not in TUNERS:
            raise ValueError(f"--tuner must be one of {TUNERS}, got {self.tuner!r}")
        if self.max_trials < 1:
            raise ValueError(f"--max-trials must be >= 1, got {self.max_trials}")
        if self.trial_epochs < 0:
            raise ValueError(f"--trial-epochs must be >= 0, got {self.trial_epochs}")
        if not self.base.kind.takes_chunks:
            raise ValueError(f"vidrec tune searches temporal models; --model {self.base.model} "
                             "makes no sense here")


def search_config(cfg: TuneConfig) -> dict[str, Any]:
    """The resolved search configuration, as OUT/search_config.json records it."""
    return json.loads(json.dumps({
        "tuner": cfg.tuner, "max_trials": cfg.max_trials, "epochs": cfg.base.epochs,
        "trial_epochs": cfg.epochs_per_trial,
        "objective": cfg.objective, "space": dataclasses.asdict(cfg.space),
        "seeds": list(cfg.seeds),
        "base": cfg.base.to_dict()}))  # JSON's own types: tuples become lists


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in d.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resume(cfg: TuneConfig) -> str:
    """Decides what searching into `cfg.out` means: ``new``, ``resume`` or ``fresh``.

    Raises:
      SearchConfigError: OUT holds a search whose saved configuration differs from
        these flags (naming the fields) and --fresh is not set.
    """
    path = f"{cfg.out.rstrip('/')}/{CONFIG_NAME}"
    if cfg.fresh:
        return "fresh"
    if not tf.io.gfile.exists(path):
        return "new"
    with tf.io.gfile.GFile(path) as f:
        saved = _flatten(json.load(f))
    now = _flatten(search_config(cfg))
    shown = run_folder.differences(saved, now, ignore=RESUMABLE_DIFFERENCES)
    if shown:
        raise SearchConfigError(f"--out {cfg.out!r} holds a search started with other flags "
                                f"({shown}); start it with its own flags to resume it, or use "
                                "--fresh to start over")
    return "resume"


def validate(cfg: TuneConfig) -> dict[str, Any]:
    """Checks the data and the ranges before anything runs; returns the manifest."""
    manifest = schema.read_manifest(data.source_dir(cfg.base))
    max_chunk = data.max_chunk_length(manifest, cfg.base.frame_stride)
    cfg.space.check_chunk_limit(max_chunk, cfg.base.frame_stride)
    return manifest


def _copy_tree(src: str, dst: str) -> None:
    """Copies a folder (local or gs://) with tf.io.gfile; nothing when `src` is missing."""
    if not tf.io.gfile.exists(src):
        return
    for folder, _, files in tf.io.gfile.walk(src):
        target = dst + folder[len(src):]
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(f"{folder}/{name}", f"{target}/{name}", overwrite=True)


def _retrain_best(cfg: TuneConfig, best_cfg: TrainConfig, strategy: tf.distribute.Strategy,
                  chief: bool) -> dict[str, Any] | None:
    """Retrains the best configuration into OUT/best (a seed group of `cfg.seeds` when
    given) and evaluates it on test; returns the (first seed's) eval dict on the chief."""
    seeds = cfg.seeds or (best_cfg.seed,)
    print(f"retraining the best configuration into {best_cfg.out} ({cfg.base.epochs} epochs, "
          f"as the base run{f'; seeds {list(cfg.seeds)}' if cfg.seeds else ''})", flush=True)
    if cfg.seeds:
        folders.write_seed_group(best_cfg.out, seeds, overwrite=True)
    evals = []
    for seed in seeds:
        one = folders.seed_config(best_cfg, seed) if cfg.seeds else best_cfg
        if not folders.finished_same(one):
            train.train(one, strategy, overwrite=_replace_best(one))
        else:
            print(f"vidrec tune: {one.out} holds this retrain, finished: kept", flush=True)
        if chief:
            evals.append(evaluate.evaluate_run(one.out, split="test"))
    return evals[0] if evals else None


def _replace_best(best_cfg: TrainConfig) -> bool:
    """Whether OUT/best must be cleared: it holds a finished or another retrain.

    An unfinished retrain of this very configuration resumes instead. Either way
    the decision is printed: the folder is never silently reused.
    """
    try:
        state = folders.check_run_dir(best_cfg)
    except folders.RunDirError as err:
        print(f"vidrec tune: replacing {best_cfg.out}: {err}", flush=True)
        return True
    if state == "resume":
        print(f"vidrec tune: resuming the unfinished retrain in {best_cfg.out}", flush=True)
    return False


def search(cfg: TuneConfig, strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """Runs (or resumes) the search, writes trials.csv, retrains and evaluates the best.

    Two ways to use several machines:

    * KerasTuner's distributed mode (`tuner_role`): the chief serves the oracle
      until every trial is done, then tabulates, retrains and evaluates; each
      worker runs whole trials under its own `strategy` (trial folders and
      TensorBoard logs in the shared OUT) and returns when no trial is left.
    * A TF_CONFIG cluster (`MultiWorkerMirroredStrategy`): every worker runs the
      same search in lock step, each trial trained across the cluster. The
      oracle's choices depend only on the seed and the scores, which are
      all-reduced, so they agree. The chief keeps the search in OUT; the others
      keep a private copy in a temp folder (started from the chief's state, for
      resume) and write nothing to OUT.

    Returns:
      {"rows": trial rows, "best_hp": values, "best_eval": eval dict or None}
      ({"rows": [], "best_hp": None, "best_eval": None} on a KerasTuner worker;
      no eval on a non-chief cluster worker).
    """
    manifest = validate(cfg)
    out = cfg.out.rstrip("/")
    role = tuners.tuner_role()
    chief = distribute.is_chief()
    directory = out
    if chief and role != "worker":
        check_resume(cfg)
        tf.io.gfile.makedirs(out)
        schema.write_json(f"{out}/{CONFIG_NAME}", search_config(cfg))
    if distribute.is_multi_worker(strategy):
        if not chief:
            directory = tempfile.mkdtemp(prefix="vidrec_tune_worker_")
            if not cfg.fresh:
                _copy_tree(f"{out}/{tuners.PROJECT_NAME}", f"{directory}/{tuners.PROJECT_NAME}")
        distribute.all_reduce_sum(strategy, [0.0])  # barrier: copied before the chief writes
    hypermodel = TemporalHyperModel(cfg.base, cfg.space, manifest, strategy, cfg.objective)
    tuner = tuners.make_tuner(cfg, hypermodel, strategy, directory, role)
    if role == "chief":
        print(f"vidrec tune: chief serving the oracle on {os.environ['KERASTUNER_ORACLE_IP']}:"
              f"{os.environ['KERASTUNER_ORACLE_PORT']} until every trial is done", flush=True)
    tuner.search(epochs=cfg.epochs_per_trial,
                 callbacks=[keras.callbacks.TensorBoard(log_dir=f"{directory}/tensorboard")])
    if role == "worker":
        print(f"vidrec tune: {tuner.tuner_id} done: the oracle has no trials left", flush=True)
        return {"rows": [], "best_hp": None, "best_eval": None}
    rows = trials.trial_rows(tuner)
    if chief:
        trials.write_csv(rows, f"{out}/trials.csv")
        print(f"\nbest trials ({cfg.objective}):\n{trials.format_table(rows)}\n"
              f"all trials: {out}/trials.csv")
    done = [r for r in rows if r["score"] is not None]
    if not done:
        raise RuntimeError(f"no trial finished; see the reasons in {out}/trials.csv")
    best_hp = tuner.get_best_hyperparameters(1)[0]
    result = {"rows": rows, "best_hp": dict(best_hp.values), "best_eval": None}
    if cfg.retrain_best:
        best_cfg = hypermodel.trial_config(best_hp, out=f"{out}/best",
                                           log_root=f"{out}/tensorboard")
        result["best_eval"] = _retrain_best(cfg, best_cfg, strategy, chief)
    if directory != out:
        tf.io.gfile.rmtree(directory)
    return result
