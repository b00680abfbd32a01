"""Name -> builder tables: image encoders, models (their temporal part) and RNN cells.

Every name the trainer, the tuner and the CLI accept comes from these tables
(`config.ENCODERS`, `config.MODELS`, `config.RNNS`, the tuner's default
`--rnn-types` are their keys), and every question about a kind of model ("does
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


@dataclasses.dataclass(frozen=True)
class Model:
    """A kind of model: the shared encoder and head, with its own temporal part.

    Attributes:
      takes_chunks: reads chunks of `chunk_length` frames (else single frames).
      temporal_fields: the TrainConfig fields of its temporal part: the only ones a fair
        comparison lets differ (`trainer.recipe`).
      temporal: `(x [B, T, D], cfg) -> [B, D']` (None when it takes single frames).
    """

    takes_chunks: bool
    temporal_fields: tuple[str, ...]
    temporal: Callable[[Any, "TrainConfig"], Any] | None = None


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

    from trainer.models import VGGPreprocess

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


MODELS: dict[str, Model] = {
    "frame": Model(takes_chunks=False, temporal_fields=("model", "frames_per_video")),
    "pooled": Model(takes_chunks=True, temporal_fields=("model", "chunk_length", "frame_stride"),
                    temporal=_mean),
    "recurrent": Model(takes_chunks=True,
                       temporal_fields=("model", "rnn", "hidden", "rnn_layers", "bidirectional",
                                        "chunk_length", "frame_stride"),
                       temporal=_rnn),
}
