"""Load run directories written by `vidrec train` / `vidrec evaluate` and check they compare.

A run directory holds ``eval_<split>.json`` (and optionally
``eval_<split>_shuffled.json`` / ``eval_<split>_reversed.json``) and a
``train_summary.json``: the names come from `vidrec.core.run_folder`, the written
contract with the trainer. The training curves are read by `report.curves`.
All file access goes through `tf.io.gfile`, so ``gs://`` run dirs work.

A compared model is a `Run`: one run folder (one seed: its config's "seed"), or a seed
group (`report.seeds`), whose `members` are its seeds' runs and whose own evaluations,
summary and pictures are its first seed's; `Run.correct` gives every seed's answers.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Any, Iterator

import numpy as np
import tensorflow as tf

from report.kinds import Kind, recorded_kind
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
      kind: what the model is (`report.kinds`): what the report reasons with.
      evals: order ("natural", "shuffled", "reversed") -> parsed eval json; "natural" always.
      summary: parsed train_summary.json or None when absent.
    """

    run_dir: str
    name: str
    model: str
    kind: Kind
    evals: dict[str, dict[str, Any]]
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
    def eval(self) -> dict[str, Any]:
        """The natural-order evaluation."""
        return self.evals["natural"]

    @property
    def config(self) -> dict[str, Any]:
        """The run's config as the eval file records it ({} when it does not)."""
        return self.eval.get("config") or {}

    def predictions(self, order: str = "natural") -> Predictions:
        """Video-level predictions of the evaluation in `order`."""
        videos = sorted(self.evals[order]["videos"], key=lambda v: str(v["id"]))
        classes = list(self.eval["classes"])
        k = len(classes)

        def index(label) -> int:  # the trainer writes class names; plain indices also work
            return classes.index(label) if isinstance(label, str) else int(label)

        probs = np.array([v.get("probabilities") or [np.nan] * k for v in videos],
                         dtype=np.float64).reshape(len(videos), k)
        return Predictions(
            ids=[str(v["id"]) for v in videos],
            labels=np.array([index(v["label"]) for v in videos], dtype=np.int64),
            predicted=np.array([index(v["predicted"]) for v in videos], dtype=np.int64),
            probabilities=probs,
            films=[str(v.get("film") or v["id"]) for v in videos],
        )

    @property
    def official_split(self) -> Any:
        """The data's official split (HMDB51: 1, 2 or 3), None for other data."""
        return (self.eval.get("data") or {}).get("official_split")

    def _recorded(self, key: str) -> Any:
        """`key` as the eval file records it, else as train_summary.json does (None: neither)."""
        value = self.eval.get(key)
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
        recipe = self.eval.get("recipe") or (self.summary or {}).get("recipe")
        if recipe and "seed" in (recipe.get("shared") or {}):
            recipe = {**recipe, "shared": {**recipe["shared"], "seed": list(self.seeds)}}
        return recipe

    def describe(self) -> str:
        """Short architecture label: "LSTM, 128, chunk 8", "frame", "pooled, chunk 8",
        "attention, order-blind, chunk 8" (an order-blind model other than pooling)."""
        cfg = self.config
        if not self.kind.takes_chunks:
            return self.model
        parts = [self.model]
        if self.kind.recurrent:
            rnn = str(cfg.get("rnn") or "rnn").upper()
            parts = [f"bi-{rnn}" if cfg.get("bidirectional") else rnn]
            if cfg.get("hidden") is not None:
                parts.append(str(cfg["hidden"]))
        elif not self.kind.order_aware and self.model != "pooled":
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
    evals: dict[str, dict[str, Any]] = {}
    for order in ORDERS:
        path = join(run_dir, eval_json(split, order))
        if tf.io.gfile.exists(path):
            evals[order] = read_json(path)
        elif order == "natural":
            raise ValueError(f"run {run_dir!r} has no {eval_json(split)}; "
                             f"`vidrec evaluate {run_dir} --split {split}` makes it")
    for order, ev in evals.items():
        missing = [k for k in ("classes", "videos", "data", "model") if k not in ev]
        if missing:
            raise ValueError(f"{join(run_dir, eval_json(split, order))} lacks keys {missing}")
    summary_path = join(run_dir, SUMMARY)
    summary = read_json(summary_path) if tf.io.gfile.exists(summary_path) else None
    name = evals["natural"].get("run_name") or posixpath.basename(run_dir)
    seed = (evals["natural"].get("config") or {}).get("seed")
    return Run(run_dir=run_dir, name=str(name), model=str(evals["natural"]["model"]),
               kind=recorded_kind(evals["natural"], summary, run_dir), evals=evals,
               summary=summary, seeds=(0 if seed is None else int(seed),))


