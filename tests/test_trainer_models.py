"""Model builders: shapes, argument errors, the reshape encoder, which encoder layers train,
save/load round trips (every encoder in-process, one in a fresh process)."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer import models
from trainer.config import TrainConfig, save_config


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
    assert len(trainable) == 1 and trainable[0] == "block3_bn"
    assert models.trainable_layer_names(enc) == trainable
    frozen = models.build_encoder(_cfg(trainable_top_layers=0), 32)
    assert len(frozen.trainable_weights) == 0 and models.trainable_layer_names(frozen) == []


def _forward_weighted(model):
    """Leaf layers with weights, first layer first: written apart from models.weighted_layers."""
    out = []
    for lyr in model.layers:
        out += _forward_weighted(lyr) if isinstance(lyr, keras.Model) else [lyr] * bool(lyr.weights)
    return out


def _owners(encoder):
    """Names of the leaf layers owning `encoder.trainable_weights`, as Keras reports them."""
    ids = {id(v) for v in encoder.trainable_weights}
    return {lyr.name for lyr in _forward_weighted(encoder)
            if any(id(v) in ids for v in lyr.weights)}


VGG_TOP4 = ["block4_conv3", "block5_conv1", "block5_conv2", "block5_conv3"]


def test_vgg16_top_4_trains_block5_and_block4_conv3():
    enc = models.build_encoder(_cfg(encoder="vgg16", trainable_top_layers=4), 32)
    assert _owners(enc) == set(VGG_TOP4)
    assert models.trainable_layer_names(enc) == VGG_TOP4
    assert len(enc.trainable_weights) == 8  # kernel + bias each
    assert all(lyr.trainable for lyr in enc._flatten_layers() if isinstance(lyr, keras.Model))
    # One gradient step moves exactly those four layers' weights.
    before = {lyr.name: [w.numpy() for w in lyr.weights] for lyr in _forward_weighted(enc)}
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(enc(x, training=True))
    grads = tape.gradient(loss, enc.trainable_weights)
    keras.optimizers.SGD(0.1).apply(grads, enc.trainable_weights)
    moved = {lyr.name for lyr in _forward_weighted(enc)
             if any(not np.array_equal(a, w)
                    for a, w in zip(before[lyr.name], lyr.weights, strict=True))}
    assert moved == set(VGG_TOP4)


# The last three layers with weights of each base, as built here (Keras 3.15): hard-coded so
# that a reversed walk (which would give the stem's layers) fails.
LAST_3 = {"mobilenet_v3_small": ["expanded_conv_10_project_bn", "conv_1", "conv_1_bn"],
          "efficientnet_b0": ["block7a_project_bn", "top_conv", "top_bn"]}


@pytest.mark.parametrize("encoder", sorted(LAST_3))
def test_top_3_of_pretrained_bases_are_the_last_in_forward_order(encoder):
    enc = models.build_encoder(_cfg(encoder=encoder, trainable_top_layers=3), 32)
    weighted = _forward_weighted(enc)
    assert [lyr.name for lyr in models.weighted_layers(enc)] == [lyr.name for lyr in weighted]
    expected = [lyr.name for lyr in weighted[-3:]]
    assert expected == LAST_3[encoder]
    assert _owners(enc) == set(expected)
    assert models.trainable_layer_names(enc) == expected
    assert [lyr.name for lyr in weighted if lyr.trainable] == expected


@pytest.mark.parametrize("encoder", sorted(LAST_3))
def test_top_0_and_all_of_pretrained_bases(encoder):
    none = models.build_encoder(_cfg(encoder=encoder, trainable_top_layers=0), 32)
    assert none.trainable_weights == [] and models.trainable_layer_names(none) == []
    everything = models.build_encoder(_cfg(encoder=encoder, trainable_top_layers=-1), 32)
    weighted = _forward_weighted(everything)
    assert all(lyr.trainable for lyr in weighted)
    # EfficientNet's input Normalization holds only non-trainable weights (mean, variance).
    learnable = [lyr.name for lyr in weighted
                 if not isinstance(lyr, keras.layers.Normalization)]
    assert _owners(everything) == set(learnable)
    assert models.trainable_layer_names(everything) == learnable
    # N = every layer with weights is allowed and trains the same layers as -1.
    top_all = models.build_encoder(
        _cfg(encoder=encoder, trainable_top_layers=len(weighted)), 32)
    assert models.trainable_layer_names(top_all) == learnable


def test_too_many_top_layers_names_both_numbers():
    with pytest.raises(ValueError, match=r"--trainable-top-layers 14 .* the 13 layers with "
                                         r"weights of encoder vgg16"):
        models.build_encoder(_cfg(encoder="vgg16", trainable_top_layers=14), 32)
    with pytest.raises(ValueError, match=r"--trainable-top-layers 7 .* the 6 layers"):
        models.build_encoder(_cfg(trainable_top_layers=7), 32)


def test_trainable_layer_names_after_a_frozen_init(tmp_path):
    src_cfg = _cfg(encoder="vgg16", trainable_top_layers=4)
    src = models.build_model(src_cfg, 3, 32)
    save_config(src_cfg, str(tmp_path))
    src.save(str(tmp_path / "model.keras"))
    dst = models.build_model(_cfg(model="pooled", encoder="vgg16", trainable_top_layers=4,
                                  chunk_length=2), 3, 32)
    assert models.trainable_layer_names(dst.get_layer("encoder")) == VGG_TOP4
    models.init_encoder_from(dst, str(tmp_path), freeze=True, encoder="vgg16")
    enc = dst.get_layer("encoder")
    assert enc.trainable_weights == [] and models.trainable_layer_names(enc) == []


@pytest.mark.parametrize("encoder", [
    "small_cnn", "vgg16",  # the pretrained-size bases take seconds each
    pytest.param("mobilenet_v3_small", marks=pytest.mark.slow),
    pytest.param("efficientnet_b0", marks=pytest.mark.slow)])
def test_every_encoder_survives_a_keras_round_trip(encoder, tmp_path):
    m = models.build_model(_cfg(encoder=encoder, trainable_top_layers=3), 3, frame_size=32)
    x = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    m.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), m.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    # Keras keeps each layer's `trainable` in the file: a reloaded model (a resumed run) trains
    # the same encoder layers.
    enc, enc2 = m.get_layer("encoder"), again.get_layer("encoder")
    assert len(models.trainable_layer_names(enc)) == 3
    assert models.trainable_layer_names(enc2) == models.trainable_layer_names(enc)
    assert _owners(enc2) == _owners(enc)
    assert [lyr.trainable for lyr in enc2._flatten_layers()] == \
        [lyr.trainable for lyr in enc._flatten_layers()]


def test_weights_file_is_loaded(tmp_path):
    enc = models.build_encoder(_cfg(), 32)
    path = str(tmp_path / "base.weights.h5")
    enc.layers[1].save_weights(path)
    again = models.build_encoder(_cfg(weights=path), 32)
    for a, b in zip(enc.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
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


# --------------------------------------------------------------------------- order-aware models


@pytest.mark.parametrize("model,extra", [
    ("temporal_conv", {}), ("temporal_conv", {"temporal_input": "both"}),
    ("attention", {}), ("attention", {"attn_pool": "mean", "temporal_input": "diff"}),
    ("recurrent", {"temporal_input": "diff"})])
def test_order_aware_models_on_frames_and_features_round_trip(model, extra, tmp_path):
    cfg = _cfg(model=model, chunk_length=5, **extra)
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 32, 32, 3)).astype("float32")
    m = models.build_model(cfg, 4, 32)
    assert m(x).shape == (2, 4)
    feats = models.build_model(_cfg(model=model, chunk_length=5, features="/f", **extra), 4, 32,
                               embedding_dim=10)
    e = np.random.default_rng(1).normal(size=(3, 5, 10)).astype("float32")
    want = feats.predict(e, verbose=0)
    path = str(tmp_path / "m.keras")
    feats.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(e, verbose=0), want,
                               rtol=1e-5, atol=1e-6)


def _shuffle_changes(cfg):
    m = models.build_model(cfg, 3, 32, embedding_dim=6)
    rng = np.random.default_rng(2)
    e = rng.normal(size=(4, 6, 6)).astype("float32")
    perm = rng.permutation(6)
    return np.abs(m.predict(e, verbose=0) - m.predict(e[:, perm], verbose=0)).max()


def test_attention_without_positions_is_blind_to_frame_order():
    for pool in ("cls", "mean"):
        blind = _cfg(model="attention", chunk_length=6, features="/f", attn_positions=False,
                     attn_pool=pool, hidden=8)
        assert _shuffle_changes(blind) < 1e-5, pool
        assert not blind.order_aware and blind.kind_info()["takes_chunks"]
    seeing = _cfg(model="attention", chunk_length=6, features="/f", hidden=8)
    assert _shuffle_changes(seeing) > 1e-4 and seeing.order_aware
    assert _shuffle_changes(_cfg(model="temporal_conv", chunk_length=6, features="/f")) > 1e-4
    assert _cfg(model="recurrent").kind_info() == {"takes_chunks": True, "order_aware": True,
                                                   "recurrent": True, "spatial": False}


def test_temporal_input_and_new_flags_are_checked():
    diff = models.TemporalInput("diff")
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3) ** 2
    np.testing.assert_allclose(diff(x), x[:, 1:] - x[:, :-1])
    both = models.TemporalInput("both")(x)
    assert both.shape == (2, 3, 6)
    np.testing.assert_allclose(both[..., :3], x[:, 1:])
    with pytest.raises(ValueError, match="would let the pooled control see order"):
        _cfg(model="pooled", temporal_input="diff")
    with pytest.raises(ValueError, match="--temporal-input must be one of"):
        _cfg(temporal_input="delta")
    with pytest.raises(ValueError, match="--attn-pool must be one of"):
        _cfg(attn_pool="max")
    with pytest.raises(ValueError, match="--hidden 2 must be >= --attn-heads 4"):
        _cfg(model="attention", hidden=2, attn_heads=4)
    with pytest.raises(ValueError, match="--model must be one of .*attention"):
        _cfg(model="transformer")


# --------------------------------------------------------------------------- spatial, pixel diffs


@pytest.mark.parametrize("model,extra", [
    ("convlstm", {}), ("convlstm", {"feature_layer": "block2_pool", "convlstm_layers": 2}),
    ("conv2plus1d", {"frame_input": "both"}), ("recurrent", {"frame_input": "diff"}),
    ("pooled", {"frame_input": "both"})])
def test_spatial_and_pixel_difference_models_round_trip(model, extra, tmp_path):
    cfg = _cfg(model=model, chunk_length=4, **extra)
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 32, 32, 3)).astype("float32")
    m = models.build_model(cfg, 4, 32)
    maps = m.get_layer("encoder").output.shape
    assert len(maps) == (4 if cfg.kind.spatial else 2)
    if extra.get("feature_layer"):
        assert maps[1:] == (8, 8, 32)  # small_cnn's second block: 32 px / 4
    want = m.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    m.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0), want,
                               rtol=1e-5, atol=1e-6)
    if cfg.frame_input == "rgb":  # on a cache of feature maps: [B, T, h, w, C]
        feats = models.build_model(_cfg(model=model, chunk_length=4, features="/f", **extra),
                                   4, 32, embedding_dim=(4, 4, 6))
        assert feats(np.zeros((2, 4, 4, 4, 6), "float32")).shape == (2, 4)


def test_pixel_differences_are_what_the_encoder_sees():
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 4, 4, 3)).astype("float32")
    diff = np.asarray(models.FrameInput("diff")(x))
    np.testing.assert_allclose(diff[:, 0], 127.5)
    np.testing.assert_allclose(diff[:, 1:], (x[:, 1:] - x[:, :-1] + 255) / 2, rtol=1e-6)
    both = np.asarray(models.FrameInput("both")(x))
    assert both.shape == (2, 3, 4, 4, 6)
    np.testing.assert_allclose(both[..., :3], x)
    # shuffling a chunk changes what a pixel-difference model sees, even the pooled one
    pooled = _cfg(model="pooled", chunk_length=3, frame_input="diff")
    assert pooled.order_aware and not _cfg(model="pooled", chunk_length=3).order_aware
    m = models.build_model(pooled, 3, 32)
    clip = np.random.default_rng(1).uniform(0, 255, (2, 3, 32, 32, 3)).astype("float32")
    assert np.abs(m.predict(clip, verbose=0) - m.predict(clip[:, ::-1], verbose=0)).max() > 1e-5


def test_spatial_and_pixel_difference_flags_are_one_line_errors_naming_the_choices():
    with pytest.raises(ValueError, match="not a feature-map layer of encoder small_cnn; "
                                         "choose one of .*block3_pool"):
        models.build_model(_cfg(model="convlstm", chunk_length=2, feature_layer="block9"), 3, 32)
    with pytest.raises(ValueError, match=r"for the spatial models \(convlstm, conv2plus1d\)"):
        _cfg(model="recurrent", feature_layer="block2_pool")
    with pytest.raises(ValueError, match="--frame-input diff needs a chunk model"):
        _cfg(model="frame", frame_input="diff")
    with pytest.raises(ValueError, match="encoder vgg16 takes 3"):
        _cfg(model="recurrent", frame_input="both", encoder="vgg16")
    with pytest.raises(ValueError, match="caches embeddings of RGB frames"):
        _cfg(model="recurrent", frame_input="diff", features="/f")
    with pytest.raises(ValueError, match=r"\(h, w, C\) for a spatial model"):
        models.build_model(_cfg(model="convlstm", features="/f"), 3, 32, embedding_dim=64)


def test_a_frame_runs_encoder_gives_the_maps_it_pools():
    frame = models.build_model(_cfg(model="frame"), 3, 32)
    encoder = frame.get_layer("encoder")
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    maps = models.maps_of(encoder, "small_cnn", 32)
    np.testing.assert_allclose(np.asarray(maps(x)).mean(axis=(1, 2)), encoder(x), atol=1e-5)
    assert models.maps_of(encoder, "small_cnn", 32, "block1_pool").output.shape == (
        None, 16, 16, 16)
