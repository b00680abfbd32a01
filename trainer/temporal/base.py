"""What a temporal block declares (`Temporal`), and settings with their help and bounds.

A setting is a dataclass field whose metadata holds its flag help and bounds
(`setting`): `TrainConfig` checks them and `trainer.cli` turns them into flags, so
a setting's help is written once, on the field. A tuning range (`Tune`) is plain
data here; `tuning.space` turns it into a `vidrec tune` flag and a KerasTuner
declaration (the trainer never imports the tuner).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence


def setting(default: Any, help: str, *, low: float | None = None,
            choices: Sequence[str] | None = None) -> Any:
    """A config field with its flag help, its lower bound and its choices (each optional)."""
    return dataclasses.field(default=default, metadata={"help": help, "low": low,
                                                        "choices": choices})


def flag(name: str) -> str:
    """A field's flag: ``rnn_layers`` -> ``--rnn-layers``."""
    return "--" + name.replace("_", "-")


def check_field(f: dataclasses.Field, value: Any) -> None:
    """Raises ValueError, naming the flag and the value, when `value` breaks `f`'s bounds."""
    low, choices = f.metadata.get("low"), f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ValueError(f"{flag(f.name)} must be one of {', '.join(choices)}; got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{flag(f.name)} must be >= {low}, got {value}")


@dataclasses.dataclass(frozen=True)
class Tune:
    """One tuning range of a model's setting: a `vidrec tune` flag and what it samples.

    Attributes:
      samples: the TrainConfig field sampled (the hyperparameter's name).
      default: the range or choices searched by default.
      flag, help: the `vidrec tune` flag.
      kind: ``choices`` (comma list), ``ints`` (comma list of integers), ``bools`` (comma
        list of true/false) or ``range`` (MIN:MAX of `cast`, log scale when `log`).
    """

    samples: str
    default: Any
    flag: str
    help: str
    kind: str
    cast: Callable[[str], Any] = str
    log: bool = False


def _never(cfg: Any) -> bool:
    return False


def always(cfg: Any) -> bool:
    """`order_aware` of a block that always sees frame order."""
    return True


@dataclasses.dataclass(frozen=True)
class Temporal:
    """A kind of model: the shared encoder and head around its own temporal part.

    Attributes:
      name: its ``--model`` value.
      summary: a few words for ``--model``'s help ("an RNN over them").
      takes_chunks: reads chunks of `chunk_length` frames (else single frames).
      temporal_fields: the TrainConfig fields of its temporal part, in the order recipes
        list them: "model", its own settings and the shared fields it reads; the only
        fields a fair comparison lets differ (`trainer.recipe`).
      build: `(x [B, T, D], cfg) -> [B, D']`, or `(x [B, T, h, w, C], cfg) -> [B, D']` when
        `spatial` (None when it takes single frames).
      settings: a frozen dataclass of its own settings, each made by `setting` (help and
        bounds): they become TrainConfig fields and `vidrec train` flags of the same name.
      check: `cfg -> None`, raising ValueError where its settings contradict the config
        (called when `cfg.model` is this model).
      order_aware: `cfg -> bool`, whether it can use frame order (the report's second
        question); the order-blind controls say False.
      recurrent: whether its temporal part is recurrent (the report's third question).
      spatial: whether its temporal part reads the encoder's feature maps `[B, T, h, w, C]`
        (cut before the global pooling, `--feature-layer`) instead of one vector per frame:
        motion keeps its place in the frame (the report's fourth question: spatial
        temporal modelling against late fusion).
      types: its names as the tuner and TensorBoard's ``temporal_type`` column name it,
        each with the settings that name sets (``{"gru": {"rnn": "gru"}}``).
      tunable: whether `vidrec tune --temporal-types` may pick its types.
      tuned_by_default: whether its types are in `--temporal-types`' default.
      tune: the tuning ranges of its own settings (sampled only in its trials).
    """

    name: str
    summary: str
    takes_chunks: bool
    temporal_fields: tuple[str, ...]
    build: Callable[[Any, Any], Any] | None = None
    settings: type | None = None
    check: Callable[[Any], None] | None = None
    order_aware: Callable[[Any], bool] = _never
    recurrent: bool = False
    spatial: bool = False
    types: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    tunable: bool = False
    tuned_by_default: bool = False
    tune: tuple[Tune, ...] = ()

    def __post_init__(self):
        own = self.setting_fields()
        if self.temporal_fields[:1] != ("model",) or not set(own) <= set(self.temporal_fields):
            raise ValueError(f"model {self.name!r}: temporal_fields must start with 'model' "
                             f"and hold its settings {own}, got {self.temporal_fields}")
        if not self.types:
            raise ValueError(f"model {self.name!r} names no temporal type")
        if self.spatial and not self.takes_chunks:
            raise ValueError(f"model {self.name!r}: a spatial model reads chunks")
        if self.takes_chunks != (self.build is not None):
            raise ValueError(f"model {self.name!r}: a chunk model needs a builder, a frame "
                             "model has none")

    def setting_fields(self) -> tuple[str, ...]:
        """The names of its own settings (its TrainConfig fields)."""
        return tuple(f.name for f in dataclasses.fields(self.settings or _NoSettings))

    def type_of(self, cfg: Any) -> str:
        """Its temporal type that `cfg` is (the RNN cell for the recurrent model)."""
        for name, values in self.types.items():
            if all(getattr(cfg, k) == v for k, v in values.items()):
                return name
        return next(iter(self.types))

    @property
    def hparams_columns(self) -> tuple[str, ...]:
        """Its TensorBoard HParams columns: its temporal fields but the model and those its
        temporal type already says (the RNN cell)."""
        named = {k for values in self.types.values() for k in values}
        return tuple(f for f in self.temporal_fields if f != "model" and f not in named)


@dataclasses.dataclass(frozen=True)
class _NoSettings:
    pass


def interleave(own: Sequence[Any], shared: Sequence[Any]) -> list[Any]:
    """`shared` after the first of the models' own fields: where the shared width
    (``hidden``) stood before settings moved into their modules. Keeps config.json's key
    order, `vidrec train --help` and the order KerasTuner draws hyperparameters in (so the
    same seed samples the same trials) as they were."""
    return [*own[:1], *shared, *own[1:]]
