"""The vidrec Keras layers: registered, with complete `get_config`, so .keras files load.

Loading a saved model needs them registered: import this module (or
`trainer.models`, which does) first.
"""

from __future__ import annotations

import keras
from keras import layers

VGG_MEAN_BGR = (103.939, 116.779, 123.68)


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
        return bgr - keras.ops.convert_to_tensor(VGG_MEAN_BGR, dtype=bgr.dtype)

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="vidrec")
class TemporalInput(layers.Layer):
    """`[B, T, D]` frame embeddings (or `[B, T, h, w, C]` feature maps) -> what an
    order-aware model reads.

    ``embed``: unchanged; ``diff``: `[B, T-1, D]` differences of consecutive
    embeddings (after TSN's RGB difference: slow changes become salient); ``both``:
    `[B, T-1, 2D]`, each embedding (from the second) beside its difference.
    """

    MODES = ("embed", "diff", "both")

    def __init__(self, mode: str = "embed", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"TemporalInput mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def call(self, x):
        if self.mode == "embed":
            return x
        diff = x[:, 1:] - x[:, :-1]
        return diff if self.mode == "diff" else keras.ops.concatenate([x[:, 1:], diff], axis=-1)

    def compute_output_shape(self, input_shape):
        if self.mode == "embed":
            return input_shape
        batch, steps, *rest = input_shape  # [B, T, D], or [B, T, h, w, C] feature maps
        steps = None if steps is None else steps - 1
        return (batch, steps, *rest[:-1], rest[-1] if self.mode == "diff" else 2 * rest[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="vidrec")
class FrameInput(layers.Layer):
    """`[B, T, H, W, 3]` frames in 0..255 -> what a chunk model's encoder sees.

    ``rgb``: unchanged; ``diff``: each frame's pixel difference to the previous one
    (TSN's RGB difference), mapped to 0..255 as `(d + 255) / 2` so every encoder's own
    preprocessing applies (the first frame's difference is zero: 127.5); ``both``:
    `[B, T, H, W, 6]`, each frame beside its difference.
    """

    MODES = ("rgb", "diff", "both")

    def __init__(self, mode: str = "rgb", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"FrameInput mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def call(self, x):
        if self.mode == "rgb":
            return x
        diff = x[:, 1:] - x[:, :-1]
        diff = (keras.ops.concatenate([keras.ops.zeros_like(x[:, :1]), diff], axis=1)
                + 255.0) * 0.5
        return diff if self.mode == "diff" else keras.ops.concatenate([x, diff], axis=-1)

    def compute_output_shape(self, input_shape):
        if self.mode != "both":
            return input_shape
        return (*input_shape[:-1], 2 * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="vidrec")
class ClassToken(layers.Layer):
    """Prepends one learned token: `[B, T, W]` -> `[B, T+1, W]` (read out at position 0)."""

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="zeros",
                                     name="token")

    def call(self, x):
        batch = keras.ops.shape(x)[0]
        token = keras.ops.broadcast_to(keras.ops.cast(self.token, x.dtype),
                                       (batch, 1, x.shape[-1]))
        return keras.ops.concatenate([token, x], axis=1)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], steps, input_shape[2])


@keras.saving.register_keras_serializable(package="vidrec")
class PositionEmbedding(layers.Layer):
    """Adds the sinusoidal position encoding of Vaswani et al. (2017): `[B, T, W]` -> same.

    Fixed, not learned: order is visible from the first step, which matters for the
    short trainings of small video datasets (a learned embedding starts near zero).
    """

    def call(self, x):
        steps, width = x.shape[1], x.shape[-1]
        position = keras.ops.arange(steps, dtype="float32")[:, None]
        rates = keras.ops.exp(keras.ops.arange(0, width, 2, dtype="float32")
                              * (-keras.ops.log(10000.0) / width))
        angles = position * rates[None]  # [T, ceil(W/2)]
        table = keras.ops.reshape(
            keras.ops.stack([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1),
            (steps, -1))[:, :width]
        return x + keras.ops.cast(table, x.dtype)[None]


@keras.saving.register_keras_serializable(package="vidrec")
class SelectToken(layers.Layer):
    """`[B, T, W]` -> `[B, W]`: the token at `index` (the class token)."""

    def __init__(self, index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, x):
        return x[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}
