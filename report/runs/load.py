"""Load run directories written by `vidrec train` / `vidrec evaluate`.

A run directory holds ``eval_<split>.json`` (and optionally
``eval_<split>_shuffled.json`` / ``eval_<split>_reversed.json``) and a
``train_summary.json``: the names come from `vidrec.core.run_folder` and the eval files'
contents from `vidrec.core.eval_file`, the written contract with the trainer. Whether runs
compare is checked by `report.runs.checks`; the training curves are read by
`report.runs.curves`. All file access goes through `tf.io.gfile`, so ``gs://`` run dirs work.

A compared model is a `Run`: one run folder (one seed: its config's "seed"), or a seed
group (`report.runs.seed_groups`), whose `members` are its seeds' runs and whose own
evaluations, summary and pictures are its first seed's; `Run.correct` gives every seed's
answers.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Any

import numpy as np
import tensorflow as tf

from report.runs.traits import Traits, recorded_traits
from vidrec.core.eval_file import EvalFile, missing_keys
from vidrec.core.run_folder import ORDERS, SUMMARY, eval_json, join


@dataclasses.dataclass
class Predictions:
    """Video-level predictions of one evaluation, in video-id order.

    Attributes:
      ids: str [N] video ids, sorted.
      labels: int [N] true classes.
      predicted: int [N] predicted classes.
      probabilities: float [N, K] class probabilities.
      films: str [N] source film of each video: the unit the statistics resample,
        since clips of one film are not independent.
    """

    ids: list[str]
    labels: np.ndarray
    predicted: np.ndarray
    probabilities: np.ndarray
    films: list[str]

    @property
    def correct(self) -> np.ndarray:
        """bool [N]: top-1 right."""
        return self.labels == self.predicted


@dataclasses.dataclass
class Run:
    """One run directory as the report sees it.

    Attributes:
      run_dir: the directory given on the command line.
      name: display name (run_name from the eval file, made unique).
      model: the model's name ("frame", "pooled", "recurrent", "temporal_conv", ...).
      traits: what the model is (`report.runs.traits`): what the report reasons with.
      evals: order (`run_folder.ORDERS`) -> its eval file; "natural" always.
      summary: parsed train_summary.json or None when absent.
    """

    run_dir: str
    name: str
    model: str
    traits: Traits
    evals: dict[str, EvalFile]
    summary: dict[str, Any] | None
    seeds: tuple[int, ...] = (0,)
    members: list[Run] = dataclasses.field(default_factory=list)
    dropped_seeds: tuple[int, ...] = ()

    @property
    def seed_runs(self) -> list[Run]:
        """One run per seed, in `seeds` order: the members of a seed group, else itself."""
        return self.members or [self]

    def has_order(self, order: str) -> bool:
        """Every seed was evaluated with its frames in `order`."""
        return all(order in m.evals for m in self.seed_runs)

    def correct(self, order: str = "natural") -> np.ndarray:
        """bool [S, N]: top-1 right, per seed and video (video-id order)."""
        return np.stack([m.predictions(order).correct for m in self.seed_runs])

    @property
    def eval(self) -> EvalFile:
        """The natural-order evaluation."""
        return self.evals["natural"]

    @property
    def config(self) -> dict[str, Any]:
        """The run's config as the eval file records it ({} when it does not)."""
        return self.eval.config or {}

    def predictions(self, order: str = "natural") -> Predictions:
        """Video-level predictions of the evaluation in `order`."""
        videos = sorted(self.evals[order].videos, key=lambda v: str(v.id))
        classes = list(self.eval.classes)
        k = len(classes)

        def index(label) -> int:  # the trainer writes class names; plain indices also work
            return classes.index(label) if isinstance(label, str) else int(label)

        probs = np.array([v.probabilities or [np.nan] * k for v in videos],
                         dtype=np.float64).reshape(len(videos), k)
        return Predictions(
            ids=[str(v.id) for v in videos],
            labels=np.array([index(v.label) for v in videos], dtype=np.int64),
            predicted=np.array([index(v.predicted) for v in videos], dtype=np.int64),
            probabilities=probs,
            films=[str(v.film or v.id) for v in videos],
        )

    @property
    def official_split(self) -> Any:
        """The data's official split (HMDB51: 1, 2 or 3), None for other data."""
        return self.eval.official_split

    def _recorded(self, key: str) -> Any:
        """`key` (an `EvalFile` field) as the eval file records it, else as
        train_summary.json does (None: neither)."""
        value = getattr(self.eval, key)
        if value is None and self.summary:
            value = self.summary.get(key)
        return value

    @property
    def val_video_top1(self) -> float | None:
        """Video accuracy on VAL recorded at training time, the mean over seeds: what picks
        the headline's runs (None when a seed did not record it)."""
        if self.members:
            values = [m.val_video_top1 for m in self.members]
            return None if None in values else float(np.mean(values))
        value = self._recorded("val_video_top1")
        return None if value is None else float(value)

    @property
    def recipe(self) -> dict[str, dict[str, Any]] | None:
        """{"temporal": {...}, "shared": {...}} as the trainer recorded it; its shared
        "seed" is the list of seeds compared (runs are paired by seed, not confounded)."""
        recipe = self.eval.recipe or (self.summary or {}).get("recipe")
        if recipe and "seed" in (recipe.get("shared") or {}):
            recipe = {**recipe, "shared": {**recipe["shared"], "seed": list(self.seeds)}}
        return recipe

    def describe(self) -> str:
        """Short architecture label: "LSTM, 128, chunk 8", "frame", "pooled, chunk 8",
        "attention, order-blind, chunk 8" (an order-blind model other than pooling),
        "convlstm, chunk 8" (a spatial model: its name)."""
        cfg = self.config
        if not self.traits.takes_chunks:
            return self.model
        parts = [self.model]
        if self.traits.recurrent and not self.traits.spatial:
            rnn = str(cfg.get("rnn") or "rnn").upper()
            parts = [f"bi-{rnn}" if cfg.get("bidirectional") else rnn]
            if cfg.get("hidden") is not None:
                parts.append(str(cfg["hidden"]))
        elif not self.traits.order_aware and self.model != "pooled":
            parts.append("order-blind")
        if cfg.get("chunk_length") is not None:
            parts.append(f"chunk {cfg['chunk_length']}")
        return ", ".join(parts)

    def train_time_s(self) -> float | None:
        """Seconds the training took (per seed, the mean), as recorded; None when it was not."""
        times = [m._recorded("train_time_s") for m in self.seed_runs]
        return None if None in times else float(np.mean([float(t) for t in times]))

    def params(self) -> int | None:
        """The model's parameter count, as recorded; None when it was not."""
        p = self._recorded("params")
        return None if p is None else int(p)