def _data_key(ev: dict[str, Any], key: str) -> Any:
    if key == "split":
        return ev.get("split", (ev.get("data") or {}).get("split"))
    return (ev.get("data") or {}).get(key)


def _protocol(ev: dict[str, Any]) -> str | None:
    return (ev.get("protocol") or {}).get("name")


def _fingerprints(ev: dict[str, Any]) -> dict[str, Any]:
    return {str(v["id"]): v.get("frames_fingerprint") for v in ev["videos"]}


def _evaluations(runs: list[Run]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, eval) for every evaluation of every seed of every run; `where` names the run
    dir (a seed's own, in a seed group) and order."""
    for member in (m for run in runs for m in run.seed_runs):
        for order, ev in member.evals.items():
            yield (f"{member.run_dir} ({order})" if order != "natural" else member.run_dir), ev


def _video_ids(ev: dict[str, Any]) -> list[Any]:
    return [v["id"] for v in sorted(ev["videos"], key=lambda v: str(v["id"]))]


def _frames_problem(ref: Run, ev: dict[str, Any], where: str) -> str | None:
    """How `ev` was not scored like `ref`'s natural evaluation (protocol, frames), or None."""
    a, b = _protocol(ref.eval), _protocol(ev)
    if a is None or b is None:
        missing = ref.run_dir if a is None else where
        return (f"{missing} records no evaluation protocol (evaluated by an "
                f"older vidrec): run `vidrec evaluate` on it again")
    if a != b:
        return (f"runs were evaluated under different protocols: {a!r} in "
                f"{ref.run_dir} but {b!r} in {where}")
    mine, theirs = _fingerprints(ref.eval), _fingerprints(ev)
    differ = sorted(v for v in mine if mine[v] != theirs.get(v))
    if differ:
        return (f"runs were scored on different frames: {len(differ)} "
                f"videos differ between {ref.run_dir} and {where} (e.g. {differ[0]})")
    return None


def validate_same_frames(runs: list[Run], allow_mismatch: bool = False) -> list[str]:
    """Refuse runs not scored on the same frames: same protocol, same frames per video.

    Every evaluation (each order) of every seed of every run is checked against the first run's
    natural one. With `allow_mismatch` the differences are returned as warnings
    (the report prints them at its top) instead of raised.

    Raises:
      ValueError: one line naming both runs and what differs.
    """
    problems = []
    for where, ev in _evaluations(runs):
        problem = _frames_problem(runs[0], ev, where)
        if problem is not None:
            if not allow_mismatch:
                raise ValueError(problem)
            problems.append(problem)
    return sorted(set(problems))


def _check_same_data(ref: Run, ev: dict[str, Any], where: str) -> None:
    """Raises ValueError when `ev` is not on `ref`'s data, classes and videos."""
    for key in ("manifest_sha256", "split"):
        a, b = _data_key(ref.eval, key), _data_key(ev, key)
        if a != b:
            raise ValueError(f"runs were evaluated on different data: {key} is {a!r} "
                             f"in {ref.run_dir} but {b!r} in {where}")
    if list(ev["classes"]) != list(ref.eval["classes"]):
        ref_classes = ref.eval["classes"]
        raise ValueError(f"runs have different class lists: {ref.run_dir} has "
                         f"{len(ref_classes)} classes {ref_classes[:5]}..., "
                         f"{where} has {len(ev['classes'])} {ev['classes'][:5]}...")
    ref_ids, ids = _video_ids(ref.eval), _video_ids(ev)
    if ids != ref_ids:
        only_a = sorted(set(map(str, ref_ids)) - set(map(str, ids)))[:3]
        only_b = sorted(set(map(str, ids)) - set(map(str, ref_ids)))[:3]
        raise ValueError(
            f"runs were evaluated on different videos: {ref.run_dir} has "
            f"{len(ref_ids)} videos, {where} has {len(ids)} "
            f"(only in the first: {only_a}, only in the second: {only_b})")


def validate_same_data(runs: list[Run]) -> None:
    """Refuse runs that were not evaluated on exactly the same videos.

    Checks manifest hash, split, class list and the video id list of every
    evaluation (natural, shuffled, reversed) against the first run's natural one.

    Raises:
      ValueError: naming the two runs and the differing value.
    """
    if not runs:
        raise ValueError("no runs to compare: give at least one RUN_DIR")
    dirs = [r.run_dir for r in runs]
    twice = sorted({d for d in dirs if dirs.count(d) > 1})
    if twice:
        raise ValueError(f"run dirs given more than once: {twice}")
    for where, ev in _evaluations(runs):
        _check_same_data(runs[0], ev, where)


def unique_names(runs: list[Run]) -> None:
    """Make display names unique in place by appending the run dir when names clash."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.name] = seen.get(run.name, 0) + 1
    for run in runs:
        if seen[run.name] > 1:
            run.name = f"{run.name} ({run.run_dir})"
