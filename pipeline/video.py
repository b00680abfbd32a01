"""Video decoding and encoding with OpenCV.

OpenCV hands out BGR frames; everything outside this module is RGB. The two
conversions (`_bgr_to_rgb` on read, `_rgb_to_bgr` on write) are the only
places colour order changes.

Decoding is sequential (``grab``/``retrieve``, never seeking with
``CAP_PROP_POS_FRAMES``, which is not frame-exact) and frames are counted as
they are decoded (``CAP_PROP_FRAME_COUNT`` comes from the header and is often
wrong).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import posixpath
import shutil
import tempfile
from typing import IO, Callable, Iterator

import cv2
import numpy as np
import tensorflow as tf

RESIZE_MODES = ("crop", "squash")


class VideoError(Exception):
    """A per-video failure: the video is recorded with `reason` and skipped."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
    """How a video becomes stored frames.

    Attributes:
      frame_size: output frames are `frame_size x frame_size`.
      resize_mode: ``crop`` resizes the shorter side to `frame_size` and keeps
        the centre square (aspect kept, edges lost); ``squash`` resizes both
        sides (whole frame kept, aspect changed, as the original notebook did).
      fps: resample to this frame rate by dropping frames (0 = native). A rate
        above the native one keeps the native rate.
      max_frames: keep at most this many frames from the start (0 = all).
      min_frames: fewer decoded frames than this is a failure.
      jpeg_quality: quality of the stored JPEGs.
    """

    frame_size: int = 128
    resize_mode: str = "crop"
    fps: float = 0.0
    max_frames: int = 0
    min_frames: int = 1
    jpeg_quality: int = 90

    def __post_init__(self):
        if self.frame_size < 8:
            raise ValueError(f"--frame-size must be >= 8, got {self.frame_size}")
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"--resize-mode must be one of {RESIZE_MODES}, "
                             f"got {self.resize_mode!r}")
        if self.fps < 0:
            raise ValueError(f"--fps must be >= 0, got {self.fps}")
        if self.max_frames < 0:
            raise ValueError(f"--max-frames must be >= 0, got {self.max_frames}")
        if self.min_frames < 1:
            raise ValueError(f"--min-frames must be >= 1, got {self.min_frames}")
        if self.max_frames and self.max_frames < self.min_frames:
            raise ValueError(f"--max-frames {self.max_frames} is below --min-frames "
                             f"{self.min_frames}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"--jpeg-quality must be in [1, 100], got {self.jpeg_quality}")


@dataclasses.dataclass
class DecodedVideo:
    """Frames of one video after resampling and resizing.

    Attributes:
      jpegs: T JPEG-encoded RGB frames.
      fps: frame rate of the stored frames.
      native_fps: frame rate the container reports (0 when unknown).
      decoded_frames: frames decoded before resampling.
    """

    jpegs: list[bytes]
    fps: float
    native_fps: float
    decoded_frames: int


def _bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _rgb_to_bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)


