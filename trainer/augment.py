"""Chunk augmentation: ONE random draw per chunk, applied identically to every frame.

A chunk's frames must stay a consistent video: a flip, crop box, contrast
factor or rotation angle drawn per frame would add flicker the recurrent model
could learn from. Every op below draws its parameters once from a stateless
seed and applies them to all T frames.

Ops (``--augment``, comma list or ``none``; training only, never evaluation):

* flip: horizontal flip with probability 0.5.
* crop: zoom into one random box covering 90-100% of each side, resized back.
* contrast: one factor in [0.8, 1.2] around the chunk's mean colour.
* rotate: one angle in [-0.05, 0.05] turns (+-18 degrees), reflected borders.
* vflip: vertical flip with probability 0.5. NOT in the default: it turns the
  synthetic ``move_up`` into ``move_down`` (and real "falling" into "rising"),
  i.e. it changes the label of order-sensitive classes.
"""

from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf

ZOOM = 0.1
CONTRAST = 0.2
ROTATION_TURNS = 0.05


def _uniform(seed: tf.Tensor, low: float, high: float) -> tf.Tensor:
    return tf.random.stateless_uniform([], seed, low, high)


def _flip(x: tf.Tensor, seed: tf.Tensor, axis: int) -> tf.Tensor:
    return tf.cond(_uniform(seed, 0.0, 1.0) < 0.5, lambda: tf.reverse(x, [axis]), lambda: x)


def _crop(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    s1, s2, s3 = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    frac = _uniform(s1, 1.0 - ZOOM, 1.0)
    y0 = _uniform(s2, 0.0, 1.0) * (1.0 - frac)
    x0 = _uniform(s3, 0.0, 1.0) * (1.0 - frac)
    t, size = tf.shape(x)[0], tf.shape(x)[1:3]
    box = tf.stack([y0, x0, y0 + frac, x0 + frac])
    return tf.image.crop_and_resize(x, tf.tile(box[None], [t, 1]), tf.range(t), size)


def _contrast(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    factor = _uniform(seed, 1.0 - CONTRAST, 1.0 + CONTRAST)
    mean = tf.reduce_mean(x, axis=[0, 1, 2], keepdims=True)  # one mean for the whole chunk
    return tf.clip_by_value((x - mean) * factor + mean, 0.0, 255.0)


def _rotate(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    angle = _uniform(seed, -ROTATION_TURNS, ROTATION_TURNS) * 2.0 * math.pi
    h = tf.cast(tf.shape(x)[1], tf.float32)
    w = tf.cast(tf.shape(x)[2], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Maps each output pixel to its input location: a rotation about the centre.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a2 = cx - cos * cx + sin * cy
    b2 = cy - sin * cx - cos * cy
    transform = tf.stack([cos, -sin, a2, sin, cos, b2, 0.0, 0.0])
    t = tf.shape(x)[0]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=tf.tile(transform[None], [t, 1]),
        output_shape=tf.shape(x)[1:3], fill_value=0.0, interpolation="BILINEAR",
        fill_mode="REFLECT")


def augment_chunk(frames: tf.Tensor, seed: tf.Tensor, ops: Sequence[str]) -> tf.Tensor:
    """Augments a chunk with one random draw per op, identical on every frame.

    Args:
      frames: `float32 [T, H, W, 3]` in 0..255.
      seed: `int [2]` stateless seed.
      ops: names from `trainer.config.AUGMENTATIONS` (see `augment_list`).

    Returns:
      `float32 [T, H, W, 3]` in 0..255.
    """
    if not ops:
        return frames
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, len(ops)))
    x = frames
    for op, s in zip(ops, seeds):
        if op == "flip":
            x = _flip(x, s, axis=2)
        elif op == "vflip":
            x = _flip(x, s, axis=1)
        elif op == "crop":
            x = _crop(x, s)
        elif op == "contrast":
            x = _contrast(x, s)
        elif op == "rotate":
            x = _rotate(x, s)
        else:
            raise ValueError(f"unknown augmentation {op!r}")
    return tf.ensure_shape(x, frames.shape)
