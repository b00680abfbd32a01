"""`vidrec compare` on small handcrafted run dirs: numbers, figures, refusals, CLI."""

import functools
import json

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from report import cli, stats
from report.compare import compare
from report.runs.curves import read_curves
from report.runs.load import load_run
from report.stats.paired import find_test

CLASSES = ["fade_in", "grow", "shrink", "walk"]
PER_CLASS = 10  # videos per class: 40 test videos
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RESAMPLES = 500
# Tests of numbers and refusals leave out the video pictures (a few tenths of a second per
# run); the others draw them, without frames (their data folder does not exist).
numbers_only = functools.partial(compare, videos=False)


TEMPORAL = {"frame": {"model": "frame", "frames_per_video": 4},
            "pooled": {"model": "pooled", "chunk_length": 8, "frame_stride": 1},
            "recurrent": {"model": "recurrent", "rnn": "lstm", "hidden": 128, "rnn_layers": 1,
                          "bidirectional": False, "chunk_length": 8, "frame_stride": 1},
            "temporal_conv": {"model": "temporal_conv", "hidden": 128, "conv_layers": 2,
                              "kernel_size": 3, "chunk_length": 8, "frame_stride": 1},
            "attention": {"model": "attention", "hidden": 128, "attn_layers": 1, "attn_heads": 2,
                          "attn_positions": True, "chunk_length": 8, "frame_stride": 1},
            "convlstm": {"model": "convlstm", "hidden": 64, "kernel_size": 3, "chunk_length": 8,
                         "frame_stride": 1},
            "conv2plus1d": {"model": "conv2plus1d", "hidden": 64, "kernel_size": 3,
                            "chunk_length": 8, "frame_stride": 1}}
SHARED = {"head_units": [256, 128], "dropout": 0.3, "augment": "none", "batch_size": 8,
          "epochs": 30, "learning_rate": 0.001, "patience": 5, "seed": 0, "steps_per_epoch": 0,
          "mixed_precision": False, "global_batch": 8, "encoder": "vgg16",
          "encoder_weights": "imagenet", "encoder_trained_by": "/runs/encoder",
          "encoder_trainable": "frozen"}


def _eval(run_dir, name, model, right_per_class, *, order="natural", manifest="sha-a",
          drop_video=False, config=None, val=None, films=None, protocol="dense", shared=None,
          official_split=None, fingerprint=None, kind=None):
    """An eval_test*.json where the first `right_per_class` videos of each class are right.

    Every video is its own source film unless `films(cls, i)` names one. Without `kind`
    it is an eval file from before the trainer recorded kinds (no "kind" key).
    """
    k = len(CLASSES)
    videos, confusion = [], np.zeros((k, k), int)
    for label, cls in enumerate(CLASSES):
        for i in range(PER_CLASS):
            pred = label if i < right_per_class else (label + 1) % k
            probs = np.full(k, 0.1)
            probs[pred] = 0.7
            vid = f"{cls}/v{i:02d}"
            videos.append({"id": vid, "label": label, "predicted": pred,
                           "probabilities": probs.tolist(),
                           "film": films(cls, i) if films else f"{cls}_film{i}",
                           "frames_fingerprint": (fingerprint or {}).get(vid, f"fp-{vid}")})
            confusion[label, pred] += 1
    if drop_video:
        videos = videos[:-1]
    acc = right_per_class / PER_CLASS
    temporal = dict(TEMPORAL[model])
    if config:
        temporal.update({k: v for k, v in config.items() if k in temporal and k != "model"})
    ev = {
        "run_dir": str(run_dir), "run_name": name, "model": model, "encoder": "tiny_cnn",
        "split": "test", "order": order,
        "data": {"data_dir": "/data/synth", "manifest_sha256": manifest, "split": "test",
                 "official_split": official_split, "num_videos": len(videos)},
        "protocol": {"name": protocol, "window": 0, "version": 1,
                     "description": "every stored frame", "fingerprint": f"agg-{protocol}"},
        "classes": CLASSES, "clip_top1": acc - 0.05, "clip_top5": 1.0, "video_top1": acc,
        "video_top5": 1.0, "mean_class_accuracy": acc,
        "per_class_accuracy": {c: acc for c in CLASSES}, "confusion_matrix": confusion.tolist(),
        "num_clips": 4 * len(videos), "num_videos": len(videos), "params": 12345,
        "train_time_s": 61.5, "videos": sorted(videos, key=lambda v: v["id"]),
        "val_video_top1": acc if val is None else val,
        "recipe": {"temporal": temporal, "shared": {**SHARED, **(shared or {})}},
        "config": config or {"rnn": None, "hidden": None, "chunk_length": 8,
                             "bidirectional": False, "features": None},
    }
    if kind is not None:
        ev["kind"] = ev["recipe"]["kind"] = kind
    suffix = "" if order == "natural" else f"_{order}"
    (run_dir / f"eval_test{suffix}.json").write_text(json.dumps(ev))


