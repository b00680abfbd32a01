"""A frame run reused: --init-from, `vidrec embed` + --features training, `vidrec predict`."""

import json
import os

import numpy as np
import pytest
from conftest import SMALL

from pipeline import schema, synth
from pipeline import video as video_lib
from trainer import cli, data, embed, evaluate, predict, reading, train
from trainer.config import EvalProtocol, TrainConfig


@pytest.mark.slow
def test_init_from_copies_and_freezes_the_encoder(tiny_data, frame_run, tmp_path):
    import keras

    cfg = TrainConfig(data=tiny_data, out=str(tmp_path / "rec"), model="recurrent",
                      init_from=frame_run, freeze_encoder=True, **SMALL)
    from trainer.distribute import make_strategy

    model = train.build_compiled(cfg, schema.read_manifest(tiny_data), make_strategy(cfg))
    source = keras.saving.load_model(os.path.join(frame_run, "model.keras"))
    for a, b in zip(model.get_layer("encoder").get_weights(),
                    source.get_layer("encoder").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not model.get_layer("encoder").trainable_weights


@pytest.mark.slow
def test_embed_then_train_on_features(tiny_data, frame_run, tmp_path, capsys):
    feats = str(tmp_path / "feats")
    assert cli.embed_main(["--data", tiny_data, "--encoder", frame_run, "--out", feats,
                           "--batch-size", "16"]) == 0
    manifest = schema.read_manifest(feats)
    assert manifest["features"]["dim"] == 64 and manifest["features"]["dtype"] == "float16"
    src = schema.read_manifest(tiny_data)
    for split, info in src["splits"].items():
        if info["videos"]:
            assert (len(reading.match_files(feats, split))
                    == len(reading.match_files(tiny_data, split)))
    cfg = TrainConfig(data=tiny_data, out=str(tmp_path / "feat_run"), model="recurrent",
                      features=feats, **SMALL)
    train.train(cfg)
    result = evaluate.evaluate_run(cfg.out, split="val")
    assert result["num_videos"] == src["splits"]["val"]["videos"]
    assert result["data"]["data_dir"] == feats
    # Same evaluation path and files as a run on frames: comparable by `vidrec compare`.
    on_frames = evaluate.evaluate_run(frame_run, split="val")
    assert set(result) == set(on_frames)
    assert [v["id"] for v in result["videos"]] == [v["id"] for v in on_frames["videos"]]
    assert result["data"]["manifest_sha256"] == on_frames["data"]["manifest_sha256"]
    for run in (cfg.out, frame_run):
        assert sorted(f for f in os.listdir(run) if f.startswith("eval_val")) == [
            "eval_val.json", "eval_val.png"]
    # Embeddings equal the encoder's output on the decoded frames (float16 precision).
    first = next(iter(data.eval_examples(cfg, manifest, "val", batch=1)))["inputs"].numpy()
    frames_cfg = TrainConfig(data=tiny_data, out="/u", model="recurrent", chunk_length=4)
    frames = next(iter(data.eval_examples(frames_cfg, src, "val", batch=1)))["inputs"]
    import keras

    enc = keras.saving.load_model(os.path.join(frame_run, "model.keras")).get_layer("encoder")
    np.testing.assert_allclose(first[0], enc(frames[0], training=False), rtol=1e-2, atol=1e-2)


def test_embed_rejects_a_non_frame_run(tiny_data, tmp_path):
    from trainer.config import save_config

    run = str(tmp_path / "pooled")
    save_config(TrainConfig(data=tiny_data, out=run, model="pooled"), run)
    with pytest.raises(ValueError, match="is a 'pooled' run"):
        embed.embed(tiny_data, run, str(tmp_path / "f"))


@pytest.mark.slow
def test_predict_raw_videos(tiny_data, frame_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    clip = synth.render_clip("grow", synth.SynthConfig(out="", frames=6, size=48), rng)
    path = str(tmp_path / "grow.avi")
    video_lib.write_video(path, clip, fps=10)
    (tmp_path / "broken.avi").write_bytes(b"not a video")
    results = predict.predict_videos(frame_run, [path, str(tmp_path / "broken.avi")], top_k=3)
    assert len(results[0]["top"]) == 3 and results[0]["error"] is None
    assert sum(results[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert [p for _, p in results[0]["top"]] == sorted([p for _, p in results[0]["top"]],
                                                       reverse=True)
    assert results[1]["error"]
    assert cli.predict_main([frame_run, path, "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(path) and out.count(",") == 1
    with open(os.path.join(frame_run, "config.json")) as f:
        assert json.load(f)["model"] == "frame"


@pytest.mark.slow
def test_models_of_any_chunk_length_are_scored_on_the_same_frames(tiny_data, frame_run,
                                                                  tmp_path):
    """Frame run and a chunk-4 recurrent run: same protocol, same per-video frame fingerprint."""
    rec = TrainConfig(data=tiny_data, out=str(tmp_path / "rec"), model="recurrent",
                      **{**SMALL, "chunk_length": 5, "frame_stride": 2})
    train.train(rec)
    a = evaluate.evaluate_run(frame_run, split="test")
    b = evaluate.evaluate_run(rec.out, split="test")
    shuffled = evaluate.evaluate_run(rec.out, split="test", order="shuffled")
    assert a["protocol"]["name"] == b["protocol"]["name"] == "dense"
    assert a["protocol"]["fingerprint"] == b["protocol"]["fingerprint"]
    assert shuffled["protocol"]["fingerprint"] == b["protocol"]["fingerprint"]
    prints = {v["id"]: v["frames_fingerprint"] for v in a["videos"]}
    assert prints == {v["id"]: v["frames_fingerprint"] for v in b["videos"]}
    assert len(set(prints.values())) == len(prints)  # per video, not one constant
    frames = schema.read_manifest(tiny_data)["splits"]["test"]["frames"]
    assert a["num_clips"] == frames  # the frame model scores every stored frame once
    assert all(v["film"] for v in a["videos"])
    # Each video's first clip as the model saw it: one frame, or a chunk (shuffled: permuted).
    assert all(len(v["first_clip"]) == 1 for v in a["videos"])
    natural = {v["id"]: v["first_clip"] for v in b["videos"]}
    mixed = {v["id"]: v["first_clip"] for v in shuffled["videos"]}
    assert all(len(c) == 5 and c == sorted(c) for c in natural.values())
    assert all(sorted(mixed[k]) == sorted(natural[k]) for k in natural)
    assert any(mixed[k] != natural[k] for k in natural)
    # `vidrec compare` takes them: different chunk lengths, the same protocol and frames.
    from report.compare import compare

    summary = compare([frame_run, rec.out], str(tmp_path / "report"), n_resamples=100)
    assert {d["field"] for d in summary["differences"]} == {"model", "chunk_length",
                                                            "frame_stride", "frames_per_video",
                                                            "rnn", "hidden", "rnn_layers",
                                                            "bidirectional", "temporal_input",
                                                            "frame_input"}
    assert summary["confounds"] == []
    window = evaluate.evaluate_run(rec.out, split="test", protocol=EvalProtocol(window=6))
    assert window["protocol"]["name"] == "dense-center-6"
    assert window["protocol"]["fingerprint"] != b["protocol"]["fingerprint"]
    with pytest.raises(ValueError, match="different protocols: 'dense' in"):
        compare([frame_run, rec.out], str(tmp_path / "refused"))


@pytest.mark.slow
def test_frame_model_on_cached_embeddings_shares_the_temporal_models_recipe(
        tiny_data, frame_run, tmp_path):
    feats = str(tmp_path / "feats")
    embed.embed(tiny_data, frame_run, feats)
    summaries = {}
    for model in ("frame", "pooled", "recurrent"):
        cfg = TrainConfig(data=tiny_data, out=str(tmp_path / model), model=model,
                          features=feats, **SMALL)
        summaries[model] = train.train(cfg)
    recipes = {m: s["recipe"] for m, s in summaries.items()}
    assert recipes["frame"]["shared"] == recipes["pooled"]["shared"] == \
        recipes["recurrent"]["shared"]
    shared = recipes["frame"]["shared"]
    assert shared["encoder_trained_by"] == os.path.abspath(frame_run)
    assert shared["encoder_trainable"] == "frozen" and shared["augment"] == "none"
    assert recipes["frame"]["temporal"] == {"model": "frame", "frames_per_video": 4}
    assert summaries["frame"]["trainable_encoder_layers"] is None
    result = evaluate.evaluate_run(str(tmp_path / "frame"), split="test")
    on_images = evaluate.evaluate_run(frame_run, split="test")
    assert result["protocol"]["fingerprint"] == on_images["protocol"]["fingerprint"]
    # The image run that trained the encoder is not like for like with them, and says so.
    image = json.load(open(os.path.join(frame_run, "train_summary.json")))["recipe"]["shared"]
    assert image["encoder_trained_by"] == "this run" and image != shared
    with pytest.raises(ValueError, match="on cached features; it must be a 'frame' run on images"):
        embed.embed(tiny_data, str(tmp_path / "frame"), str(tmp_path / "f2"))
