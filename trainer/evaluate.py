"""Clip- and video-level evaluation of a run: RUN_DIR/eval_<split>[_<order>].json + PNG.

A clip is one frame (frame model) or one chunk (pooled, recurrent); a video's
prediction is the mean of its clips' softmax vectors.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import weakref
from typing import Any, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema, splits
from trainer import data, models  # noqa: F401  (models registers the vidrec layers)
from trainer.config import ORDERS, EvalProtocol, TrainConfig, load_config

SUMMARY_NAME = "train_summary.json"


def _topk_hits(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    k = min(k, probs.shape[1])
    # Stable ordering: ties broken by class index, as argmax does.
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return (top == labels[:, None]).any(axis=1)


def compute_metrics(clip_probs: np.ndarray, clip_labels: np.ndarray,
                    clip_video_ids: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Clip- and video-level metrics from clip predictions (pure numpy).

    Args:
      clip_probs: `float [N, C]` softmax per clip.
      clip_labels: `int [N]` true class per clip.
      clip_video_ids: `[N]` video id per clip (str or bytes).
      classes: the C class names.

    Returns:
      clip_top1, clip_top5, video_top1, video_top5 (top-min(5, C)),
      mean_class_accuracy, per_class_accuracy {class: float} (video level; NaN-free:
      classes without videos are left out of the mean and reported as null),
      confusion_matrix `int [C, C]` (rows true, cols predicted, video level),
      num_clips, num_videos, videos [{"id", "label", "predicted", "probabilities"}]
      sorted by id.
    """
    probs = np.asarray(clip_probs, dtype=np.float64)
    labels = np.asarray(clip_labels, dtype=np.int64)
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in clip_video_ids]
    c = len(classes)
    if probs.ndim != 2 or probs.shape[1] != c or not len(labels) == len(probs) == len(ids):
        raise ValueError(f"expected probs [N, {c}], labels [N], ids [N]; got {probs.shape}, "
                         f"{labels.shape}, {len(ids)}")
    by_video: dict[str, list[int]] = {}
    for n, vid in enumerate(ids):
        by_video.setdefault(vid, []).append(n)
    videos, v_probs, v_labels = [], [], []
    for vid in sorted(by_video):
        rows = by_video[vid]
        if len(set(labels[rows].tolist())) != 1:
            raise ValueError(f"video {vid!r} has clips with different labels")
        p = probs[rows].mean(axis=0)
        v_probs.append(p)
        v_labels.append(int(labels[rows[0]]))
        videos.append({"id": vid, "label": classes[v_labels[-1]],
                       "predicted": classes[int(np.argmax(p))],
                       "probabilities": [round(float(x), 6) for x in p]})
    v_probs_a, v_labels_a = np.array(v_probs).reshape(-1, c), np.array(v_labels, dtype=np.int64)
    v_pred = v_probs_a.argmax(axis=1)
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (v_labels_a, v_pred), 1)
    per_class = {}
    for k, name in enumerate(classes):
        total = confusion[k].sum()
        per_class[name] = float(confusion[k, k] / total) if total else None
    present = [v for v in per_class.values() if v is not None]
    return {
        "clip_top1": float(_topk_hits(probs, labels, 1).mean()) if len(probs) else 0.0,
        "clip_top5": float(_topk_hits(probs, labels, 5).mean()) if len(probs) else 0.0,
        "video_top1": float((v_pred == v_labels_a).mean()) if len(videos) else 0.0,
        "video_top5": float(_topk_hits(v_probs_a, v_labels_a, 5).mean()) if videos else 0.0,
        "mean_class_accuracy": float(np.mean(present)) if present else 0.0,
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
        "num_clips": int(len(probs)),
        "num_videos": len(videos),
        "videos": videos,
    }


_FORWARD: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class ClipPredictions(NamedTuple):
    """Predictions of `predict_clips`, one row per clip.

    Attributes:
      probs: `float [N, C]` softmax.
      labels: `int [N]` true classes.
      ids: `[N]` video ids.
      frames: `[N]` the scored frame indices of each clip's video (`data.frames_key`).
    """

    probs: np.ndarray
    labels: np.ndarray
    ids: list[str]
    frames: list[str]


def predict_clips(model, examples) -> ClipPredictions:
    """Runs `model` over `data.eval_examples` batches.

    N may be 0 (a worker whose share of a split is empty). Calls the model
    directly (not `predict_on_batch`, which under MirroredStrategy feeds the whole
    batch to every replica).
    """
    forward = _FORWARD.get(model)
    if forward is None:  # one traced function per model, however often it is evaluated
        forward = _FORWARD[model] = tf.function(lambda x: model(x, training=False),
                                                reduce_retracing=True)
    probs, labels, ids, frames = [], [], [], []
    for batch in examples:
        probs.append(forward(batch["inputs"]).numpy())
        labels.append(batch["label"].numpy())
        ids.extend(v.decode() for v in batch["video_id"].numpy())
        frames.extend(v.decode() for v in batch["frames"].numpy())
    if not probs:
        return ClipPredictions(np.zeros((0, model.output_shape[-1])), np.zeros(0, np.int64),
                               ids, frames)
    return ClipPredictions(np.concatenate(probs), np.concatenate(labels), ids, frames)


def film_of(video_id: str) -> str:
    """The source film of a video id ``<class>/<file stem>`` (the conversion's own rule)."""
    class_name, _, stem = video_id.partition("/")
    return splits.film_key(stem, class_name) if stem else video_id