def _write_events(log_dir, train, val):
    for sub, curves in (("train", train), ("validation", val)):
        writer = tf.summary.create_file_writer(str(log_dir / sub))
        with writer.as_default():
            for tag, values in curves.items():
                for epoch, v in enumerate(values):
                    tf.summary.scalar(f"epoch_{tag}", v, step=epoch)
        writer.close()


TB_VAL = {"loss": [1.2, 0.8, 0.5], "accuracy": [0.4, 0.7, 0.9]}
HISTORY = {"loss": [1.4, 1.3], "accuracy": [0.3, 0.4], "val_loss": [1.5, 1.45],
           "val_accuracy": [0.35, 0.5]}


@pytest.fixture
def runs(tmp_path):
    """frame (50%), pooled (60%, order-blind), recurrent LSTM (90%, order-dependent)."""
    dirs = {m: tmp_path / m for m in ("frame", "pooled", "lstm")}
    for d in dirs.values():
        d.mkdir()
    _eval(dirs["frame"], "frame", "frame", 5)
    (dirs["frame"] / "train_summary.json").write_text(json.dumps(
        {"params": 12345, "train_time_s": 61.5, "epochs_run": 2, "history": HISTORY,
         "log_dir": str(tmp_path / "nonexistent_logs")}))
    for order in ("natural", "shuffled", "reversed"):
        _eval(dirs["pooled"], "pooled", "pooled", 6, order=order)
    rnn = {"rnn": "lstm", "hidden": 128, "chunk_length": 8, "bidirectional": False}
    for order, right in (("natural", 9), ("shuffled", 3), ("reversed", 6)):
        _eval(dirs["lstm"], "lstm", "recurrent", right, order=order, config=rnn)
    _write_events(tmp_path / "logs" / "lstm", {"loss": [1.3, 0.9, 0.6], "accuracy": [0.3, 0.6,
                                                                                     0.8]}, TB_VAL)
    (dirs["lstm"] / "train_summary.json").write_text(json.dumps(
        {"params": 12345, "train_time_s": 61.5, "epochs_run": 3, "best_val_accuracy": 0.9,
         "history": {}, "log_dir": str(tmp_path / "logs" / "lstm")}))
    return dirs


