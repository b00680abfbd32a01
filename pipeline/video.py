"""Video decoding and encoding with OpenCV.

Frames stay in OpenCV's BGR order from decode to JPEG encoding (`cv2.imencode`
expects BGR and writes a standard, RGB-decoding JPEG): no colour conversion
on the conversion path. `write_video`, which takes RGB frames, is the only
place colour order changes.

Decoding is sequential (``grab``, then ``retrieve`` only for the frames that
are kept; never seeking with ``CAP_PROP_POS_FRAMES``, which is not
frame-exact). Every grabbed frame's timestamp (``CAP_PROP_POS_MSEC``) is
read: a file is judged truncated by the time its frames cover against the
header's duration, not by frame counts (``CAP_PROP_FRAME_COUNT`` comes from the
header and is wrong for variable-frame-rate and null-frame AVIs).

Resizing a decoded frame (centre crop or squash, the fast anti-aliased filter) is
`pipeline.resizing`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import posixpath
import shutil
import tempfile
from typing import IO, Callable, Iterator

import cv2
import numpy as np

from pipeline import resizing

# A clip whose frames cover less than this share of the header's duration (less one
# frame) is truncated. Header durations are often a little off, and a variable-rate
# clip covers its whole duration with fewer frames (OpenCV's tree.avi: 68 of 444
# frames over 29.5 of 29.6 s), while a cut file covers only its start.
COVERED_AT_LEAST = 0.9
# Timestamps within this many ms are the same instant (containers round them).
TIME_TOLERANCE_MS = 1.0


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
      resize_mode: ``crop`` keeps the centre square of the frame (aspect kept,
        edges lost); ``squash`` resizes both sides (whole frame kept, aspect
        changed, as the original notebook did).
      resize_filter: ``fast`` (default): exact 2x2 halvings, then a light Gaussian
        and bilinear, or bilinear to 2x and a 2x2 average (`resizing.downscale`): over 38 dB
        PSNR against INTER_AREA on textured frames at a fraction of its cost
        (`benchmarks/bench_convert.py`);
        ``area``: OpenCV's INTER_AREA itself.
      fps: 0 = store the frames as they decode, at the native rate. Otherwise
        place frames on a constant-rate grid of min(fps, native) frames/s by
        timestamp: each grid time takes the first frame shown at or after it, so
        frames are dropped (grabbed, never retrieved) or repeated (across the gaps
        of variable-rate and null-frame clips).
      max_frames: keep at most this many frames from the start (0 = all).
      min_frames: fewer stored frames than this is a failure.
      jpeg_quality: quality of the stored JPEGs.
    """

    frame_size: int = 128
    resize_mode: str = "crop"
    fps: float = 0.0
    max_frames: int = 0
    min_frames: int = 1
    jpeg_quality: int = 90
    resize_filter: str = "fast"

    def __post_init__(self):
        if self.frame_size < 8:
            raise ValueError(f"--frame-size must be >= 8, got {self.frame_size}")
        if self.resize_mode not in resizing.RESIZE_MODES:
            raise ValueError(f"--resize-mode must be one of {resizing.RESIZE_MODES}, "
                             f"got {self.resize_mode!r}")
        if self.resize_filter not in resizing.RESIZE_FILTERS:
            raise ValueError(f"--resize-filter must be one of {resizing.RESIZE_FILTERS}, "
                             f"got {self.resize_filter!r}")
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
      jpegs: T JPEG-encoded frames (RGB when decoded).
      fps: frame rate of the stored frames.
      native_fps: frame rate the container reports (0 when unknown).
      decoded_frames: frames decoded (grabbed) before resampling.
      covered_seconds: time the decoded frames cover: the last one's timestamp
        plus one frame at the native rate.
    """

    jpegs: list[bytes]
    fps: float
    native_fps: float
    decoded_frames: int
    covered_seconds: float = 0.0


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
        import tensorflow as tf  # only for remote paths: keeps this module light

        open_file = lambda p: tf.io.gfile.GFile(p, "rb")  # noqa: E731
    fd, tmp = tempfile.mkstemp(suffix=posixpath.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as dst, open_file(path) as src:
            shutil.copyfileobj(src, dst)
        yield tmp
    finally:
        os.remove(tmp)


def _open(path: str, threads: int) -> cv2.VideoCapture:
    """Opens a local video; `threads` > 0 caps FFmpeg's decoding threads."""
    if threads > 0:
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
        if capture.isOpened():
            return capture
        capture.release()
    return cv2.VideoCapture(path)


def _header(capture: cv2.VideoCapture) -> tuple[float, int]:
    """(frame rate, frame count) the container reports, 0 for either when unknown."""
    fps, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 0.0
    return fps, int(count) if count and np.isfinite(count) and count > 0 else 0


def native_fps(path: str) -> float:
    """The frame rate the container reports, 0.0 when unknown."""
    capture = cv2.VideoCapture(path)
    try:
        return _header(capture)[0] if capture.isOpened() else 0.0
    finally:
        capture.release()


