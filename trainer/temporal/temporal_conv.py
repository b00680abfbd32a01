"""The temporal convolution model: dilated 1D convolutions over time, then the mean."""

import dataclasses

from trainer.temporal.base import Temporal, Tune, always, setting


@dataclasses.dataclass(frozen=True)
class Settings:
    conv_layers: int = setting(2, "temporal_conv: stacked 1D convolutions over time", low=1)
    conv_kernel: int = setting(3, "temporal_conv: kernel size in frames", low=1)
    conv_dilation: int = setting(2, "temporal_conv: layer i dilates by this to the power i",
                                 low=1)


def build(x, cfg):
    """`[B, T, D]` -> `[B, hidden]`: `conv_layers` convolutions (dilation conv_dilation**i),
    then the mean over time."""
    from keras import layers

    for i in range(cfg.conv_layers):
        x = layers.Conv1D(cfg.hidden, cfg.conv_kernel, padding="same", activation="relu",
                          dilation_rate=cfg.conv_dilation ** i, name=f"tconv_{i}")(x)
    return layers.GlobalAveragePooling1D(name="temporal_mean")(x)


MODEL = Temporal(
    name="temporal_conv", summary="1D temporal convolutions over them", takes_chunks=True,
    temporal_fields=("model", "hidden", "conv_layers", "conv_kernel", "conv_dilation",
                     "chunk_length", "frame_stride", "frame_input", "temporal_input"),
    build=build, settings=Settings, order_aware=always, types={"conv": {}}, tunable=True,
    tune=(Tune("conv_layers", (1, 3), "--conv-layers-range",
               "conv: stacked temporal convolutions MIN:MAX", kind="range", cast=int),
          Tune("conv_kernel", (3, 5), "--conv-kernels", "conv: kernel sizes to try",
               kind="ints", cast=int)))
