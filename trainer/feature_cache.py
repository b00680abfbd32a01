"""What a feature cache holds and who can read it: pooled vectors or spatial feature maps.

A cache written by `vidrec embed` stores one float16 row per frame. By default a row is
the frame run encoder's pooled vector (``"dim": D``); with ``--maps`` it is the encoder's
feature maps before the global pooling, flattened: the manifest's ``"features"`` entry
then has ``"map_shape": [h, w, C]`` (``"dim"`` = h*w*C) and ``"feature_layer"`` (the
layer cut at; ``"default_feature_layer"`` is the encoder's last conv block, what an
empty ``--feature-layer`` means). Readers reshape each video's rows back to
``[T, h, w, C]``. Only the spatial models read maps, and only they need them.

A map cache is large (small_cnn at 32x32: 4x4x64 = 1024 values per frame, 16 times its
pooled vector), so `vidrec embed` estimates the size first (`estimate_bytes`: frames x
values per frame x 2 bytes) and refuses one over ``--max-cache-gb`` (`check_size`)
before writing anything.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

from pipeline import schema
from trainer import registry
from trainer.config import TrainConfig, load_frame_run
from vidrec.core import run_folder

DEFAULT_MAX_CACHE_GB = 20.0
BYTES_PER_VALUE = 2  # float16
GB = 1e9


def spatial_models() -> list[str]:
    """The models that read feature maps (`Temporal.spatial`), in registry order."""
    return [name for name, kind in registry.MODELS.items() if kind.spatial]


def map_shape(manifest: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """`(h, w, C)` of a map cache's rows, None for a vector cache (or no cache)."""
    shape = manifest.get(schema.FEATURES_KEY, {}).get("map_shape")
    return tuple(int(d) for d in shape) if shape else None


def embedding_dim(cfg: TrainConfig, manifest: Mapping[str, Any]
                  ) -> int | tuple[int, int, int] | None:
    """What `models.build_model` takes as `embedding_dim`: D, `(h, w, C)` of a map cache,
    or None for a run on frames."""
    if not cfg.features:
        return None
    return map_shape(manifest) or int(manifest[schema.FEATURES_KEY]["dim"])


class Encoder(NamedTuple):
    """A frame run's encoder as `vidrec embed` runs it (`load_encoder`)."""

    model: Any  # frames -> [B, D] vectors, or [B, h, w, C] maps
    forward: Any  # float32 frames -> float32 [B, D or h*w*C] (a tf.function)
    cfg: TrainConfig  # the frame run's
    shape: tuple[int, ...]  # one frame's row: (D,) or (h, w, C)
    layer: str  # the maps' layer ("" for vectors)
    default_layer: str  # the encoder's last conv block ("" for vectors)


def load_encoder(run_dir: str, maps: bool = False, feature_layer: str = "") -> Encoder:
    """The encoder of the frame run `run_dir`: pooled, or cut to its feature maps at
    `feature_layer` (default: its last conv block) with `maps`; the same weights.

    Raises:
      ValueError, FileNotFoundError: not a finished frame run, or no such layer.
    """
    import tensorflow as tf

    from trainer import models  # also registers the vidrec layers

    cfg = load_frame_run(run_dir, "--encoder")
    encoder = run_folder.load_run_model(run_dir, "--encoder").get_layer("encoder")
    layer = default = ""
    if maps:
        size = int(encoder.input.shape[1])
        full = models.maps_of(encoder, cfg.encoder, size)
        default = full.layers[-1].name
        encoder = (models.maps_of(encoder, cfg.encoder, size, feature_layer)
                   if feature_layer and feature_layer != default else full)
        layer = encoder.layers[-1].name
    model = encoder
    forward = tf.function(lambda x: tf.reshape(model(x, training=False), [tf.shape(x)[0], -1]),
                          reduce_retracing=True)
    return Encoder(model, forward, cfg, tuple(int(d) for d in model.output.shape[1:]), layer,
                   default)


