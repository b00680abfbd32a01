"""TensorBoard tells the whole comparison: one HParams table of every run and tuner trial with
its test metrics, what each model sees, the report's answer as text; read back with
TensorBoard's own reader and from a `tensorboard` server over HTTP."""

import csv
import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
from conftest import free_ports
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins.hparams import metadata as hp_metadata

from pipeline import schema
from report.compare import compare
from report.render import tensorboard_text as board
from trainer import embed, evaluate, hparams, pictures, train
from trainer.config import TrainConfig
from tuning import search, space

TINY = dict(hidden=8, head_units=(8, 8), chunk_length=4, batch_size=4, epochs=1,
            steps_per_epoch=2)
RUNS = {"encoder": "runs/tensorboard/encoder", "rec": "runs/tensorboard/rec",
        "trial": "tune/tensorboard/0/execution0", "best": "tune/tensorboard/best"}
SPACE = space.SearchSpace(temporal_types=("lstm", "gru"), hidden=(4, 8), chunk_length=(2, 4),
                          chunk_step=2)


@pytest.fixture(scope="module")
def study(tiny_data, tmp_path_factory):
    """A tiny study: an encoder (frame model on images), its embeddings, a recurrent run and a
    one-trial search on them; every run evaluated on test, compared."""
    root = str(tmp_path_factory.mktemp("study"))
    encoder = TrainConfig(data=tiny_data, out=f"{root}/runs/encoder", model="frame",
                          augment="flip,crop", frames_per_video=2, **TINY)
    train.train(encoder)
    feats = f"{root}/features"
    embed.embed(tiny_data, encoder.out, feats)
    rec = TrainConfig(data=tiny_data, features=feats, out=f"{root}/runs/rec", model="recurrent",
                      **TINY)
    train.train(rec)
    base = TrainConfig(data=tiny_data, features=feats, out=f"{root}/tune", model="recurrent",
                       **TINY)
    search.search(search.TuneConfig(base=base, space=SPACE, out=f"{root}/tune", max_trials=1),
                  train.make_strategy(base))  # the best is retrained and evaluated on test
    evaluate.evaluate_run(encoder.out)
    for order in ("natural", "shuffled"):
        evaluate.evaluate_run(rec.out, order=order)
    summary = compare([encoder.out, rec.out, f"{root}/tune/best"], f"{root}/report",
                      n_resamples=20, videos=False)
    return {"root": root, "encoder": encoder, "rec": rec, "summary": summary}