class _Grid:
    """Which grabbed frames a constant-rate grid of `step_ms` needs, and how often.

    A grid time t takes the first frame whose timestamp is at or after it (within
    `TIME_TOLERANCE_MS`), so the decision is made when the frame is grabbed: frame
    i serves the grid times in (ts[i-1], ts[i]]. A step of 0 keeps every frame once.
    """

    def __init__(self, step_ms: float):
        self.step = step_ms
        self.origin: float | None = None  # the first frame's timestamp: grid time 0
        self.next = 0  # index of the next grid time to serve

    def copies(self, ts_ms: float) -> int:
        if not self.step:
            return 1
        if self.origin is None:
            self.origin = ts_ms
        last = math.floor((ts_ms - self.origin + TIME_TOLERANCE_MS) / self.step)
        n = max(0, last - self.next + 1)
        self.next = max(self.next, last + 1)
        return n


def decode(path: str, options: DecodeOptions, *, threads: int = 0) -> DecodedVideo:
    """Decodes, resamples, resizes and JPEG-encodes one video (local or remote path).

    Args:
      path: the video.
      options: how it becomes stored frames.
      threads: FFmpeg decoding threads (0 = OpenCV's default, one per core).

    Raises:
      VideoError: unreadable file; truncated file (its frames cover under
        `COVERED_AT_LEAST` of the header's duration, less one frame); fewer than
        `options.min_frames` stored frames.
    """
    with local_copy(path) as local:
        if not os.path.exists(local):
            raise VideoError("file does not exist")
        if os.path.getsize(local) == 0:
            raise VideoError("empty file (0 bytes)")
        capture = _open(local, threads)
        try:
            if not capture.isOpened():
                raise VideoError("OpenCV cannot open it (not a video, or an unsupported codec)")
            return _decode_open(capture, options)
        finally:
            capture.release()


def _decode_open(capture: cv2.VideoCapture, options: DecodeOptions) -> DecodedVideo:
    src_fps, header_frames = _header(capture)
    frame_ms = 1000.0 / src_fps if src_fps else 0.0
    rate = min(options.fps, src_fps) if options.fps and src_fps else options.fps
    grid = _Grid(1000.0 / rate if rate else 0.0)
    params = [int(cv2.IMWRITE_JPEG_QUALITY), options.jpeg_quality]
    jpegs: list[bytes] = []
    decoded, last_ts, capped = 0, 0.0, False
    while not capped and capture.grab():
        ts = capture.get(cv2.CAP_PROP_POS_MSEC)
        if decoded and ts <= last_ts and frame_ms:  # no usable timestamps: count frames
            ts = last_ts + frame_ms
        last_ts, decoded = ts, decoded + 1
        copies = grid.copies(ts)
        if not copies:
            continue  # grabbed, never retrieved
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            decoded -= 1
            break
        small = resizing.resize(frame, options.frame_size, options.resize_mode,
                                options.resize_filter)
        ok, buf = cv2.imencode(".jpg", small, params)  # BGR in, standard JPEG out
        if not ok:
            raise VideoError(f"JPEG encoding failed at frame {decoded - 1}")
        jpeg = buf.tobytes()
        for _ in range(copies):
            jpegs.append(jpeg)
            if options.max_frames and len(jpegs) >= options.max_frames:
                capped = True
                break
    if decoded == 0:
        raise VideoError("no frame could be decoded (truncated or corrupt file)")
    covered = (last_ts + frame_ms) / 1000.0  # from time 0: a late start is not coverage
    duration = header_frames / src_fps if src_fps and header_frames else 0.0
    if not capped and duration and covered < COVERED_AT_LEAST * duration - frame_ms / 1000:
        raise VideoError(f"truncated or corrupt: its {decoded} decoded frames cover "
                         f"{covered:.2f} s of the {duration:.2f} s its header announces")
    if len(jpegs) < options.min_frames:
        raise VideoError(f"too short: {len(jpegs)} frames < --min-frames {options.min_frames}")
    return DecodedVideo(jpegs=jpegs, fps=rate or src_fps, native_fps=src_fps,
                        decoded_frames=decoded, covered_seconds=round(covered, 3))


def write_video(path: str, frames: np.ndarray, fps: float, fourcc: str = "MJPG") -> None:
    """Writes RGB frames `uint8 [T, H, W, 3]` as an AVI (local or remote path).

    `fourcc` picks the codec (``MJPG``, ``XVID``, ``MP4V``... as this OpenCV build
    can write).
    """
    frames = np.asarray(frames, dtype=np.uint8)
    h, w = frames.shape[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "clip.avi")
        writer = cv2.VideoWriter(local, cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        try:
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {fourcc} video to {path!r}")
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        if "://" in path:
            import tensorflow as tf

            tf.io.gfile.copy(local, path, overwrite=True)
        else:
            shutil.move(local, path)