def total_frames(manifest: Mapping[str, Any]) -> int:
    """Frames stored in every split (videos x longest video where a split has no count)."""
    return sum(int(info.get("frames", info.get("videos", 0) * info.get("max_frames", 0)))
               for info in manifest.get("splits", {}).values())


def estimate_bytes(manifest: Mapping[str, Any], values_per_frame: int) -> int:
    """The cache's size before it is written: frames x values per frame x 2 (float16)."""
    return total_frames(manifest) * values_per_frame * BYTES_PER_VALUE


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def check_size(manifest: Mapping[str, Any], shape: Sequence[int], max_gb: float,
               maps: bool) -> int:
    """Refuses a cache estimated over `max_gb` GB (10^9 bytes); returns the estimate.

    Args:
      shape: one frame's row: `(D,)` or the maps' `(h, w, C)`.

    Raises:
      ValueError: one line naming the estimate, the bound and the shape.
    """
    if max_gb <= 0:
        raise ValueError(f"--max-cache-gb must be > 0, got {max_gb}")
    values = 1
    for d in shape:
        values *= int(d)
    estimate = estimate_bytes(manifest, values)
    if estimate <= max_gb * GB:
        return estimate
    what = f"feature maps of {_shape_text(shape)}" if maps else f"{values}-d vectors"
    hint = ("cut the encoder at a later --feature-layer (smaller maps) or convert at a "
            "smaller --frame-size, or raise --max-cache-gb" if maps else
            "raise --max-cache-gb")
    raise ValueError(f"the feature cache would take about {estimate / GB:.2f} GB "
                     f"({total_frames(manifest):,} frames x {what} x {BYTES_PER_VALUE} bytes), "
                     f"over --max-cache-gb {max_gb:g}: {hint}")


def check_run(cfg: TrainConfig, manifest: Mapping[str, Any]) -> None:
    """Whether `cfg`'s model can read the cache `cfg.features` (its manifest `manifest`).

    Raises:
      ValueError: one line: a spatial model on pooled vectors, another model on maps, or
        a spatial model cut at another --feature-layer than the cache.
    """
    features = manifest.get(schema.FEATURES_KEY)
    if not cfg.features or features is None:
        return
    spatial = ", ".join(spatial_models())
    shape = map_shape(manifest)
    if cfg.kind.spatial and shape is None:
        raise ValueError(f"--features {cfg.features} holds pooled vectors; spatial models "
                         f"({spatial}) need feature maps: write them with `vidrec embed "
                         "--maps`")
    if shape is None:
        return
    layer = features.get("feature_layer", "")
    if not cfg.kind.spatial:
        raise ValueError(f"--features {cfg.features} holds feature maps ({_shape_text(shape)} "
                         f"of layer {layer}), which only the spatial models ({spatial}) read; "
                         f"for --model {cfg.model} write pooled vectors with `vidrec embed` "
                         "without --maps")
    wanted = cfg.feature_layer or features.get("default_feature_layer", layer)
    if wanted != layer:
        named = cfg.feature_layer or f"'' (the last conv block, {wanted})"
        raise ValueError(f"--feature-layer {named} differs from the layer of the feature maps "
                         f"in --features {cfg.features} ({layer}): train with --feature-layer "
                         f"{layer}, or write maps of {wanted} with `vidrec embed --maps "
                         f"--feature-layer {wanted}`")


def measured(out: str, manifest: Mapping[str, Any]) -> dict[str, int]:
    """{"bytes": the cache's shards on disk, "bytes_per_video": their mean per video}."""
    import tensorflow as tf

    root = out.rstrip("/")
    total = videos = 0
    for split, info in manifest.get("splits", {}).items():
        if not info.get("videos"):
            continue
        videos += int(info["videos"])
        total += sum(tf.io.gfile.stat(f"{root}/{name}").length
                     for name in schema.shard_names(manifest, split))
    return {"bytes": int(total), "bytes_per_video": round(total / videos) if videos else 0}
