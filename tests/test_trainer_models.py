"""Model builders: shapes, argument errors, the reshape encoder, a fresh-process round trip."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from trainer import models
from trainer.config import TrainConfig


def _cfg(**kw):
    kw.setdefault("head_units", (16, 8))
    kw.setdefault("hidden", 8)
    return TrainConfig(data="/d", out="/o", **kw)


@pytest.mark.parametrize("model,shape", [("frame", (3, 32, 32, 3)),
                                         ("pooled", (3, 4, 32, 32, 3)),
                                         ("recurrent", (3, 4, 32, 32, 3))])
def test_output_shapes(model, shape):
    m = models.build_model(_cfg(model=model, chunk_length=4), num_classes=5, frame_size=32)
    out = m(np.random.uniform(0, 255, shape).astype("float32"))
    assert out.shape == (3, 5)
    np.testing.assert_allclose(np.sum(out, axis=1), 1.0, rtol=1e-5)
    assert m.get_layer("encoder").output.shape == (None, 64)


@pytest.mark.parametrize("rnn,bi,layers", [("gru", True, 2), ("simple", False, 1)])
def test_features_models(rnn, bi, layers):
    cfg = _cfg(model="recurrent", rnn=rnn, bidirectional=bi, rnn_layers=layers, chunk_length=6,
               features="/f")
    m = models.build_model(cfg, 3, frame_size=32, embedding_dim=10)
    assert m(np.zeros((2, 6, 10), "float32")).shape == (2, 3)


def test_encoder_on_merged_frames_equals_per_frame_calls():
    m = models.build_model(_cfg(model="recurrent", chunk_length=3), 2, frame_size=32)
    enc = m.get_layer("encoder")
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 32, 32, 3)).astype("float32")
    merged = models.SplitTime(3)(enc(models.MergeTime()(x), training=False))
    per_frame = np.stack([enc(x[:, t], training=False) for t in range(3)], axis=1)
    np.testing.assert_allclose(merged, per_frame, rtol=1e-5, atol=1e-5)


def test_bad_arguments_show_the_value():
    with pytest.raises(ValueError, match="num_classes must be an int >= 2, got 1"):
        models.build_model(_cfg(), 1, 32)
    with pytest.raises(ValueError, match="frame size must be an int >= 8, got 4"):
        models.build_encoder(_cfg(), 4)
    with pytest.raises(ValueError, match="small_cnn has no pretrained weights"):
        models.build_encoder(_cfg(weights="imagenet"), 32)
    with pytest.raises(ValueError, match="'/nope.weights.h5'"):
        models.build_encoder(_cfg(weights="/nope.weights.h5"), 32)
    with pytest.raises(ValueError, match="embedding_dim must be a positive int, got None"):
        models.build_model(_cfg(model="pooled", features="/f"), 2, 32)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        models.SplitTime(0)


def test_trainable_top_layers_freezes_the_base():
    enc = models.build_encoder(_cfg(trainable_top_layers=1), 32)
    base = enc.layers[1]
    trainable = [lyr.name for lyr in base.layers if lyr.weights and lyr.trainable]
    assert len(trainable) == 1 and trainable[0].startswith("batch_normalization")
    assert len(models.build_encoder(_cfg(trainable_top_layers=0), 32).trainable_weights) == 0


def test_weights_file_is_loaded(tmp_path):
    enc = models.build_encoder(_cfg(), 32)
    path = str(tmp_path / "base.weights.h5")
    enc.layers[1].save_weights(path)
    again = models.build_encoder(_cfg(weights=path), 32)
    for a, b in zip(enc.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_round_trip_in_a_fresh_process(tmp_path):
    m = models.build_model(_cfg(model="recurrent", chunk_length=3, bidirectional=True), 4, 32)
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, 32, 32, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    m.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "want.npy", m.predict(x, verbose=0))
    # The registered layers live in trainer.models: a fresh process must import it first.
    script = textwrap.dedent(f"""
        import numpy as np, keras
        import trainer.models  # noqa: F401  (registers the vidrec layers)
        m = keras.saving.load_model({path!r})
        np.save({str(tmp_path / 'got.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}),
                                                         verbose=0))
        """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "got.npy"), np.load(tmp_path / "want.npy"),
                               rtol=1e-6, atol=1e-6)
    assert isinstance(keras.saving.load_model(path), keras.Model)
