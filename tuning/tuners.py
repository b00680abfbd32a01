"""Which KerasTuner tuner runs a search, and who runs which trial (alone, as the oracle's
chief or as a worker); every trial reseeded from (--seed, trial id)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import keras_tuner

from trainer import determinism, distribute

if TYPE_CHECKING:
    from tuning.search import TuneConfig

PROJECT_NAME = "search"  # stable, so a restarted search finds its own state


def tuner_role() -> str:
    """``single`` (no distributed tuning), ``chief`` (serves the oracle) or ``worker``.

    KerasTuner's distributed mode is switched on by KERASTUNER_ORACLE_IP,
    KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID (``chief`` for the oracle,
    any other id for a worker that runs trials).

    Raises:
      ValueError: the variables are set only in part, or together with a TF_CONFIG
        cluster.
    """
    names = ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
    given = [n for n in names if os.environ.get(n)]
    if not given:
        return "single"
    if distribute.cluster():
        raise ValueError("TF_CONFIG and KERASTUNER_* are both set: use KERASTUNER_* to run "
                         "trials in parallel (one machine per trial), or TF_CONFIG to run each "
                         "trial across the cluster, not both")
    if len(given) < len(names):
        missing = sorted(set(names) - set(given))
        raise ValueError(f"distributed tuning needs all of {', '.join(names)}; "
                         f"missing {', '.join(missing)}")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def trial_seed(seed: int, trial_id: str) -> int:
    """The seed a trial's model is initialised from: a function of (--seed, trial id), so a
    repeated search gives the same trials and scores (KerasTuner seeds only its oracle,
    keras-tuner #421)."""
    return determinism.derive_seed(seed, "trial", trial_id)


class _ReportsTrials:
    """Mixin: says which tuner runs which trial (progress, and the record of who ran what)
    and reseeds everything from (--seed, trial id) before the trial builds its model."""

    def run_trial(self, trial, *args, **kwargs):
        print(f"vidrec tune: {self.tuner_id} runs trial {trial.trial_id} "
              f"{dict(trial.hyperparameters.values)}", flush=True)
        base = self.hypermodel.base
        determinism.seed_everything(trial_seed(base.seed, trial.trial_id), base.deterministic)
        return super().run_trial(trial, *args, **kwargs)


_TUNER_CLASSES = {name: type(f"Vidrec{cls.__name__}", (_ReportsTrials, cls), {})
                  for name, cls in (("random", keras_tuner.RandomSearch),
                                    ("bayesian", keras_tuner.BayesianOptimization),
                                    ("hyperband", keras_tuner.Hyperband))}


def make_tuner(cfg: "TuneConfig", hypermodel, strategy, directory: str,
                role: str) -> keras_tuner.Tuner:
    objective = keras_tuner.Objective(cfg.objective, direction="max")
    # A worker never wipes the project: the chief's oracle state lives there.
    common = dict(hypermodel=hypermodel, objective=objective, directory=directory,
                  project_name=PROJECT_NAME, overwrite=cfg.fresh and role != "worker",
                  # KerasTuner draws a random seed for a falsy one (`seed or randint`):
                  # shift by one so --seed 0 is reproducible too.
                  seed=cfg.base.seed + 1, distribution_strategy=strategy,
                  max_consecutive_failed_trials=cfg.max_failed_trials)
    if cfg.tuner == "hyperband":
        return _TUNER_CLASSES["hyperband"](max_epochs=cfg.epochs_per_trial, factor=3, **common)
    return _TUNER_CLASSES[cfg.tuner](max_trials=cfg.max_trials, **common)
