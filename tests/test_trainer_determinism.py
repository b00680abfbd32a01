"""Identical reruns: the same run twice gives the same weights, history and predictions;
a video's training clip depends on (seed, pass, video id) only; seed groups."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL

from pipeline import schema
from trainer import cli, data, determinism, embed, evaluate, train
from trainer.config import TrainConfig
from vidrec.core import run_folder

# A few dozen steps on 2 CPU replicas, augmentation on (frames) so every random draw counts.
RERUN = {**SMALL, "epochs": 2, "steps_per_epoch": 8, "augment": "flip,crop,contrast,rotate",
         "cpu_replicas": 2}


def _weights(run_dir):
    model = keras.saving.load_model(f"{run_dir}/{run_folder.MODEL}", compile=False)
    return [w.numpy() for w in model.weights]


def _train_and_evaluate(cfg):
    train.train(cfg)
    evaluate.evaluate_run(cfg.out, split="test")
    with open(f"{cfg.out}/eval_test.json") as f:
        videos = json.load(f)["videos"]
    with open(f"{cfg.out}/{run_folder.HISTORY}") as f:
        history = f.read()
    return _weights(cfg.out), videos, history


def _assert_identical(first, second):
    (w1, v1, h1), (w2, v2, h2) = first, second
    assert len(w1) > 4
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert json.dumps(v1) == json.dumps(v2)  # every video's probabilities, byte for byte
    assert h1 == h2


@pytest.mark.slow
@pytest.mark.parametrize("model,extra", [
    ("frame", {}), ("pooled", {}), ("recurrent", {}), ("temporal_conv", {}), ("attention", {}),
    ("convlstm", {"frame_input": "both"}), ("conv2plus1d", {"frame_input": "diff"})])
def test_the_same_run_twice_gives_identical_weights_and_predictions(tiny_data, tmp_path, model,
                                                                    extra):
    """On 2 CPU replicas: every model, the spatial ones and pixel-difference inputs too."""
    runs = [_train_and_evaluate(TrainConfig(data=tiny_data, out=str(tmp_path / f"r{k}" / model),
                                            model=model, **RERUN, **extra)) for k in range(2)]
    _assert_identical(*runs)


@pytest.fixture(scope="module")
def features(tiny_data, frame_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("det_features") / "feats")
    embed.embed(tiny_data, frame_run, out, batch_size=16)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("model", ["recurrent", "attention"])  # every kind: on frames, above
def test_the_same_run_on_cached_features_twice_is_identical(tiny_data, features, tmp_path,
                                                            model):
    runs = [_train_and_evaluate(TrainConfig(data=tiny_data, features=features, model=model,
                                            out=str(tmp_path / f"r{k}" / model), **RERUN))
            for k in range(2)]
    _assert_identical(*runs)


def test_a_kernel_without_a_deterministic_version_says_to_turn_determinism_off(
        tiny_data, tmp_path, monkeypatch):
    def no_kernel(*args, **kwargs):
        raise tf.errors.UnimplementedError(None, None, "A deterministic GPU implementation of "
                                           "MaxPoolGrad is not currently available.")

    monkeypatch.setattr(train, "fit_model", no_kernel)
    cfg = TrainConfig(data=tiny_data, out=str(tmp_path / "r"), model="frame", **SMALL)
    with pytest.raises(train.NonDeterministicKernelError,
                       match="MaxPoolGrad.*train with --no-deterministic"):
        train.train(cfg)
    off = TrainConfig(data=tiny_data, out=str(tmp_path / "off"), model="frame",
                      deterministic=False, **SMALL)
    with pytest.raises(tf.errors.UnimplementedError):  # nothing to suggest: it is off
        train.train(off)


@pytest.mark.slow
def test_different_seeds_give_different_runs(tiny_data, tmp_path):
    """The seed is what varies: otherwise identical reruns would prove nothing."""
    cfgs = [TrainConfig(data=tiny_data, out=str(tmp_path / f"s{s}"), model="recurrent",
                        seed=s, **{**RERUN, "epochs": 1, "steps_per_epoch": 2})
            for s in (0, 1)]
    for cfg in cfgs:
        train.train(cfg)
    assert any(not np.array_equal(a, b)
               for a, b in zip(_weights(cfgs[0].out), _weights(cfgs[1].out), strict=True))


def _clips(cfg, manifest, threads, passes=2):
    """{(video id, pass, frame indices): the clip's pixels} of passes 0 .. passes-1."""
    ds = data.train_examples(cfg, manifest)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    per_pass = manifest["splits"]["train"]["videos"] * (1 if cfg.kind.takes_chunks
                                                        else cfg.frames_per_video)
    out = {}
    for e in ds.with_options(options).take(per_pass * (passes + 10)).as_numpy_iterator():
        key = (e["video_id"].decode(), int(e["pass"]), tuple(e["indices"].ravel().tolist()))
        if key[1] < passes:
            out[key] = e["x"].tobytes()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("model", ["recurrent", "frame"])
def test_a_videos_training_clip_ignores_file_order_and_thread_count(tiny_data, model,
                                                                    monkeypatch):
    manifest = schema.read_manifest(tiny_data)
    cfg = TrainConfig(data=tiny_data, out="unused", model=model, chunk_length=4,
                      augment="flip,crop,rotate", frames_per_video=2)
    reference = _clips(cfg, manifest, threads=1)
    assert len(schema.shard_names(manifest, "train")) > 1
    # The same shards listed in the opposite order, read by 4 threads: another record order.
    original = schema.shard_names
    monkeypatch.setattr(schema, "shard_names", lambda m, s: list(reversed(original(m, s))))
    other = _clips(cfg, manifest, threads=4)
    # The shuffle buffer mixes passes, so each read holds most, not all, of passes 0 and 1;
    # a (video, pass) the two reads share has the same frames with the same pixels.
    assert list(reference) != list(other)  # another record order
    common = reference.keys() & other.keys()
    assert len(common) >= manifest["splits"]["train"]["videos"]
    assert all(reference[k] == other[k] for k in common)
    drawn = {}  # (video, pass) -> every frame index either read drew for it
    for vid, p, idx in [*reference, *other]:
        drawn.setdefault((vid, p), set()).update(idx)
    per_clip = cfg.chunk_length if cfg.kind.takes_chunks else cfg.frames_per_video
    assert all(len(frames) <= per_clip for frames in drawn.values())
    # ... and a video's clip is not the same in every pass.
    by_pass = {}
    for vid, p, idx in reference:
        by_pass.setdefault(vid, {}).setdefault(p, set()).add(idx)
    assert any(len(p) == 2 and p[0] != p[1] for p in by_pass.values())


def test_the_video_seed_depends_on_seed_pass_and_video_only():
    def seed(s, p, v):
        return data.video_seed(s, tf.constant(p, tf.int64), tf.constant(v)).numpy()

    assert np.array_equal(seed(0, 0, "v1"), seed(0, 0, "v1"))
    for other in (seed(1, 0, "v1"), seed(0, 1, "v1"), seed(0, 0, "v2")):
        assert not np.array_equal(seed(0, 0, "v1"), other)


def test_op_determinism_follows_each_runs_config():
    from tensorflow.python.util import _pywrap_determinism

    determinism.seed_everything(0, deterministic=False)
    assert not _pywrap_determinism.is_enabled()
    determinism.seed_everything(0, deterministic=True)
    assert _pywrap_determinism.is_enabled()


def test_derived_seeds_are_stable_and_distinct():
    assert determinism.derive_seed(0, "trial", "00") == determinism.derive_seed(0, "trial", "00")
    seeds = {determinism.derive_seed(s, "trial", t) for s in range(3) for t in ("00", "01")}
    assert len(seeds) == 6 and all(0 <= s < determinism.SEED_MODULUS for s in seeds)


@pytest.mark.slow
def test_a_run_records_what_its_determinism_depends_on(frame_run):
    with open(f"{frame_run}/{run_folder.CONFIG}") as f:
        env = json.load(f)["environment"]
    assert env["tensorflow"] == tf.__version__ and env["keras"] == keras.__version__
    assert env["cpu"] and env["cores"] >= 1 and env["op_determinism"] is True
    assert {"onednn", "intra_op_threads", "inter_op_threads"} <= set(env)
    with open(f"{frame_run}/{run_folder.SUMMARY}") as f:
        assert json.load(f)["environment"] == env


# --------------------------------------------------------------------------- seed groups


def _train_cli(tiny_data, out, *flags):
    return cli.train_main(["--data", tiny_data, "--out", out, "--model", "pooled",
                           "--hidden", "8", "--head-units", "16", "8", "--chunk-length", "4",
                           "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "2",
                           "--augment", "none", *flags])


@pytest.mark.slow
def test_train_seeds_writes_a_seed_group_and_a_rerun_keeps_finished_seeds(tiny_data, tmp_path,
                                                                          capsys):
    out = str(tmp_path / "runs" / "pooled")
    assert _train_cli(tiny_data, out, "--seeds", "3,1") == 0
    with open(f"{out}/{run_folder.SEEDS}") as f:
        assert json.load(f) == {"seeds": [3, 1], "runs": ["seed3", "seed1"]}
    for seed in (3, 1):
        with open(f"{out}/seed{seed}/{run_folder.CONFIG}") as f:
            cfg = json.load(f)
        assert cfg["seed"] == seed and cfg["out"] == f"{out}/seed{seed}"
        assert os.path.isdir(tmp_path / "runs" / "tensorboard" / "pooled" / f"seed{seed}")
    assert "2 seeds: val video top-1 mean" in capsys.readouterr().out
    # A rerun after a crash: the finished seed is kept, the missing one trained.
    stamp = os.path.getmtime(f"{out}/seed3/{run_folder.MODEL}")
    shutil.rmtree(f"{out}/seed1")
    assert _train_cli(tiny_data, out, "--seeds", "3,1") == 0
    assert "seed 3 (1/2): finished already" in capsys.readouterr().out
    assert os.path.getmtime(f"{out}/seed3/{run_folder.MODEL}") == stamp
    assert os.path.exists(f"{out}/seed1/{run_folder.MODEL}")
    # vidrec evaluate on the group evaluates every seed.
    assert cli.evaluate_main([out]) == 0
    printed = capsys.readouterr().out
    assert "pooled/seed3 test natural" in printed and "pooled/seed1 test natural" in printed
    for seed in (3, 1):
        with open(f"{out}/seed{seed}/eval_test.json") as f:
            ev = json.load(f)
        assert ev["run_name"] == f"pooled/seed{seed}" and ev["config"]["seed"] == seed
    # Another seed list in the same group, or a single run into it, is refused.
    assert _train_cli(tiny_data, out, "--seeds", "0,1") == 2
    assert "is a seed group of seeds [3, 1], not [0, 1]" in capsys.readouterr().err
    assert _train_cli(tiny_data, out) == 2
    assert "holds a seed group" in capsys.readouterr().err
    # --overwrite replaces: a single run by a seed group, and a seed group by a single run.
    single = str(tmp_path / "runs" / "single")
    assert _train_cli(tiny_data, single) == 0
    assert _train_cli(tiny_data, single, "--seeds", "5") == 2
    assert "holds a single run" in capsys.readouterr().err
    assert _train_cli(tiny_data, single, "--seeds", "5", "--overwrite") == 0
    assert sorted(os.listdir(single)) == ["seed5", "seeds.json"]
    assert _train_cli(tiny_data, single, "--overwrite") == 0
    assert not os.path.exists(f"{single}/seeds.json")
    assert os.path.exists(f"{single}/{run_folder.MODEL}")


@pytest.mark.parametrize("seeds,words", [
    ("0,1,0", "lists seed 0 more than once"),
    ("0,one", "takes non-negative integers"),
    ("0,-1", "takes non-negative integers"),
    (",", "needs a comma list of seeds"),
])
def test_bad_seed_lists_are_one_line_errors(tiny_data, tmp_path, capsys, seeds, words):
    assert _train_cli(tiny_data, str(tmp_path / "x"), "--seeds", seeds) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not os.path.exists(tmp_path / "x")


def test_seed_and_seeds_together_are_refused(tiny_data, tmp_path, capsys):
    assert _train_cli(tiny_data, str(tmp_path / "x"), "--seed", "4", "--seeds", "0,1") == 2
    assert "give --seed or --seeds, not both" in capsys.readouterr().err
