"""`vidrec camera`: a small real-footage dataset whose classes only motion direction separates.

Real photographs (any folder of JPEG/PNG images; `make footage` caches the photographs
that Debian's opencv-doc and python3-skimage ship) are filmed by a virtual camera, in exactly the
HMDB51 layout (`pipeline.synth` writes the same layout for synthetic shapes):

* ``pan_left`` / ``pan_right``: the camera slides sideways over the photograph; every
  frame is a full-frame view of it.
* ``zoom_in`` / ``zoom_out``: the photograph lies on a dark table and the camera moves
  towards it or away: it fills a growing or shrinking part of the frame.
* ``rotate_cw`` / ``rotate_ccw`` (not in the default): the camera rolls about its axis;
  the corners show the table.

A pair's two classes play the same motion in opposite directions, with the same
distribution of start and end points, so every single frame is drawn from the same
distribution in both: one frame tells a pan from a zoom (the table shows, or not) but
never its direction. The best a single-frame model can do is 1/2 with the four default
classes (chance 1/4); a model must read frame order to do better.

Each photograph is one source film (its clips of every class share it), so splitting by
film keeps a photograph's pixels out of the other side. Everything is deterministic given
``--seed`` and the images.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
from typing import Sequence

import cv2
import numpy as np

from pipeline import video

PAIRS = (("pan_left", "pan_right"), ("zoom_in", "zoom_out"), ("rotate_cw", "rotate_ccw"))
ALL_CLASSES = tuple(c for pair in PAIRS for c in pair)
DEFAULT_CLASSES = ALL_CLASSES[:4]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# The folder `make footage` fills from Debian's opencv-doc and python3-skimage.
DEFAULT_IMAGES = ".cache/footage/photos"
TABLE = (38, 34, 30)  # the dark table a zoomed or rolled photograph lies on (RGB)


@dataclasses.dataclass(frozen=True)
class CameraConfig:
    """What `vidrec camera` writes.

    Attributes:
      out: the dataset folder (videos/ and splits/).
      images: the photographs, one source film each (at least 4, each at least 64 px).
      classes: which of ALL_CLASSES (pairs keep their single-frame ceiling at 1/pairs).
      clips_per_film: clips of each class per photograph.
      frames, size, fps: each clip's length, frame side and header rate.
      test_fraction: the share of films each split file marks test (as in HMDB51).
    """

    out: str
    images: str = DEFAULT_IMAGES
    classes: tuple[str, ...] = DEFAULT_CLASSES
    clips_per_film: int = 3
    frames: int = 16
    size: int = 48
    fps: float = 10.0
    test_fraction: float = 0.3
    seed: int = 0

    def __post_init__(self):
        unknown = [c for c in self.classes if c not in ALL_CLASSES]
        if unknown or not self.classes:
            raise ValueError(f"--classes: unknown {unknown or '(none)'}; choose from "
                             f"{', '.join(ALL_CLASSES)}")
        for name, low in (("clips_per_film", 1), ("frames", 4), ("size", 16)):
            if getattr(self, name) < low:
                raise ValueError(f"--{name.replace('_', '-')} must be >= {low}, got "
                                 f"{getattr(self, name)}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"--test-fraction must be in (0, 1), got {self.test_fraction}")


def find_images(folder: str) -> list[str]:
    """The photographs in `folder` (sorted), or ValueError naming it and what it needs."""
    if not os.path.isdir(folder):
        raise ValueError(f"--images {folder!r} is not a folder (run `make footage` to cache "
                         "the photographs of Debian's opencv-doc and python3-skimage there)")
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_SUFFIXES))
    if len(paths) < 4:
        raise ValueError(f"--images {folder!r} holds {len(paths)} JPEG/PNG images; at "
                         "least 4 are needed (one source film each)")
    return paths


def load_photo(path: str, side: int) -> np.ndarray:
    """RGB `uint8` photograph, scaled so its shorter side is `side` (the camera's canvas)."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None or min(bgr.shape[:2]) < 64:
        raise ValueError(f"{path!r}: not an image of at least 64x64 pixels")
    scale = side / min(bgr.shape[:2])
    bgr = cv2.resize(bgr, (max(side, round(bgr.shape[1] * scale)),
                           max(side, round(bgr.shape[0] * scale))),
                     interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _path(rng: np.random.Generator, frames: int, lo: float, hi: float, span: float):
    """Start and end of a motion whose endpoints are uniform on [lo, hi] with |end-start| =
    span; the reverse motion has the same distribution of frames."""
    start = rng.uniform(lo, hi - span)
    return np.linspace(start, start + span, frames)


def render_clip(photo: np.ndarray, name: str, cfg: CameraConfig,
                rng: np.random.Generator) -> np.ndarray:
    """One clip of class `name` over `photo`: `uint8 [frames, size, size, 3]` RGB."""
    s, t = cfg.size, cfg.frames
    ph, pw = photo.shape[:2]
    out = np.empty((t, s, s, 3), np.uint8)
    kind, reverse = name.split("_")[0], name in ("pan_left", "zoom_out", "rotate_ccw")
    if kind == "pan":
        win = 0.55 * min(ph, pw)
        xs = _path(rng, t, win / 2, pw - win / 2, min(0.8 * win, pw - win))
        y = rng.uniform(win / 2, ph - win / 2)
        # pan right: the camera moves right, so the window's x grows
        for i, x in enumerate(xs[::-1] if reverse else xs):
            m = np.float32([[win / s, 0, x - win / 2], [0, win / s, y - win / 2]])
            out[i] = cv2.warpAffine(photo, m, (s, s), flags=cv2.WARP_INVERSE_MAP |
                                    cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        return out
    win = 0.7 * min(ph, pw)
    cx, cy = rng.uniform(win / 2, pw - win / 2), rng.uniform(win / 2, ph - win / 2)
    if kind == "zoom":
        scales = _path(rng, t, 0.35, 0.95, 0.45)  # the photo's share of the frame side
        angles = np.zeros(t)
    else:
        scales = np.full(t, 1.0)
        angles = _path(rng, t, -45.0, 45.0, 50.0)
    if reverse:
        scales, angles = scales[::-1], angles[::-1]
    for i in range(t):
        # frame pixel -> photo pixel: about the frame centre, scale and roll, to (cx, cy)
        k = win / (s * scales[i])
        a = math.radians(angles[i])
        c, sn = k * math.cos(a), k * math.sin(a)
        m = np.float32([[c, -sn, cx - c * s / 2 + sn * s / 2],
                        [sn, c, cy - sn * s / 2 - c * s / 2]])
        inside = cv2.warpAffine(np.ones((ph, pw), np.uint8), m, (s, s),
                                flags=cv2.WARP_INVERSE_MAP | cv2.INTER_NEAREST,
                                borderValue=0)
        # a rolled photograph fills the frame: the table shows in the corners only if the
        # photograph's crop is too small, which the rotate window keeps it from being
        frame = cv2.warpAffine(photo, m, (s, s), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_AREA,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=TABLE)
        if kind == "zoom":
            edge = round(s * (1 - scales[i]) / 2)
            frame[:edge], frame[s - edge:], frame[:, :edge], frame[:, s - edge:] = (TABLE,) * 4
        elif kind == "rotate":
            frame[inside == 0] = TABLE
            corner = _corner_mask(s, angles[i])
            frame[corner] = TABLE
        out[i] = frame
    return out


def _corner_mask(s: int, degrees: float) -> np.ndarray:
    """The frame's pixels outside a rolled square photograph as wide as the frame."""
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32) - (s - 1) / 2
    a = math.radians(degrees)
    u = xs * math.cos(a) + ys * math.sin(a)
    v = -xs * math.sin(a) + ys * math.cos(a)
    return (np.abs(u) > s / 2) | (np.abs(v) > s / 2)


def film_title(path: str) -> str:
    """A film title from an image's file name, HMDB51-safe (no ``_<class>_`` inside)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return "".join(ch if ch.isalnum() else "-" for ch in stem)


def split_ids(films: Sequence[str], split: int, cfg: CameraConfig) -> dict[str, int]:
    """Official-style id per film (1 train, 2 test) for one split, films kept whole."""
    order = sorted(films)
    random.Random(f"{cfg.seed}-{split}").shuffle(order)
    n_test = max(1, round(cfg.test_fraction * len(order)))
    return {film: 2 if i < n_test else 1 for i, film in enumerate(order)}


def generate(cfg: CameraConfig) -> dict[str, int]:
    """Writes the dataset; returns the number of clips written per class."""
    import tensorflow as tf  # here, not at the top: `vidrec camera --help` needs no TensorFlow

    images = find_images(cfg.images)
    films = {film_title(p): p for p in images}
    if len(films) != len(images):
        raise ValueError(f"--images {cfg.images!r}: two images give one film title")
    root = cfg.out.rstrip("/")
    tf.io.gfile.makedirs(f"{root}/splits")
    names: dict[str, list[tuple[str, str]]] = {c: [] for c in cfg.classes}
    for f, (film, path) in enumerate(sorted(films.items())):
        photo = load_photo(path, 4 * cfg.size)
        for class_name in cfg.classes:
            tf.io.gfile.makedirs(f"{root}/videos/{class_name}")
            for k in range(cfg.clips_per_film):
                rng = np.random.default_rng([cfg.seed, f, ALL_CLASSES.index(class_name), k])
                name = f"{film}_{class_name}_u_cm_np1_fr_med_{k}.avi"
                video.write_video(f"{root}/videos/{class_name}/{name}",
                                  render_clip(photo, class_name, cfg, rng), cfg.fps)
                names[class_name].append((film, name))
    for split in (1, 2, 3):
        ids = split_ids(list(films), split, cfg)
        for class_name, clips in names.items():
            with tf.io.gfile.GFile(f"{root}/splits/{class_name}_test_split{split}.txt",
                                   "w") as fh:
                fh.write("".join(f"{n} {ids[film]} \n" for film, n in clips))
    return {c: len(v) for c, v in names.items()}
