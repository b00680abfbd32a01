"""Name -> builder tables: image encoders, models (their temporal part) and RNN cells.

Every name the trainer, the tuner and the CLI accept comes from these tables
(`config.ENCODERS`, `config.MODELS`, `config.RNNS`, the tuner's default
`--temporal-types` are their keys), and every question about a kind of model ("does
it read chunks?", "which settings are its temporal part?") is answered by its
entry, not by string tests. An unknown name raises `ValueError` naming the
choices. Keras is imported by the builders when they run, so names can be
checked without it.

Adding one is one entry here (see README "Extending"):

* an encoder: a function `(frame_size, imagenet: bool) -> keras.Model` mapping
  `float32 [H, W, 3]` frames in 0..255 to `[D]` (its preprocessing inside);
* a model: whether it reads chunks, its temporal settings, and a function
  `(x [B, T, D], cfg) -> [B, D']` (None for the single-frame model);
* an RNN cell: the name of a `keras.layers` class taking `(units, return_sequences, name)`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar

if TYPE_CHECKING:
    from trainer.config import TrainConfig

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Encoder:
    """An image encoder base.

    Attributes:
      build: `(frame_size, imagenet) -> keras.Model`, `[H, W, 3]` 0..255 -> `[D]`.
      pretrained: whether ImageNet weights exist for it (`--weights imagenet`).
      min_frame_size: the smallest frame side it accepts.
    """

    build: Callable[[int, bool], Any]
    pretrained: bool = True
    min_frame_size: int = 32


def _always(cfg: "TrainConfig") -> bool:
    return True


def _never(cfg: "TrainConfig") -> bool:
    return False


@dataclasses.dataclass(frozen=True)
class Model:
    """A kind of model: the shared encoder and head, with its own temporal part.

    Attributes:
      takes_chunks: reads chunks of `chunk_length` frames (else single frames).
      temporal_fields: the TrainConfig fields of its temporal part: the only ones a fair
        comparison lets differ (`trainer.recipe`).
      temporal: `(x [B, T, D], cfg) -> [B, D']` (None when it takes single frames).
      order_aware: `cfg -> bool`, whether it can use the order of the frames (the
        report's second question); the order-blind controls say False.
      recurrent: whether its temporal part is recurrent (the report's third question).
    """

    takes_chunks: bool
    temporal_fields: tuple[str, ...]
    temporal: Callable[[Any, "TrainConfig"], Any] | None = None
    order_aware: Callable[["TrainConfig"], bool] = _never
    recurrent: bool = False


def lookup(table: Mapping[str, T], name: str, flag: str) -> T:
    """`table[name]`, or ValueError naming the flag, the value and the choices."""
    if name not in table:
        raise ValueError(f"{flag} must be one of {', '.join(table)}; got {name!r}")
    return table[name]


# --------------------------------------------------------------------------- encoders


def _small_cnn(frame_size: int, imagenet: bool):
    """Three conv blocks (16-32-64) + global average pooling: D = 64 (tests and the demo)."""
    import keras
    from keras import layers

    inputs = keras.Input((frame_size, frame_size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    for width in (16, 32, 64):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # short runs: stats settle fast
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name="small_cnn")


def _mobilenet_v3_small(frame_size: int, imagenet: bool):
    import keras

    return keras.applications.MobileNetV3Small(
        input_shape=(frame_size, frame_size, 3), include_top=False, pooling="avg",
        weights="imagenet" if imagenet else None, include_preprocessing=True)


def _efficientnet_b0(frame_size: int, imagenet: bool):
    import keras

    return keras.applications.EfficientNetB0(  # rescaling + normalisation built in
        input_shape=(frame_size, frame_size, 3), include_top=False, pooling="avg",
        weights="imagenet" if imagenet else None)


def _vgg16(frame_size: int, imagenet: bool):
    import keras

    from trainer.layers import VGGPreprocess

    shape = (frame_size, frame_size, 3)
    inputs = keras.Input(shape)
    vgg = keras.applications.VGG16(input_shape=shape, include_top=False, pooling="avg",
                                   weights="imagenet" if imagenet else None)
    return keras.Model(inputs, vgg(VGGPreprocess()(inputs)), name="vgg16")


ENCODERS: dict[str, Encoder] = {
    "small_cnn": Encoder(_small_cnn, pretrained=False, min_frame_size=8),
    "mobilenet_v3_small": Encoder(_mobilenet_v3_small),
    "efficientnet_b0": Encoder(_efficientnet_b0),
    "vgg16": Encoder(_vgg16),
}

# --------------------------------------------------------------------------- temporal parts

# name -> keras.layers class; default activations keep them cuDNN eligible.
RNNS: dict[str, str] = {"lstm": "LSTM", "gru": "GRU", "simple": "SimpleRNN"}


def _mean(x, cfg: "TrainConfig"):
    """The order-blind control: the mean of the frame embeddings."""
    from keras import layers

    return layers.GlobalAveragePooling1D(name="temporal_mean")(x)


def _rnn(x, cfg: "TrainConfig"):
    """`cfg.rnn_layers` stacked RNNs of `cfg.hidden` units (bidirectional if asked)."""
    from keras import layers

    cell = getattr(layers, lookup(RNNS, cfg.rnn, "--rnn"))
    for i in range(cfg.rnn_layers):
        rnn = cell(cfg.hidden, return_sequences=i < cfg.rnn_layers - 1, name=f"rnn_{i}")
        x = layers.Bidirectional(rnn, name=f"birnn_{i}")(x) if cfg.bidirectional else rnn(x)
    return x


def _temporal_conv(x, cfg: "TrainConfig"):
    """`cfg.conv_layers` 1D convolutions over time (dilation conv_dilation**i), then the mean."""
    from keras import layers

    for i in range(cfg.conv_layers):
        x = layers.Conv1D(cfg.hidden, cfg.conv_kernel, padding="same", activation="relu",
                          dilation_rate=cfg.conv_dilation ** i, name=f"tconv_{i}")(x)
    return layers.GlobalAveragePooling1D(name="temporal_mean")(x)


def _attention(x, cfg: "TrainConfig"):
    """A pre-norm transformer encoder of width `hidden` (`attn_layers` blocks, `attn_heads`
    heads), sinusoidal positions unless `attn_positions` is off, read out by a class token
    or the mean. Without positions it is permutation-invariant: an order-blind control."""
    from keras import layers

    from trainer.layers import ClassToken, PositionEmbedding, SelectToken

    x = layers.Dense(cfg.hidden, name="attn_in")(x)
    if cfg.attn_pool == "cls":
        x = ClassToken(name="cls_token")(x)
    if cfg.attn_positions:
        x = PositionEmbedding(name="positions")(x)
    for i in range(cfg.attn_layers):
        h = layers.LayerNormalization(name=f"attn_{i}_norm1")(x)
        h = layers.MultiHeadAttention(cfg.attn_heads, max(1, cfg.hidden // cfg.attn_heads),
                                      name=f"attn_{i}_mha")(h, h)
        x = layers.Add(name=f"attn_{i}_add1")([x, h])
        h = layers.LayerNormalization(name=f"attn_{i}_norm2")(x)
        h = layers.Dense(2 * cfg.hidden, activation="gelu", name=f"attn_{i}_mlp1")(h)
        h = layers.Dense(cfg.hidden, name=f"attn_{i}_mlp2")(h)
        x = layers.Add(name=f"attn_{i}_add2")([x, h])
    x = layers.LayerNormalization(name="attn_norm")(x)
    if cfg.attn_pool == "cls":
        return SelectToken(0, name="cls_out")(x)
    return layers.GlobalAveragePooling1D(name="attn_mean")(x)


_CHUNKS = ("chunk_length", "frame_stride")
MODELS: dict[str, Model] = {
    "frame": Model(takes_chunks=False, temporal_fields=("model", "frames_per_video")),
    "pooled": Model(takes_chunks=True, temporal_fields=("model", *_CHUNKS), temporal=_mean),
    "recurrent": Model(
        takes_chunks=True, temporal=_rnn, order_aware=_always, recurrent=True,
        temporal_fields=("model", "rnn", "hidden", "rnn_layers", "bidirectional", *_CHUNKS,
                         "temporal_input")),
    "temporal_conv": Model(
        takes_chunks=True, temporal=_temporal_conv, order_aware=_always,
        temporal_fields=("model", "hidden", "conv_layers", "conv_kernel", "conv_dilation",
                         *_CHUNKS, "temporal_input")),
    "attention": Model(
        takes_chunks=True, temporal=_attention, order_aware=lambda cfg: cfg.attn_positions,
        temporal_fields=("model", "hidden", "attn_layers", "attn_heads", "attn_positions",
                         "attn_pool", *_CHUNKS, "temporal_input")),
}
