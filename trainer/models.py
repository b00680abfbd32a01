"""Keras 3 functional models: frame, pooled and recurrent.

Inputs are `float32` frames in 0..255; every encoder does its own
preprocessing, so `predict` and the serving export need none outside.

* frame: `[B, H, W, 3]` -> encoder -> head.
* pooled: `[B, T, H, W, 3]` -> encoder on every frame -> temporal mean -> head
  (the order-blind control).
* recurrent: `[B, T, H, W, 3]` -> encoder on every frame -> RNN -> head.
* with `cfg.features`: `[B, T, D]` cached embeddings -> mean or RNN -> head, or
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

import os

import keras
import tensorflow as tf
from keras import layers

from trainer.config import ENCODERS, MODELS, RNNS, TrainConfig, load_config

_VGG_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="vidrec")
class MergeTime(layers.Layer):
    """`[B, T, ...]` -> `[B*T, ...]` (static trailing dims)."""

    def call(self, x):
        return keras.ops.reshape(x, (-1,) + tuple(x.shape[2:]))

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[2:])

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="vidrec")
class SplitTime(layers.Layer):
    """`[B*T, ...]` -> `[B, T, ...]` for a fixed number of steps T."""

    def __init__(self, steps: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"SplitTime steps must be a positive int, got {steps!r}")
        self.steps = steps

    def call(self, x):
        return keras.ops.reshape(x, (-1, self.steps) + tuple(x.shape[1:]))

    def compute_output_shape(self, input_shape):
        return (None, self.steps) + tuple(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "steps": self.steps}


@keras.saving.register_keras_serializable(package="vidrec")
class VGGPreprocess(layers.Layer):
    """`keras.applications.vgg16.preprocess_input` as a layer: RGB 0..255 -> BGR - mean."""

    def call(self, x):
        bgr = keras.ops.flip(x, axis=-1)
        return bgr - keras.ops.convert_to_tensor(_VGG_MEAN_BGR, dtype=bgr.dtype)

    def get_config(self):
        return super().get_config()


def _check(name, value, ok, want):
    if not ok:
        raise ValueError(f"{name} must be {want}, got {value!r}")


def _small_cnn(frame_size: int) -> keras.Model:
    """Three conv blocks (16-32-64) + global average pooling: D = 64."""
    inputs = keras.Input((frame_size, frame_size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    for width in (16, 32, 64):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # short runs: stats settle fast
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name="small_cnn")


def _base(encoder: str, frame_size: int, weights: str) -> keras.Model:
    """The image base `[H, W, 3]` 0..255 -> `[D]`, preprocessing included."""
    w = "imagenet" if weights == "imagenet" else None
    shape = (frame_size, frame_size, 3)
    if encoder == "small_cnn":
        if weights == "imagenet":
            raise ValueError("--weights imagenet: small_cnn has no pretrained weights; "
                             "use none or a weights file")
        return _small_cnn(frame_size)
    if encoder == "mobilenet_v3_small":
        return keras.applications.MobileNetV3Small(
            input_shape=shape, include_top=False, weights=w, pooling="avg",
            include_preprocessing=True)
    if encoder == "efficientnet_b0":  # rescaling + normalisation built in
        return keras.applications.EfficientNetB0(
            input_shape=shape, include_top=False, weights=w, pooling="avg")
    inputs = keras.Input(shape)  # vgg16
    vgg = keras.applications.VGG16(input_shape=shape, include_top=False, weights=w,
                                   pooling="avg")
    return keras.Model(inputs, vgg(VGGPreprocess()(inputs)), name="vgg16")


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


def build_encoder(cfg: TrainConfig, frame_size: int) -> keras.Model:
    """The per-frame encoder, a model named "encoder": `float32 [B, H, W, 3]` -> `[B, D]`.

    `cfg.weights`: ``imagenet``, ``none`` or a weights file loaded into the base.
    `cfg.trainable_top_layers`: -1 trains everything; N >= 0 trains only the last N
    layers with weights, in forward order (BatchNormalization layers count; see
    `weighted_layers`), and freezes every other layer of the base.

    Raises:
      ValueError: a bad encoder, frame size or weights, or N larger than the number of
        layers with weights.
    """
    _check("--encoder", cfg.encoder, cfg.encoder in ENCODERS, f"one of {ENCODERS}")
    _check("frame size", frame_size, isinstance(frame_size, int) and frame_size >= 8,
           "an int >= 8")
    if cfg.encoder != "small_cnn" and frame_size < 32:
        raise ValueError(f"--encoder {cfg.encoder} needs frames of at least 32x32, "
                         f"got frame size {frame_size}")
    base = _base(cfg.encoder, frame_size, cfg.weights)
    if cfg.weights not in ("imagenet", "none"):
        if not tf.io.gfile.exists(cfg.weights):
            raise ValueError(f"--weights must be imagenet, none or an existing weights file, "
                             f"got {cfg.weights!r}")
        base.load_weights(cfg.weights)
    if cfg.trainable_top_layers >= 0:
        _train_top(base, cfg.trainable_top_layers, cfg.encoder)
    inputs = keras.Input((frame_size, frame_size, 3), name="frames")
    return keras.Model(inputs, base(inputs), name="encoder")


def _head(x, cfg: TrainConfig, num_classes: int):
    x = layers.Dense(cfg.head_units[0], activation="relu", name="head_1")(x)
    x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(cfg.head_units[1], activation="relu", name="head_2")(x)
    x = layers.Dropout(cfg.dropout)(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probs")(x)


def _temporal(x, cfg: TrainConfig):
    """`[B, T, D]` -> `[B, D']`: mean (pooled) or stacked RNN (recurrent, cuDNN eligible)."""
    if cfg.model == "pooled":
        return layers.GlobalAveragePooling1D(name="temporal_mean")(x)
    rnn_cls = {"lstm": layers.LSTM, "gru": layers.GRU, "simple": layers.SimpleRNN}[cfg.rnn]
    for i in range(cfg.rnn_layers):
        rnn = rnn_cls(cfg.hidden, return_sequences=i < cfg.rnn_layers - 1, name=f"rnn_{i}")
        x = layers.Bidirectional(rnn, name=f"birnn_{i}")(x) if cfg.bidirectional else rnn(x)
    return x


def build_model(cfg: TrainConfig, num_classes: int, frame_size: int,
                embedding_dim: int | None = None) -> keras.Model:
    """The classifier of `cfg.model`, outputting `float32 [B, num_classes]` softmax.

    Args:
      cfg: the run's config (model, encoder, head, RNN, chunk_length, features).
      num_classes: >= 2.
      frame_size: stored frame side H = W (ignored with features).
      embedding_dim: D of the feature cache; required when `cfg.features` is set.
    """
    _check("--model", cfg.model, cfg.model in MODELS, f"one of {MODELS}")
    _check("--rnn", cfg.rnn, cfg.rnn in RNNS, f"one of {RNNS}")
    _check("num_classes", num_classes, isinstance(num_classes, int) and num_classes >= 2,
           "an int >= 2")
    steps = cfg.chunk_length
    if cfg.features:
        _check("embedding_dim", embedding_dim,
               isinstance(embedding_dim, int) and embedding_dim >= 1, "a positive int")
        if cfg.model == "frame":  # one cached frame embedding per example
            inputs = keras.Input((embedding_dim,), name="embeddings")
            return keras.Model(inputs, _head(inputs, cfg, num_classes), name="frame_features")
        inputs = keras.Input((steps, embedding_dim), name="embeddings")
        outputs = _head(_temporal(inputs, cfg), cfg, num_classes)
        return keras.Model(inputs, outputs, name=f"{cfg.model}_features")
    encoder = build_encoder(cfg, frame_size)
    if cfg.model == "frame":
        inputs = keras.Input((frame_size, frame_size, 3), name="frames")
        return keras.Model(inputs, _head(encoder(inputs), cfg, num_classes), name="frame")
    inputs = keras.Input((steps, frame_size, frame_size, 3), name="chunks")
    x = SplitTime(steps, name="split_time")(encoder(MergeTime(name="merge_time")(inputs)))
    return keras.Model(inputs, _head(_temporal(x, cfg), cfg, num_classes), name=cfg.model)


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
    src_cfg = load_config(run_dir)
    if src_cfg.model != "frame":
        raise ValueError(f"--init-from {run_dir!r} is a {src_cfg.model!r} run; it must be a "
                         "'frame' run")
    if encoder is not None and src_cfg.encoder != encoder:
        raise ValueError(f"--init-from {run_dir!r} has encoder {src_cfg.encoder!r}, this "
                         f"model has {encoder!r}")
    target = model.get_layer("encoder")
    path = os.path.join(run_dir, "model.keras")
    if not tf.io.gfile.exists(path):
        raise ValueError(f"--init-from {run_dir!r} has no model.keras (unfinished run?)")
    weights = keras.saving.load_model(path, compile=False).get_layer("encoder").get_weights()
    want = [tuple(w.shape) for w in target.get_weights()]
    got = [tuple(w.shape) for w in weights]
    if want != got:
        raise ValueError(f"--init-from {run_dir!r}: its encoder's weight shapes differ from "
                         f"this model's (frame size or encoder differs)")
    target.set_weights(weights)
    if freeze:
        target.trainable = False
