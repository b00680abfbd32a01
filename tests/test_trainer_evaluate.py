"""Evaluation metrics on a handcrafted prediction set, checked by hand."""

import numpy as np
import pytest

from trainer.config import EvalProtocol
from trainer.evaluate import (
    ClipPredictions,
    film_of,
    frame_fingerprints,
    plot_confusion,
)
from trainer.metrics import compute_metrics
from vidrec.core import run_folder

CLASSES = ["a", "b", "c"]
# video v1 (a): clips favour a, b -> mean a; v2 (b): both clips c -> c; v3 (c): one clip c.
PROBS = np.array([
    [0.6, 0.3, 0.1],   # v1 clip: top1 a (right)
    [0.3, 0.5, 0.2],   # v1 clip: top1 b (wrong)
    [0.1, 0.2, 0.7],   # v2 clip: c (wrong)
    [0.2, 0.3, 0.5],   # v2 clip: c (wrong)
    [0.0, 0.1, 0.9],   # v3 clip: c (right)
])
LABELS = np.array([0, 0, 1, 1, 2])
IDS = [b"v1", b"v1", "v2", "v2", "v3"]


def test_hand_computed_metrics():
    m = compute_metrics(PROBS, LABELS, IDS, CLASSES)
    assert m["clip_top1"] == pytest.approx(2 / 5)
    assert m["clip_top5"] == 1.0  # top-min(5, 3) = top-3: always right
    assert m["video_top1"] == pytest.approx(2 / 3)  # v1 mean [.45,.4,.15] -> a; v2 -> c
    assert m["video_top5"] == 1.0
    assert m["per_class_accuracy"] == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert m["mean_class_accuracy"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
    assert (m["num_clips"], m["num_videos"]) == (5, 3)
    assert [v["id"] for v in m["videos"]] == ["v1", "v2", "v3"]
    v1 = m["videos"][0]
    assert v1["label"] == "a" and v1["predicted"] == "a"
    np.testing.assert_allclose(v1["probabilities"], [0.45, 0.4, 0.15])


def test_top5_with_many_classes():
    probs = np.array([[.30, .20, .15, .12, .10, .08, .05],    # label 5: 6th -> miss
                      [.05, .08, .10, .12, .15, .20, .30]])   # label 5: 2nd -> top-5 hit
    m = compute_metrics(probs, np.array([5, 5]), ["x", "y"], [str(i) for i in range(7)])
    assert m["clip_top1"] == 0.0 and m["clip_top5"] == 0.5


def test_mean_class_accuracy_differs_from_accuracy_when_unbalanced():
    probs = np.array([[0.9, 0.1]] * 3 + [[0.9, 0.1]])
    m = compute_metrics(probs, np.array([0, 0, 0, 1]), ["1", "2", "3", "4"], ["a", "b"])
    assert m["video_top1"] == 0.75 and m["mean_class_accuracy"] == 0.5


def test_bad_shapes_and_mixed_labels_are_rejected():
    with pytest.raises(ValueError, match="expected probs"):
        compute_metrics(PROBS[:, :2], LABELS, IDS, CLASSES)
    with pytest.raises(ValueError, match="v1"):
        compute_metrics(PROBS, np.array([0, 1, 1, 1, 2]), IDS, CLASSES)


def test_names_and_png(tmp_path):
    assert run_folder.eval_json("test") == "eval_test.json"
    assert run_folder.eval_png("val", "reversed") == "eval_val_reversed.png"
    with pytest.raises(ValueError, match="order must be one of"):
        run_folder.eval_stem("test", "sideways")
    png = plot_confusion(np.array([[1, 0], [2, 3]]), ["a", "b"], path=f"{tmp_path}/c.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "c.png").stat().st_size == len(png)


def test_source_film_of_a_video_id_follows_the_conversion_rule():
    assert film_of("brush_hair/Pirates_of_the_Caribbean_(2003)_brush_hair_u_cm_np1_fr_med_0") \
        == "Pirates_of_the_Caribbean_(2003)"
    assert film_of("Jump/v_Jump_g08_c01") == "g08"
    assert film_of("no_slash") == "no_slash"


def test_frame_fingerprints_name_the_protocol_data_video_and_frames():
    preds = ClipPredictions(PROBS, LABELS, ["v1", "v1", "v2", "v2", "v3"],
                            ["0,1,2", "0,1,2", "0,1", "0,1", "0"], [[0], [1], [0], [1], [0]])
    dense = frame_fingerprints(preds, EvalProtocol(), "sha-a")
    assert set(dense) == {"v1", "v2", "v3"} and len(set(dense.values())) == 3
    assert dense == frame_fingerprints(preds, EvalProtocol(), "sha-a")
    assert dense["v1"] != frame_fingerprints(preds, EvalProtocol(window=2), "sha-a")["v1"]
    assert dense["v1"] != frame_fingerprints(preds, EvalProtocol(), "sha-b")["v1"]
    other = preds._replace(frames=["0,1,2", "0,1,2", "0,1", "0,1", "1"])
    assert frame_fingerprints(other, EvalProtocol(), "sha-a")["v3"] != dense["v3"]
    broken = preds._replace(frames=["0,1,2", "0,1", "0,1", "0,1", "0"])
    with pytest.raises(ValueError, match="video 'v1': its clips were cut from different"):
        frame_fingerprints(broken, EvalProtocol(), "sha-a")
