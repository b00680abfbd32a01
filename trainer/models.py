"""Keras 3 functional models: the shared encoder and head around each registered model's
temporal part (`trainer.registry.MODELS`, one module each in `trainer/temporal/`).

Inputs are `float32` frames in 0..255; every encoder does its own
preprocessing, so `predict` and the serving export need none outside.

* a frame model (frame): `[B, H, W, 3]` -> encoder -> head.
* a chunk model (pooled, recurrent, temporal_conv, attention, ...): `[B, T, H, W, 3]`
  -> what its encoder sees (`cfg.frame_input`: the frames, their pixel differences or
  both) -> encoder on every frame (to feature maps for a spatial model: convlstm,
  conv2plus1d) -> its temporal part (`Temporal.build`: the mean, an
  RNN, 1D temporal convolutions, a transformer encoder) -> head; every order-aware
  model may read the differences of consecutive embeddings (`cfg.temporal_input`).
* with `cfg.features`: `[B, T, D]` cached embeddings -> its temporal part -> head, or
  `[B, D]` -> head for the frame model (the encoder of those embeddings is frozen).

`cfg.trainable_top_layers` N >= 0 trains only the encoder base's last N layers
with weights, in forward order (BatchNormalization layers count);
`trainable_layer_names` says which layers of an encoder train.

The encoder runs on frames reshaped to `[B*T, H, W, 3]` and back (`MergeTime`
/ `SplitTime`), not under `TimeDistributed` (keras #16656). The head is three
feed-forward layers; its softmax is float32 under mixed precision. Builders
know nothing of strategies: callers open `strategy.scope()`.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from trainer import registry
from trainer.config import TrainConfig, load_frame_run
from trainer.layers import (  # noqa: F401
    FrameInput,
    MergeTime,
    SplitTime,
    TemporalInput,
    VGGPreprocess,  # noqa: F401  (registered for loading)
)
from vidrec.core import run_folder


def _check(name, value, ok, want):
    if not ok:
        raise ValueError(f"{name} must be {want}, got {value!r}")


def _leaves(model: keras.Model, frozen_above: bool = False):
    """Yields `(leaf, frozen)` for every layer under `model` but models and inputs.

    Forward order: `model.layers` of a Functional model is topological, unlike
    `_flatten_layers` (reversed, and it yields the nested models themselves). `frozen`
    is True when the leaf or any model above it is non-trainable: a frozen container
    hides its children's weights in Keras 3. InputLayers are skipped (no weights, and
    `.keras` files do not keep their `trainable`).
    """
    frozen_above = frozen_above or not model.trainable
    for lyr in model.layers:
        if isinstance(lyr, keras.Model):
            yield from _leaves(lyr, frozen_above)
        elif not isinstance(lyr, keras.layers.InputLayer):
            yield lyr, frozen_above or not lyr.trainable


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The leaf layers of `model` that hold weights, in forward order.

    Recurses into nested models (a wrapped `keras.applications` base) and never lists
    the models themselves. Every layer with weights counts, trainable or not:
    BatchNormalization, and EfficientNet's input Normalization (whose weights are all
    non-trainable).

    Args:
      model: an encoder base or a whole encoder.

    Returns:
      The layers, first layer first.
    """
    return [lyr for lyr, _ in _leaves(model) if lyr.weights]


def trainable_layer_names(encoder: keras.Model) -> list[str]:
    """Names of the layers with weights that training would update, in forward order.

    Read from the layers' current `trainable` state, so it stays true after
    `init_encoder_from(..., freeze=True)` (then it is []). A layer counts when it and
    every model above it are trainable and it has trainable weights (a Normalization
    layer never has).

    Args:
      encoder: the model from `build_encoder` (or any model).
    """
    return [lyr.name for lyr, frozen in _leaves(encoder)
            if not frozen and lyr.trainable_weights]


