"""`vidrec compare` on small handcrafted run dirs: numbers, figures, refusals, CLI."""

import json

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from report import cli
from report.compare import compare
from report.runs import load_run, read_curves

CLASSES = ["fade_in", "grow", "shrink", "walk"]
PER_CLASS = 10  # videos per class: 40 test videos
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RESAMPLES = 500


def _eval(run_dir, name, model, right_per_class, *, order="natural", manifest="sha-a",
          drop_video=False, config=None):
    """An eval_test*.json where the first `right_per_class` videos of each class are right."""
    k = len(CLASSES)
    videos, confusion = [], np.zeros((k, k), int)
    for label, cls in enumerate(CLASSES):
        for i in range(PER_CLASS):
            pred = label if i < right_per_class else (label + 1) % k
            probs = np.full(k, 0.1)
            probs[pred] = 0.7
            videos.append({"id": f"{cls}/v{i:02d}", "label": label, "predicted": pred,
                           "probabilities": probs.tolist()})
            confusion[label, pred] += 1
    if drop_video:
        videos = videos[:-1]
    acc = right_per_class / PER_CLASS
    ev = {
        "run_dir": str(run_dir), "run_name": name, "model": model, "encoder": "tiny_cnn",
        "split": "test", "order": order,
        "data": {"data_dir": "/data/synth", "manifest_sha256": manifest, "split": "test",
                 "num_videos": len(videos)},
        "classes": CLASSES, "clip_top1": acc - 0.05, "clip_top5": 1.0, "video_top1": acc,
        "video_top5": 1.0, "mean_class_accuracy": acc,
        "per_class_accuracy": {c: acc for c in CLASSES}, "confusion_matrix": confusion.tolist(),
        "num_clips": 4 * len(videos), "num_videos": len(videos), "params": 12345,
        "train_time_s": 61.5, "videos": sorted(videos, key=lambda v: v["id"]),
        "config": config or {"rnn": None, "hidden": None, "chunk_length": 8,
                             "bidirectional": False, "features": None},
    }
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
    assert "+40.0 points" in headline and "modelling order" in headline
    assert "LSTM, 128" in headline
    report = (out / "report.md").read_text()
    assert headline in report
    assert "| lstm | recurrent | LSTM | 128 | 8 | 85.0% | 100.0% | 90.0% [" in report
    assert {r["name"]: r["curves_source"] for r in on_disk["runs"]} == {
        "frame": "history", "pooled": "none", "lstm": "tensorboard"}


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


def test_curves_read_from_tensorboard_events(runs):
    curves, source = read_curves(load_run(str(runs["lstm"])))
    assert source == "tensorboard"
    assert curves["val_accuracy"][0] == [0, 1, 2]
    assert curves["val_accuracy"][1] == pytest.approx(TB_VAL["accuracy"])
    assert curves["loss"][1] == pytest.approx([1.3, 0.9, 0.6])
    curves, source = read_curves(load_run(str(runs["frame"])))
    assert source == "history" and curves["val_loss"][1] == HISTORY["val_loss"]


def test_headline_when_recurrence_does_not_help(tmp_path):
    for name, model, right in (("frame", "frame", 7), ("gru", "recurrent", 8)):
        (tmp_path / name).mkdir()
        _eval(tmp_path / name, name, model, right,
              config={"rnn": "gru", "hidden": 64, "chunk_length": 4})
    summary = compare([str(tmp_path / "frame"), str(tmp_path / "gru")], str(tmp_path / "out"),
                      n_resamples=RESAMPLES)
    assert "not significant" in summary["headline"]
    assert "does not show that recurrence helps" in summary["headline"]
    assert "95% CI of the difference" in summary["headline"]
    single = compare([str(tmp_path / "gru")], str(tmp_path / "one"), n_resamples=RESAMPLES)
    assert single["headline"].startswith("Only one run: gru (GRU, 64, chunk 4) reaches 80.0%")
    assert single["tests"] == [] and single["per_class"] is None
    (tmp_path / "pooled").mkdir()
    _eval(tmp_path / "pooled", "pooled", "pooled", 2)
    no_rnn = compare([str(tmp_path / "pooled"), str(tmp_path / "frame")], str(tmp_path / "nr"),
                     n_resamples=RESAMPLES)
    assert no_rnn["headline"].startswith("No recurrent run to compare with. The best run, frame,")
    assert "the difference is significant" in no_rnn["headline"]


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
    assert cli.main([str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err

    out = tmp_path / "report"
    rc = cli.main([str(runs["frame"]), str(runs["lstm"]), "--out", str(out),
                   "--order-classes", "grow, shrink", "--resamples", "200"])
    assert rc == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"] in printed and summary["n_resamples"] == 200
    assert summary["order_classes"]["classes"] == ["grow", "shrink"]
    assert cli.main(["--help"]) == 0
