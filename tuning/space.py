"""The search space of `vidrec tune`: what is searched and within which ranges.

Each field of `SearchSpace` says once which TrainConfig field it samples (the
hyperparameter's name), its `vidrec tune` flag and help: the CLI flags
(`add_flags`, `from_args`), the KerasTuner declarations (`declare`), the trial's
config (`trial_values`) and the columns of trials.csv (`HYPERPARAMETERS`) all
come from there. The temporal types and each model's own ranges are declared by the
model's module (`Temporal.types`, `Temporal.tune`, `trainer.temporal`), so a new
model is searched with no edit here; each family's own settings are sampled only in
its trials (KerasTuner conditional scopes).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # annotations only: `vidrec tune --help` needs no KerasTuner
    import keras_tuner

from trainer import registry
from trainer.config import TrainConfig
from trainer.temporal.base import interleave

# What --temporal-types may pick: the types of the tunable models, in registry order.
TEMPORAL_TYPES = tuple(t for m in registry.MODELS.values() if m.tunable for t in m.types)
DEFAULT_TYPES = tuple(t for m in registry.MODELS.values() if m.tuned_by_default
                      for t in m.types)


def _field(default: Any, flag: str, help_: str, *, samples: str | None, kind: str,
           cast: Callable[[str], Any] = str, log: bool = False,
           family: tuple[str, ...] | None = None) -> Any:
    """A SearchSpace field: the TrainConfig field it `samples`, its flag, how it is read.

    kind: ``choices`` (comma list), ``ints`` (comma list of integers), ``bools`` (comma
    list of true/false), ``range`` (MIN:MAX of `cast`, sampled on a log scale when `log`)
    or ``value`` (not sampled). family: the temporal types it belongs to (sampled only in
    their trials; None: every trial).
    """
    return dataclasses.field(default=default, metadata={
        "flag": flag, "help": help_, "samples": samples, "kind": kind, "cast": cast, "log": log,
        "family": family})


def _range(text: str, cast, flag: str) -> tuple:
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"{flag} must be MIN:MAX, got {text!r}")
    try:
        lo, hi = cast(parts[0]), cast(parts[1])
    except ValueError:
        raise ValueError(f"{flag} must be MIN:MAX numbers, got {text!r}") from None
    if lo > hi:
        raise ValueError(f"{flag}: min {lo} > max {hi}")
    return lo, hi


def _bools(text: str, flag: str) -> tuple[bool, ...]:
    words = {"false": False, "true": True}
    values = [w.strip().lower() for w in text.split(",")]
    if not all(v in words for v in values):
        raise ValueError(f"{flag} must be a comma list of true/false, got {text!r}")
    return tuple(words[v] for v in values)


def _show(value: Any, kind: str) -> str:
    """A default as its flag spells it: 32:1024 (range), lstm,gru or 3,5 (lists)."""
    if kind == "range":
        return f"{value[0]}:{value[1]}"
    if isinstance(value, tuple):
        return ",".join(str(v).lower() for v in value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class _Shared:
    """The ranges every search has; each tunable model's own ranges join them in
    `SearchSpace` (after ``hidden``'s neighbour: `interleave`, KerasTuner's draw order)."""

    temporal_types: tuple[str, ...] = _field(
        DEFAULT_TYPES, "--temporal-types", "temporal families to try: " + ", ".join(
            f"{','.join(m.types)} ({name})" for name, m in registry.MODELS.items()
            if m.tunable) + "; the default searches " + ",".join(DEFAULT_TYPES),
        samples="temporal_type", kind="choices")
    hidden: tuple[int, int] = _field(
        (32, 1024), "--hidden-range", "width MIN:MAX (RNN units, conv channels, attention "
        "width), log scale", samples="hidden", kind="range", cast=int, log=True)
    chunk_length: tuple[int, int] = _field(
        (4, 32), "--chunk-range", "chunk length MIN:MAX in frames (default 4:32, clipped to "
        "what the longest video allows; an explicit MAX beyond it is an error)",
        samples="chunk_length", kind="range", cast=int)
    chunk_step: int = _field(4, "--chunk-step", "chunk length step", samples=None,
                             kind="value", cast=int)
    learning_rate: tuple[float, float] | None = _field(
        None, "--lr-range", "search the learning rate over MIN:MAX, log scale, e.g. 1e-4:1e-2 "
        "(default: not searched, --learning-rate for every trial)", samples="learning_rate",
        kind="range", cast=float, log=True)
    dropout: tuple[float, float] | None = _field(
        None, "--dropout-range", "search the head dropout over MIN:MAX, e.g. 0.0:0.5 (default: "
        "not searched, --dropout for every trial)", samples="dropout", kind="range", cast=float)


class _SpaceMethods:
    """Ranges of the searched hyperparameters (inclusive).

    The temporal family (and with it the model and RNN cell) and each family's own
    settings are choices or ranges; hidden size is sampled on a log scale; chunk
    length (a data hyperparameter: it shapes the `tf.data` input, not a layer) in
    steps of `chunk_step` frames. These are the temporal part.

    Learning rate (log scale) and head dropout are searched only when given a
    range (None: every trial uses the base run's value). Tuning them for the
    recurrent model alone gives it an optimisation the runs it is compared with
    did not get, which `vidrec compare` then names as a confound.
    """

    def __post_init__(self):
        bad = [t for t in self.temporal_types if t not in TEMPORAL_TYPES]
        if bad or not self.temporal_types:
            raise ValueError(f"--temporal-types: unknown {bad or '(empty)'}; choose from "
                             f"{', '.join(TEMPORAL_TYPES)}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata["kind"] == "range" and value is not None and value[0] > value[1]:
                raise ValueError(f"{f.metadata['flag']}: min {value[0]} > max {value[1]}")
        small = [f.metadata["flag"] for f in dataclasses.fields(self)
                 if f.metadata["kind"] in ("range", "ints") and f.metadata["cast"] is int
                 and min(getattr(self, f.name)) < 1]
        if small:
            raise ValueError(f"{', '.join(small)}: values must be >= 1")
        if self.hidden[0] < 1 or self.chunk_length[0] < 1 or self.chunk_step < 1:
            raise ValueError(f"hidden, chunk length and chunk step must be >= 1, got "
                             f"{self.hidden}, {self.chunk_length}, {self.chunk_step}")
        if self.learning_rate is not None and self.learning_rate[0] <= 0:
            raise ValueError(f"--lr-range must be > 0, got {self.learning_rate}")
        if self.dropout is not None and not 0 <= self.dropout[0] <= self.dropout[1] < 1:
            raise ValueError(f"--dropout-range must lie in [0, 1), got {self.dropout}")

    def check_chunk_limit(self, max_chunk: int, frame_stride: int) -> None:
        """Raises when the chunk range asks for more frames than the shortest allowed span."""
        if self.chunk_length[1] > max_chunk:
            raise ValueError(
                f"--chunk-range max {self.chunk_length[1]} exceeds what the data allows: the "
                f"longest video has room for {max_chunk} frames at --frame-stride "
                f"{frame_stride}; use --chunk-range {self.chunk_length[0]}:{max_chunk}")

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        """Declares every searched hyperparameter on `hp`; a family's only in its trials."""
        for f in dataclasses.fields(self):
            meta, value = f.metadata, getattr(self, f.name)
            if not meta["samples"] or value is None:
                continue
            if meta["family"] is None:
                self._declare_one(hp, f, value)
                continue
            active = [t for t in self.temporal_types if t in meta["family"]]
            if active:
                with hp.conditional_scope("temporal_type", active):
                    self._declare_one(hp, f, value)

    def _declare_one(self, hp: keras_tuner.HyperParameters, f: dataclasses.Field,
                     value: Any) -> None:
        meta = f.metadata
        if meta["kind"] != "range":
            hp.Choice(meta["samples"], list(value))
            return
        lo, hi = value
        sampling = "log" if meta["log"] and lo < hi else "linear"
        if meta["cast"] is float:
            hp.Float(meta["samples"], lo, hi, sampling=sampling)
            return
        step = None  # any integer (for a log scale, step would be a multiplier)
        if f.name == "chunk_length":
            step = self.chunk_step if hi - lo >= self.chunk_step else 1
        hp.Int(meta["samples"], lo, hi, step=step, sampling=sampling)


def _search_space() -> type:
    def copy(f: dataclasses.Field):
        return (f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata))

    shared = dataclasses.fields(_Shared)
    own = [(t.samples, "Any", _field(t.default, t.flag, t.help, samples=t.samples,
                                     kind=t.kind, cast=t.cast, log=t.log,
                                     family=tuple(m.types)))
           for m in registry.MODELS.values() if m.tunable for t in m.tune]
    fields = [copy(shared[0]), *interleave(own, [copy(shared[1])]),
              *(copy(f) for f in shared[2:])]
    return dataclasses.make_dataclass(
        "SearchSpace", fields, bases=(_SpaceMethods,), frozen=True,
        namespace={"__module__": __name__, "__doc__": _SpaceMethods.__doc__})