def test_report_numbers_match_eval_files(runs, tmp_path):
    out = tmp_path / "report"
    summary = compare([str(runs[m]) for m in ("frame", "pooled", "lstm")], str(out),
                      order_classes=["grow", "shrink"], n_resamples=RESAMPLES)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["headline"] == summary["headline"]
    rows = {r["name"]: r for r in on_disk["runs"]}
    for name, acc in (("frame", 0.5), ("pooled", 0.6), ("lstm", 0.9)):
        r = rows[name]
        assert r["video_top1"]["value"] == pytest.approx(acc)
        assert r["video_top1"]["lo"] < acc < r["video_top1"]["hi"]
        assert r["mean_class_accuracy"]["value"] == pytest.approx(acc)
        assert r["clip_top1"] == pytest.approx(acc - 0.05)
        assert r["video_top5"]["value"] == pytest.approx(1.0)
        assert r["params"] == 12345 and r["train_time_s"] == 61.5
    assert rows["lstm"]["rnn"] == "lstm" and rows["lstm"]["hidden"] == 128
    assert rows["frame"]["rnn"] is None

    test = next(t for t in on_disk["tests"] if (t["run_a"], t["run_b"]) == ("frame", "lstm"))
    # the frame model's right videos are a subset of the LSTM's: b = 0, c = 4 classes x 4
    assert (test["b"], test["c"]) == (0, 16)
    assert test["p_value"] == pytest.approx(2 * 0.5**16)
    assert test["diff"] == pytest.approx(-0.4) and test["diff_hi"] < 0
    assert len(on_disk["tests"]) == 3 and all("p_holm" in t for t in on_disk["tests"])

    ablation = {a["run"]: a for a in on_disk["ablation"]}
    assert set(ablation) == {"pooled", "lstm"}
    assert ablation["lstm"]["shuffled"]["value"] == pytest.approx(0.3)
    assert ablation["lstm"]["shuffled_drop"]["diff"] == pytest.approx(0.6)
    assert "uses temporal order" in ablation["lstm"]["sentences"][0]
    assert "loses 60.0 points" in ablation["lstm"]["sentences"][0]
    assert ablation["pooled"]["shuffled_drop"]["diff"] == 0
    assert "sanity check passed" in ablation["pooled"]["sentences"][0]

    assert on_disk["per_class"]["baseline"] == "frame"
    assert on_disk["per_class"]["gains_points"] == pytest.approx({c: 40.0 for c in CLASSES})
    subset = {r["run"]: r for r in on_disk["order_classes"]["rows"]}
    assert subset["lstm"]["n"] == 20 and subset["lstm"]["value"] == pytest.approx(0.9)
    assert subset["lstm"]["shuffled"]["value"] == pytest.approx(0.3)

    headline = summary["headline"]
    assert "90.0%" in headline and "50.0%" in headline and "-40.0" not in headline
    # the answer in parts: pooled - frame (+10), lstm - pooled (+30), lstm's shuffle drop
    assert "+10.0 points" in headline and "+30.0 points" in headline
    assert "modelling order" in headline
    assert "LSTM, 128" in headline
    report = (out / "report.md").read_text()
    assert headline in report
    assert "| frame | lstm | 50.0% | 90.0% | -40.0 [" in report  # lstm - frame: +40 points
    assert "| lstm | recurrent | recurrent | LSTM | 128 | 8 | 85.0% | 100.0% | 90.0% [" in report
    assert {r["name"]: r["curves_source"] for r in on_disk["runs"]} == {
        "frame": "history", "pooled": "none", "lstm": "tensorboard"}


@pytest.mark.slow
def test_figures_are_valid_pngs_linked_from_report(runs, tmp_path):
    out = tmp_path / "report"
    summary = compare([str(runs[m]) for m in ("frame", "pooled", "lstm")], str(out),
                      n_resamples=RESAMPLES)
    assert set(summary["figures"]) == {"curves", "confusion", "class_gain", "order_ablation"}
    report = (out / "report.md").read_text()
    for name in summary["figures"].values():
        path = out / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(str(path))
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert f"]({name})" in report
    assert summary["order_classes"] is None and "only order tells apart" not in report
    # No frames where the eval files say ("/data/synth"): the video pictures, without strips.
    videos = summary["videos"]
    assert videos["frames"]["read"] is False and "/data/synth" in videos["frames"]["problem"]
    assert any("frames could not be read" in w for w in summary["warnings"])
    assert any("lstm's eval files record no first clip" in w for w in summary["warnings"])
    assert "the pictures have no frame strips" in report
    pictures = [m["png"] for m in videos["mistakes"]] + [videos["discordant"]["png"],
                                                         videos["order_flips"]["png"]]
    assert pictures == ["mistakes/frame.png", "mistakes/pooled.png", "mistakes/lstm.png",
                        "videos/discordant.png", "videos/order_flips.png"]
    for name in pictures:
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE and f"]({name})" in report


def test_curves_read_from_tensorboard_events(runs):
    curves, source = read_curves(load_run(str(runs["lstm"])))
    assert source == "tensorboard"
    assert curves["val_accuracy"][0] == [0, 1, 2]
    assert curves["val_accuracy"][1] == pytest.approx(TB_VAL["accuracy"])
    assert curves["loss"][1] == pytest.approx([1.3, 0.9, 0.6])
    curves, source = read_curves(load_run(str(runs["frame"])))
    assert source == "history" and curves["val_loss"][1] == HISTORY["val_loss"]