@contextlib.contextmanager
def local_copy(path: str, open_file: Callable[[str], IO[bytes]] | None = None) -> Iterator[str]:
    """Yields a local path for `path` (OpenCV reads local files only).

    Without `open_file`, a local path is used as it is and a remote one (`gs://`,
    any scheme) is copied to a temp file through tf.io.gfile. With `open_file`
    (e.g. Beam's `FileSystems.open`) every path is copied through it, so all reads
    go through that filesystem layer.
    """
    if open_file is None:
        if "://" not in path:
            yield path
            return
        open_file = lambda p: tf.io.gfile.GFile(p, "rb")  # noqa: E731
    fd, tmp = tempfile.mkstemp(suffix=posixpath.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as dst, open_file(path) as src:
            shutil.copyfileobj(src, dst)
        yield tmp
    finally:
        os.remove(tmp)


def resize(frame: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Resizes `uint8 [H, W, 3]` to `[size, size, 3]` by centre crop or squash."""
    if mode == "squash":
        return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    h, w = frame.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    frame = cv2.resize(frame, (nw, nh), interpolation=interp)
    top, left = (nh - size) // 2, (nw - size) // 2
    return frame[top:top + size, left:left + size]


def iter_frames(path: str) -> Iterator[np.ndarray]:
    """Yields the RGB frames `uint8 [H, W, 3]` of a local video, in order.

    Raises:
      VideoError: the file is empty or OpenCV cannot open it.
    """
    if os.path.getsize(path) == 0:
        raise VideoError("empty file (0 bytes)")
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise VideoError("OpenCV cannot open it (not a video, or an unsupported codec)")
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                return
            yield _bgr_to_rgb(frame)
    finally:
        capture.release()


def _header(path: str) -> tuple[float, int]:
    """(frame rate, frame count) the container reports, 0 for either when unknown."""
    capture = cv2.VideoCapture(path)
    try:
        fps, count = ((capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT))
                      if capture.isOpened() else (0.0, 0.0))
    finally:
        capture.release()
    fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 0.0
    return fps, int(count) if count and np.isfinite(count) and count > 0 else 0


def native_fps(path: str) -> float:
    """The frame rate the container reports, 0.0 when unknown."""
    return _header(path)[0]


# The header's frame count is often a little off, so only a video that decodes
# to under this fraction of it counts as truncated (a cut file still decodes
# its first frames and would otherwise pass silently).
TRUNCATED_BELOW = 0.5


def decode(path: str, options: DecodeOptions) -> DecodedVideo:
    """Decodes, resamples, resizes and JPEG-encodes one video (local or remote path).

    Raises:
      VideoError: unreadable or truncated file (under `TRUNCATED_BELOW` of the
        header's frame count), or fewer than `options.min_frames` frames.
    """
    with local_copy(path) as local:
        if not os.path.exists(local):
            raise VideoError("file does not exist")
        src_fps, header_frames = _header(local)
        keep_every = (src_fps / options.fps) if options.fps and src_fps > options.fps else 1.0
        params = [int(cv2.IMWRITE_JPEG_QUALITY), options.jpeg_quality]
        jpegs, decoded, next_keep, capped = [], 0, 0.0, False
        for index, frame in enumerate(iter_frames(local)):
            decoded += 1
            if index + 1e-6 < next_keep:
                continue
            next_keep += keep_every
            small = resize(frame, options.frame_size, options.resize_mode)
            ok, buf = cv2.imencode(".jpg", _rgb_to_bgr(small), params)
            if not ok:
                raise VideoError(f"JPEG encoding failed at frame {index}")
            jpegs.append(buf.tobytes())
            if options.max_frames and len(jpegs) >= options.max_frames:
                capped = True
                break
    if decoded == 0:
        raise VideoError("no frame could be decoded (truncated or corrupt file)")
    if not capped and decoded < TRUNCATED_BELOW * header_frames:
        raise VideoError(f"truncated or corrupt: decoded {decoded} of the {header_frames} "
                         "frames its header announces")
    if len(jpegs) < options.min_frames:
        raise VideoError(f"too short: {len(jpegs)} frames < --min-frames {options.min_frames}")
    out_fps = src_fps / keep_every if src_fps else options.fps
    return DecodedVideo(jpegs=jpegs, fps=out_fps, native_fps=src_fps, decoded_frames=decoded)


def write_video(path: str, frames: np.ndarray, fps: float) -> None:
    """Writes RGB frames `uint8 [T, H, W, 3]` as an MJPG AVI (local or remote path)."""
    frames = np.asarray(frames, dtype=np.uint8)
    h, w = frames.shape[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "clip.avi")
        writer = cv2.VideoWriter(local, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        try:
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write MJPG video to {path!r}")
            for frame in frames:
                writer.write(_rgb_to_bgr(frame))
        finally:
            writer.release()
        if "://" in path:
            tf.io.gfile.copy(local, path, overwrite=True)
        else:
            shutil.move(local, path)
