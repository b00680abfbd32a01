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

How: a chunk's draw is a few uniform numbers (`draw`, one stateless op). The
geometric ops become 3x3 matrices mapping an output pixel to the input point it
reads, multiplied in the order the ops are listed (`params`), so a chunk is
resampled ONCE, bilinearly, however many geometric ops are listed, and contrast
is folded into the same pass. Building the matrices, finding each output
pixel's four neighbours and weights (shared by every frame and channel),
gathering and contrast run as one XLA-compiled function (`jit_compile`): the
ops applied one by one (flip, ``crop_and_resize``, contrast,
``ImageProjectiveTransformV3``) cost ~14 ms of CPU per chunk of 8 frames of
128x128, mostly the projective kernel, which recomputes the projection for
every output value (`benchmarks/bench_input.py` has the throughput).

The resampling is exactly ``tf.raw_ops.ImageProjectiveTransformV3`` (bilinear,
REFLECT borders) with the composed matrix (a test checks it). Differences from
applying the ops one after the other with the same parameters: one bilinear
resampling instead of two (a little sharper); where a rotation's corners leave
the crop box, the pixels beyond the box are read (reflected only at the frame's
border) instead of a reflection of the crop; contrast is applied after the
geometry, around the mean colour of the transformed chunk, estimated on every
`MEAN_STRIDE`-th row and column when a geometric op is listed (reading the whole
output back made XLA compute every gather twice).
"""

from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf

ZOOM = 0.1
CONTRAST = 0.2
ROTATION_TURNS = 0.05
GEOMETRIC = ("flip", "vflip", "crop", "rotate")
# Uniform numbers each op draws (crop: side fraction, then top and left offsets).
DRAWS = {"flip": 1, "vflip": 1, "crop": 3, "contrast": 1, "rotate": 1}
MEAN_STRIDE = 4


def _check(ops: Sequence[str]) -> tuple[str, ...]:
    ops = tuple(ops)
    unknown = [op for op in ops if op not in DRAWS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; one of {sorted(DRAWS)}")
    return ops


def num_draws(ops: Sequence[str]) -> int:
    """How many uniform numbers a chunk's draw for `ops` holds."""
    return sum(DRAWS[op] for op in _check(ops))


def draw(seed: tf.Tensor, ops: Sequence[str], batch: int | tf.Tensor | None = None
         ) -> tf.Tensor:
    """Uniform [0, 1) numbers of one chunk's (or `batch` chunks') augmentation.

    Args:
      seed: `int [2]` stateless seed.
      ops: names from `trainer.config.AUGMENTATIONS`.
      batch: None for one chunk, else the number of chunks.

    Returns:
      `float32 [K]` or `[batch, K]`, K = `num_draws(ops)`, in the order of `ops`.
    """
    shape = [num_draws(ops)] if batch is None else [batch, num_draws(ops)]
    return tf.random.stateless_uniform(shape, seed)


def params(u: tf.Tensor, ops: Sequence[str], height, width) -> tuple[tf.Tensor, tf.Tensor]:
    """Turns draws into each chunk's transform and contrast factor.

    Args:
      u: `float32 [B, K]` uniform draws (`draw`), the columns in the order of `ops`.
      ops: names from `trainer.config.AUGMENTATIONS`, in application order.
      height, width: frame size (ints or scalar tensors).

    Returns:
      (`float32 [B, 3, 3]`: output pixel (x, y, 1) -> the input point it reads,
      the ops' maps multiplied in list order; `float32 [B]` contrast factors, 1
      without contrast).
    """
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    n = tf.shape(u)[0]
    one, zero = tf.ones([n]), tf.zeros([n])

    def matrix(a, b, c, d, e, f):  # [[a, b, c], [d, e, f], [0, 0, 1]]
        return tf.reshape(tf.stack([a, b, c, d, e, f, zero, zero, one], axis=1), [-1, 3, 3])

    total, factor = tf.eye(3, batch_shape=[n]), one
    col = 0
    for op in _check(ops):
        v = [u[:, col + i] for i in range(DRAWS[op])]
        col += DRAWS[op]
        if op in ("flip", "vflip"):
            sign = tf.where(v[0] < 0.5, -1.0, 1.0)  # flipped with probability 0.5
            shift = tf.where(v[0] < 0.5, (w if op == "flip" else h) - 1.0, 0.0)
            m = (matrix(sign, zero, shift, zero, one, zero) if op == "flip" else
                 matrix(one, zero, zero, zero, sign, shift))
        elif op == "crop":  # the box of tf.image.crop_and_resize, in pixels
            frac = (1.0 - ZOOM) + ZOOM * v[0]
            y0, x0 = v[1] * (1.0 - frac), v[2] * (1.0 - frac)
            m = matrix(frac, zero, x0 * (w - 1), zero, frac, y0 * (h - 1))
        elif op == "rotate":  # about the frame's centre
            angle = (2.0 * ROTATION_TURNS * v[0] - ROTATION_TURNS) * 2.0 * math.pi
            cos, sin = tf.cos(angle), tf.sin(angle)
            cx, cy = (w - 1) / 2, (h - 1) / 2
            m = matrix(cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy)
        else:  # contrast
            factor = (1.0 - CONTRAST) + 2.0 * CONTRAST * v[0]
            continue
        total = total @ m
    return total, factor


