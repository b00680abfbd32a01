"""Load run directories written by `vidrec train` / `vidrec evaluate` and check they compare.

A run directory holds ``eval_<split>.json`` (and optionally
``eval_<split>_shuffled.json`` / ``eval_<split>_reversed.json``), a
``train_summary.json`` and TensorBoard logs under ``train_summary["log_dir"]``.
All file access goes through `tf.io.gfile`, so ``gs://`` run dirs work.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Any

import numpy as np
import tensorflow as tf

ORDERS = ("natural", "shuffled", "reversed")
MULTI_FRAME_MODELS = ("pooled", "recurrent")
SUMMARY_NAME = "train_summary.json"
# Keras names the accuracy metric after what was passed to compile().
ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "acc")


def eval_name(split: str, order: str = "natural") -> str:
    """File name of an evaluation: eval_test.json, eval_test_shuffled.json, ..."""
    return f"eval_{split}.json" if order == "natural" else f"eval_{split}_{order}.json"


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
      model: "frame", "pooled" or "recurrent".
      evals: order ("natural", "shuffled", "reversed") -> parsed eval json; "natural" always.
      summary: parsed train_summary.json or None when absent.
    """

    run_dir: str
    name: str
    model: str
    evals: dict[str, dict[str, Any]]
    summary: dict[str, Any] | None

    @property
    def eval(self) -> dict[str, Any]:
        """The natural-order evaluation."""
        return self.evals["natural"]

    @property
    def config(self) -> dict[str, Any]:
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

    @property
    def val_video_top1(self) -> float | None:
        """Video accuracy on VAL recorded at training time: what picks the headline's runs."""
        value = self.eval.get("val_video_top1")
        if value is None and self.summary:
            value = self.summary.get("val_video_top1")
        return None if value is None else float(value)

    @property
    def recipe(self) -> dict[str, dict[str, Any]] | None:
        """{"temporal": {...}, "shared": {...}} as the trainer recorded it."""
        return self.eval.get("recipe") or (self.summary or {}).get("recipe")

    def describe(self) -> str:
        """Short architecture label: "LSTM, 128, chunk 8", "frame", "pooled, chunk 8"."""
        cfg = self.config
        if self.model == "pooled" and cfg.get("chunk_length") is not None:
            return f"pooled, chunk {cfg['chunk_length']}"
        if self.model != "recurrent":
            return self.model
        rnn = str(cfg.get("rnn", "rnn")).upper()
        if cfg.get("bidirectional"):
            rnn = f"bi-{rnn}"
        parts = [rnn]
        if cfg.get("hidden") is not None:
            parts.append(str(cfg["hidden"]))
        if cfg.get("chunk_length") is not None:
            parts.append(f"chunk {cfg['chunk_length']}")
        return ", ".join(parts)

    def train_time_s(self) -> float | None:
        t = self.eval.get("train_time_s")
        if t is None and self.summary:
            t = self.summary.get("train_time_s")
        return None if t is None else float(t)

    def params(self) -> int | None:
        p = self.eval.get("params")
        if p is None and self.summary:
            p = self.summary.get("params")
        return None if p is None else int(p)


def _read_json(path: str) -> dict[str, Any]:
    with tf.io.gfile.GFile(path, "r") as f:
        try:
            return json.loads(f.read())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e


def _join(*parts: str) -> str:
    # posixpath keeps gs:// URLs intact; os.path.join would too on POSIX but not on Windows.
    return posixpath.join(*parts)


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
        path = _join(run_dir, eval_name(split, order))
        if tf.io.gfile.exists(path):
            evals[order] = _read_json(path)
        elif order == "natural":
            raise ValueError(f"run {run_dir!r} has no {eval_name(split)}; "
                             f"`vidrec evaluate {run_dir} --split {split}` makes it")
    for order, ev in evals.items():
        missing = [k for k in ("classes", "videos", "data", "model") if k not in ev]
        if missing:
            raise ValueError(f"{_join(run_dir, eval_name(split, order))} lacks keys {missing}")
    summary_path = _join(run_dir, SUMMARY_NAME)
    summary = _read_json(summary_path) if tf.io.gfile.exists(summary_path) else None
    name = evals["natural"].get("run_name") or posixpath.basename(run_dir)
    return Run(run_dir=run_dir, name=str(name), model=str(evals["natural"]["model"]),
               evals=evals, summary=summary)


def _data_key(ev: dict[str, Any], key: str) -> Any:
    if key == "split":
        return ev.get("split", (ev.get("data") or {}).get("split"))
    return (ev.get("data") or {}).get(key)


def _protocol(ev: dict[str, Any]) -> str | None:
    return (ev.get("protocol") or {}).get("name")


def _fingerprints(ev: dict[str, Any]) -> dict[str, Any]:
    return {str(v["id"]): v.get("frames_fingerprint") for v in ev["videos"]}