SearchSpace = _search_space()

# What a search can sample, in order: trials.csv's columns. "temporal_type" picks the
# model (and the RNN cell); the others are TrainConfig fields.
HYPERPARAMETERS = tuple(f.metadata["samples"] for f in dataclasses.fields(SearchSpace)
                        if f.metadata["samples"])
_CASTS = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)
          if f.name in HYPERPARAMETERS}


def temporal_type_config(temporal_type: str) -> dict[str, Any]:
    """The TrainConfig fields a temporal type sets: its model and what the type names
    (``gru`` -> {"model": "recurrent", "rnn": "gru"})."""
    for name, model in registry.MODELS.items():
        if temporal_type in model.types:
            return {"model": name, **model.types[temporal_type]}
    raise ValueError(f"unknown temporal type {temporal_type!r}; one of "
                     f"{', '.join(TEMPORAL_TYPES)}")


def trial_values(hp: keras_tuner.HyperParameters) -> dict[str, Any]:
    """{TrainConfig field: value} of every hyperparameter this trial sampled (active)."""
    values = temporal_type_config(hp.get("temporal_type"))
    values.update({name: _CASTS[name](hp.get(name)) for name in HYPERPARAMETERS
                   if name in _CASTS and name in hp})
    return values


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One `vidrec tune` flag per SearchSpace field, with its help and default."""
    group = parser.add_argument_group("search space")
    for f in dataclasses.fields(SearchSpace):
        meta = f.metadata
        shown = "" if f.default is None or f.name == "chunk_length" else \
            f" (default {_show(f.default, meta['kind'])})"
        group.add_argument(meta["flag"], default=None, help=meta["help"] + shown)


def from_args(args: argparse.Namespace, max_chunk: int) -> SearchSpace:
    """The SearchSpace of parsed `add_flags` flags; the default chunk range fits the data.

    Raises:
      ValueError: a malformed or inconsistent value, naming the flag.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(SearchSpace):
        meta = f.metadata
        text = getattr(args, meta["flag"][2:].replace("-", "_"))
        if text is None:
            continue
        if meta["kind"] == "range":
            values[f.name] = _range(text, meta["cast"], meta["flag"])
        elif meta["kind"] == "bools":
            values[f.name] = _bools(text, meta["flag"])
        elif meta["kind"] == "choices":
            values[f.name] = tuple(x.strip() for x in text.split(",") if x.strip())
        elif meta["kind"] == "ints":
            try:
                values[f.name] = tuple(int(x) for x in text.split(",") if x.strip())
            except ValueError:
                raise ValueError(f"{meta['flag']} must be a comma list of integers, "
                                 f"got {text!r}") from None
        else:
            try:
                values[f.name] = meta["cast"](text)
            except ValueError:
                raise ValueError(f"{meta['flag']} must be a number, got {text!r}") from None
    if "chunk_length" not in values:
        values["chunk_length"] = (min(4, max_chunk), min(32, max_chunk))
    return SearchSpace(**values)
