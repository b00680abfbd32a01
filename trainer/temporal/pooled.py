"""The pooled model: the mean of a chunk's frame embeddings, the order-blind control."""

from trainer.temporal.base import Temporal


def build(x, cfg):
    """`[B, T, D]` -> `[B, D]`: the mean over time."""
    from keras import layers

    return layers.GlobalAveragePooling1D(name="temporal_mean")(x)


def check(cfg) -> None:
    if cfg.temporal_input != "embed":
        raise ValueError(f"--temporal-input {cfg.temporal_input} would let the pooled "
                         "control see order (the mean of differences is last minus first): "
                         "it reads the embeddings only")


MODEL = Temporal(
    name="pooled", summary="the order-blind mean over a chunk's frame embeddings",
    takes_chunks=True, temporal_fields=("model", "chunk_length", "frame_stride", "frame_input"),
    build=build, check=check, types={"mean": {}})