def _reflect(coord: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
    """TensorFlow's REFLECT fill (d c b a | a b c d | d c b a) of a continuous coordinate.

    `n`: the side's length (float32 scalar). The arithmetic of
    ImageProjectiveTransformV3's kernel (`map_coordinate`, fill mode REFLECT).
    """
    period = 2.0 * n
    low = period * tf.floor(-coord / period) + coord
    low = tf.where(low < -n, low + period, -low - 1.0)
    high = coord - period * tf.floor(coord / period)
    high = tf.where(high >= n, period - high - 1.0, high)
    out = tf.where(coord < 0.0, low, tf.where(coord > n - 1.0, high, coord))
    return tf.where(n <= 1.0, tf.zeros_like(coord), tf.clip_by_value(out, 0.0, n - 1.0))


def _neighbours(matrices: tf.Tensor, h: tf.Tensor, w: tf.Tensor
                ) -> tuple[tf.Tensor, tf.Tensor]:
    """Where each output pixel reads: its 4 bilinear neighbours and their weights.

    Returns:
      (`int32 [B, 4, HW]` flat pixel indices, `float32 [B, 4, HW]` weights), the
      neighbours in the order (y0, x0), (y0, x1), (y1, x0), (y1, x1).
    """
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    pixel = tf.range(h * w)
    xs = tf.cast(pixel % w, tf.float32)[None]  # [1, HW]
    ys = tf.cast(pixel // w, tf.float32)[None]
    m = [[matrices[:, i, j, None] for j in range(3)] for i in range(3)]  # each [B, 1]
    k = m[2][0] * xs + m[2][1] * ys + m[2][2]
    src_x = _reflect((m[0][0] * xs + m[0][1] * ys + m[0][2]) / k, wf)
    src_y = _reflect((m[1][0] * xs + m[1][1] * ys + m[1][2]) / k, hf)
    x0, y0 = tf.floor(src_x), tf.floor(src_y)
    fx, fy = src_x - x0, src_y - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    # Clamping only moves a neighbour whose weight is 0 (the coordinate is <= side - 1).
    x1, y1 = tf.minimum(x0 + 1, w - 1), tf.minimum(y0 + 1, h - 1)
    index = tf.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1], axis=1)
    weight = tf.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return index, weight


