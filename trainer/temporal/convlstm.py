"""The spatial recurrent model: a ConvLSTM (Shi et al. 2015) over a chunk's feature maps.

The encoder is cut before its global pooling (`--feature-layer`, default its last conv
block), so the recurrence sees *where* things move, which a per-frame vector has lost;
then the last state's mean over the map, and the head.
"""

import dataclasses

from trainer.temporal.base import Temporal, Tune, always, setting


@dataclasses.dataclass(frozen=True)
class Settings:
    convlstm_layers: int = setting(1, "convlstm: stacked ConvLSTM2D layers (each `hidden` "
                                   "channels)", low=1)
    convlstm_kernel: int = setting(3, "convlstm: spatial kernel size of its gates", low=1)


def build(x, cfg):
    """`[B, T, h, w, C]` -> `[B, hidden]`: stacked ConvLSTM2D, then the mean over the map."""
    from keras import layers

    for i in range(cfg.convlstm_layers):
        x = layers.ConvLSTM2D(cfg.hidden, cfg.convlstm_kernel, padding="same",
                              return_sequences=i < cfg.convlstm_layers - 1,
                              name=f"convlstm_{i}")(x)
    return layers.GlobalAveragePooling2D(name="spatial_mean")(x)


MODEL = Temporal(
    name="convlstm", summary="a ConvLSTM over their feature maps (spatial recurrence)",
    takes_chunks=True,
    temporal_fields=("model", "hidden", "convlstm_layers", "convlstm_kernel", "feature_layer",
                     "chunk_length", "frame_stride", "frame_input", "temporal_input"),
    build=build, settings=Settings, order_aware=always, recurrent=True, spatial=True,
    types={"convlstm": {}}, tunable=True,
    tune=(Tune("convlstm_layers", (1, 2), "--convlstm-layers-range",
               "convlstm: stacked ConvLSTM2D layers MIN:MAX", kind="range", cast=int),))
