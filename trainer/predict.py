"""`vidrec predict`: top-k classes of raw video files.

Each video is decoded exactly as `vidrec convert` stored the training data
(`pipeline.video.decode` with the manifest's frame size, resize mode, fps and
JPEG quality), cut into the same clips as `vidrec evaluate`'s default protocol
(every frame, tiled into chunks; the last chunk of each stride phase looped), and
its class probabilities are the mean softmax over those clips (frames, for a
frame model).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from pipeline import schema
from pipeline import video as video_lib
from trainer import sampling
from trainer.config import TrainConfig, load_config
from vidrec.core import run_folder


def _load(run_dir: str, flag: str):
    import trainer.models  # noqa: F401  (registers the vidrec layers)

    return run_folder.load_run_model(run_dir, flag)


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
      frames: `float32 [T, H, W, 3]` (or `[T, D]` embeddings, `[T, h, w, C]` maps).

    Returns:
      `[K*L, H, W, 3]` frames (frame model) or `[K, L, ...]` chunks.
    """
    idx = sampling.eval_clip_indices(tf.constant(len(frames), tf.int32), cfg).numpy()
    return frames[idx] if cfg.kind.takes_chunks else frames[idx.reshape(-1)]


class Predictor:
    """A finished run, loaded and checked once, that predicts raw videos.

    Raises (on construction):
      FileNotFoundError, ValueError: not a finished run, or its data is gone.
    """

    def __init__(self, run_dir: str):
        self.cfg = load_config(run_dir)
        self.model = _load(run_dir, "RUN_DIR")
        manifest = schema.read_manifest(self.cfg.data)
        self.encoder = None
        if self.cfg.features:  # cached-embedding run: embed frames with the cache's encoder
            features = schema.read_manifest(self.cfg.features)["features"]
            if features.get("map_shape"):  # its feature maps, cut where the cache was
                from trainer import feature_cache

                self.encoder = feature_cache.load_encoder(
                    features["encoder_run"], maps=True,
                    feature_layer=features.get("feature_layer", "")).model
            else:
                self.encoder = _load(features["encoder_run"],
                                     "the feature cache's encoder run").get_layer("encoder")
        self.options = decode_options(manifest)
        self.classes = manifest["classes"]

    def predict(self, path: str, top_k: int = 5) -> dict[str, Any]:
        """{"path", "top": [(class, probability)] (best first), "probabilities": [C],
        "error": None, or the reason the video failed to decode (then no prediction)}."""
        try:
            decoded = video_lib.decode(path, self.options)
        except video_lib.VideoError as err:
            return {"path": path, "top": [], "probabilities": [], "error": err.reason}
        frames = schema.decode_frames(tf.constant(decoded.jpegs)).numpy().astype("float32")
        if self.encoder is not None:
            frames = self.encoder.predict(frames, batch_size=64, verbose=0)
        probs = self.model.predict(clip_inputs(self.cfg, frames),
                                   batch_size=self.cfg.batch_size, verbose=0).mean(axis=0)
        order = np.argsort(-probs, kind="stable")[:top_k]
        return {"path": path, "top": [(self.classes[i], float(probs[i])) for i in order],
                "probabilities": probs.tolist(), "error": None}


def check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {top_k}")


def predict_videos(run_dir: str, paths: Sequence[str], top_k: int = 5) -> list[dict[str, Any]]:
    """Predicts each video (`Predictor.predict`); a video that fails to decode is reported."""
    check_top_k(top_k)
    predictor = Predictor(run_dir)
    return [predictor.predict(path, top_k) for path in paths]
