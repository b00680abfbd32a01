"""The attention model: a pre-norm transformer encoder over a chunk's frame embeddings."""

import dataclasses

from trainer.temporal.base import Temporal, Tune, setting


@dataclasses.dataclass(frozen=True)
class Settings:
    attn_layers: int = setting(1, "attention: transformer encoder blocks", low=1)
    attn_heads: int = setting(2, "attention: heads per block (each hidden // heads wide)",
                              low=1)
    attn_positions: bool = setting(
        True, "attention: sinusoidal position encodings; --no-attn-positions makes it blind "
        "to frame order (a second order-blind control beside pooled)")
    attn_pool: str = setting("cls", "attention: read out by a class token (cls) or the mean "
                             "over frames", choices=("cls", "mean"))


def build(x, cfg):
    """`[B, T, D]` -> `[B, hidden]`: `attn_layers` blocks of `attn_heads` heads, sinusoidal
    positions unless `attn_positions` is off, read out by a class token or the mean.
    Without positions it is permutation-invariant: an order-blind control."""
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


def check(cfg) -> None:
    if cfg.hidden < cfg.attn_heads:
        raise ValueError(f"--hidden {cfg.hidden} must be >= --attn-heads {cfg.attn_heads} "
                         "(each head gets hidden // heads dims)")


def order_aware(cfg) -> bool:
    return cfg.attn_positions


MODEL = Temporal(
    name="attention", summary="a transformer encoder over them", takes_chunks=True,
    temporal_fields=("model", "hidden", "attn_layers", "attn_heads", "attn_positions",
                     "attn_pool", "chunk_length", "frame_stride", "frame_input",
                     "temporal_input"),
    build=build, settings=Settings, check=check, order_aware=order_aware,
    types={"attention": {}}, tunable=True,
    tune=(Tune("attn_layers", (1, 2), "--attn-layers-range",
               "attention: transformer blocks MIN:MAX", kind="range", cast=int),
          Tune("attn_heads", (1, 2, 4), "--attn-heads-choices", "attention: heads to try",
               kind="ints", cast=int)))
