"""`vidrec synth`: a synthetic action dataset in exactly the HMDB51 layout.

Two kinds of classes:

* order-only pairs (``grow``/``shrink``, ``fade_in``/``fade_out``,
  ``move_up``/``move_down``): the second class of a pair plays the first one's
  frames backwards, so every single frame is drawn from the same distribution
  in both classes and no single-frame model can beat chance within a pair.
  All three survive the trainer's default augmentation (horizontal flip, small
  rotation, zoom, contrast, identical on every frame of a chunk): none of them
  is mirrored by a horizontal flip.
* appearance classes (``square``, ``cross``): a jittering shape; one frame
  tells them apart.

Layout written under OUT::

    videos/<class>/<film>_<class>_u_cm_np1_fr_med_<k>.avi   (MJPG AVI)
    splits/<class>_test_split{1,2,3}.txt   (<file> <id>: 1 train, 2 test, 0 unused)

File names start with a source-film title (some with the punctuation real
HMDB51 titles carry) and several clips share a film, so grouping by film is
exercised. Everything is deterministic given ``--seed``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Callable, Sequence

import cv2
import numpy as np

from pipeline import video

ORDER_PAIRS = (("grow", "shrink"), ("fade_in", "fade_out"), ("move_up", "move_down"))
APPEARANCE_CLASSES = ("square", "cross")
ALL_CLASSES = tuple(c for pair in ORDER_PAIRS for c in pair) + APPEARANCE_CLASSES
ORDER_ONLY_CLASSES = tuple(c for pair in ORDER_PAIRS for c in pair)

_FILM_TITLES = (
    "Pirates_of_the_Caribbean_(2003)", "Fight_Club!", "Tom_&_Jerry", "Ocean's_Eleven",
    "#1_Hits", "April_09", "Veoh_Alpha_Dog", "Glory", "Hitch", "LONGESTYARD",
)
_PALETTE = np.array(
    [[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.25, 0.4, 0.95], [0.95, 0.85, 0.2],
     [0.85, 0.3, 0.85], [0.2, 0.85, 0.85]], dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """What `vidrec synth` writes."""

    out: str
    classes: tuple[str, ...] = ALL_CLASSES
    clips_per_class: int = 24
    frames: int = 16
    size: int = 32
    fps: float = 10.0
    clips_per_film: int = 2
    seed: int = 0

    def __post_init__(self):
        unknown = [c for c in self.classes if c not in ALL_CLASSES]
        if unknown or not self.classes:
            raise ValueError(f"Unknown synthetic classes {unknown or '(none)'}; choose from "
                             f"{', '.join(ALL_CLASSES)}")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"Duplicate classes in {self.classes}")
        for name, low in (("clips_per_class", 4), ("frames", 4), ("size", 16),
                          ("clips_per_film", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"--{name.replace('_', '-')} must be >= {low}, "
                                 f"got {getattr(self, name)}")
        if self.fps <= 0:
            raise ValueError(f"--fps must be > 0, got {self.fps}")


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return ys, xs


def _disc(size, cy, cx, r):
    ys, xs = _grid(size)
    return ((ys - cy) ** 2 + (xs - cx) ** 2 <= r * r).astype(np.float32)


def _square(size, cy, cx, r):
    ys, xs = _grid(size)
    return ((np.abs(ys - cy) <= r) & (np.abs(xs - cx) <= r)).astype(np.float32)


def _cross(size, cy, cx, r):
    ys, xs = _grid(size)
    w = max(1.0, r / 3)
    bar_v = (np.abs(xs - cx) <= w) & (np.abs(ys - cy) <= r)
    bar_h = (np.abs(ys - cy) <= w) & (np.abs(xs - cx) <= r)
    return (bar_v | bar_h).astype(np.float32)


def _ramp(t: int, lo: float, hi: float) -> np.ndarray:
    return np.linspace(lo, hi, t, dtype=np.float32)


def _masks_and_gains(name: str, cfg: SynthConfig, rng: np.random.Generator):
    """Per-frame shape masks [T, S, S] and brightness gains [T] of one clip."""
    s, t = cfg.size, cfg.frames
    base = name
    for first, second in ORDER_PAIRS:
        if name == second:
            base = first
    cx = rng.uniform(0.35 * s, 0.65 * s)
    cy = rng.uniform(0.35 * s, 0.65 * s)
    gains = np.ones(t, np.float32)
    if base == "grow":
        radii = _ramp(t, 0.08 * s, 0.42 * s)
        masks = np.stack([_disc(s, cy, cx, r) for r in radii])
    elif base == "fade_in":
        masks = np.stack([_disc(s, cy, cx, 0.25 * s)] * t)
        gains = _ramp(t, 0.1, 1.0)
    elif base == "move_up":
        ys = _ramp(t, 0.8 * s, 0.2 * s)
        masks = np.stack([_disc(s, y, cx, 0.15 * s) for y in ys])
    else:  # appearance classes: a jittering shape
        draw: Callable = _square if name == "square" else _cross
        jitter = np.cumsum(rng.normal(0, 0.03 * s, size=(t, 2)), axis=0)
        masks = np.stack([draw(s, cy + dy, cx + dx, 0.22 * s) for dy, dx in jitter])
    if name != base:  # the pair's second class is the first one played backwards
        masks, gains = masks[::-1], gains[::-1]
    return masks, gains


def render_clip(name: str, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Renders one clip of class `name` as `uint8 [T, S, S, 3]` RGB frames."""
    masks, gains = _masks_and_gains(name, cfg, rng)
    colour = _PALETTE[rng.integers(len(_PALETTE))]
    background = rng.uniform(0.0, 0.3)
    noise = rng.normal(0.0, 0.03, size=masks.shape + (3,)).astype(np.float32)
    shape = masks[..., None] * (gains[:, None, None, None] * colour)
    frames = np.where(masks[..., None] > 0, shape, background) + noise
    return (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)