def frame_fingerprints(preds: ClipPredictions, protocol: EvalProtocol,
                       data_sha: str) -> dict[str, str]:
    """Video id -> fingerprint of the frames scored: sha256 of protocol, data, id and indices.

    Raises:
      ValueError: clips of one video disagree about its frame set.
    """
    keys: dict[str, str] = {}
    for vid, frames in zip(preds.ids, preds.frames):
        if keys.setdefault(vid, frames) != frames:
            raise ValueError(f"video {vid!r}: its clips were cut from different frame sets")
    return {vid: hashlib.sha256(f"{protocol.name}|{data_sha}|{vid}|{frames}".encode())
            .hexdigest()[:16] for vid, frames in keys.items()}


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], title: str = "",
                   path: str | None = None) -> bytes:
    """Renders a confusion matrix (rows true, cols predicted) as PNG bytes; writes `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = len(classes)
    size = max(4.0, 0.45 * c + 2)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(c), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(c), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    if c <= 20:
        top = confusion.max() or 1
        for i in range(c):
            for j in range(c):
                ax.text(j, i, int(confusion[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if confusion[i, j] > top / 2 else "black")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = buf.getvalue()
    if path:
        with tf.io.gfile.GFile(path, "wb") as f:
            f.write(png)
    return png


def eval_name(split: str, order: str) -> str:
    """eval_<split> (natural order) or eval_<split>_<order>, without extension."""
    return f"eval_{split}" if order == "natural" else f"eval_{split}_{order}"


def _read_summary(run_dir: str) -> dict[str, Any]:
    path = os.path.join(run_dir, SUMMARY_NAME)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def evaluate_model(model, cfg: TrainConfig, manifest: dict[str, Any], run_dir: str,
                   split: str = "test", order: str = "natural",
                   protocol: EvalProtocol = EvalProtocol(), batch_size: int | None = None,
                   summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluates a loaded `model` of run `cfg` on `split`; writes the JSON and confusion PNG.

    Returns:
      The dict written to RUN_DIR/eval_<split>[_<order>].json: metrics, per-video
      predictions (with source film and frame fingerprint), the protocol with the
      fingerprint of every frame scored, the run's recipe and config.
    """
    if split not in schema.SPLITS:
        raise ValueError(f"--split must be one of {schema.SPLITS}, got {split!r}")
    if order not in ORDERS:
        raise ValueError(f"--order must be one of {ORDERS}, got {order!r}")
    src = data.source_dir(cfg)
    manifest_sha = schema.manifest_sha256(src)
    examples = data.eval_examples(cfg, manifest, split, batch_size or cfg.batch_size, order,
                                  protocol=protocol)
    preds = predict_clips(model, examples)
    if not len(preds.probs):
        raise ValueError(f"no clips to evaluate in the {split!r} split of {src!r}")
    metrics = compute_metrics(preds.probs, preds.labels, preds.ids, manifest["classes"])
    fingerprints = frame_fingerprints(preds, protocol, manifest_sha)
    for video in metrics["videos"]:
        video["film"] = film_of(video["id"])
        video["frames_fingerprint"] = fingerprints[video["id"]]
    summary = summary if summary is not None else _read_summary(run_dir)
    result = {
        "run_dir": run_dir, "run_name": cfg.run_name, "model": cfg.model,
        "encoder": cfg.encoder, "split": split, "order": order,
        "data": {"data_dir": src, "manifest_sha256": manifest_sha, "split": split,
                 "official_split": manifest.get("split"), "num_videos": metrics["num_videos"]},
        "protocol": {**protocol.to_dict(), "fingerprint": hashlib.sha256(json.dumps(
            sorted(fingerprints.items())).encode()).hexdigest()[:16]},
        "classes": list(manifest["classes"]),
    }
    for key in ("clip_top1", "clip_top5", "video_top1", "video_top5", "mean_class_accuracy",
                "per_class_accuracy", "confusion_matrix", "num_clips", "num_videos"):
        result[key] = metrics[key]
    result.update({"params": int(model.count_params()),
                   "train_time_s": summary.get("train_time_s"),
                   "val_video_top1": summary.get("val_video_top1"),
                   "recipe": summary.get("recipe"),
                   "videos": metrics["videos"], "config": cfg.to_dict()})
    name = os.path.join(run_dir, eval_name(split, order))
    schema.write_json(name + ".json", result)
    plot_confusion(np.array(metrics["confusion_matrix"]), manifest["classes"],
                   title=f"{cfg.run_name} {split} {order} video top-1 "
                         f"{metrics['video_top1']:.3f}", path=name + ".png")
    return result


def evaluate_run(run_dir: str, split: str = "test", order: str = "natural",
                 batch_size: int | None = None,
                 protocol: EvalProtocol = EvalProtocol()) -> dict[str, Any]:
    """Evaluates RUN_DIR/model.keras on `split` under `protocol` (see `evaluate_model`).

    Args:
      run_dir: a finished run (config.json, model.keras).
      split: train, val or test.
      order: natural, shuffled or reversed frame order within each chunk.
      batch_size: clips per batch (default: the run's batch size).
      protocol: which frames of each video are scored (default: every frame).
    """
    import keras

    if split not in schema.SPLITS:
        raise ValueError(f"--split must be one of {schema.SPLITS}, got {split!r}")
    if order not in ORDERS:
        raise ValueError(f"--order must be one of {ORDERS}, got {order!r}")
    cfg = load_config(run_dir)
    model_path = os.path.join(run_dir, "model.keras")
    if not tf.io.gfile.exists(model_path):
        raise FileNotFoundError(f"{run_dir!r} has no model.keras: the run did not finish")
    manifest = schema.read_manifest(data.source_dir(cfg))
    model = keras.saving.load_model(model_path, compile=False)
    return evaluate_model(model, cfg, manifest, run_dir, split, order, protocol, batch_size)
