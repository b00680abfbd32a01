"""The temporal blocks, one module each (see `trainer.registry` and docs/extending.md).

Each module declares `MODEL`, a `trainer.temporal.base.Temporal`: its builder, its own
settings (a frozen dataclass whose fields become TrainConfig fields and `vidrec train`
flags), its tuning ranges and its names for the tuner and TensorBoard. Nothing here
imports Keras at import time: the builders import it when they run.
"""
