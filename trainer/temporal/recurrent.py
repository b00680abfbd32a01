"""The recurrent model: stacked RNNs over a chunk's frame embeddings."""

import dataclasses

from trainer.temporal.base import Temporal, Tune, always, setting

# cell name -> keras.layers class; default activations keep them cuDNN eligible.
RNNS = {"lstm": "LSTM", "gru": "GRU", "simple": "SimpleRNN"}


@dataclasses.dataclass(frozen=True)
class Settings:
    rnn: str = setting("lstm", f"recurrent cell: {', '.join(RNNS)} (default activations: "
                       "cuDNN eligible)", choices=tuple(RNNS))
    rnn_layers: int = setting(1, "stacked RNN layers", low=1)
    bidirectional: bool = setting(False, "bidirectional RNN")


def build(x, cfg):
    """`[B, T, D]` -> `[B, hidden]` (x2 bidirectional): `rnn_layers` stacked RNNs."""
    from keras import layers

    cell = getattr(layers, RNNS[cfg.rnn])
    for i in range(cfg.rnn_layers):
        rnn = cell(cfg.hidden, return_sequences=i < cfg.rnn_layers - 1, name=f"rnn_{i}")
        x = layers.Bidirectional(rnn, name=f"birnn_{i}")(x) if cfg.bidirectional else rnn(x)
    return x


MODEL = Temporal(
    name="recurrent", summary="an RNN over them", takes_chunks=True,
    temporal_fields=("model", "rnn", "hidden", "rnn_layers", "bidirectional", "chunk_length",
                     "frame_stride", "frame_input", "temporal_input"),
    build=build, settings=Settings, order_aware=always, recurrent=True,
    types={cell: {"rnn": cell} for cell in RNNS}, tunable=True, tuned_by_default=True,
    tune=(Tune("bidirectional", (False, True), "--bidirectional-choices",
               "RNN: bidirectional values to try", kind="bools"),))
