"""Chunk augmentation: one random draw per chunk, identical on every frame."""

import numpy as np
import pytest
import tensorflow as tf

from trainer.augment import augment_chunk
from trainer.config import DEFAULT_AUGMENT, augment_list


def _image(seed=0, size=24):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    img[:, : size // 3] = 250.0  # an asymmetric block so a flip or rotation shows
    return img


@pytest.mark.parametrize("ops", [augment_list(DEFAULT_AUGMENT), ("vflip",), ("rotate",),
                                 ("crop",), ("contrast",)])
def test_copies_of_one_image_stay_identical(ops):
    chunk = tf.constant(np.stack([_image()] * 6))
    for s in range(5):
        out = augment_chunk(chunk, tf.constant([s, 7], tf.int64), ops).numpy()
        assert out.shape == chunk.shape
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


def test_vflip_is_not_a_default():
    assert "vflip" not in augment_list(DEFAULT_AUGMENT)
    assert augment_list("none") == ()