def _train_top(base: keras.Model, n: int, encoder: str) -> None:
    """Trains the last `n` layers with weights of `base` (forward order), freezes the rest.

    The nested models stay trainable: freezing one would hide its trainable leaves.
    """
    top = weighted_layers(base)
    if n > len(top):
        raise ValueError(f"--trainable-top-layers {n} is more than the {len(top)} layers "
                         f"with weights of encoder {encoder}")
    keep = set(id(lyr) for lyr in top[len(top) - n:])
    base.trainable = True  # the setter reaches every nested model and leaf
    for lyr, _ in _leaves(base):
        lyr.trainable = id(lyr) in keep


def _cut(maps: keras.Model, layer: str, encoder: str) -> keras.Model:
    """`maps` up to its layer `layer` (its feature maps), or ValueError naming the choices."""
    names = [lyr.name for lyr in maps.layers if len(lyr.output.shape) == 4
             and not isinstance(lyr, keras.layers.InputLayer)]
    if layer not in names:
        raise ValueError(f"--feature-layer {layer!r} is not a feature-map layer of encoder "
                         f"{encoder}; choose one of {', '.join(names)}")
    return keras.Model(maps.inputs, maps.get_layer(layer).output, name=maps.name)


def build_encoder(cfg: TrainConfig, frame_size: int, spatial: bool = False,
                  channels: int = 3) -> keras.Model:
    """The per-frame encoder, a model named "encoder": `float32 [B, H, W, channels]` ->
    `[B, D]`, or `[B, h, w, C]` feature maps when `spatial` (cut at `cfg.feature_layer`,
    default the last conv block before the global pooling).

    `cfg.weights`: ``imagenet``, ``none`` or a weights file loaded into the base.
    `cfg.trainable_top_layers`: -1 trains everything; N >= 0 trains only the last N
    layers with weights, in forward order (BatchNormalization layers count; see
    `weighted_layers`), and freezes every other layer of the base.

    Raises:
      ValueError: a bad encoder, frame size or weights, or N larger than the number of
        layers with weights.
    """
    spec = registry.lookup(registry.ENCODERS, cfg.encoder, "--encoder")
    _check("frame size", frame_size, isinstance(frame_size, int) and frame_size >= 8,
           "an int >= 8")
    if frame_size < spec.min_frame_size:
        raise ValueError(f"--encoder {cfg.encoder} needs frames of at least "
                         f"{spec.min_frame_size}x{spec.min_frame_size}, got frame size "
                         f"{frame_size}")
    if cfg.weights == "imagenet" and not spec.pretrained:
        raise ValueError(f"--weights imagenet: {cfg.encoder} has no pretrained weights; "
                         "use none or a weights file")
    base = (spec.maps if spatial else spec.build)(frame_size, cfg.weights == "imagenet",
                                                   channels)
    if cfg.weights not in ("imagenet", "none"):
        if not tf.io.gfile.exists(cfg.weights):
            raise ValueError(f"--weights must be imagenet, none or an existing weights file, "
                             f"got {cfg.weights!r}")
        base.load_weights(cfg.weights)
    if spatial and cfg.feature_layer:
        base = _cut(base, cfg.feature_layer, cfg.encoder)
    if cfg.trainable_top_layers >= 0:
        _train_top(base, cfg.trainable_top_layers, cfg.encoder)
    inputs = keras.Input((frame_size, frame_size, channels), name="frames")
    return keras.Model(inputs, base(inputs), name="encoder")


def maps_of(encoder: keras.Model, encoder_name: str, frame_size: int,
            feature_layer: str = "") -> keras.Model:
    """The feature maps of a trained FRAME run's `encoder` (its model's layer "encoder",
    `encoder_name` from its config): the same weights, cut at `feature_layer` (default:
    before the global pooling). For `vidrec embed --maps`.
    """
    full = registry.ENCODERS[encoder_name].maps(frame_size, False, 3)
    full.set_weights(encoder.get_weights())  # the pooled encoder: the same weights, in order
    return _cut(full, feature_layer, encoder_name) if feature_layer else full


