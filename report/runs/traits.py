"""What a compared model is, as its eval file says: its `Traits` (four booleans).

The trainer writes ``"kind": {"takes_chunks", "order_aware", "recurrent", "spatial"}`` (the
model's registry entry's traits) at the top of every eval file and in train_summary.json's
recipe; the report reasons with traits, never model names, so a new model needs no change
here. "spatial": the temporal part sees the encoder's feature maps (before global pooling),
not pooled per-frame vectors ("late fusion"); kinds recorded before it existed lack it and
are read as not spatial. Eval files written before kinds were recorded have none: their
traits follow from the model (frame, pooled, recurrent); any other model without them is
refused. Which runs of which traits the answer names: `report.answer.roles`.

Traits (takes_chunks, order_aware, recurrent, spatial)::

    frame                     F F F F    one frame at a time
    pooled                    T F F F    several frames, mean-pooled: order-blind
    attention, no positions   T F F F    order-blind too: a second pooled control
    temporal_conv             T T F F    order-aware, not recurrent
    attention                 T T F F    order-aware, not recurrent
    recurrent                 T T T F
    convlstm                  T T T T    ConvLSTM2D over the feature maps: spatial recurrent
    conv2plus1d               T T F T    (2+1)D convolution over them: spatial, not recurrent
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from vidrec.core.eval_file import KIND, EvalFile


class Traits(NamedTuple):
    """A temporal model's traits: several frames per example? their order? recurrence? over
    the encoder's feature maps (spatial) rather than pooled per-frame vectors?"""

    takes_chunks: bool
    order_aware: bool
    recurrent: bool
    spatial: bool = False

    @property
    def label(self) -> str:
        """"recurrent", "order-aware" or "order-blind" (the report's Kind column), after
        "spatial " for a spatial model."""
        if self.recurrent:
            label = "recurrent"
        else:
            label = "order-aware" if self.order_aware else "order-blind"
        return f"spatial {label}" if self.spatial else label

    def recorded(self, spatial_key: bool) -> dict[str, bool]:
        """The traits as a "kind" dict; "spatial" only with `spatial_key` (summary.json's
        runs hold it only where some compared run is spatial, as kinds once lacked it)."""
        kind = self._asdict()
        if not spatial_key:
            del kind[SPATIAL]
        return kind


SPATIAL = "spatial"  # the one trait a recorded kind may lack (read as False)
REQUIRED_TRAITS = tuple(f for f in Traits._fields if f != SPATIAL)

# Eval files written before "kind" was recorded: the three models that existed then.
LEGACY_TRAITS = {"frame": Traits(False, False, False), "pooled": Traits(True, False, False),
                 "recurrent": Traits(True, True, True)}


def parse_traits(value: Any, where: str) -> Traits:
    """A recorded ``"kind"`` dict as Traits; without "spatial" (recorded before it was), not
    spatial.

    Raises:
      ValueError: not a dict of the three bools and an optional bool "spatial", naming
        `where` and the value.
    """
    if not isinstance(value, Mapping) or \
            any(not isinstance(value.get(f), bool) for f in REQUIRED_TRAITS) or \
            not isinstance(value.get(SPATIAL, False), bool):
        raise ValueError(f"{where}: \"{KIND}\" must be {{{', '.join(REQUIRED_TRAITS)}}} as "
                         f"bools (and \"{SPATIAL}\" a bool where recorded), got {value!r}")
    return Traits(*(value[f] for f in REQUIRED_TRAITS), spatial=value.get(SPATIAL, False))


def recorded_traits(ev: EvalFile, summary: Mapping[str, Any] | None, where: str) -> Traits:
    """The run's traits: its eval file's, else train_summary.json's, else its legacy model's.

    Args:
      ev: the natural-order eval file.
      summary: train_summary.json or None.
      where: the run dir, for the error.

    Raises:
      ValueError: malformed traits, or a model other than frame/pooled/recurrent with none.
    """
    summary = summary or {}
    for value in (ev.kind, ev.recipe_kind, summary.get(KIND),
                  (summary.get("recipe") or {}).get(KIND)):
        if value is not None:
            return parse_traits(value, where)
    if ev.model not in LEGACY_TRAITS:
        raise ValueError(f"run {where!r}: model {ev.model!r} records no \"{KIND}\" "
                         f"(takes_chunks, order_aware, recurrent); only "
                         f"{', '.join(LEGACY_TRAITS)} can do without: evaluate it again with "
                         "this vidrec")
    return LEGACY_TRAITS[ev.model]