def read_json(path: str) -> dict[str, Any]:
    """The JSON object in `path` (local or gs://); ValueError naming the file if it is not."""
    with tf.io.gfile.GFile(path, "r") as f:
        try:
            return json.loads(f.read())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e


def load_run(run_dir: str, split: str = "test") -> Run:
    """Read one run directory.

    Args:
      run_dir: local or gs:// run directory.
      split: which evaluation to read (eval_<split>.json).

    Returns:
      The Run, with every order evaluation present.

    Raises:
      ValueError: the directory or its eval_<split>.json is missing or malformed.
    """
    run_dir = run_dir.rstrip("/") or run_dir
    if not tf.io.gfile.isdir(run_dir):
        raise ValueError(f"run dir {run_dir!r} does not exist")
    parsed: dict[str, dict[str, Any]] = {}
    for order in ORDERS:
        path = join(run_dir, eval_json(split, order))
        if tf.io.gfile.exists(path):
            parsed[order] = read_json(path)
        elif order == "natural":
            raise ValueError(f"run {run_dir!r} has no {eval_json(split)}; "
                             f"`vidrec evaluate {run_dir} --split {split}` makes it")
    for order, values in parsed.items():
        missing = missing_keys(values)
        if missing:
            raise ValueError(f"{join(run_dir, eval_json(split, order))} lacks keys {missing}")
    evals = {order: EvalFile.from_dict(values) for order, values in parsed.items()}
    summary_path = join(run_dir, SUMMARY)
    summary = read_json(summary_path) if tf.io.gfile.exists(summary_path) else None
    natural = evals["natural"]
    name = natural.run_name or posixpath.basename(run_dir)
    seed = (natural.config or {}).get("seed")
    return Run(run_dir=run_dir, name=str(name), model=str(natural.model),
               traits=recorded_traits(natural, summary, run_dir), evals=evals,
               summary=summary, seeds=(0 if seed is None else int(seed),))
