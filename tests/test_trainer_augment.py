"""Chunk augmentation: one random draw per chunk, identical on every frame; one composed
transform that matches the ops applied one by one (the pre-#11 implementation, kept
below as the reference) and the same distribution of draws."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from trainer import augment
from trainer.augment import augment_batch, augment_chunk
from trainer.config import DEFAULT_AUGMENT, augment_list

DEFAULT = augment_list(DEFAULT_AUGMENT)


def _image(seed=0, size=24):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    img[:, : size // 3] = 250.0  # an asymmetric block so a flip or rotation shows
    return img


def _smooth(size=48, phase=0.0):
    """Low-frequency content: one bilinear resampling ~ two of them."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    return np.stack([128 + 100 * np.sin(2 * np.pi * (1.3 * xx + 0.7 * yy) + phase),
                     128 + 100 * np.cos(2 * np.pi * 1.1 * yy + phase),
                     255 * xx], -1).astype(np.float32)


# ----------------------------------------------- the reference: the ops one by one (pre-#11)

def _ref_uniform(seed, low, high):
    return tf.random.stateless_uniform([], seed, low, high)


def _ref_split(seed, n):
    return tf.unstack(tf.random.experimental.stateless_split(seed, n))


def _ref_chunk(x, seed, ops):
    """The sequential implementation this module replaced: flip by tf.reverse, crop by
    crop_and_resize, contrast around the chunk's mean, rotate by ImageProjectiveTransformV3."""
    for op, s in zip(ops, _ref_split(seed, len(ops))):
        t, h, w = x.shape[0], x.shape[1], x.shape[2]
        if op in ("flip", "vflip"):
            axis = 2 if op == "flip" else 1
            x = tf.reverse(x, [axis]) if _ref_uniform(s, 0.0, 1.0) < 0.5 else x
        elif op == "crop":
            s1, s2, s3 = _ref_split(s, 3)
            frac = _ref_uniform(s1, 0.9, 1.0)
            y0 = _ref_uniform(s2, 0.0, 1.0) * (1.0 - frac)
            x0 = _ref_uniform(s3, 0.0, 1.0) * (1.0 - frac)
            box = tf.stack([y0, x0, y0 + frac, x0 + frac])
            x = tf.image.crop_and_resize(x, tf.tile(box[None], [t, 1]), tf.range(t), [h, w])
        elif op == "contrast":
            factor = _ref_uniform(s, 0.8, 1.2)
            mean = tf.reduce_mean(x, axis=[0, 1, 2], keepdims=True)
            x = tf.clip_by_value((x - mean) * factor + mean, 0.0, 255.0)
        elif op == "rotate":
            angle = _ref_uniform(s, -0.05, 0.05) * 2.0 * math.pi
            cos, sin = tf.cos(angle), tf.sin(angle)
            cx, cy = (w - 1) / 2, (h - 1) / 2
            tr = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos,
                           cy - sin * cx - cos * cy, 0.0, 0.0])
            x = tf.raw_ops.ImageProjectiveTransformV3(
                images=x, transforms=tf.tile(tr[None], [t, 1]), output_shape=[h, w],
                fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")
    return x


def _ref_draws(seed, ops):
    """The reference's uniform numbers, in `augment.draw`'s layout."""
    u = []
    for op, s in zip(ops, _ref_split(seed, len(ops))):
        seeds = _ref_split(s, 3) if op == "crop" else [s]
        u += [tf.random.stateless_uniform([], z) for z in seeds]
    return tf.stack(u)


# ------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("ops", [("flip",), ("vflip",), ("crop",), ("rotate",),
                                 ("rotate", "flip"), ("vflip", "crop")])
