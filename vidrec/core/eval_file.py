"""The eval file: RUN_DIR/eval_<split>[_<order>].json, written by the trainer, read by the report.

Part of the run-folder contract (`vidrec.core.run_folder` names the file): `trainer.evaluate`
builds an `EvalFile` and writes `EvalFile.to_dict()`; `report` and `vidrec study` read it
with `EvalFile.from_dict`. The keys are the fields' names, in the order they are written::

    run_dir, run_name, model, kind, encoder, split, order   what was evaluated
    data {data_dir, manifest_sha256, split, official_split, num_videos}
    protocol {name, window, version, description, fingerprint}   which frames were scored
    classes                                                  the class names, label order
    clip_top1 ... num_videos                                 `Scores`: the metrics
    params, train_time_s, val_video_top1, recipe, environment   from the run
    videos [{id, label, predicted, probabilities, film, frames_fingerprint, first_clip}]
    config                                                   the run's TrainConfig

"kind" holds the model's three traits (takes_chunks, order_aware, recurrent), as the
trainer's registry declares them. Eval files of older vidrec versions lack some keys:
`from_dict` reads those as None, and `missing_keys` names what a reader cannot do without.
Top-k accuracy (`topk_hits`, top-`TOP_K`: the "*_top5" metrics) is computed here for both
the trainer and the report.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

TOP_K = 5  # the "*_top5" metrics: top-min(5, classes) accuracy
KIND = "kind"  # the traits' key in an eval file and in a recipe (train_summary.json's too)
REQUIRED = ("classes", "videos", "data", "model")  # what `report` cannot do without
FINGERPRINT = "fingerprint"  # the protocol's key for the fingerprint of every frame scored


def topk_hits(labels: Sequence[int] | np.ndarray, probabilities: np.ndarray, k: int
              ) -> np.ndarray:
    """bool [N]: is the true label among the k most probable classes.

    Ties are broken by class index (a stable sort), as argmax breaks them.

    Args:
      labels: int [N] true class indices.
      probabilities: float [N, K] class scores.
      k: how many top classes count; capped at K.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    k = min(k, probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return np.any(top == labels[:, None], axis=1)


def _fields(cls, values: Mapping[str, Any]) -> dict[str, Any]:
    """The known fields of `cls` present in `values` (unknown keys are left out)."""
    return {f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values}


@dataclasses.dataclass(frozen=True)
class EvalVideo:
    """One test video's prediction: the mean of its clips' softmax vectors.

    Attributes:
      id: the video id, ``<class>/<file stem>``.
      label, predicted: the true and the predicted class (names; plain indices also read).
      probabilities: float [K] the video's class probabilities (None: not recorded).
      film: the source film (what the report's statistics resample).
      frames_fingerprint: sha256 of the frames scored (the same for runs scored alike).
      first_clip: the first clip's frame indices as the model saw them (order ablation).
    """

    id: str
    label: str | int
    predicted: str | int
    probabilities: list[float] | None = None
    film: str | None = None
    frames_fingerprint: str | None = None
    first_clip: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EvalVideo:
        """Raises KeyError without id, label or predicted."""
        return cls(values["id"], values["label"], values["predicted"],
                   **_fields(cls, {k: v for k, v in values.items()
                                   if k not in ("id", "label", "predicted")}))


@dataclasses.dataclass(frozen=True)
class Scores:
    """Clip- and video-level metrics of one evaluation (`trainer.metrics.compute_metrics`).

    Attributes:
      clip_top1, clip_top5, video_top1, video_top5: accuracies (top-min(`TOP_K`, K)).
      mean_class_accuracy: the mean over classes with videos of their video accuracy.
      per_class_accuracy: {class: video accuracy, None for a class without videos}.
      confusion_matrix: int [K, K] video counts, rows true, columns predicted.
      num_clips, num_videos: how many were scored.
      videos: one `EvalVideo` per video, sorted by id.
    """

    clip_top1: float
    clip_top5: float
    video_top1: float
    video_top5: float
    mean_class_accuracy: float
    per_class_accuracy: dict[str, float | None]
    confusion_matrix: list[list[int]]
    num_clips: int
    num_videos: int
    videos: tuple[EvalVideo, ...]

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["videos"] = [v.to_dict() for v in self.videos]
        return out


@dataclasses.dataclass(frozen=True)
class EvalFile:
    """One eval_<split>[_<order>].json; every field None where an older file lacks it.

    Attributes: as the module docstring lists them; `data`, `protocol`, `recipe`,
    `environment` and `config` are plain dicts, `videos` `EvalVideo`s in file order.
    """

    run_dir: str | None = None
    run_name: str | None = None
    model: str | None = None
    kind: dict[str, bool] | None = None
    encoder: str | None = None
    split: str | None = None
    order: str | None = None
    data: dict[str, Any] | None = None
    protocol: dict[str, Any] | None = None
    classes: list[str] | None = None
    clip_top1: float | None = None
    clip_top5: float | None = None
    video_top1: float | None = None
    video_top5: float | None = None
    mean_class_accuracy: float | None = None
    per_class_accuracy: dict[str, float | None] | None = None
    confusion_matrix: list[list[int]] | None = None
    num_clips: int | None = None
    num_videos: int | None = None
    params: int | None = None
    train_time_s: float | None = None
    val_video_top1: float | None = None
    recipe: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    videos: tuple[EvalVideo, ...] | None = None
    config: dict[str, Any] | None = None

    @classmethod
    def build(cls, scores: Scores, **fields: Any) -> EvalFile:
        """An eval file of `scores` and the other fields (what `trainer.evaluate` writes)."""
        metrics = {f.name: getattr(scores, f.name) for f in dataclasses.fields(Scores)}
        return cls(**fields, **metrics)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written: every field, in order (None as null)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.videos is not None:
            out["videos"] = [v.to_dict() for v in self.videos]
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EvalFile:
        """The eval file a parsed JSON object holds; absent keys read as None.

        Raises:
          KeyError: a video without id, label or predicted.
        """
        known = _fields(cls, values)
        if known.get("videos") is not None:
            known["videos"] = tuple(EvalVideo.from_dict(v) for v in known["videos"])
        return cls(**known)

    @property
    def data_split(self) -> str | None:
        """The split evaluated: the file's, else its data's."""
        return self.split if self.split is not None else (self.data or {}).get("split")

    @property
    def official_split(self) -> Any:
        """The data's official split (HMDB51: 1, 2 or 3), None for other data."""
        return (self.data or {}).get("official_split")

    @property
    def data_dir(self) -> str | None:
        """The folder of the data evaluated (a feature cache names its frames' folder)."""
        return (self.data or {}).get("data_dir")

    @property
    def manifest_sha256(self) -> str | None:
        return (self.data or {}).get("manifest_sha256")

    @property
    def protocol_name(self) -> str | None:
        """The evaluation protocol's name (None: an older vidrec recorded none)."""
        return (self.protocol or {}).get("name")

    @property
    def protocol_window(self) -> int:
        """The protocol's window of consecutive frames scored (0: every frame)."""
        return int((self.protocol or {}).get("window") or 0)

    @property
    def protocol_fingerprint(self) -> str | None:
        """The fingerprint of every frame scored, over all videos."""
        return (self.protocol or {}).get(FINGERPRINT)

    @property
    def protocol_settings(self) -> dict[str, Any]:
        """The protocol without its fingerprint: what every run scored alike shares."""
        return {k: v for k, v in (self.protocol or {}).items() if k != FINGERPRINT}

    @property
    def recipe_kind(self) -> Any:
        """The traits as the recipe records them (None when it does not)."""
        return (self.recipe or {}).get(KIND)


def data_section(data_dir: str, manifest_sha256: str, split: str, official_split: Any,
                 num_videos: int) -> dict[str, Any]:
    """The eval file's "data": what was evaluated, by the manifest's hash."""
    return {"data_dir": data_dir, "manifest_sha256": manifest_sha256, "split": split,
            "official_split": official_split, "num_videos": num_videos}


def protocol_section(protocol: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """The eval file's "protocol": the protocol's own fields and the fingerprint of every
    frame scored."""
    return {**protocol, FINGERPRINT: fingerprint}


def missing_keys(values: Mapping[str, Any]) -> list[str]:
    """The `REQUIRED` keys a parsed eval file lacks, in `REQUIRED` order."""
    return [k for k in REQUIRED if k not in values]