def validate_same_frames(runs: list[Run], allow_mismatch: bool = False) -> list[str]:
    """Refuse runs not scored on the same frames: same protocol, same frames per video.

    Every evaluation (each order) of every run is checked against the first run's
    natural one. With `allow_mismatch` the differences are returned as warnings
    (the report prints them at its top) instead of raised.

    Raises:
      ValueError: one line naming both runs and what differs.
    """
    ref = runs[0]
    problems = []
    for run in runs:
        for order, ev in run.evals.items():
            where = f"{run.run_dir} ({order})" if order != "natural" else run.run_dir
            a, b = _protocol(ref.eval), _protocol(ev)
            if a is None or b is None:
                missing = ref.run_dir if a is None else where
                problems.append(f"{missing} records no evaluation protocol (evaluated by an "
                                f"older vidrec): run `vidrec evaluate` on it again")
            elif a != b:
                problems.append(f"runs were evaluated under different protocols: {a!r} in "
                                f"{ref.run_dir} but {b!r} in {where}")
            else:
                mine, theirs = _fingerprints(ref.eval), _fingerprints(ev)
                differ = sorted(v for v in mine if mine[v] != theirs.get(v))
                if differ:
                    problems.append(f"runs were scored on different frames: {len(differ)} "
                                    f"videos differ between {ref.run_dir} and {where} "
                                    f"(e.g. {differ[0]})")
            if problems and not allow_mismatch:
                raise ValueError(problems[0])
    return sorted(set(problems))


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
    ref = runs[0]
    ref_ids = [v["id"] for v in sorted(ref.eval["videos"], key=lambda v: str(v["id"]))]
    for run in runs:
        for order, ev in run.evals.items():
            where = f"{run.run_dir} ({order})" if order != "natural" else run.run_dir
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
            ids = [v["id"] for v in sorted(ev["videos"], key=lambda v: str(v["id"]))]
            if ids != ref_ids:
                only_a = sorted(set(map(str, ref_ids)) - set(map(str, ids)))[:3]
                only_b = sorted(set(map(str, ids)) - set(map(str, ref_ids)))[:3]
                raise ValueError(
                    f"runs were evaluated on different videos: {ref.run_dir} has "
                    f"{len(ref_ids)} videos, {where} has {len(ids)} "
                    f"(only in the first: {only_a}, only in the second: {only_b})")


def unique_names(runs: list[Run]) -> None:
    """Make display names unique in place by appending the run dir when names clash."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.name] = seen.get(run.name, 0) + 1
    for run in runs:
        if seen[run.name] > 1:
            run.name = f"{run.name} ({run.run_dir})"


Curves = dict[str, tuple[list[int], list[float]]]


def _tensorboard_dir_scalars(directory: str) -> dict[str, tuple[list[int], list[float]]]:
    """epoch_* scalars of one TensorBoard run directory: name -> (epochs, values)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(directory, size_guidance={ea.TENSORS: 0, ea.SCALARS: 0})
    acc.Reload()
    out: dict[str, tuple[list[int], list[float]]] = {}
    tags = acc.Tags()
    for tag in tags.get("tensors", []):
        if tag.startswith("epoch_"):
            events = acc.Tensors(tag)
            out[tag[len("epoch_"):]] = ([int(e.step) for e in events],
                                        [float(tf.make_ndarray(e.tensor_proto)) for e in events])
    for tag in tags.get("scalars", []):  # summaries written by TF1-style writers
        if tag.startswith("epoch_") and tag[len("epoch_"):] not in out:
            events = acc.Scalars(tag)
            out[tag[len("epoch_"):]] = ([int(e.step) for e in events],
                                        [float(e.value) for e in events])
    return out


def _has_events(directory: str) -> bool:
    return tf.io.gfile.isdir(directory) and bool(
        tf.io.gfile.glob(_join(directory, "events.out.tfevents*")))


def read_curves(run: Run) -> tuple[Curves, str]:
    """Per-epoch training curves of a run.

    Reads the Keras TensorBoard layout ``<log_dir>/train`` and
    ``<log_dir>/validation``; falls back to train_summary.json's history.

    Returns:
      (curves, source): curves maps "loss", "accuracy", "val_loss",
      "val_accuracy" (whichever exist) to (epochs, values); source is
      "tensorboard", "history" or "none".
    """
    summary = run.summary or {}
    log_dir = summary.get("log_dir")
    if log_dir:
        candidates = [log_dir]
        if not log_dir.startswith("gs://") and not posixpath.isabs(log_dir):
            candidates.append(_join(run.run_dir, log_dir))
        for base in candidates:
            curves: Curves = {}
            for sub, prefix in (("train", ""), ("validation", "val_")):
                if _has_events(_join(base, sub)):
                    for k, v in _tensorboard_dir_scalars(_join(base, sub)).items():
                        curves[prefix + k] = v
            if curves:
                return _normalise(curves), "tensorboard"
    history = summary.get("history") or {}
    curves = {k: (list(range(len(v))), [float(x) for x in v])
              for k, v in history.items() if isinstance(v, list)}
    return (_normalise(curves), "history") if curves else ({}, "none")


def _normalise(curves: Curves) -> Curves:
    """Rename the accuracy metric to "accuracy"/"val_accuracy" whatever Keras called it."""
    out = dict(curves)
    for prefix in ("", "val_"):
        if prefix + "accuracy" in out:
            continue
        for key in ACCURACY_KEYS[1:]:
            if prefix + key in out:
                out[prefix + "accuracy"] = out[prefix + key]
                break
    return out