@pytest.fixture(scope="module")
def board_data(study):
    """Every run of the study, loaded by TensorBoard's own event multiplexer."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(study["root"])
    multiplexer.Reload()
    return multiplexer


def _eval(run_dir, order="natural"):
    suffix = "" if order == "natural" else f"_{order}"
    return json.load(open(f"{run_dir}/eval_test{suffix}.json"))


def _sessions(multiplexer):
    """run -> hparams of every HParams session start found."""
    out = {}
    for run, tags in multiplexer.PluginRunToTagToContent(hp_metadata.PLUGIN_NAME).items():
        if hp_metadata.SESSION_START_INFO_TAG in tags:
            info = hp_metadata.parse_session_start_info_plugin_data(
                tags[hp_metadata.SESSION_START_INFO_TAG])
            out[run] = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
                        for k, v in info.hparams.items()}
    return out


def _scalar(multiplexer, run, tag):
    return float(tf.make_ndarray(multiplexer.Tensors(run, tag)[-1].tensor_proto))


@pytest.mark.slow
def test_every_run_and_trial_is_a_session_with_the_same_names(study, board_data):
    sessions = _sessions(board_data)
    assert set(sessions) == set(RUNS.values())  # the encoder, the run, the trial, the best
    names = {run: set(h) for run, h in sessions.items()}
    assert all(set(hparams.HPARAMS_ALWAYS) <= n for n in names.values())
    # Trial, best and run are recurrent models on the same features: the same columns.
    assert names[RUNS["trial"]] == names[RUNS["rec"]] == names[RUNS["best"]]
    enc, rec = sessions[RUNS["encoder"]], sessions[RUNS["rec"]]
    assert (enc["model"], enc["temporal_type"], enc["features"], enc["split"]) == (
        "frame", "none", False, 1)
    assert (rec["model"], rec["temporal_type"], rec["features"], rec["hidden"]) == (
        "recurrent", "lstm", True, 8)
    assert rec["encoder"] == "small_cnn" and rec["encoder_trainable"] == "frozen"
    assert "hidden" not in enc and "chunk_length" not in enc  # not the frame model's


@pytest.mark.slow
def test_a_trial_carries_the_tuners_own_names_and_values(study, board_data):
    """KerasTuner 1.4.8 names a trial's hparams after the search space; ours include them,
    with the values it sampled, and its own HParams callback is replaced (one session)."""
    with open(f"{study['root']}/tune/trials.csv") as f:
        (row,) = list(csv.DictReader(f))
    trial = _sessions(board_data)[RUNS["trial"]]
    assert trial["run"] == "tune/trial 0"
    assert trial["temporal_type"] == row["temporal_type"]
    assert trial["bidirectional"] == (row["bidirectional"] in ("1", "True"))
    assert (trial["hidden"], trial["chunk_length"]) == (int(row["hidden"]),
                                                        int(row["chunk_length"]))
    starts = [e for path in tf.io.gfile.glob(f"{study['root']}/{RUNS['trial']}/events*")
              for e in tf.compat.v1.train.summary_iterator(path)
              if any(v.tag == hp_metadata.SESSION_START_INFO_TAG for v in e.summary.value)]
    assert len(starts) == 1
    assert _scalar(board_data, RUNS["trial"], hparams.BEST_VAL_VIDEO_ACCURACY) == pytest.approx(
        float(row["score"]))


@pytest.mark.slow
def test_metrics_are_the_eval_files_numbers(study, board_data):
    root = study["root"]
    for name, run_dir in (("encoder", f"{root}/runs/encoder"), ("rec", f"{root}/runs/rec"),
                          ("best", f"{root}/tune/best")):
        ev = _eval(run_dir)
        for level in ("clip", "video"):
            assert _scalar(board_data, RUNS[name], hparams.eval_tag("test", level)) == \
                pytest.approx(ev[f"{level}_top1"])
        summary = json.load(open(f"{run_dir}/train_summary.json"))
        assert _scalar(board_data, RUNS[name], hparams.eval_tag("val", "video")) == pytest.approx(
            summary["val_video_top1"])
        assert _scalar(board_data, RUNS[name], hparams.BEST_VAL_ACCURACY) == pytest.approx(
            summary["best_val_accuracy"])
    assert _scalar(board_data, RUNS["rec"], hparams.eval_tag("test", "video", "shuffled")) == \
        pytest.approx(_eval(f"{root}/runs/rec", "shuffled")["video_top1"])
    trial_tags = board_data.GetAccumulator(RUNS["trial"]).Tags()["tensors"]
    assert not [t for t in trial_tags if t.startswith("metrics/test")]  # trials never see test


def _picture(multiplexer, run, tag):
    event = multiplexer.Tensors(run, tag)[-1]
    width, height, png = tf.make_ndarray(event.tensor_proto)
    return int(width), int(height), tf.io.decode_png(png).numpy()


@pytest.mark.slow
def test_what_the_model_sees(study, board_data):
    for name, tags in (("encoder", ("inputs/train", "inputs/val", "inputs/test")),
                       ("rec", ("inputs/train", "inputs/val", "inputs/test",
                                "inputs/test_shuffled"))):
        for tag in tags:
            width, height, image = _picture(board_data, RUNS[name], tag)
            assert image.shape[:2] == (height, width) and height >= pictures.MIN_SIDE, (name, tag)
            if name == "rec":  # strips of chunk_length frames, enlarged to be seen
                assert width > pictures.MIN_SIDE * study["rec"].chunk_length, (name, tag)
    described = board_data.SummaryMetadata(RUNS["rec"], "inputs/test_shuffled")
    assert "shuffled order" in described.summary_description
    assert "cached embeddings" in described.summary_description
    # A run on cached embeddings shows the frames they come from, as the model sees them:
    # each strip is its video's first clip, in the evaluated (here shuffled) order.
    rec = study["rec"]
    manifest = schema.read_manifest(rec.features)
    rows = pictures.eval_rows(rec, manifest, "test", "shuffled")
    orders = [[int(c) for c in captions] for _, _, captions in rows]
    assert len(rows) == pictures.SHOWN and all(len(o) == rec.chunk_length for o in orders)
    assert any(o != sorted(o) for o in orders)  # the shuffled order, as the model saw it
    files = sorted(tf.io.gfile.glob(schema.shard_pattern(rec.data, "test")))
    context, jpegs = next(iter(tf.data.TFRecordDataset(files[:1]).map(schema.parse_video)))
    label, frames, _ = rows[0]
    assert label.startswith(context[schema.LABEL_TEXT_KEY].numpy().decode() + ": ")
    np.testing.assert_array_equal(
        frames, schema.decode_frames(tf.gather(jpegs, orders[0])).numpy())


@pytest.mark.slow
def test_compare_writes_the_headline_and_report_as_text(study, board_data):
    run = f"runs/tensorboard/{board.TEXT_RUN}"  # the log root holding most compared runs
    assert study["summary"]["tensorboard_text"] == f"{study['root']}/{run}"
    texts = {tag: tf.make_ndarray(board_data.Tensors(run, tag)[-1].tensor_proto).item().decode()
             for tag in board.TAGS.values()}
    assert texts[board.TAGS["headline"]] == study["summary"]["headline"]
    report = texts[board.TAGS["report"]]
    assert "## Runs" in report and "| rec |" in report and "![" not in report


def _post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/data/plugin/{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def _get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/{path}", timeout=20) as response:
        return json.load(response)


GROUPS_REQUEST = {"experimentName": "", "startIndex": 0, "sliceSize": 100,
                  "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                      "STATUS_RUNNING"]}


@pytest.mark.slow
def test_tensorboard_serves_every_run_with_its_hparams_and_test_metric(study):
    """`tensorboard --logdir STUDY` as a user starts it; the HParams plugin over HTTP."""
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "tensorboard"), "--logdir",
         study["root"], "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, groups = time.monotonic() + 90, []
        while time.monotonic() < deadline and len(groups) < len(RUNS):
            time.sleep(1)
            if server.poll() is not None:
                pytest.fail(f"tensorboard exited: {server.stderr.read()[-2000:]}")
            try:
                groups = _post(port, "hparams/session_groups", GROUPS_REQUEST)["sessionGroups"]
            except OSError:  # not listening yet, or still loading
                groups = []
        experiment = _post(port, "hparams/experiment", {"experimentName": ""})
        images = _get(port, "plugin/images/tags")
        text = _get(port, f"plugin/text/text?run=runs/tensorboard/{board.TEXT_RUN}"
                    f"&tag={board.TAGS['headline']}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert {h["name"] for h in experiment["hparamInfos"]} >= set(hparams.HPARAMS_ALWAYS)
    metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
    assert {hparams.eval_tag("test", "video"), hparams.BEST_VAL_VIDEO_ACCURACY} <= metrics
    by_session = {g["sessions"][0]["name"]: g for g in groups}
    assert set(by_session) == set(RUNS.values())
    for name, run_dir in (("encoder", "runs/encoder"), ("rec", "runs/rec"),
                          ("best", "tune/best")):
        group = by_session[RUNS[name]]
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert values[hparams.eval_tag("test", "video")] == pytest.approx(
            _eval(f"{study['root']}/{run_dir}")["video_top1"])
        assert group["hparams"]["run"] == os.path.basename(run_dir)
    trial = by_session[RUNS["trial"]]
    assert trial["hparams"]["model"] == "recurrent" and trial["hparams"]["features"] is True
    assert {"inputs/train", "inputs/val", "inputs/test_shuffled"} <= set(images[RUNS["rec"]])
    assert " ".join(study["summary"]["headline"].split()[:4]) in text[-1]["text"]


def test_temporal_type_names_the_search_spaces_families():
    for temporal in space.TEMPORAL_TYPES:
        cfg = TrainConfig(data="", out="o", **space.temporal_type_config(temporal))
        assert hparams.temporal_type(cfg) == temporal