def test_geometric_ops_equal_the_ops_one_by_one_with_the_same_draws(ops):
    chunk = tf.constant(np.stack([_image(1, 32), _image(2, 32)]))
    for s in range(6):
        seed = tf.constant([s, 11], tf.int64)
        want = _ref_chunk(chunk, seed, ops).numpy()
        got = augment.apply(chunk[None], _ref_draws(seed, ops)[None], ops)[0].numpy()
        # A single resampling on random noise: the very same bilinear reads.
        np.testing.assert_allclose(got, want, atol=0.02 if len(ops) == 1 else 0.05)


def test_contrast_and_the_default_stay_close_to_the_ops_one_by_one():
    chunk = tf.constant(np.stack([_smooth(48), _smooth(48, 0.5)]))
    for ops, mean_tol, p90_tol in ((("contrast",), 0.01, 0.01), (DEFAULT, 2.0, 2.5)):
        for s in range(8):
            seed = tf.constant([s, 5], tf.int64)
            want = _ref_chunk(chunk, seed, ops).numpy()
            got = augment.apply(chunk[None], _ref_draws(seed, ops)[None], ops)[0].numpy()
            diff = np.abs(got - want)
            # Mean colour estimated on a grid; one resampling instead of two; corners
            # of a rotated crop read the frame beyond the box instead of a reflection.
            assert diff.mean() < mean_tol and np.percentile(diff, 90) < p90_tol, (ops, s)


