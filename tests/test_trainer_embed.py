"""`vidrec embed` never reuses or clears a folder silently, resumes an unfinished cache of
the same source, and shows progress; `vidrec evaluate` shows progress too; the progress
line itself. `vidrec embed --maps`: feature maps for the spatial models, their size bounded
before anything is written, and a run refused when its model cannot read the cache."""

import glob
import io
import json
import os
import shutil

import numpy as np
import pytest
from conftest import SMALL

from pipeline import schema
from trainer import cli, embed, evaluate, reading
from vidrec.core import progress


@pytest.fixture(scope="module")
def cache(tiny_data, frame_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("embed_cache") / "feats")
    embed.embed(tiny_data, frame_run, out, batch_size=16)
    return out


def read_cache(folder):
    """{video id: float32 [T, D] embeddings} of every shard the manifest lists."""
    import tensorflow as tf

    manifest = schema.read_manifest(folder)
    videos = {}
    for split, info in manifest["splits"].items():
        if not info.get("videos"):
            continue
        for path in reading.match_files(folder, split, manifest):
            for record in tf.data.TFRecordDataset(path):
                ctx, rows = schema.parse_embeddings(record)
                videos[ctx[schema.MEDIA_ID_KEY].numpy().decode()] = rows.numpy()
    return videos


def _embed(tiny_data, frame_run, out, *flags):
    return cli.embed_main(["--data", tiny_data, "--encoder", frame_run, "--out", out,
                           "--batch-size", "16", *flags])


