"""Which frames of a test video every model is scored on (`EvalProtocol`)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class EvalProtocol:
    """Which frames of a test video every model is scored on: chosen from the video alone.

    Dense evaluation: every stored frame (``window`` 0), or the centred ``window``
    consecutive frames (all of them when the video is shorter). Each model tiles
    that frame set into its own clips (a frame each, or chunks of its chunk length
    and stride: one run of chunks per stride phase, the last chunk of a run looped),
    so models with different chunk lengths are scored on the same frames, and a
    chunk model sees frames exactly as far apart as in training.
    """

    window: int = 0

    VERSION = 1

    def __post_init__(self):
        if self.window < 0:
            raise ValueError(f"--frames must be 'all' or a positive number of frames, "
                             f"got {self.window}")

    @property
    def name(self) -> str:
        return "dense" if self.window == 0 else f"dense-center-{self.window}"

    @classmethod
    def parse(cls, text: str) -> "EvalProtocol":
        """``all`` -> every frame; ``N`` -> the centred N consecutive frames."""
        text = str(text).strip()
        if text == "all":
            return cls()
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"--frames must be 'all' or a positive number of frames, "
                             f"got {text!r}")
        return cls(int(text))

    def describe(self) -> str:
        frames = ("every stored frame" if self.window == 0 else
                  f"the centred {self.window} consecutive frames")
        return (f"{frames} of each video, tiled by each model into its own clips (one frame "
                "each, or consecutive chunks at its own chunk length and stride, the last "
                "chunk looped)")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "window": self.window, "version": self.VERSION,
                "description": self.describe()}
