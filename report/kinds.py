"""What kind of temporal model a run is, as its eval file says, and the roles each kind fills.

The trainer writes ``"kind": {"takes_chunks", "order_aware", "recurrent"}`` (three
bools) at the top of every eval file and in train_summary.json's recipe; the report
reads kinds, never model names, so a new model needs no change here. Eval files
written before kinds were recorded have none: their kind follows from the model
(frame, pooled, recurrent); any other model without a kind is refused.

Kinds (takes_chunks, order_aware, recurrent)::

    frame                     F F F    one frame at a time
    pooled                    T F F    several frames, mean-pooled: order-blind
    attention, no positions   T F F    order-blind too: a second pooled control
    temporal_conv             T T F    order-aware, not recurrent
    attention                 T T F    order-aware, not recurrent
    recurrent                 T T T
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple


class Kind(NamedTuple):
    """A temporal model's kind: several frames per example? their order? recurrence?"""

    takes_chunks: bool
    order_aware: bool
    recurrent: bool

    @property
    def label(self) -> str:
        """"recurrent", "order-aware" or "order-blind" (the report's Kind column)."""
        if self.recurrent:
            return "recurrent"
        return "order-aware" if self.order_aware else "order-blind"


# Eval files written before "kind" was recorded: the three models that existed then.
LEGACY_KINDS = {"frame": Kind(False, False, False), "pooled": Kind(True, False, False),
                "recurrent": Kind(True, True, True)}


class Role(NamedTuple):
    """A run the report's answer names: the best (by validation) run of one kind."""

    words: str  # what a run of this role is, in the report's words
    fits: Callable[[Kind], bool]


ROLES = {
    "frame": Role("frame run (one frame at a time)", lambda k: not k.takes_chunks),
    "pooled": Role("order-blind multi-frame run (pooled, or attention without positions)",
                   lambda k: k.takes_chunks and not k.order_aware),
    "order_aware": Role("order-aware run (recurrent, temporal_conv, or attention with "
                        "positions)", lambda k: k.order_aware),
    "recurrent": Role("recurrent run", lambda k: k.recurrent),
    "non_recurrent": Role("non-recurrent order-aware run (temporal_conv, or attention with "
                          "positions)", lambda k: k.order_aware and not k.recurrent),
}


def with_article(words: str) -> str:
    """"an order-aware run", "a frame run"."""
    return ("an " if words[:1] in tuple("aeiou") else "a ") + words


def parse_kind(value: Any, where: str) -> Kind:
    """A recorded ``"kind"`` dict as a Kind.

    Raises:
      ValueError: not a dict of the three bools, naming `where` and the value.
    """
    if not isinstance(value, Mapping) or \
            any(not isinstance(value.get(f), bool) for f in Kind._fields):
        raise ValueError(f"{where}: \"kind\" must be {{{', '.join(Kind._fields)}}} as bools, "
                         f"got {value!r}")
    return Kind(*(value[f] for f in Kind._fields))


def recorded_kind(ev: Mapping[str, Any], summary: Mapping[str, Any] | None, where: str) -> Kind:
    """The run's kind: its eval file's, else train_summary.json's, else its legacy model's.

    Args:
      ev: the natural-order eval file.
      summary: train_summary.json or None.
      where: the run dir, for the error.

    Raises:
      ValueError: a malformed kind, or a model other than frame/pooled/recurrent with none.
    """
    summary = summary or {}
    for value in (ev.get("kind"), (ev.get("recipe") or {}).get("kind"), summary.get("kind"),
                  (summary.get("recipe") or {}).get("kind")):
        if value is not None:
            return parse_kind(value, where)
    model = ev.get("model")
    if model not in LEGACY_KINDS:
        raise ValueError(f"run {where!r}: model {model!r} records no \"kind\" (takes_chunks, "
                         f"order_aware, recurrent); only {', '.join(LEGACY_KINDS)} can do "
                         "without: evaluate it again with this vidrec")
    return LEGACY_KINDS[model]
