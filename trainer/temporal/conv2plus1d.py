"""The spatial convolution model: (2+1)D convolutions (Tran et al. 2018) over feature maps.

The non-recurrent counterpart of `convlstm` over the same maps of the same encoder: each
layer is a spatial 3x3 convolution then a temporal one (`conv21_kernel` frames); then the
mean over time and the map. Order-aware, not recurrent: beside convlstm it keeps the
"recurrence beyond order" question controlled for spatial models.
"""

import dataclasses

from trainer.temporal.base import Temporal, Tune, always, setting


@dataclasses.dataclass(frozen=True)
class Settings:
    conv21_layers: int = setting(2, "conv2plus1d: stacked (2+1)D blocks (each `hidden` "
                                 "channels)", low=1)
    conv21_kernel: int = setting(3, "conv2plus1d: temporal kernel size in frames", low=2)


def build(x, cfg):
    """`[B, T, h, w, C]` -> `[B, hidden]`: `conv21_layers` x (spatial 1x3x3, temporal kx1x1
    convolutions, each batch-normalised before its ReLU, as R(2+1)D), then the mean over
    time, height and width."""
    from keras import layers

    for i in range(cfg.conv21_layers):
        for part, kernel in (("space", (1, 3, 3)), ("time", (cfg.conv21_kernel, 1, 1))):
            x = layers.Conv3D(cfg.hidden, kernel, padding="same", use_bias=False,
                              name=f"conv21_{part}_{i}")(x)
            x = layers.BatchNormalization(name=f"conv21_{part}_bn_{i}")(x)
            x = layers.ReLU(name=f"conv21_{part}_relu_{i}")(x)
    return layers.GlobalAveragePooling3D(name="spacetime_mean")(x)


MODEL = Temporal(
    name="conv2plus1d",
    summary="(2+1)D convolutions over their feature maps (spatial, not recurrent)",
    takes_chunks=True,
    temporal_fields=("model", "hidden", "conv21_layers", "conv21_kernel", "feature_layer",
                     "chunk_length", "frame_stride", "frame_input", "temporal_input"),
    build=build, settings=Settings, order_aware=always, spatial=True,
    types={"conv2plus1d": {}}, tunable=True,
    tune=(Tune("conv21_layers", (1, 3), "--conv21-layers-range",
               "conv2plus1d: stacked (2+1)D blocks MIN:MAX", kind="range", cast=int),))