def test_the_resampling_is_image_projective_transform_v3_with_the_composed_matrix():
    chunk = tf.constant(np.stack([_image(3, 20), _image(4, 20), _image(5, 20)]))
    for s in range(5):
        u = augment.draw(tf.constant([s, 2], tf.int64), ("vflip", "crop", "rotate", "flip"),
                         1)
        matrix, _ = augment.params(u, ("vflip", "crop", "rotate", "flip"), 20, 20)
        transform = tf.reshape(matrix[0], [-1])[:8]
        want = tf.raw_ops.ImageProjectiveTransformV3(
            images=chunk, transforms=tf.tile(transform[None], [3, 1]), output_shape=[20, 20],
            fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT").numpy()
        got = augment.apply(chunk[None], u, ("vflip", "crop", "rotate", "flip"))[0].numpy()
        np.testing.assert_allclose(got, want, atol=0.02)


def test_the_draws_have_the_old_distribution():
    """Two-sample KS of each parameter, old draws (one seed split per op) vs new (one op)."""
    n = 600
    old = np.array([_ref_draws(tf.constant([s, 9], tf.int64), DEFAULT).numpy()
                    for s in range(n)])
    new = augment.draw(tf.constant([4, 2], tf.int64), DEFAULT, n).numpy()
    assert old.shape == new.shape == (n, augment.num_draws(DEFAULT))
    for col in range(old.shape[1]):
        assert stats.ks_2samp(old[:, col], new[:, col]).pvalue > 1e-3, col
        assert stats.kstest(new[:, col], "uniform").pvalue > 1e-3, col
    matrices, factors = augment.params(tf.constant(new), DEFAULT, 64, 64)
    flipped = np.mean(new[:, 0] < 0.5)
    assert 0.42 < flipped < 0.58
    assert 0.8 <= factors.numpy().min() and factors.numpy().max() <= 1.2
    scale = np.sqrt(np.abs(np.linalg.det(matrices.numpy()[:, :2, :2])))  # the crop's side
    assert 0.9 <= scale.min() and scale.max() <= 1.0 + 1e-6


@pytest.mark.parametrize("ops", [DEFAULT, ("vflip",), ("rotate",), ("crop",), ("contrast",)])
def test_copies_of_one_image_stay_identical(ops):
    chunk = tf.constant(np.stack([_image()] * 6))
    for s in range(5):
        out = augment_chunk(chunk, tf.constant([s, 7], tf.int64), ops)
        assert out.shape == chunk.shape and out.dtype == tf.float32
        out = out.numpy()
        assert out.min() >= 0.0 and out.max() <= 255.0
        for t in range(1, 6):
            np.testing.assert_array_equal(out[t], out[0])


@pytest.mark.parametrize("op", ["flip", "vflip", "rotate", "crop", "contrast"])
def test_each_op_changes_the_chunk_for_some_seed(op):
    chunk = tf.constant(np.stack([_image()] * 2))
    changed = [not np.allclose(augment_chunk(chunk, tf.constant([s, 1], tf.int64), (op,)),
                               chunk, atol=1.0) for s in range(8)]
    assert any(changed)


def test_the_same_transform_applies_to_different_frames():
    """Horizontal flip of two different frames: each equals its own mirror image."""
    a, b = _image(1), _image(2)
    for s in range(8):
        out = augment_chunk(tf.constant(np.stack([a, b])), tf.constant([s, 3], tf.int64),
                            ("flip",)).numpy()
        flipped = np.array_equal(out[0], a[:, ::-1])
        assert flipped == np.array_equal(out[1], b[:, ::-1])
        assert flipped or (np.array_equal(out[0], a) and np.array_equal(out[1], b))


def test_one_seed_one_result_and_inside_tf_data():
    chunk = tf.constant(np.stack([_image(1), _image(2), _image(3)]))
    seed = tf.constant([3, 4], tf.int64)
    first = augment_chunk(chunk, seed, DEFAULT).numpy()
    np.testing.assert_array_equal(augment_chunk(chunk, seed, DEFAULT).numpy(), first)
    assert not np.allclose(augment_chunk(chunk, tf.constant([5, 4], tf.int64), DEFAULT), first)
    ds = tf.data.Dataset.from_tensors(chunk).map(lambda c: augment_chunk(c, seed, DEFAULT))
    np.testing.assert_allclose(next(iter(ds)).numpy(), first, atol=1e-3)


def test_augment_batch_draws_per_chunk_and_keeps_each_chunk_consistent():
    chunks = tf.constant(np.stack([np.stack([_image(i)] * 3) for i in range(4)]))
    out = augment_batch(chunks, tf.constant([1, 2], tf.int64), DEFAULT)
    assert out.shape == chunks.shape and out.dtype == tf.float32
    out = out.numpy()
    for i in range(4):
        np.testing.assert_array_equal(out[i, 1], out[i, 0])
    u = augment.draw(tf.constant([1, 2], tf.int64), DEFAULT, 4)
    assert len({tuple(r) for r in u.numpy().round(6)}) == 4  # a draw of its own per chunk
    np.testing.assert_allclose(out[2], augment.apply(chunks[2:3], u[2:3], DEFAULT)[0],
                               atol=1e-3)


def test_unknown_ops_and_no_ops():
    chunk = tf.constant(np.stack([_image()] * 2))
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        augment_chunk(chunk, tf.constant([0, 0], tf.int64), ("blur",))
    assert augment_chunk(chunk, tf.constant([0, 0], tf.int64), ()) is chunk


def test_vflip_is_not_a_default():
    assert "vflip" not in augment_list(DEFAULT_AUGMENT)
    assert augment_list("none") == ()


@pytest.mark.parametrize("ops", [DEFAULT, ("flip",), ("contrast",)])
def test_uint8_chunks_come_back_uint8_rounded_from_the_float_result(ops):
    """The training input stays uint8 (a quarter of the bytes): the same draw gives the
    float path's values, rounded."""
    chunk = np.stack([_image(1), _image(2)]).round().astype(np.uint8)
    u = augment.draw(tf.constant([6, 1], tf.int64), ops, 1)
    as_float = augment.apply(tf.constant(chunk, tf.float32)[None], u, ops)[0].numpy()
    as_uint8 = augment.apply(tf.constant(chunk)[None], u, ops)[0]
    assert as_uint8.dtype == tf.uint8
    np.testing.assert_allclose(as_uint8.numpy(), np.round(as_float), atol=1)
    assert np.mean(as_uint8.numpy() == np.round(as_float)) > 0.99
