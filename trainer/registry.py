"""Name -> entry tables: image encoders and models (their temporal part).

Every name the trainer, the tuner and the CLI accept comes from these tables
(`config.ENCODERS`, `config.MODELS`, the tuner's `--temporal-types` are their keys),
and every question about a kind of model ("does it read chunks?", "which settings
are its temporal part?") is answered by its entry, not by string tests. An unknown
name raises `ValueError` naming the choices. Keras is imported by the builders when
they run, so names can be checked without it.

* an encoder: one entry of `ENCODERS`, a function `(frame_size, imagenet: bool,
  channels: int) -> keras.Model` mapping `float32 [H, W, channels]` frames in 0..255 to
  `[D]` (its preprocessing inside), and one to its feature maps `[h, w, C]` before the
  global pooling, for the spatial models (a flat graph: `--feature-layer` names any of
  its layers);
* a model: one module of `trainer/temporal/` declaring `MODEL` (its builder, settings,
  tuning ranges and names; `trainer.temporal.base.Temporal`) and its line in
  `MODEL_MODULES` (docs/extending.md).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping, TypeVar

from trainer.temporal.base import Temporal

T = TypeVar("T")

# The models, in the order flags, tables and the tuner list them: one line each.
MODEL_MODULES = (
    "trainer.temporal.frame",
    "trainer.temporal.pooled",
    "trainer.temporal.recurrent",
    "trainer.temporal.temporal_conv",
    "trainer.temporal.attention",
    "trainer.temporal.convlstm",
    "trainer.temporal.conv2plus1d",
)


@dataclasses.dataclass(frozen=True)
class Encoder:
    """An image encoder base.

    Attributes:
      build: `(frame_size, imagenet, channels) -> keras.Model`, `[H, W, channels]` 0..255
        -> `[D]`.
      maps: `(frame_size, imagenet, channels) -> keras.Model`, the same layers and weights
        up to the global pooling, `[H, W, channels]` -> `[h, w, C]`, as one flat graph.
      pretrained: whether ImageNet weights exist for it (`--weights imagenet`).
      min_frame_size: the smallest frame side it accepts.
      any_channels: whether it takes frames of other than 3 channels (``--frame-input
        both`` stacks 6); the ImageNet bases' preprocessing is for 3.
    """

    build: Callable[[int, bool, int], Any]
    maps: Callable[[int, bool, int], Any]
    pretrained: bool = True
    min_frame_size: int = 32
    any_channels: bool = False


def lookup(table: Mapping[str, T], name: str, flag: str) -> T:
    """`table[name]`, or ValueError naming the flag, the value and the choices."""
    if name not in table:
        raise ValueError(f"{flag} must be one of {', '.join(table)}; got {name!r}")
    return table[name]


# --------------------------------------------------------------------------- encoders


def _small_cnn_maps(frame_size: int, imagenet: bool, channels: int = 3):
    """Three conv blocks (16-32-64): `[H, W, C]` -> `[H/8, W/8, 64]`; layers named
    blockN_conv, _bn, _relu, _pool (`--feature-layer block2_pool`)."""
    import keras
    from keras import layers

    inputs = keras.Input((frame_size, frame_size, channels))
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for block, width in enumerate((16, 32, 64), 1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        # short runs: stats settle fast
        x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="small_cnn")


def _small_cnn(frame_size: int, imagenet: bool, channels: int = 3):
    """Three conv blocks (16-32-64) + global average pooling: D = 64 (tests and the demo)."""
    import keras
    from keras import layers

    maps = _small_cnn_maps(frame_size, imagenet, channels)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(maps.output)
    return keras.Model(maps.inputs, x, name="small_cnn")


def _mobilenet_v3_small(frame_size: int, imagenet: bool, channels: int = 3,
                        pooling: str | None = "avg"):
    import keras

    return keras.applications.MobileNetV3Small(
        input_shape=(frame_size, frame_size, channels), include_top=False, pooling=pooling,
        weights="imagenet" if imagenet else None, include_preprocessing=True)


def _efficientnet_b0(frame_size: int, imagenet: bool, channels: int = 3,
                     pooling: str | None = "avg"):
    import keras

    return keras.applications.EfficientNetB0(  # rescaling + normalisation built in
        input_shape=(frame_size, frame_size, channels), include_top=False, pooling=pooling,
        weights="imagenet" if imagenet else None)


def _vgg16(frame_size: int, imagenet: bool, channels: int = 3):
    import keras

    from trainer.layers import VGGPreprocess

    shape = (frame_size, frame_size, channels)
    inputs = keras.Input(shape)
    vgg = keras.applications.VGG16(input_shape=shape, include_top=False, pooling="avg",
                                   weights="imagenet" if imagenet else None)
    return keras.Model(inputs, vgg(VGGPreprocess()(inputs)), name="vgg16")


def _vgg16_maps(frame_size: int, imagenet: bool, channels: int = 3):
    """VGG16 to block5_pool, its preprocessing inside one flat graph (every block's layer
    can be named by `--feature-layer`)."""
    import keras

    from trainer.layers import VGGPreprocess

    inputs = keras.Input((frame_size, frame_size, channels))
    return keras.applications.VGG16(input_tensor=VGGPreprocess()(inputs), include_top=False,
                                    pooling=None, weights="imagenet" if imagenet else None)


def _unpooled(build: Callable[..., Any]) -> Callable[[int, bool, int], Any]:
    return lambda frame_size, imagenet, channels=3: build(frame_size, imagenet, channels,
                                                          pooling=None)


ENCODERS: dict[str, Encoder] = {
    "small_cnn": Encoder(_small_cnn, _small_cnn_maps, pretrained=False, min_frame_size=8,
                         any_channels=True),
    "mobilenet_v3_small": Encoder(_mobilenet_v3_small, _unpooled(_mobilenet_v3_small)),
    "efficientnet_b0": Encoder(_efficientnet_b0, _unpooled(_efficientnet_b0)),
    "vgg16": Encoder(_vgg16, _vgg16_maps),
}

# --------------------------------------------------------------------------- models


def _load_models(modules: tuple[str, ...]) -> dict[str, Temporal]:
    """{name: MODEL} of `modules`; ValueError when two share a name, a setting or a type."""
    models: dict[str, Temporal] = {}
    settings: dict[str, str] = {}
    types: dict[str, str] = {}
    for module in modules:
        model = importlib.import_module(module).MODEL
        clash = ([model.name] if model.name in models else []) + \
            [s for s in model.setting_fields() if s in settings] + \
            [t for t in model.types if t in types]
        if clash:
            raise ValueError(f"{module}: {clash} already taken by another model")
        models[model.name] = model
        settings.update(dict.fromkeys(model.setting_fields(), model.name))
        types.update(dict.fromkeys(model.types, model.name))
    return models


MODELS: dict[str, Temporal] = _load_models(MODEL_MODULES)


def describe_models() -> str:
    """``frame (single frames), pooled (...), ...``: what the registry holds, in words."""
    return ", ".join(f"{name} ({m.summary})" for name, m in MODELS.items())
