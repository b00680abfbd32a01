"""The search space of `vidrec tune`: what is searched and within which ranges."""

from __future__ import annotations

import dataclasses

import keras_tuner

from trainer.config import RNNS


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


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Ranges of the searched hyperparameters (inclusive).

    RNN type and bidirectionality are choices; hidden size is sampled on a log
    scale; chunk length (a data hyperparameter: it shapes the `tf.data` input,
    not a layer) in steps of `chunk_step` frames. These are the temporal part.

    Learning rate (log scale) and head dropout are searched only when given a
    range (None: every trial uses the base run's value). Tuning them for the
    recurrent model alone gives it an optimisation the runs it is compared with
    did not get, which `vidrec compare` then names as a confound.
    """

    rnn_types: tuple[str, ...] = RNNS
    bidirectional: tuple[bool, ...] = (False, True)
    hidden: tuple[int, int] = (32, 1024)
    chunk_length: tuple[int, int] = (4, 32)
    chunk_step: int = 4
    learning_rate: tuple[float, float] | None = None
    dropout: tuple[float, float] | None = None

    def __post_init__(self):
        bad = [r for r in self.rnn_types if r not in RNNS]
        if bad or not self.rnn_types:
            raise ValueError(f"--rnn-types: unknown {bad or '(empty)'}; choose from {RNNS}")
        for name in ("hidden", "chunk_length", "learning_rate", "dropout"):
            if getattr(self, name) is None:
                continue
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"--{name.replace('_', '-')}-range: min {lo} > max {hi}")
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
        """Declares every searched hyperparameter on `hp`."""
        hp.Choice("rnn", list(self.rnn_types))
        hp.Choice("bidirectional", list(self.bidirectional))
        hp.Int("hidden", self.hidden[0], self.hidden[1],
               sampling="log" if self.hidden[0] < self.hidden[1] else "linear")
        lo, hi = self.chunk_length
        step = self.chunk_step if hi - lo >= self.chunk_step else 1
        hp.Int("chunk_length", lo, hi, step=step)
        if self.learning_rate is not None:
            lo, hi = self.learning_rate
            hp.Float("learning_rate", lo, hi, sampling="log" if lo < hi else "linear")
        if self.dropout is not None:
            hp.Float("dropout", self.dropout[0], self.dropout[1])


def space_from_flags(*, rnn_types: str, bidirectional: str, hidden: str, chunk: str,
                     chunk_step: int, lr: str | None, dropout: str | None) -> SearchSpace:
    """Builds a SearchSpace from the command-line strings (``MIN:MAX`` ranges; None: fixed)."""
    bidi_map = {"false": False, "true": True}
    bidi = tuple(bidi_map.get(b.strip().lower(), b) for b in bidirectional.split(","))
    if any(not isinstance(b, bool) for b in bidi):
        raise ValueError(f"--bidirectional-choices must be a comma list of true/false, "
                         f"got {bidirectional!r}")
    chunk_range = _range(chunk, int, "--chunk-range")
    return SearchSpace(
        rnn_types=tuple(r.strip() for r in rnn_types.split(",") if r.strip()),
        bidirectional=bidi,
        hidden=_range(hidden, int, "--hidden-range"),
        chunk_length=chunk_range,
        chunk_step=chunk_step,
        learning_rate=_range(lr, float, "--lr-range") if lr else None,
        dropout=_range(dropout, float, "--dropout-range") if dropout else None,
    )