def textured_clip(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A clip shaped like real footage: `uint8 [T, H, W, 3]` RGB, textured and moving.

    A multi-scale noise texture (detail at every scale, as in real scenes) pans
    under a moving camera and a bright disc crosses it. For benchmarks and tests
    of decoding and resizing, where flat synthetic frames would flatter a codec
    or a resize filter.
    """
    rng = np.random.default_rng(seed)
    th, tw = height + frames * 2 + 8, width + frames * 3 + 8
    def noise(scale: int, channels: int) -> np.ndarray:
        coarse = rng.uniform(0, 1, (th // scale + 2, tw // scale + 2, channels))
        return cv2.resize(coarse.astype(np.float32), (tw, th),
                          interpolation=cv2.INTER_CUBIC).reshape(th, tw, channels)

    luma = sum(w * noise(s, 1) for s, w in ((1, 0.15), (2, 0.25), (6, 0.3), (20, 0.3)))
    texture = 0.75 * luma + 0.25 * noise(40, 3)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        frame = texture[2 * t:2 * t + height, 3 * t:3 * t + width].copy()
        cy, cx = height * (0.3 + 0.4 * t / max(frames - 1, 1)), width * (0.8 - 0.6 * t / frames)
        frame[(ys - cy) ** 2 + (xs - cx) ** 2 < (0.12 * height) ** 2] = (1.0, 0.9, 0.3)
        out[t] = np.clip(frame * 255, 0, 255).astype(np.uint8)
    return out


def clip_names(cfg: SynthConfig, class_name: str) -> list[str]:
    """HMDB51-style file names of one class, grouped into source films."""
    names = []
    for k in range(cfg.clips_per_class):
        film = k // cfg.clips_per_film
        title = _FILM_TITLES[film % len(_FILM_TITLES)]
        names.append(f"{title}_{film:03d}_{class_name}_u_cm_np1_fr_med_{k % cfg.clips_per_film}"
                     ".avi")
    return names


def split_ids(cfg: SynthConfig, names: Sequence[str], split: int) -> list[int]:
    """Official-style ids per clip (1 train, 2 test, 0 unused), films kept whole.

    About 70% of films train and 30% test, as in HMDB51; the last clip of the
    class is marked 0 (unused) so that id is exercised.
    """
    films = sorted({n.rsplit("_u_cm_", 1)[0] for n in names})
    rng = random.Random(f"{cfg.seed}-{split}-{names[0]}")
    rng.shuffle(films)
    n_test = max(1, round(0.3 * len(films)))
    test_films = set(films[:n_test])
    ids = [2 if n.rsplit("_u_cm_", 1)[0] in test_films else 1 for n in names]
    ids[-1] = 0
    return ids


def generate(cfg: SynthConfig) -> dict[str, int]:
    """Writes the dataset; returns the number of clips written per class."""
    import tensorflow as tf  # here, not at the top: `vidrec synth --help` needs no TensorFlow

    root = cfg.out.rstrip("/")
    tf.io.gfile.makedirs(f"{root}/splits")
    counts = {}
    for class_index, class_name in enumerate(cfg.classes):
        tf.io.gfile.makedirs(f"{root}/videos/{class_name}")
        names = clip_names(cfg, class_name)
        for k, name in enumerate(names):
            rng = np.random.default_rng([cfg.seed, ALL_CLASSES.index(class_name), k])
            frames = render_clip(class_name, cfg, rng)
            video.write_video(f"{root}/videos/{class_name}/{name}", frames, cfg.fps)
        for split in (1, 2, 3):
            ids = split_ids(cfg, names, split)
            lines = "".join(f"{n} {i} \n" for n, i in zip(names, ids))
            with tf.io.gfile.GFile(f"{root}/splits/{class_name}_test_split{split}.txt", "w") as f:
                f.write(lines)
        counts[class_name] = len(names)
    return counts