def _head(x, cfg: TrainConfig, num_classes: int):
    x = layers.Dense(cfg.head_units[0], activation="relu", name="head_1")(x)
    x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(cfg.head_units[1], activation="relu", name="head_2")(x)
    x = layers.Dropout(cfg.dropout)(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probs")(x)


def build_model(cfg: TrainConfig, num_classes: int, frame_size: int,
                embedding_dim: int | tuple[int, ...] | None = None) -> keras.Model:
    """The classifier of `cfg.model`, outputting `float32 [B, num_classes]` softmax.

    The encoder (or cached embeddings) and the head are shared by every model; the
    registry entry of `cfg.model` says whether it reads chunks and builds its
    temporal part.

    Args:
      cfg: the run's config (model, encoder, head, temporal settings, features).
      num_classes: >= 2.
      frame_size: stored frame side H = W (ignored with features).
      embedding_dim: D of the feature cache, or its maps' `(h, w, C)` for a spatial
        model; required when `cfg.features` is set.
    """
    kind = registry.lookup(registry.MODELS, cfg.model, "--model")
    _check("num_classes", num_classes, isinstance(num_classes, int) and num_classes >= 2,
           "an int >= 2")
    steps = cfg.chunk_length
    if cfg.features:
        shape = embedding_dim if isinstance(embedding_dim, tuple) else (embedding_dim,)
        _check("embedding_dim", embedding_dim, all(isinstance(d, int) and d >= 1 for d in shape)
               and len(shape) == (3 if kind.spatial else 1),
               "(h, w, C) for a spatial model" if kind.spatial else "a positive int")
        inputs = keras.Input((steps, *shape) if kind.takes_chunks else shape, name="embeddings")
        x = inputs
    elif kind.takes_chunks:
        channels = 6 if cfg.frame_input == "both" else 3
        encoder = build_encoder(cfg, frame_size, spatial=kind.spatial, channels=channels)
        inputs = keras.Input((steps, frame_size, frame_size, 3), name="chunks")
        x = inputs
        if cfg.frame_input != "rgb":
            x = FrameInput(cfg.frame_input, name="frame_input")(x)
        x = SplitTime(steps, name="split_time")(encoder(MergeTime(name="merge_time")(x)))
    else:
        inputs = keras.Input((frame_size, frame_size, 3), name="frames")
        x = build_encoder(cfg, frame_size)(inputs)
    if kind.takes_chunks:
        if cfg.temporal_input != "embed":
            x = TemporalInput(cfg.temporal_input, name="temporal_input")(x)
        x = kind.build(x, cfg)
    name = f"{cfg.model}_features" if cfg.features else cfg.model
    return keras.Model(inputs, _head(x, cfg, num_classes), name=name)


def init_encoder_from(model: keras.Model, run_dir: str, freeze: bool = False,
                      encoder: str | None = None) -> None:
    """Copies a trained FRAME run's encoder weights into `model`'s layer "encoder".

    Args:
      model: a model built by `build_model` (not from features).
      run_dir: the frame run (config.json + model.keras).
      freeze: make the copied encoder non-trainable.
      encoder: this model's `cfg.encoder`, compared with the run's.

    Raises:
      ValueError: that run is not a frame run, or its encoder differs.
    """
    load_frame_run(run_dir, "--init-from", encoder)
    target = model.get_layer("encoder")
    weights = run_folder.load_run_model(run_dir, "--init-from").get_layer("encoder").get_weights()
    want = [tuple(w.shape) for w in target.get_weights()]
    got = [tuple(w.shape) for w in weights]
    if want != got:
        raise ValueError(f"--init-from {run_dir!r}: its encoder's weight shapes differ from "
                         f"this model's (frame size or encoder differs)")
    target.set_weights(weights)
    if freeze:
        target.trainable = False
