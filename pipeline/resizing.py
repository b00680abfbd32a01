"""Resizing decoded frames to the stored square: centre crop or squash, two filters.

`pipeline.video.decode` calls `resize` on every kept frame; the conversion spends
most of its time here (`benchmarks/bench_convert.py`). Channel order is whatever
goes in (BGR on the conversion path).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

RESIZE_MODES = ("crop", "squash")
RESIZE_FILTERS = ("fast", "area")
LINEAR_BELOW = 1.25  # `downscale`: shrinks by less than this are bilinear alone


def downscale(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anti-aliased resize of `frame` to `[height, width]`, close to INTER_AREA, fast.

    INTER_AREA at a non-integer scale is OpenCV's slow generic path; its exact 2x
    case is fast. So: exact 2x2 area halvings while the frame stays at least the
    target size (an odd side loses its last row or column first), then for what is
    left of the shrink, under 2x:

    - under `LINEAR_BELOW`: bilinear alone (little to alias);
    - 1.7x to 2x straight from the source (HMDB51's 240 -> 128 is 1.875x): OpenCV's
      fixed-point 3x3 Gaussian, whose [1 2 1] smoothing matches INTER_AREA's box at
      these shrinks, then bilinear: the cheapest path;
    - otherwise: bilinear up to twice the target, then one exact 2x2 average.
    """
    h, w = frame.shape[:2]
    halved = False
    while w // 2 >= width and h // 2 >= height:
        frame = cv2.resize(frame[:h // 2 * 2, :w // 2 * 2], (w // 2, h // 2),
                           interpolation=cv2.INTER_AREA)
        h, w = frame.shape[:2]
        halved = True
    if (w, h) == (width, height):
        return frame
    fx, fy = w / width, h / height
    if fx <= LINEAR_BELOW and fy <= LINEAR_BELOW:
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    if not halved and 1.7 <= min(fx, fy) and max(fx, fy) < 2.0:
        # contiguous: filtering a crop (a view) reads around it, a slower path
        blurred = cv2.GaussianBlur(np.ascontiguousarray(frame), (3, 3), 0)
        return cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR)
    frame = cv2.resize(frame, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def _area(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = frame.shape[:2]
    interp = cv2.INTER_AREA if w > width or h > height else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


RESIZERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "fast": downscale, "area": _area}


def centre_square(frame: np.ndarray) -> np.ndarray:
    """The centred `s x s` square of `frame`, s = its shorter side (a view, no copy)."""
    h, w = frame.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return frame[top:top + s, left:left + s]


def resize(frame: np.ndarray, size: int, mode: str, resize_filter: str = "fast") -> np.ndarray:
    """Resizes `uint8 [H, W, 3]` to `[size, size, 3]` by centre crop or squash.

    Channel order is kept (whatever goes in comes out).
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    if mode == "crop":
        frame = centre_square(frame)
    return RESIZERS[resize_filter](frame, size, size)
