"""A run's recipe: what it learned from, split into its temporal part and everything else.

A fair comparison lets only the temporal part differ (`config.TEMPORAL_FIELDS`
of the run's model). Everything else, the "shared" part, must be identical: the
encoder the run effectively uses (which weights, trained where, which layers
trainable), augmentation, head, optimiser, budget and seed. Paths and devices
(`config.PLACEMENT_FIELDS`) are not part of a recipe; the global batch is.

The effective encoder replaces the raw encoder flags, so a run on a feature
cache (`--features`), a run with `--init-from RUN --freeze-encoder` and any other
run using that frame run's frozen encoder are recognised as sharing one encoder.

`vidrec train` writes the recipe into train_summary.json, `vidrec evaluate`
copies it into every eval file, and `vidrec compare` diffs it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import tensorflow as tf

from pipeline import schema
from trainer.config import (
    ENCODER_SOURCE_FIELDS,
    PLACEMENT_FIELDS,
    TEMPORAL_FIELDS,
    TrainConfig,
    augment_list,
    load_config,
)

_ANY_TEMPORAL = {f for fields in TEMPORAL_FIELDS.values() for f in fields}


def absolute(path: str) -> str:
    """An absolute form of a local path (gs:// and other URLs unchanged)."""
    return path if "://" in path else os.path.abspath(path)


def trainable_words(trainable_top_layers: int) -> str:
    """-1 -> "all", 0 -> "frozen", N -> "last N"."""
    if trainable_top_layers < 0:
        return "all"
    return "frozen" if trainable_top_layers == 0 else f"last {trainable_top_layers}"


def _run_encoder(run_dir: str) -> dict[str, Any]:
    """Encoder name, weights and trainable layers of a frame run (unknown if unreadable)."""
    if not tf.io.gfile.exists(f"{run_dir.rstrip('/')}/config.json"):
        return {"encoder": "unknown", "weights": "unknown", "trainable_top_layers": None}
    src = load_config(run_dir)
    return {"encoder": src.encoder, "weights": src.weights,
            "trainable_top_layers": src.trainable_top_layers}


def encoder_source(cfg: TrainConfig, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The encoder a run effectively uses.

    Returns:
      {"encoder": name, "encoder_weights": its starting weights, "encoder_trained_by":
      "this run" or the (absolute) frame run whose trained encoder it uses,
      "encoder_trainable": "frozen" / "all" / "last N" in this run}.
    """
    if cfg.features:
        features = manifest.get(schema.FEATURES_KEY, {})
        run = str(features.get("encoder_run", ""))
        src = features.get("encoder_config") or _run_encoder(run)
        return {"encoder": src["encoder"], "encoder_weights": src["weights"],
                "encoder_trained_by": run, "encoder_trainable": "frozen"}
    if cfg.init_from:
        src = _run_encoder(cfg.init_from)
        trainable = "frozen" if cfg.freeze_encoder else trainable_words(cfg.trainable_top_layers)
        trained_by = absolute(cfg.init_from) + ("" if cfg.freeze_encoder else ", then this run")
        return {"encoder": cfg.encoder, "encoder_weights": src["weights"],
                "encoder_trained_by": trained_by, "encoder_trainable": trainable}
    return {"encoder": cfg.encoder, "encoder_weights": cfg.weights,
            "encoder_trained_by": "this run",
            "encoder_trainable": trainable_words(cfg.trainable_top_layers)}


def recipe(cfg: TrainConfig, manifest: Mapping[str, Any], num_replicas: int) -> dict[str, Any]:
    """{"temporal": {field: value}, "shared": {field: value}} of a run.

    Args:
      cfg: the run's config.
      manifest: the manifest of what it reads (a feature cache's, with `--features`).
      num_replicas: replicas in sync (the global batch is batch_size x replicas).
    """
    values = cfg.to_dict()
    temporal = {f: values[f] for f in TEMPORAL_FIELDS[cfg.model]}
    skip = _ANY_TEMPORAL | set(PLACEMENT_FIELDS) | set(ENCODER_SOURCE_FIELDS)
    shared = {k: (list(v) if isinstance(v, tuple) else v)
              for k, v in values.items() if k not in skip}
    # Cached embeddings cannot be augmented: what the run actually trained on.
    shared["augment"] = ",".join(augment_list(cfg.augment)) or "none"
    if cfg.features:
        shared["augment"] = "none"
    shared["global_batch"] = cfg.batch_size * num_replicas
    shared.update(encoder_source(cfg, manifest))
    return {"temporal": temporal, "shared": shared, "kind": cfg.kind_info()}