def _gather(x: tf.Tensor, index: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Bilinear reads of `x` `[B, T, HW, C]` at `index`, `weight` `[B, 4, P]`.

    Returns `float32 [B, T, P, C]`.

    Every frame and channel of a chunk is read at the same pixels, so a pixel's
    T*C values are laid out as one row and each neighbour is one row gather
    (XLA's gather with `batch_dims` was several times slower). `x` may be uint8:
    the reads then move 4x fewer bytes.
    """
    shape = tf.shape(x)
    batch, t, hw, c = shape[0], shape[1], shape[2], shape[3]
    rows = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch * hw, t * c])
    offset = (tf.range(batch) * hw)[:, None]
    out = 0.0
    for k in range(4):
        picked = tf.gather(rows, tf.reshape(index[:, k] + offset, [-1]))
        out += (tf.cast(tf.reshape(picked, [batch, -1, t * c]), tf.float32)
                * weight[:, k, :, None])
    return tf.transpose(tf.reshape(out, [batch, -1, t, c]), [0, 2, 1, 3])


@tf.function(jit_compile=True, reduce_retracing=True)
def _apply(frames: tf.Tensor, u: tf.Tensor, ops: tuple[str, ...]) -> tf.Tensor:
    """`frames` `[B, T, H, W, 3]` (uint8 or float32), draws `u` `[B, K]` -> augmented,
    of `frames`' dtype (uint8: rounded), one XLA program."""
    shape = tf.shape(frames)  # compile-time constants under XLA
    batch, t, h, w = shape[0], shape[1], shape[2], shape[3]
    matrices, factors = params(u, ops, h, w)
    x = tf.reshape(frames, [batch, t, h * w, 3])
    contrast = "contrast" in ops
    sample = x  # what the mean colour is taken over: the whole chunk without geometry
    if any(op in GEOMETRIC for op in ops):
        index, weight = _neighbours(matrices, h, w)
        if contrast:  # the output's mean colour, estimated on a grid of its pixels
            grid = tf.reshape(tf.range(0, h, MEAN_STRIDE)[:, None] * w
                              + tf.range(0, w, MEAN_STRIDE)[None, :], [-1])
            sample = _gather(x, tf.gather(index, grid, axis=2), tf.gather(weight, grid, axis=2))
        x = _gather(x, index, weight)
    else:
        x = tf.cast(x, tf.float32)
    if contrast:
        mean = tf.reduce_mean(tf.cast(sample, tf.float32), axis=[1, 2])[:, None, None, :]
        f = factors[:, None, None, None]
        x = tf.clip_by_value((x - mean) * f + mean, 0.0, 255.0)
    if frames.dtype == tf.uint8:
        x = tf.cast(x + 0.5, tf.uint8)  # rounded: x is in [0, 255]
    return tf.reshape(x, shape)


def _as_input(x) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    return x if x.dtype in (tf.uint8, tf.float32) else tf.cast(x, tf.float32)


def apply(chunks: tf.Tensor, u: tf.Tensor, ops: Sequence[str]) -> tf.Tensor:
    """Augments each chunk of a batch with its own draw.

    Args:
      chunks: `[B, T, H, W, 3]` in 0..255, uint8 or float32 (other dtypes become
        float32).
      u: `float32 [B, K]` draws (`draw`).
      ops: names from `trainer.config.AUGMENTATIONS`.

    Returns:
      `[B, T, H, W, 3]` in 0..255 of `chunks`' dtype (uint8: rounded).
    """
    ops = _check(ops)
    chunks = _as_input(chunks)
    if not ops:
        return chunks
    return tf.ensure_shape(_apply(chunks, tf.convert_to_tensor(u, tf.float32), ops),
                           chunks.shape)


def augment_chunk(frames: tf.Tensor, seed: tf.Tensor, ops: Sequence[str]) -> tf.Tensor:
    """Augments a chunk with one random draw per op, identical on every frame.

    Args:
      frames: `[T, H, W, 3]` in 0..255, uint8 (the training input's) or float32.
      seed: `int [2]` stateless seed.
      ops: names from `trainer.config.AUGMENTATIONS` (see `augment_list`).

    Returns:
      `[T, H, W, 3]` in 0..255 of `frames`' dtype.
    """
    if not _check(ops):
        return frames
    return apply(tf.convert_to_tensor(frames)[None], draw(seed, ops)[None], ops)[0]


def augment_batch(chunks: tf.Tensor, seed: tf.Tensor, ops: Sequence[str]) -> tf.Tensor:
    """`augment_chunk`'s distribution over a batch in one pass (one draw per chunk).

    For augmenting after batching, or on the accelerator inside a train step.

    Args:
      chunks: `[B, T, H, W, 3]` in 0..255, uint8 or float32.
      seed: `int [2]` stateless seed of the whole batch.
      ops: names from `trainer.config.AUGMENTATIONS`.

    Returns:
      `[B, T, H, W, 3]` in 0..255 of `chunks`' dtype.
    """
    if not _check(ops):
        return chunks
    return apply(chunks, draw(seed, ops, tf.shape(chunks)[0]), ops)
