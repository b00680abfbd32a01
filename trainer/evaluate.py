"""Clip- and video-level evaluation of a run: RUN_DIR/eval_<split>[_<order>].json + PNG.

A clip is one frame (frame model) or one chunk (pooled, recurrent); a video's
prediction is the mean of its clips' softmax vectors. The eval file is a
`vidrec.core.eval_file.EvalFile`, the contract the report reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import weakref
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema, splits
from trainer import data, determinism, metrics, models, summaries  # noqa: F401  (models registers the vidrec layers)
from trainer.config import ORDERS, EvalProtocol, TrainConfig, load_config
from trainer.hparams import eval_metrics
from trainer.pictures import eval_pictures
from vidrec.core import run_folder
from vidrec.core.eval_file import EvalFile, data_section, protocol_section
from vidrec.core.progress import Progress

_FORWARD: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class ClipPredictions(NamedTuple):
    """Predictions of `predict_clips`, one row per clip.

    Attributes:
      probs: `float [N, C]` softmax.
      labels: `int [N]` true classes.
      ids: `[N]` video ids.
      frames: `[N]` the scored frame indices of each clip's video (`sampling.frames_key`).
      clips: `[N]` each clip's frame indices in the order the model saw them.
    """

    probs: np.ndarray
    labels: np.ndarray
    ids: list[str]
    frames: list[str]
    clips: list[list[int]]


def predict_clips(model, examples, progress: Progress | None = None) -> ClipPredictions:
    """Runs `model` over `data.eval_examples` batches.

    N may be 0 (a worker whose share of a split is empty). Calls the model
    directly (not `predict_on_batch`, which under MirroredStrategy feeds the whole
    batch to every replica). `progress` counts the videos begun (clips come in
    video order).
    """
    forward = _FORWARD.get(model)
    if forward is None:  # one traced function per model, however often it is evaluated
        forward = _FORWARD[model] = tf.function(lambda x: model(x, training=False),
                                                reduce_retracing=True)
    probs, labels, ids, frames, clips = [], [], [], [], []
    for batch in examples:
        probs.append(forward(batch["inputs"]).numpy())
        labels.append(batch["label"].numpy())
        new = [v.decode() for v in batch["video_id"].numpy()]
        if progress is not None and new:
            progress.advance(len(set(new) - set(ids[-1:])))
        ids.extend(new)
        frames.extend(v.decode() for v in batch["frames"].numpy())
        clips.extend(c.tolist() for c in batch["clip"].numpy())
    if not probs:
        return ClipPredictions(np.zeros((0, model.output_shape[-1])), np.zeros(0, np.int64),
                               ids, frames, clips)
    return ClipPredictions(np.concatenate(probs), np.concatenate(labels), ids, frames, clips)


def validation_logs(model, examples, classes: Sequence[str],
                    reduce: Callable[[np.ndarray], np.ndarray] | None = None
                    ) -> dict[str, float]:
    """Clip- and video-level validation metrics from ONE pass over `examples`.

    Args:
      model: the model being trained.
      examples: `data.val_examples` (this worker's share on a cluster).
      classes: the class names.
      reduce: sums a vector over the workers of a cluster (None: one process).

    Returns:
      {"val_loss", "val_accuracy", ["val_top5"], "val_video_accuracy"}, the same on
      every worker.
    """
    preds = predict_clips(model, examples)  # none: fewer videos than workers
    k = len(classes)
    sums = metrics.batch_sums(preds.labels, np.asarray(preds.probs, np.float32), k).numpy()
    right, scored = 0.0, 0  # none: fewer videos than workers
    if len(preds.probs):
        scores = metrics.score(preds.probs, preds.labels, preds.ids, classes)
        right, scored = scores.video_top1 * scores.num_videos, scores.num_videos
    totals = np.concatenate([sums, [right, scored]])
    if reduce is not None:
        totals = reduce(totals)
    logs = metrics.logs_from_sums(totals[:4], k, prefix="val_")
    logs["val_video_accuracy"] = float(totals[4] / max(totals[5], 1.0))
    return logs


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


def check_split_order(split: str, order: str) -> None:
    if split not in schema.SPLITS:
        raise ValueError(f"--split must be one of {schema.SPLITS}, got {split!r}")
    if order not in ORDERS:
        raise ValueError(f"--order must be one of {ORDERS}, got {order!r}")


def _read_summary(run_dir: str) -> dict[str, Any]:
    path = run_folder.join(run_dir, run_folder.SUMMARY)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def evaluate_model(model, cfg: TrainConfig, manifest: dict[str, Any], run_dir: str,
                   split: str = "test", order: str = "natural",
                   protocol: EvalProtocol = EvalProtocol(), batch_size: int | None = None,
                   summary: dict[str, Any] | None = None, pictures: bool = True
                   ) -> dict[str, Any]:
    """Evaluates a loaded `model` of run `cfg` on `split`; writes the JSON and confusion PNG.

    Also writes to the run's TensorBoard log dir (`trainer.summaries`): the clip and video
    top-1 as metrics of its HParams session and, with `pictures`, the first clip of a
    few of the videos scored (``inputs/<split>[_<order>]``). A log that cannot be
    written is a warning; the evaluation stands.

    Returns:
      The dict written to RUN_DIR/eval_<split>[_<order>].json (`EvalFile.to_dict`; read it
      typed with `EvalFile.from_dict`): metrics, per-video predictions (with source film
      and frame fingerprint), the protocol with the fingerprint of every frame scored, the
      run's recipe and config.
    """
    check_split_order(split, order)
    determinism.set_op_determinism(cfg.deterministic)
    src = data.source_dir(cfg)
    manifest_sha = schema.manifest_sha256(src)
    examples = data.eval_examples(cfg, manifest, split, batch_size or cfg.batch_size, order,
                                  protocol=protocol)
    progress = Progress(f"vidrec evaluate: {split}",
                        int(manifest["splits"].get(split, {}).get("videos") or 0))
    preds = predict_clips(model, examples, progress)
    progress.close()
    if not len(preds.probs):
        raise ValueError(f"no clips to evaluate in the {split!r} split of {src!r}")
    scores = metrics.score(preds.probs, preds.labels, preds.ids, manifest["classes"])
    fingerprints = frame_fingerprints(preds, protocol, manifest_sha)
    first_clip: dict[str, list[int]] = {}
    for vid, clip in zip(preds.ids, preds.clips):
        first_clip.setdefault(vid, clip)
    scores = dataclasses.replace(scores, videos=tuple(
        dataclasses.replace(v, film=film_of(v.id), frames_fingerprint=fingerprints[v.id],
                            first_clip=first_clip[v.id])  # as the model saw it (order ablation)
        for v in scores.videos))
    summary = summary if summary is not None else _read_summary(run_dir)
    result = EvalFile.build(
        scores, run_dir=run_dir, run_name=cfg.run_name, model=cfg.model, kind=cfg.kind_info(),
        encoder=cfg.encoder, split=split, order=order,
        data=data_section(src, manifest_sha, split, manifest.get("split"), scores.num_videos),
        protocol=protocol_section(protocol.to_dict(), hashlib.sha256(json.dumps(
            sorted(fingerprints.items())).encode()).hexdigest()[:16]),
        classes=list(manifest["classes"]), params=int(model.count_params()),
        train_time_s=summary.get("train_time_s"), val_video_top1=summary.get("val_video_top1"),
        recipe=summary.get("recipe"), environment=determinism.environment(cfg.deterministic),
        config=cfg.to_dict()).to_dict()
    schema.write_json(run_folder.join(run_dir, run_folder.eval_json(split, order)), result)
    plot_confusion(np.array(scores.confusion_matrix), manifest["classes"],
                   title=f"{cfg.run_name} {split} {order} video top-1 "
                         f"{scores.video_top1:.3f}",
                   path=run_folder.join(run_dir, run_folder.eval_png(split, order)))
    _log(cfg, manifest, summaries.run_log_dir(cfg, summary, run_dir), result, split, order,
         protocol, pictures)
    return result


def _log(cfg: TrainConfig, manifest: dict[str, Any], log_dir: str, result: dict[str, Any],
         split: str, order: str, protocol: EvalProtocol, pictures: bool) -> None:
    """The evaluation's metrics (and pictures) in the run's TensorBoard log dir."""
    shown = {}
    if pictures:
        try:
            shown = eval_pictures(cfg, manifest, split, order, protocol)
        except (OSError, ValueError, tf.errors.OpError) as err:
            summaries.warn("vidrec evaluate", "input pictures", err)
    try:
        with summaries.writing(log_dir):
            summaries.metrics(eval_metrics(result))
            summaries.images(shown)
    except (OSError, tf.errors.OpError) as err:
        summaries.warn("vidrec evaluate", "metrics", err)


class OpenRun(NamedTuple):
    """A finished run, loaded: its config, model and the manifest of what it reads."""

    cfg: TrainConfig
    model: Any
    manifest: dict[str, Any]


def open_run(run_dir: str) -> OpenRun:
    """Loads a finished run to evaluate it.

    Raises:
      FileNotFoundError, ValueError: no run there, an unfinished run, its data gone.
    """
    cfg = load_config(run_dir)
    model = run_folder.load_run_model(run_dir, "RUN_DIR")
    return OpenRun(cfg, model, schema.read_manifest(data.source_dir(cfg)))


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
    check_split_order(split, order)
    run = open_run(run_dir)
    return evaluate_model(run.model, run.cfg, run.manifest, run_dir, split, order, protocol,
                          batch_size)