@pytest.mark.slow
def test_headline_when_recurrence_does_not_help(tmp_path):
    for name, model, right in (("frame", "frame", 7), ("gru", "recurrent", 8)):
        (tmp_path / name).mkdir()
        _eval(tmp_path / name, name, model, right,
              config={"rnn": "gru", "hidden": 64, "chunk_length": 4})
    summary = compare([str(tmp_path / "frame"), str(tmp_path / "gru")], str(tmp_path / "out"),
                      n_resamples=RESAMPLES)
    # no pooled control: part 2 compares gru with frame (frames and order together)
    assert "Not significant on 40 videos" in summary["headline"]
    assert "do not show that several frames with their order help" in summary["headline"]
    assert "95% CI of the difference" in summary["headline"]
    assert "Recurrence cannot be told apart from order with these runs" in summary["headline"]
    single = compare([str(tmp_path / "gru")], str(tmp_path / "one"), n_resamples=RESAMPLES)
    assert single["headline"].startswith("Only one run: gru (GRU, 64, chunk 4) reaches 80.0%")
    assert single["tests"] == [] and single["per_class"] is None
    (tmp_path / "pooled").mkdir()
    _eval(tmp_path / "pooled", "pooled", "pooled", 2)
    no_rnn = compare([str(tmp_path / "pooled"), str(tmp_path / "frame")], str(tmp_path / "nr"),
                     n_resamples=RESAMPLES)
    assert "1. Do several frames help? pooled (pooled, chunk 8), the pooled control, reaches " \
        "20.0%" in no_rnn["headline"]
    assert "for frame, the frame run (-50.0 points" in no_rnn["headline"]
    assert "No: the frame run does significantly better." in no_rnn["headline"]
    assert "2. Does order help? Skipped: these runs include no order-aware run" in \
        no_rnn["headline"]
    assert no_rnn["roles"] == {**no_rnn["roles"], "pooled": "pooled", "frame": "frame",
                               "candidate": None, "baseline": "frame"}
    assert no_rnn["per_class"]["run"] == "pooled" and no_rnn["per_class"]["baseline"] == "frame"


