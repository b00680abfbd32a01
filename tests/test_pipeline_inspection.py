"""`vidrec inspect DATA`: counts, lengths, failures by reason and a contact sheet, read from
the manifest, failures.jsonl, videos.jsonl and a sample of records; local and non-local."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_dataset

from pipeline import inspection, schema

CLASSES = ("red", "green", "blue")
COLOURS = {"red": (230, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 230)}
FAILURES = [
    {"path": "/v/red/a.avi", "reason": "truncated: decoded 3 of 40 frames", "class": "red",
     "split": "train"},
    {"path": "/v/blue/b.avi", "reason": "truncated: decoded 0 of 12 frames", "class": "blue",
     "split": "test"},
    {"path": "/v/green/c.avi", "reason": "not a video: no frame decoded", "class": "green",
     "split": "train"},
]


def _video(colour, frames):
    """uint8 [frames, 16, 16, 3], one solid colour."""
    return np.zeros((frames, 16, 16, 3), np.uint8) + np.array(COLOURS[colour], np.uint8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """3 classes of solid colours; video lengths 5..13 frames; 2 shards per split; 3 failures."""
    out = str(tmp_path_factory.mktemp("inspect") / "data")
    lengths = iter(range(5, 14))
    videos = {split: [(f"{c}/{split}_{k}", i, _video(c, next(lengths) if split == "train"
                                                      else 9))
                      for i, c in enumerate(CLASSES) for k in range(n)]
              for split, n in (("train", 3), ("val", 1), ("test", 2))}
    write_dataset(out, videos, CLASSES, 16)
    with open(f"{out}/{schema.FAILURES_NAME}", "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in FAILURES)
    return out


def _png(path):
    with tf.io.gfile.GFile(path, "rb") as f:
        return tf.io.decode_png(f.read(), channels=3).numpy()


def test_counts_failures_lengths_and_pictures(dataset, tmp_path, capsys):
    out = str(tmp_path / "look")
    assert inspection.main([dataset, "--out", out, "--chunk-length", "4"]) == 0
    printed = capsys.readouterr().out
    summary = json.load(open(f"{out}/summary.json"))
    assert summary["headline"] in printed and f"wrote {out}/summary.md" in printed

    assert {s: v["videos"] for s, v in summary["splits"].items()} == {
        "train": 9, "val": 3, "test": 6}
    assert summary["per_class"] == {c: {"train": 3, "val": 1, "test": 2} for c in CLASSES}
    by_reason = summary["failures"]["by_reason"]
    assert list(by_reason) == ["truncated", "not a video"]  # most frequent first
    assert [by_reason[k]["count"] for k in by_reason] == [2, 1]
    assert by_reason["not a video"]["examples"][0]["path"] == "/v/green/c.avi"

    # No videos.jsonl: lengths from the records read (--sample 200 > 18 videos: all of them).
    lengths = summary["lengths"]
    assert lengths["videos"] == 18 and lengths["source"].startswith("a sample")
    assert lengths["frames_per_video"]["min"] == 5 and lengths["frames_per_video"]["max"] == 13
    assert lengths["seconds_per_video"]["max"] == pytest.approx(1.3)  # 13 frames at 10 fps
    assert lengths["shorter_than_chunk"] == 0
    assert set(summary["contact_sheet"]) == set(CLASSES) and all(summary["contact_sheet"].values())

    report = open(f"{out}/summary.md").read()
    for name in inspection.FIGURES.values():
        assert f"]({name})" in report
        assert _png(f"{out}/{name}").shape[0] > 100
    assert "| truncated | 2 |" in report and "| red | 3 | 1 | 2 |" in report
    # The contact sheet shows each class's own frames: its colour, in its row.
    sheet = _png(f"{out}/contact_sheet.png").astype(int)
    rows_with = {c: np.where((np.abs(sheet - COLOURS[c]).sum(-1) < 40).any(1))[0]
                 for c in CLASSES}
    assert all(len(r) > 10 for r in rows_with.values())
    assert rows_with["red"].mean() < rows_with["green"].mean() < rows_with["blue"].mean()


def test_lengths_come_from_the_video_index_when_the_conversion_wrote_one(dataset, tmp_path):
    data = str(tmp_path / "data")
    tf.io.gfile.makedirs(data)
    for path in tf.io.gfile.glob(f"{dataset}/*"):
        tf.io.gfile.copy(path, f"{data}/{path.rsplit('/', 1)[-1]}")
    index = [{"split": "train", "class": c, "media_id": f"{c}/x{k}", "stored_frames": 100 + k,
              "fps": 25.0} for c in CLASSES for k in range(4)]
    with open(f"{data}/{schema.VIDEOS_NAME}", "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in index)
    summary = inspection.inspect(data, f"{data}/inspect", sample=1)
    lengths = summary["lengths"]
    assert lengths["source"] == f"every video, from {schema.VIDEOS_NAME}"
    assert (lengths["videos"], lengths["frames_per_video"]["max"]) == (12, 103)
    assert lengths["seconds_per_video"]["min"] == pytest.approx(4.0)
    assert all(summary["contact_sheet"].values())  # records still read, for the sheet only


def test_a_sample_reads_whole_shards_until_every_class_has_a_video(dataset, tmp_path):
    summary = inspection.inspect(dataset, str(tmp_path / "o"), sample=1)
    read = summary["lengths"]["videos"]
    # train's first shard (5 of its 9 videos, round-robin) already holds every class
    assert read == 5 and summary["lengths"]["source"] == "a sample: 5 of 18 videos, whole shards"
    assert all(summary["contact_sheet"].values())


def test_data_and_output_on_a_non_local_filesystem(dataset):
    """tf.io.gfile end to end (as for gs://): TensorFlow's in-memory ram:// filesystem."""
    data = "ram://inspect/data"
    tf.io.gfile.makedirs(data)
    for path in tf.io.gfile.glob(f"{dataset}/*"):
        tf.io.gfile.copy(path, f"{data}/{path.rsplit('/', 1)[-1]}", overwrite=True)
    assert inspection.main([data]) == 0  # default --out: DATA/inspect
    with tf.io.gfile.GFile(f"{data}/inspect/summary.json") as f:
        assert json.load(f)["failures"]["total"] == 3
    assert _png(f"{data}/inspect/contact_sheet.png").ndim == 3


def test_bad_input_is_one_line(tmp_path, capsys):
    assert inspection.main([str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidrec inspect: error: No manifest.json")
    assert inspection.main([str(tmp_path), "--sample", "0"]) == 2
    assert "--sample must be >= 1" in capsys.readouterr().err
