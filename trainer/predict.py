"""`vidrec predict`: top-k classes of raw video files.

Each video is decoded exactly as `vidrec convert` stored the training data
(`pipeline.video.decode` with the manifest's frame size, resize mode, fps and
JPEG quality), cut into the same clips as `vidrec evaluate`'s default protocol
(every frame, tiled into chunks; the last chunk of each stride phase looped), and
its class probabilities are the mean softmax over those clips (frames, for a
frame model).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema
from pipeline import video as video_lib
from trainer import data
from trainer.config import TrainConfig, load_config


def _load(path: str):
    import keras

    import trainer.models  # noqa: F401  (registers the vidrec layers)

    if not tf.io.gfile.exists(path):
        raise ValueError(f"{os.path.dirname(path)!r} has no model.keras (unfinished run?)")
    return keras.saving.load_model(path, compile=False)


def decode_options(manifest: dict[str, Any]) -> video_lib.DecodeOptions:
    """The conversion's decoding options, read back from its manifest."""
    opts = manifest.get("options", {})
    return video_lib.DecodeOptions(
        frame_size=int(manifest["frame_size"]),
        resize_mode=manifest.get("resize_mode", opts.get("resize_mode", "crop")),
        fps=float(manifest.get("fps", opts.get("fps", 0.0)) or 0.0),
        max_frames=int(opts.get("max_frames", 0)), min_frames=1,
        jpeg_quality=int(opts.get("jpeg_quality", 90)))


def clip_inputs(cfg: TrainConfig, frames: np.ndarray) -> np.ndarray:
    """The evaluation clips of one video.

    Args:
      frames: `float32 [T, H, W, 3]` (or `[T, D]` embeddings).

    Returns:
      `[K*L, H, W, 3]` frames (frame model) or `[K, L, ...]` chunks.
    """
    idx = data.eval_clip_indices(tf.constant(len(frames), tf.int32), cfg).numpy()
    return frames[idx.reshape(-1)] if cfg.model == "frame" else frames[idx]


def predict_videos(run_dir: str, paths: Sequence[str], top_k: int = 5) -> list[dict[str, Any]]:
    """Predicts each video; a video that fails to decode is reported, not fatal.

    Returns:
      One dict per path: {"path", "top": [(class, probability)] (top_k, best first),
      "probabilities": [C] floats, "error": None or the reason}.
    """
    if top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {top_k}")
    cfg = load_config(run_dir)
    model = _load(os.path.join(run_dir, "model.keras"))
    manifest = schema.read_manifest(cfg.data)
    encoder = None
    if cfg.features:  # cached-embedding run: embed frames with the cache's frame encoder
        features = schema.read_manifest(cfg.features)["features"]
        encoder = _load(os.path.join(features["encoder_run"], "model.keras")).get_layer("encoder")
    options = decode_options(manifest)
    classes = manifest["classes"]
    results = []
    for path in paths:
        try:
            decoded = video_lib.decode(path, options)
        except video_lib.VideoError as err:
            results.append({"path": path, "top": [], "probabilities": [], "error": err.reason})
            continue
        frames = schema.decode_frames(tf.constant(decoded.jpegs)).numpy().astype("float32")
        if encoder is not None:
            frames = encoder.predict(frames, batch_size=64, verbose=0)
        probs = model.predict(clip_inputs(cfg, frames), batch_size=cfg.batch_size,
                              verbose=0).mean(axis=0)
        order = np.argsort(-probs, kind="stable")[:top_k]
        results.append({"path": path, "top": [(classes[i], float(probs[i])) for i in order],
                        "probabilities": probs.tolist(), "error": None})
    return results