def test_refuses_runs_on_different_data(runs, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    _eval(other, "other", "frame", 5, manifest="sha-b")
    with pytest.raises(ValueError, match="manifest_sha256") as e:
        compare([str(runs["frame"]), str(other)], str(tmp_path / "out"))
    assert "'sha-a'" in str(e.value) and "'sha-b'" in str(e.value) and str(other) in str(e.value)

    fewer = tmp_path / "fewer"
    fewer.mkdir()
    _eval(fewer, "fewer", "frame", 5, drop_video=True)
    with pytest.raises(ValueError, match="different videos.*walk/v09"):
        compare([str(runs["frame"]), str(fewer)], str(tmp_path / "out"))

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no eval_test.json.*vidrec evaluate"):
        compare([str(runs["frame"]), str(empty)], str(tmp_path / "out"))
    with pytest.raises(ValueError, match="more than once"):
        compare([str(runs["frame"]), str(runs["frame"])], str(tmp_path / "out"))
    with pytest.raises(ValueError, match="at least one"):
        compare([], str(tmp_path / "out"))
    with pytest.raises(ValueError, match="not in the data"):
        compare([str(runs["frame"])], str(tmp_path / "out"), order_classes=["nope"])


def test_cli(runs, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    _eval(other, "other", "frame", 5, manifest="sha-b")
    assert cli.main([str(runs["frame"]), str(other), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidrec compare: error: ") and "manifest_sha256" in err
    assert "\n" not in err
    assert cli.main([str(runs["frame"])]) == 2  # --out is required
    err = capsys.readouterr().err
    assert err == "vidrec compare: error: the following arguments are required: --out\n"
    assert cli.main([str(runs["frame"]), "--out", str(tmp_path / "o"), "--resamples", "x"]) == 2
    err = capsys.readouterr().err
    assert err == "vidrec compare: error: argument --resamples: invalid int value: 'x'\n"
    assert cli.main([str(runs["frame"]), "--out", str(tmp_path / "o"), "--resamples", "0"]) == 2
    assert capsys.readouterr().err == "vidrec compare: error: --resamples must be >= 1, got 0\n"
    assert not (tmp_path / "o").exists()  # refused input writes nothing
    assert cli.main([str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err

    out = tmp_path / "report"
    rc = cli.main([str(runs["frame"]), str(runs["lstm"]), "--out", str(out),
                   "--order-classes", "grow, shrink", "--resamples", "200"])
    assert rc == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"] in printed and summary["n_resamples"] == 200
    assert "| Setting | Part | frame | lstm |" in printed  # what differs, on the terminal
    assert summary["order_classes"]["classes"] == ["grow", "shrink"]
    assert cli.main(["--help"]) == 0


# --------------------------------------------------------------------------- fairness contract


def _two_recurrent(tmp_path):
    """frame; lstm_a best on VALIDATION (0.9) but worse on test; lstm_b best on test."""
    dirs = {n: tmp_path / n for n in ("frame", "lstm_a", "lstm_b")}
    for d in dirs.values():
        d.mkdir()
    _eval(dirs["frame"], "frame", "frame", 4, val=0.5)
    _eval(dirs["lstm_a"], "lstm_a", "recurrent", 7, val=0.9, config={"rnn": "lstm", "hidden": 64})
    _eval(dirs["lstm_b"], "lstm_b", "recurrent", 10, val=0.7,
          config={"rnn": "lstm", "hidden": 512})
    return [str(dirs[n]) for n in ("frame", "lstm_a", "lstm_b")]


def test_headline_roles_come_from_validation_never_from_test(tmp_path):
    dirs = _two_recurrent(tmp_path)
    summary = numbers_only(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    chosen = summary["roles"]
    assert (chosen["candidate"], chosen["baseline"]) == ("lstm_a", "frame")  # not lstm_b
    assert "validation" in chosen["chosen_by"]
    assert "LSTM, 64" in summary["headline"] and "LSTM, 512" not in summary["headline"]
    assert summary["per_class"]["run"] == "lstm_a"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "the test split played no part in the choice" in report
    named = numbers_only(dirs, str(tmp_path / "o2"), n_resamples=RESAMPLES, candidate="lstm_b",
                         baseline=dirs[0])
    assert named["roles"]["candidate"] == "lstm_b" and "--candidate" in named["roles"]["chosen_by"]
    with pytest.raises(ValueError, match="--candidate 'nope' is none of the runs compared"):
        numbers_only(dirs, str(tmp_path / "o3"), candidate="nope")


def test_roles_without_validation_accuracy_are_refused_not_guessed(tmp_path):
    dirs = _two_recurrent(tmp_path)
    path = tmp_path / "lstm_b" / "eval_test.json"
    ev = json.loads(path.read_text())
    ev["val_video_top1"] = None
    path.write_text(json.dumps(ev))
    with pytest.raises(ValueError, match="without reading test: lstm_b has no validation"):
        numbers_only(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    summary = numbers_only(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES, candidate="lstm_b",
                           baseline="frame")
    assert summary["roles"]["candidate"] == "lstm_b"


def test_headline_p_values_are_holm_adjusted_film_permutation_tests(runs, tmp_path):
    summary = numbers_only([str(runs[m]) for m in ("frame", "pooled", "lstm")],
                           str(tmp_path / "out"), n_resamples=RESAMPLES)
    family = summary["headline_tests"]
    assert set(family) == {"frames", "order", "shuffled"}
    raw = [family[k]["p_cluster"] for k in ("frames", "order", "shuffled")]
    assert [family[k]["p_family"] for k in ("frames", "order", "shuffled")] == \
        pytest.approx(stats.holm(raw))
    assert "film-cluster permutation test, Holm-adjusted" in summary["headline"]
    assert "McNemar" not in summary["headline"]


def test_intervals_and_tests_resample_source_films(tmp_path):
    """The same predictions, clips grouped into 2 films per class: wider CI, weaker test."""
    def films(cls, i):
        return f"{cls}_film{i // 5}"

    for name, model, right in (("frame", "frame", 5), ("lstm", "recurrent", 10)):
        for sub, grouped in (("iid", None), ("films", films)):
            d = tmp_path / sub / name
            d.mkdir(parents=True)
            _eval(d, name, model, right, films=grouped)
    iid = numbers_only([str(tmp_path / "iid" / n) for n in ("frame", "lstm")], str(tmp_path / "a"),
                       n_resamples=RESAMPLES)
    grouped = numbers_only([str(tmp_path / "films" / n) for n in ("frame", "lstm")],
                           str(tmp_path / "b"), n_resamples=RESAMPLES)
    assert (iid["num_films"], grouped["num_films"]) == (40, 8)
    width = {k: s["runs"][0]["video_top1"]["hi"] - s["runs"][0]["video_top1"]["lo"]
             for k, s in (("iid", iid), ("films", grouped))}
    assert width["films"] > 1.5 * width["iid"]
    expected = stats.bootstrap_ci(np.repeat([True] * 5 + [False] * 5, 1)[np.tile(
        np.arange(10), 4)], RESAMPLES, 0, clusters=[f"{c}_film{i // 5}" for c in CLASSES
                                                     for i in range(10)])
    assert grouped["runs"][0]["video_top1"]["lo"] == pytest.approx(expected[1])
    t_iid = iid["headline_tests"]["frames_and_order"]  # lstm vs frame: no pooled control
    t_films = grouped["headline_tests"]["frames_and_order"]
    assert t_iid["p_value"] == t_films["p_value"]  # McNemar cannot see films
    assert t_films["p_cluster"] == pytest.approx(2 / 2 ** 4)  # 4 informative films, exact
    assert t_iid["p_cluster"] < 1e-3
    assert "Not significant" in grouped["headline"] and "8 source films" in grouped["headline"]
    report = (tmp_path / "b" / "report.md").read_text()
    assert "bootstrap over the test set's source films" in report


def test_refuses_runs_evaluated_under_another_protocol_or_on_other_frames(runs, tmp_path):
    other = tmp_path / "windowed"
    other.mkdir()
    _eval(other, "windowed", "recurrent", 9, protocol="dense-center-8")
    with pytest.raises(ValueError, match="different protocols: 'dense' in .* but "
                                         "'dense-center-8' in") as err:
        numbers_only([str(runs["frame"]), str(other)], str(tmp_path / "out"))
    assert str(runs["frame"]) in str(err.value) and str(other) in str(err.value)
    moved = tmp_path / "moved"
    moved.mkdir()
    _eval(moved, "moved", "recurrent", 9, fingerprint={"walk/v03": "other-frames"})
    with pytest.raises(ValueError, match="different frames: 1 videos differ .*walk/v03"):
        numbers_only([str(runs["frame"]), str(moved)], str(tmp_path / "out"))
    old = tmp_path / "old"
    old.mkdir()
    _eval(old, "old", "recurrent", 9)
    ev = json.loads((old / "eval_test.json").read_text())
    del ev["protocol"]
    (old / "eval_test.json").write_text(json.dumps(ev))
    with pytest.raises(ValueError, match="records no evaluation protocol"):
        numbers_only([str(runs["frame"]), str(old)], str(tmp_path / "out"))
    summary = numbers_only([str(runs["frame"]), str(other)], str(tmp_path / "anyway"),
                           allow_different_frames=True, n_resamples=RESAMPLES)
    assert summary["headline"].startswith("WARNING: these runs were NOT all scored on the same")
    report = (tmp_path / "anyway" / "report.md").read_text()
    assert report.splitlines()[2].startswith("**WARNING")
    assert cli.main([str(runs["frame"]), str(other), "--out", str(tmp_path / "c")]) == 2


def test_what_differs_names_confounds_outside_the_temporal_part(runs, tmp_path):
    fair = numbers_only([str(runs[m]) for m in ("frame", "pooled", "lstm")], str(tmp_path / "fair"),
                        n_resamples=RESAMPLES)
    assert fair["confounds"] == []
    assert {r["part"] for r in fair["differences"]} == {"temporal"}
    assert {r["field"] for r in fair["differences"]} >= {"model", "chunk_length", "rnn"}
    assert "Caution" not in fair["headline"]
    assert "Only temporal settings differ" in (tmp_path / "fair" / "report.md").read_text()
    tuned = tmp_path / "tuned"
    tuned.mkdir()
    _eval(tuned, "tuned", "recurrent", 9, val=0.95,
          shared={"augment": "flip,crop", "learning_rate": 0.003})
    unfair = numbers_only([str(runs["frame"]), str(runs["pooled"]), str(tuned)],
                          str(tmp_path / "unfair"), n_resamples=RESAMPLES)
    assert unfair["confounds"] == ["augment", "learning_rate"]
    row = next(r for r in unfair["differences"] if r["field"] == "augment")
    assert row["values"] == {"frame": "none", "pooled": "none", "tuned": "flip,crop"}
    assert "Caution: these runs differ beyond the temporal part (augment, learning_rate)" in \
        unfair["headline"]
    report = (tmp_path / "unfair" / "report.md").read_text()
    assert "| augment | **shared (confound)** | none | none | flip,crop |" in report


def _split_runs(tmp_path, accuracy):
    """Runs frame/pooled/lstm of official splits 1-3; accuracy[split][name] = right per class."""
    dirs = []
    for split, by_name in accuracy.items():
        for name, right in by_name.items():
            model = {"frame": "frame", "pooled": "pooled", "lstm": "recurrent"}[name]
            d = tmp_path / f"split{split}" / name
            d.mkdir(parents=True)
            _eval(d, name, model, right, official_split=split, manifest=f"sha-{split}",
                  val=right / PER_CLASS, config={"rnn": "lstm", "hidden": 128})
            dirs.append(str(d))
    return dirs


@pytest.mark.slow
def test_three_official_splits_per_split_tables_and_mean(tmp_path):
    acc = {1: {"frame": 5, "pooled": 5, "lstm": 9}, 2: {"frame": 6, "pooled": 5, "lstm": 9},
           3: {"frame": 4, "pooled": 6, "lstm": 10}}
    dirs = _split_runs(tmp_path, acc)
    out = tmp_path / "report"
    summary = compare(dirs, str(out), n_resamples=RESAMPLES)
    assert summary["official_splits"] == ["1", "2", "3"]
    rows = {r["name"]: r for r in summary["across"]["runs"]}
    assert rows["lstm"]["video_top1"] == pytest.approx({"1": 0.9, "2": 0.9, "3": 1.0})
    assert rows["lstm"]["mean"] == pytest.approx(np.mean([0.9, 0.9, 1.0]))
    assert rows["lstm"]["std"] == pytest.approx(np.std([0.9, 0.9, 1.0], ddof=1))
    assert rows["frame"]["mean"] == pytest.approx(0.5)
    order = summary["across"]["parts"]["order"]
    assert (order["run_a"], order["run_b"]) == ("lstm", "pooled")
    assert order["diff"] == pytest.approx({"1": 0.4, "2": 0.4, "3": 0.4})
    assert order["higher"] == 3
    frames = summary["across"]["parts"]["frames"]
    assert frames["diff"] == pytest.approx({"1": 0.0, "2": -0.1, "3": 0.2})
    assert frames["diff_mean"] == pytest.approx(np.mean([0.0, -0.1, 0.2]))
    assert "Over the 3 official splits (1, 2, 3), the answer in three parts" in \
        summary["headline"]
    assert "2. Does order help? lstm (LSTM, 128), the order-aware run" in summary["headline"]
    report = (out / "report.md").read_text()
    assert "| lstm | LSTM, 128 | recurrent | 90.0% | 90.0% | 100.0% | 93.3 ± 5.8% | 93.3% |" \
        in report
    lstm_minus_frame = {}
    for k in (1, 2, 3):
        one = json.loads((out / f"split{k}" / "summary.json").read_text())
        assert one["official_split"] == k and one["roles"]["candidate"] == "lstm"
        assert f"split{k}/report.md" in report
        assert "## Videos" in (out / f"split{k}" / "report.md").read_text()  # each split's own
        assert (out / f"split{k}" / one["videos"]["discordant"]["png"]).exists()
        lstm_minus_frame[str(k)] = find_test(one["tests"], "lstm", "frame")["diff"]
    assert lstm_minus_frame == pytest.approx({"1": 0.4, "2": 0.3, "3": 0.6})
    assert sum(d > 0 for d in lstm_minus_frame.values()) == 3
    path = tmp_path / "split3" / "frame" / "eval_test.json"
    original = path.read_text()
    path.write_text(original.replace('"name": "dense"', '"name": "dense-center-8"'))
    with pytest.raises(ValueError, match="different protocols"):
        compare(dirs, str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()  # no split's report before every split is checked
    path.write_text(original)
    (tmp_path / "split3" / "lstm").rename(tmp_path / "split3" / "gru")
    dirs = [d.replace("split3/lstm", "split3/gru") for d in dirs]
    for order in ("natural",):
        path = tmp_path / "split3" / "gru" / "eval_test.json"
        ev = json.loads(path.read_text())
        ev["run_name"] = "gru"
        path.write_text(json.dumps(ev))
    with pytest.raises(ValueError, match="splits 1 and 3 hold different runs"):
        compare(dirs, str(tmp_path / "bad"))
