"""The frame model: single frames through the encoder and the head, no temporal part."""

from trainer.temporal.base import Temporal

MODEL = Temporal(
    name="frame", summary="single frames", takes_chunks=False,
    temporal_fields=("model", "frames_per_video"), types={"none": {}})
