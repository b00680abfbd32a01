"""Training end to end on the tiny synthetic dataset: 2 replicas, resume, layout, evaluation."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer import evaluate, folders, train
from trainer.config import TrainConfig
from trainer.distribute import make_strategy

# Every test trains (a module fixture on two replicas, a resume, reruns) or evaluates in a
# fresh process.
pytestmark = pytest.mark.slow

SMALL = dict(hidden=16, head_units=(32, 16), chunk_length=6, batch_size=4)


class _Interrupt(keras.callbacks.Callback):
    """Simulates a killed run: raises after the first epoch it finishes."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt("simulated kill")


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    """A recurrent run on 2 logical CPU replicas, shared by the checks below.

    24 steps an epoch: with 12 the loss, averaged over an epoch, sometimes had not yet
    fallen by the third (training is not bit-for-bit deterministic; a clean-clone CI
    run saw 1.376, 1.393, 1.392).
    """
    out = str(tmp_path_factory.mktemp("runs") / "rec")
    cfg = TrainConfig(data=tiny_data, out=out, model="recurrent", epochs=3, steps_per_epoch=24,
                      learning_rate=1e-2, augment="none", cpu_replicas=2, **SMALL)
    return cfg, train.train(cfg)


def test_recurrent_trains_on_two_replicas_and_loss_falls(trained):
    cfg, summary = trained
    assert summary["num_replicas"] == 2
    loss = summary["history"]["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0]
    assert summary["epochs_run"] == 3 and summary["params"] > summary["trainable_params"] > 0
    assert summary["best_val_accuracy"] == max(summary["history"]["val_accuracy"])
    assert "learning_rate" in summary["history"]


def test_run_dir_layout(trained):
    cfg, _ = trained
    for name in ("config.json", "model.keras", "best.keras", "history.csv",
                 "train_summary.json", "saved_model/saved_model.pb"):
        assert os.path.exists(os.path.join(cfg.out, name)), name
    assert not os.path.exists(os.path.join(cfg.out, "backup"))  # removed after success
    events = tf.io.gfile.glob(f"{cfg.log_dir}/*/events.out.tfevents.*")
    assert any("/validation/" in e for e in events) and any("/train/" in e for e in events)
    with open(os.path.join(cfg.out, "config.json")) as f:
        assert json.load(f)["model"] == "recurrent"


def test_serving_export_matches_the_keras_model(trained):
    cfg, _ = trained
    model = keras.saving.load_model(os.path.join(cfg.out, "model.keras"))
    served = tf.saved_model.load(os.path.join(cfg.out, "saved_model"))
    x = np.random.default_rng(0).uniform(0, 255, (2, 6, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(served.serve(tf.constant(x)), model(x), rtol=1e-5, atol=1e-5)


def test_evaluate_writes_the_report_json(trained):
    cfg, _ = trained
    result = evaluate.evaluate_run(cfg.out, split="test", order="reversed")
    with open(os.path.join(cfg.out, "eval_test_reversed.json")) as f:
        on_disk = json.load(f)
    assert on_disk == json.loads(json.dumps(result))
    assert os.path.exists(os.path.join(cfg.out, "eval_test_reversed.png"))
    expected = {"run_dir", "run_name", "model", "encoder", "split", "order", "data", "classes",
                "clip_top1", "clip_top5", "video_top1", "video_top5", "mean_class_accuracy",
                "per_class_accuracy", "confusion_matrix", "num_clips", "num_videos", "params",
                "train_time_s", "videos", "config", "protocol", "recipe", "val_video_top1",
                "kind", "environment"}
    assert set(result) == expected
    assert set(result["data"]) == {"data_dir", "manifest_sha256", "split", "official_split",
                                   "num_videos"}
    assert result["data"]["official_split"] == 1
    assert result["num_clips"] == 2 * result["num_videos"]  # 12 frames: 2 chunks of 6 each
    assert set(result["videos"][0]) >= {"film", "frames_fingerprint"}
    assert sum(map(sum, result["confusion_matrix"])) == result["num_videos"]
    assert result["train_time_s"] is not None and result["order"] == "reversed"


def test_cli_evaluate_in_a_fresh_process(trained):
    cfg, _ = trained
    done = subprocess.run([sys.executable, "-m", "vidrec", "evaluate", cfg.out, "--split", "val"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "video top-1" in done.stdout
    assert os.path.exists(os.path.join(cfg.out, "eval_val.json"))


def test_resume_after_interruption(tiny_data, tmp_path):
    cfg = TrainConfig(data=tiny_data, out=str(tmp_path / "resumed"), model="pooled", epochs=3,
                      steps_per_epoch=2, augment="none", **SMALL)
    strategy = make_strategy(cfg)
    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, strategy, extra_callbacks=[_Interrupt()])
    assert os.path.isdir(tmp_path / "resumed" / "backup")
    seen = _Epochs()
    summary = train.train(cfg, strategy, extra_callbacks=[seen])
    assert seen.epochs == [1, 2]  # continued after the saved epoch 0
    assert summary["epochs_run"] == 3 and len(summary["history"]["loss"]) == 3


def test_summary_records_trainable_layers_val_video_accuracy_and_recipe(trained):
    cfg, summary = trained
    assert len(summary["trainable_encoder_layers"]) == 6  # small_cnn: 3 x (conv, batch norm)
    with open(os.path.join(cfg.out, "eval_val.json")) as f:
        val = json.load(f)
    assert val["video_top1"] == summary["val_video_top1"] and val["split"] == "val"
    assert val["protocol"]["name"] == "dense"
    recipe = summary["recipe"]
    assert recipe["temporal"] == {"model": "recurrent", "rnn": "lstm", "hidden": 16,
                                  "rnn_layers": 1, "bidirectional": False, "chunk_length": 6,
                                  "frame_stride": 1, "frame_input": "rgb",
                                  "temporal_input": "embed"}
    assert recipe["kind"] == {"takes_chunks": True, "order_aware": True, "recurrent": True,
                              "spatial": False}
    assert recipe["shared"]["global_batch"] == 8 and recipe["shared"]["augment"] == "none"
    assert recipe["shared"]["encoder_trained_by"] == "this run"
    assert "out" not in recipe["shared"] and "cpu_replicas" not in recipe["shared"]


def test_a_run_folder_is_never_silently_reused(tiny_data, tmp_path, capsys):
    from trainer import cli

    cfg = TrainConfig(data=tiny_data, out=str(tmp_path / "run"), model="pooled", epochs=2,
                      steps_per_epoch=1, augment="none", **SMALL)
    train.train(cfg)
    with pytest.raises(folders.RunDirError, match="already holds a finished run"):
        train.train(cfg)
    flags = ["--data", tiny_data, "--out", cfg.out, "--model", "pooled", "--epochs", "2",
             "--steps-per-epoch", "1", "--augment", "none", "--hidden", "16",
             "--head-units", "32", "16", "--chunk-length", "6", "--batch-size", "4"]
    assert cli.train_main(flags) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidrec train: error: --out") and "--overwrite" in err
    assert len(err.splitlines()) == 1
    # --overwrite starts from an empty folder: nothing of the old run survives.
    again = train.train(dataclasses.replace(cfg, epochs=1), overwrite=True)
    assert again["epochs_run"] == 1 and len(again["history"]["loss"]) == 1
    with open(os.path.join(cfg.out, "config.json")) as f:
        assert json.load(f)["epochs"] == 1
    # An unfinished run resumes only with its own config.
    other = dataclasses.replace(cfg, out=str(tmp_path / "killed"), epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train.train(other, extra_callbacks=[_Interrupt()])
    with pytest.raises(folders.RunDirError, match=r"another config \(chunk_length 6 -> 4\)"):
        train.train(dataclasses.replace(other, chunk_length=4))
    assert folders.check_run_dir(other) == "resume"
    # --overwrite deletes a vidrec run only, never a folder that holds none.
    mine = tmp_path / "not_a_run"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    train.train(dataclasses.replace(cfg, out=str(mine), epochs=1), overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep me"