@pytest.mark.slow
def test_a_finished_cache_is_replaced_only_with_overwrite(tiny_data, frame_run, cache,
                                                           tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "EVERY_S", 0.0)  # a line per video, as on a large split
    total = sum(i["videos"] for i in schema.read_manifest(tiny_data)["splits"].values())
    out = str(tmp_path / "feats")
    shutil.copytree(cache, out)
    # A leftover of an earlier cache with more shards: the old glob read it as well.
    leftover = f"{out}/train-00000-of-00009{schema.SHARD_SUFFIX}"
    shutil.copy(reading.match_files(out, "train")[0], leftover)
    assert _embed(tiny_data, frame_run, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a finished feature cache" in err
    assert os.path.exists(leftover)  # untouched
    assert _embed(tiny_data, frame_run, out, "--overwrite") == 0
    assert not os.path.exists(leftover)  # cleared first
    printed = capsys.readouterr()
    assert "clearing the feature cache" in printed.out
    assert f"vidrec embed: 1/{total} videos" in printed.err and "ETA" in printed.err
    assert f"vidrec embed: {total}/{total} videos (100%)" in printed.err
    before, after = read_cache(cache), read_cache(out)
    assert sorted(after) == sorted(before)
    for vid, rows in before.items():
        np.testing.assert_array_equal(after[vid], rows)


@pytest.mark.slow  # the module's `cache` fixture trains a frame run and embeds it
def test_a_cache_names_its_shards_by_the_conversions_rule(tiny_data, cache):
    """One shard rule for both writers: the cache's manifest declares the conversion's
    file pattern, and the readers' list (`schema.shard_names`), the tools' glob
    (`schema.shard_pattern`) and the writers' names (`schema.shard_name`) are the same files,
    in the conversion and in its feature cache."""
    source, feats = schema.read_manifest(tiny_data), schema.read_manifest(cache)
    for split, info in source["splits"].items():
        assert feats["splits"][split]["file_pattern"] == info["file_pattern"]
        n = info["shards"]
        names = [schema.shard_name(split, k, n) for k in range(n)]
        for folder, manifest in ((tiny_data, source), (cache, feats)):
            assert schema.shard_names(manifest, split) == names
            assert sorted(os.path.basename(p) for p in glob.glob(
                schema.shard_pattern(folder, split))) == names
            assert reading.match_files(folder, split, manifest) == [f"{folder}/{m}" for m in names]


@pytest.mark.slow
def test_a_folder_that_holds_no_cache_is_never_used_or_cleared(tiny_data, frame_run,
                                                                tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for flags in ([], ["--overwrite"]):
        assert _embed(tiny_data, frame_run, str(out), *flags) == 2
        assert "holds no vidrec feature cache" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1
    # A conversion is not a feature cache either: never cleared.
    assert _embed(tiny_data, frame_run, tiny_data, "--overwrite") == 2
    assert "holds no vidrec feature cache" in capsys.readouterr().err


@pytest.mark.slow
def test_an_unfinished_cache_resumes_keeping_its_finished_shards(tiny_data, frame_run, cache,
                                                                 tmp_path, capsys):
    # What a killed run leaves: the state file, finished shards, a partial one, no manifest.
    out = str(tmp_path / "feats")
    os.makedirs(out)
    shutil.copy(f"{cache}/{embed.STATE_NAME}", out)
    kept = reading.match_files(cache, "train")[0]
    shutil.copy(kept, out)
    kept_copy = f"{out}/{os.path.basename(kept)}"
    mtime = os.stat(kept_copy).st_mtime_ns
    second = os.path.basename(reading.match_files(cache, "train")[1])
    with open(f"{out}/{second}{embed.PARTIAL_SUFFIX}", "wb") as f:
        f.write(b"half a shard")
    # Other flags: one line naming the difference, nothing touched.
    assert _embed(tiny_data, frame_run, out, "--batch-size", "8") == 2
    err = capsys.readouterr().err
    assert "unfinished feature cache of another source (batch_size 16 -> 8)" in err
    assert _embed(tiny_data, frame_run, out) == 0
    printed = capsys.readouterr().out
    assert f"resuming the unfinished feature cache in {out}" in printed
    assert "(kept from the interrupted run)" in printed
    assert os.stat(kept_copy).st_mtime_ns == mtime  # not embedded again
    assert not [n for n in os.listdir(out) if n.endswith(embed.PARTIAL_SUFFIX)]
    before, after = read_cache(cache), read_cache(out)
    assert sorted(after) == sorted(before)
    for vid, rows in before.items():
        np.testing.assert_array_equal(after[vid], rows)


@pytest.mark.slow
def test_evaluate_prints_progress(frame_run, capsys, monkeypatch):
    monkeypatch.setattr(progress, "EVERY_S", 0.0)  # a line per video, as on a large split
    run = evaluate.open_run(frame_run)
    evaluate.evaluate_model(run.model, run.cfg, run.manifest, frame_run, "val",
                            pictures=False)
    err = capsys.readouterr().err
    n = run.manifest["splits"]["val"]["videos"]
    assert f"vidrec evaluate: val: {n}/{n} videos (100%)" in err
    assert err.count("vidrec evaluate: val:") == n  # one line per video, none twice


def test_progress_line_rate_and_eta():
    now = [100.0]
    out = io.StringIO()
    p = progress.Progress("vidrec embed", total=400, every_s=5, stream=out,
                          clock=lambda: now[0])
    p.skip(100)  # done by an interrupted run: counted, not in the rate
    for _ in range(10):
        now[0] += 1
        p.advance(10)
    assert out.getvalue().splitlines() == [
        "vidrec embed: 150/400 videos (38%), 10.0 videos/s, ETA 25s",
        "vidrec embed: 200/400 videos (50%), 10.0 videos/s, ETA 20s"]
    now[0] += 200
    p.advance(200)
    p.close()
    assert (out.getvalue().splitlines()[-1]
            == "vidrec embed: 400/400 videos (100%), 1.4 videos/s, 3m 30s")
    quiet = progress.Progress("x", total=3, every_s=5, stream=out, clock=lambda: now[0])
    quiet.advance(3)
    quiet.close()  # short work prints nothing
    assert quiet.lines == 0
    unknown = progress.Progress("x", total=0, every_s=0, stream=io.StringIO(),
                                clock=lambda: now[0])
    unknown.advance(2)
    assert unknown.line() == "x: 2 videos, 0.0 videos/s, 0s"


@pytest.mark.slow
def test_embed_killed_after_a_shard_resumes_to_the_uninterrupted_cache(tiny_data, frame_run,
                                                                       cache, tmp_path,
                                                                       capsys):
    from helpers.slowed import run_killed

    out = str(tmp_path / "feats")
    argv = ["embed", "--data", tiny_data, "--encoder", frame_run, "--out", out,
            "--batch-size", "16"]
    first = f"{out}/{os.path.basename(reading.match_files(cache, 'train')[0])}"
    run_killed("shard", 3, argv, lambda: os.path.exists(first))
    assert not os.path.exists(f"{out}/{schema.MANIFEST_NAME}")
    mtime = os.stat(first).st_mtime_ns
    assert _embed(tiny_data, frame_run, out) == 0
    assert "(kept from the interrupted run)" in capsys.readouterr().out
    assert os.stat(first).st_mtime_ns == mtime
    # The same videos and the same embeddings as the uninterrupted cache.
    before, after = read_cache(cache), read_cache(out)
    assert sorted(after) == sorted(before)
    for vid, rows in before.items():
        np.testing.assert_array_equal(after[vid], rows)


# --------------------------------------------------------------------------- map caches
# `vidrec embed --maps`: the encoder's feature maps before its pooling, for the spatial models.

MAP_SHAPE = [4, 4, 64]  # small_cnn at 32x32: three 2x2 poolings, 64 channels


@pytest.fixture(scope="module")
def map_cache(tiny_data, frame_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("embed_maps") / "maps")
    embed.embed(tiny_data, frame_run, out, batch_size=16, maps=True)
    return out


def _shard_bytes(folder):
    manifest = schema.read_manifest(folder)
    return sum(os.path.getsize(p) for split, info in manifest["splits"].items()
               if info.get("videos") for p in reading.match_files(folder, split, manifest))


@pytest.mark.slow
def test_embed_maps_records_the_map_shape_layer_and_size(tiny_data, cache, map_cache):
    maps, vectors = (schema.read_manifest(f)["features"] for f in (map_cache, cache))
    assert maps["map_shape"] == MAP_SHAPE and maps["dim"] == 4 * 4 * 64
    assert maps["feature_layer"] == maps["default_feature_layer"] == "block3_pool"
    assert "map_shape" not in vectors and "feature_layer" not in vectors
    videos = sum(i["videos"] for i in schema.read_manifest(tiny_data)["splits"].values())
    for folder, feats in ((map_cache, maps), (cache, vectors)):
        assert feats["bytes"] == _shard_bytes(folder)
        assert feats["bytes_per_video"] == round(feats["bytes"] / videos)
        # The estimate (values only) is within the records' framing of the measure.
        assert 0.5 * feats["bytes"] < feats["estimated_bytes"] <= feats["bytes"]
    assert maps["bytes_per_video"] > 10 * vectors["bytes_per_video"]
    # The pooled vector is the spatial mean of the maps it was pooled from (float16).
    pooled, cached_maps = read_cache(cache), read_cache(map_cache)
    for vid, rows in pooled.items():
        spatial = cached_maps[vid].reshape(len(rows), *MAP_SHAPE).mean(axis=(1, 2))
        np.testing.assert_allclose(spatial, rows, rtol=1e-2, atol=1e-2)
    with open(f"{map_cache}/{embed.STATE_NAME}") as f:
        state = json.load(f)
    assert state["maps"] is True and state["feature_layer"] == "block3_pool"


@pytest.mark.slow
def test_a_convlstm_run_trains_and_evaluates_on_a_map_cache(tiny_data, map_cache, tmp_path):
    from trainer import data, train
    from trainer.config import TrainConfig

    cfg = TrainConfig(data=tiny_data, features=map_cache, out=str(tmp_path / "convlstm"),
                      model="convlstm", **{**SMALL, "hidden": 4, "steps_per_epoch": 1})
    manifest = schema.read_manifest(map_cache)
    x, _ = next(iter(data.train_dataset(cfg, manifest, 2)))
    assert x.shape == (2, cfg.chunk_length, *MAP_SHAPE)
    summary = train.train(cfg)
    assert summary["epochs_run"] == 1
    result = evaluate.evaluate_run(cfg.out, split="val")
    assert result["num_videos"] == manifest["splits"]["val"]["videos"]
    assert result["data"]["data_dir"] == map_cache
    # `vidrec predict` on raw frames: the cache's encoder, cut to the same maps
    from trainer import predict

    frames = np.random.default_rng(0).uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    predictor = predict.Predictor(cfg.out)
    maps = predictor.encoder.predict(frames, verbose=0)
    assert maps.shape == (6, *MAP_SHAPE)
    probs = predictor.model.predict(predict.clip_inputs(cfg, maps), verbose=0)
    assert probs.shape[1] == len(manifest["classes"])


@pytest.mark.slow
def test_a_map_cache_over_the_size_bound_is_refused_before_anything_is_written(
        tiny_data, frame_run, tmp_path, capsys):
    out = tmp_path / "maps"
    out.mkdir()
    assert _embed(tiny_data, frame_run, str(out), "--maps", "--max-cache-gb", "0.0001") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "over --max-cache-gb 0.0001" in err and "feature maps of 4x4x64" in err
    assert "--feature-layer" in err and "GB" in err
    assert list(out.iterdir()) == []  # nothing written: no state file, no shard
    missing = tmp_path / "never"
    assert _embed(tiny_data, frame_run, str(missing), "--maps", "--max-cache-gb", "0.0001") == 2
    assert not missing.exists()


@pytest.mark.slow
def test_an_unfinished_cache_is_not_resumed_with_other_map_flags(tiny_data, frame_run, cache,
                                                                 tmp_path, capsys):
    out = tmp_path / "feats"
    out.mkdir()
    shutil.copy(f"{cache}/{embed.STATE_NAME}", out)  # a killed vector cache
    assert _embed(tiny_data, frame_run, str(out), "--maps") == 2
    err = capsys.readouterr().err
    assert "unfinished feature cache of another source" in err
    assert "maps False -> True" in err and "feature_layer '' -> 'block3_pool'" in err
    assert _embed(tiny_data, frame_run, str(out), "--feature-layer", "block2_pool") == 2
    assert "--feature-layer block2_pool names the layer" in capsys.readouterr().err


def _fake_cache(folder, **features):
    """A feature cache's manifest alone: what `vidrec train` checks before building."""
    splits = {s: {"videos": 4, "frames": 48, "min_frames": 12, "max_frames": 12, "shards": 1,
                  "file_pattern": schema.file_pattern(s)} for s in ("train", "val")}
    schema.write_json(f"{folder}/{schema.MANIFEST_NAME}", {
        "schema_version": schema.SCHEMA_VERSION, "classes": ["a", "b"], "splits": splits,
        "frame_size": 32, "features": {"dim": 64, "dtype": "float16", **features}})
    return str(folder)


def _train_error(feats, capsys, *flags):
    code = cli.train_main(["--data", feats, "--features", feats, "--out", f"{feats}/run",
                           "--chunk-length", "4", *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err


def test_a_spatial_model_on_pooled_vectors_is_refused(tmp_path, capsys):
    feats = _fake_cache(tmp_path)
    for model in ("convlstm", "conv2plus1d"):
        err = _train_error(feats, capsys, "--model", model)
        assert (f"--features {feats} holds pooled vectors; spatial models (convlstm, "
                "conv2plus1d) need feature maps: write them with `vidrec embed --maps`") in err


def test_a_pooled_model_on_feature_maps_is_refused(tmp_path, capsys):
    feats = _fake_cache(tmp_path, dim=1024, map_shape=MAP_SHAPE, feature_layer="block3_pool",
                        default_feature_layer="block3_pool")
    for model in ("pooled", "recurrent", "frame"):
        err = _train_error(feats, capsys, "--model", model)
        assert f"--features {feats} holds feature maps (4x4x64 of layer block3_pool)" in err
        assert "only the spatial models (convlstm, conv2plus1d) read" in err
        assert "`vidrec embed` without --maps" in err


def test_a_spatial_model_cut_at_another_layer_than_the_cache_is_refused(tmp_path, capsys):
    feats = _fake_cache(tmp_path, dim=2048, map_shape=[8, 8, 32], feature_layer="block2_pool",
                        default_feature_layer="block3_pool")
    err = _train_error(feats, capsys, "--model", "convlstm")  # default: the last conv block
    assert "--feature-layer '' (the last conv block, block3_pool) differs" in err
    assert f"in --features {feats} (block2_pool)" in err and "--feature-layer block2_pool" in err
    err = _train_error(feats, capsys, "--model", "conv2plus1d", "--feature-layer", "block1_pool")
    assert "--feature-layer block1_pool differs" in err and "(block2_pool)" in err
