"""`vidrec convert` end to end on the DirectRunner: shards, manifest, failures, determinism."""

import dataclasses
import glob
import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems
from conftest import HMDB_LAYOUT_CLASSES, opencv_frame_count

from pipeline import cli as pipeline_cli
from pipeline import config, convert, schema, splits, video

CLASSES = HMDB_LAYOUT_CLASSES


def _convert(videos, out, *extra, splits_dir=None, split=1):
    argv = ["--videos", videos, "--output", out, "--frame-size", "32", *extra]
    if splits_dir:
        argv += ["--splits", splits_dir, "--split", str(split)]
    return convert.main(argv)


def _records(out, split, compression=None):
    files = sorted(glob.glob(schema.shard_pattern(out, split)))
    ds = tf.data.TFRecordDataset(files, compression_type=compression).map(schema.parse_video)
    return [(ctx, frames) for ctx, frames in ds]


def _split_ids(root, split=1):
    ids = {}
    for path in glob.glob(f"{root}/splits/*_test_split{split}.txt"):
        ids.update(splits.parse_split_file(open(path).read()))
    return ids


def test_end_to_end_matches_manifest_opencv_and_splits(hmdb_layout, tmp_path):
    out = str(tmp_path / "out")
    assert _convert(f"{hmdb_layout}/videos", out, splits_dir=f"{hmdb_layout}/splits") == 0
    manifest = schema.read_manifest(out)
    assert manifest["classes"] == list(CLASSES)
    assert manifest["source"] == "hmdb51-splits" and manifest["split"] == 1
    assert manifest["created_by"] == "vidrec convert" and manifest["frame_size"] == 32
    assert open(f"{out}/{schema.LABEL_MAP_NAME}").read().split() == list(CLASSES)
    assert manifest["totals"] == {"listed": 15, "written": 15, "failed": 0, "unused": 3}
    assert manifest["options"] == {  # every app flag, sorted, then Beam's non-default options
        "compression": "none", "fps": 0.0, "frame_size": 32, "jpeg_quality": 90,
        "max_failed": 0.05, "max_frames": 0, "min_frames": 8, "num_shards": 0, "output": out,
        "overwrite": False, "resize_filter": "fast", "resize_mode": "crop", "seed": 0,
        "split": 1, "splits": f"{hmdb_layout}/splits",
        "test_fraction": 0.3, "val_fraction": 0.15, "videos": f"{hmdb_layout}/videos",
        "beam": {"direct_num_workers": os.cpu_count(), "direct_running_mode": "multi_threading",
                 "save_main_session": False}}  # one worker per core, as threads, by default
    *flags, last = manifest["options"]
    assert flags == sorted(flags) and last == "beam"
    ids = _split_ids(hmdb_layout)
    films = {}
    for split in schema.SPLITS:
        info = manifest["splits"][split]
        names = sorted(os.path.basename(p) for p in glob.glob(f"{out}/{info['file_pattern']}"))
        k = info["shards"]
        assert names == [f"{split}-{i:05d}-of-{k:05d}.tfrecord" for i in range(k)]
        records = _records(out, split)
        assert len(records) == info["videos"] == sum(info["per_class"].values()) > 0
        assert sum(len(f) for _, f in records) == info["frames"]
        for ctx, frames in records:
            source = ctx[schema.SOURCE_PATH_KEY].numpy().decode()
            label = ctx[schema.LABEL_TEXT_KEY].numpy().decode()
            assert CLASSES[int(ctx[schema.LABEL_INDEX_KEY])] == label
            assert int(ctx[schema.NUM_FRAMES_KEY]) == len(frames) == opencv_frame_count(source)
            assert schema.decode_frames(frames).shape == (len(frames), 32, 32, 3)
            official = ids[os.path.basename(source)]
            assert official == (2 if split == "test" else 1)  # val only from official train
            films.setdefault((label, split), set()).add(
                splits.film_key(os.path.basename(source), label))
    for c in CLASSES:
        assert films[(c, "val")] and not films[(c, "val")] & films[(c, "train")]


@pytest.mark.slow
def test_second_run_is_byte_identical_also_with_two_workers(hmdb_layout, tmp_path):
    outs = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert _convert(f"{hmdb_layout}/videos", outs[0], splits_dir=f"{hmdb_layout}/splits") == 0
    assert _convert(f"{hmdb_layout}/videos", outs[1], "--direct_num_workers", "2",
                    "--direct_running_mode", "multi_processing",
                    splits_dir=f"{hmdb_layout}/splits") == 0
    names = [sorted(os.listdir(o)) for o in outs]
    assert names[0] == names[1] and len(names[0]) > 5
    for name in names[0]:
        if name != schema.MANIFEST_NAME:
            assert open(f"{outs[0]}/{name}", "rb").read() == open(f"{outs[1]}/{name}", "rb").read()
    a, b = (schema.read_manifest(o) for o in outs)
    assert a["splits"] == b["splits"] and a["totals"] == b["totals"]


def _add_failure_cases(root):
    """Bad videos of every kind, a split line naming a missing video, a video in no split."""
    good = sorted(glob.glob(f"{root}/videos/grow/*.avi"))
    with open(good[0], "rb") as f:
        data = f.read()
    long_clip = f"{root}/long.avi"
    video.write_video(long_clip, np.random.default_rng(0).integers(
        0, 255, (40, 32, 32, 3), dtype=np.uint8), fps=10.0)
    with open(long_clip, "rb") as f:
        long_data = f.read()
    bad = {
        "Empty_grow_u_cm_np1_fr_med_0.avi": b"",
        "Cut_grow_u_cm_np1_fr_med_0.avi": long_data[:len(long_data) // 2],
        "Noise_grow_u_cm_np1_fr_med_0.avi": np.random.default_rng(1).bytes(4000),
        "Short_grow_u_cm_np1_fr_med_0.avi": None,
    }
    for name, payload in bad.items():
        path = f"{root}/videos/grow/{name}"
        if payload is None:
            video.write_video(path, np.zeros((3, 32, 32, 3), np.uint8), fps=10.0)
        else:
            with open(path, "wb") as f:
                f.write(payload)
    with open(f"{root}/videos/grow/Stray_grow_u_cm_np1_fr_med_0.avi", "wb") as f:
        f.write(data)  # a good video, but in no split file
    with open(f"{root}/splits/grow_test_split1.txt", "a") as f:
        f.writelines(f"{n} 1 \n" for n in bad)
        f.write("Ghost_grow_u_cm_np1_fr_med_0.avi 2\n")


def test_failures_are_recorded_and_totals_reconcile(hmdb_layout, tmp_path):
    root = str(tmp_path / "data")
    shutil.copytree(hmdb_layout, root)
    _add_failure_cases(root)
    out = str(tmp_path / "out")
    assert _convert(f"{root}/videos", out, "--max-failed", "0.3",
                    splits_dir=f"{root}/splits") == 0
    with open(f"{out}/{schema.FAILURES_NAME}") as f:
        failures = [json.loads(line) for line in f]
    reasons = {os.path.basename(f["path"]).split("_")[0]: f["reason"] for f in failures}
    assert set(reasons) == {"Empty", "Cut", "Noise", "Short", "Stray", "Ghost"}
    assert reasons["Empty"].startswith("empty file")
    assert reasons["Cut"].startswith("truncated or corrupt")
    assert reasons["Noise"].startswith("OpenCV cannot open it")
    assert reasons["Short"] == "too short: 3 frames < --min-frames 8"
    assert reasons["Stray"] == "video in no split file"
    assert reasons["Ghost"] == "listed in grow_test_split1.txt but no such video"
    assert all(set(f) == {"path", "reason", "class", "split"} for f in failures)
    assert failures == sorted(failures, key=lambda f: json.dumps(f, sort_keys=True))
    totals = schema.read_manifest(out)["totals"]
    assert totals == {"listed": 21, "written": 15, "failed": 6, "unused": 3}
    assert totals["listed"] == totals["written"] + totals["failed"]


def test_folder_per_class_gzip_keeps_red_red_and_blue_blue(tmp_path):
    frames = np.zeros((8, 32, 48, 3), np.uint8)
    frames[:4, ..., 0] = 255  # red, then blue
    frames[4:, ..., 2] = 255
    for cls in ("left", "right"):
        os.makedirs(tmp_path / "videos" / cls)
        for film in ("alpha", "beta", "gamma"):
            video.write_video(str(tmp_path / "videos" / cls / f"{film}_1.avi"), frames, 10.0)
    out = str(tmp_path / "out")
    assert _convert(str(tmp_path / "videos"), out, "--compression", "gzip",
                    "--max-frames", "8") == 0
    manifest = schema.read_manifest(out)
    assert manifest["source"] == "folder-per-class" and manifest["split"] is None
    assert {s: manifest["splits"][s]["videos"] for s in schema.SPLITS} == {
        "train": 2, "val": 2, "test": 2}
    assert glob.glob(f"{out}/train-00000-of-00002.tfrecord.gz")
    for split in schema.SPLITS:
        for _, jpegs in _records(out, split, compression="GZIP"):
            rgb = schema.decode_frames(jpegs).numpy().mean(axis=(1, 2))
            assert rgb[0, 0] > 200 and rgb[0, 2] < 40  # red
            assert rgb[-1, 2] > 200 and rgb[-1, 0] < 40  # blue
    from trainer import data  # and as the trainer's tf.data input reads them
    from trainer.config import TrainConfig

    cfg = TrainConfig(data=out, out=str(tmp_path / "run"), model="frame", augment="none")
    batch = next(iter(data.eval_examples(cfg, manifest, "test", batch=16)))
    rgb = batch["inputs"].numpy().mean(axis=(1, 2))  # one frame per clip, in order
    top = rgb.max()
    assert rgb[0, 0] > 0.8 * top and rgb[0, 2] < 0.2 * top  # red
    assert rgb[7, 2] > 0.8 * top and rgb[7, 0] < 0.2 * top  # blue


def _fatal(capsys, argv, expect):
    assert convert.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidrec convert: error: ")
    assert re.search(expect, err[0]), err[0]


def test_fatal_errors_exit_2_and_write_nothing(hmdb_layout, tmp_path, capsys):
    out = str(tmp_path / "out")
    ok = ["--videos", f"{hmdb_layout}/videos", "--splits", f"{hmdb_layout}/splits", "--output", out]
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--videos", str(tmp_path / "nope"), "--output", out], "no video files"),
        (["--videos", str(empty), "--output", out], "no video files"),
        (ok + ["--split", "2", "--splits", str(empty)], "no <class>_test_split2.txt"),
        (ok + ["--frame-size", "4"], "--frame-size must be >= 8"),
        (ok + ["--val-fraction", "1.5"], r"--val-fraction must be in \[0, 1\)"),
        (ok + ["--resize-mode", "stretch"], "invalid choice"),
        (ok + ["--frame-sise", "64"], "unrecognized argument"),
        (ok + ["--max-frames", "4"], "below --min-frames"),
        (ok[:-1] + [f"{hmdb_layout}/splits/grow_test_split1.txt/out"], "not writable"),
        (ok[2:], "required: --videos"),
    ]
    for argv, expect in cases:
        _fatal(capsys, argv, expect)
        assert not os.path.exists(out)
    os.makedirs(out)
    with open(f"{out}/{schema.MANIFEST_NAME}", "w") as f:
        f.write("{}")
    _fatal(capsys, ok, "already holds a conversion")
    assert os.listdir(out) == [schema.MANIFEST_NAME]


def test_dataflow_dry_run_builds_the_job_offline(hmdb_layout, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert _convert(f"{hmdb_layout}/videos", out, "--runner", "DataflowRunner", "--dry_run", "True",
                    "--project", "my-project-123", "--region", "us-central1",
                    "--temp_location", "gs://my-bucket/tmp",
                    splits_dir=f"{hmdb_layout}/splits") == 0
    assert "dry run" in capsys.readouterr().out
    assert not os.path.exists(out)


def test_unlistable_inputs_name_the_real_error_not_no_videos(hmdb_layout, tmp_path, capsys,
                                                            monkeypatch):
    out = str(tmp_path / "out")
    _fatal(capsys, ["--videos", "nofs://bucket/videos", "--output", out],
           r"^vidrec convert: error: cannot list nofs://bucket/videos/\*/\*: ValueError: "
           "Unable to get filesystem")

    def forbidden(patterns, limits=None):  # as Beam reports a GCS 403 for each pattern
        raise BeamIOError("Match operation failed", {p: PermissionError(
            13, "caller does not have storage.objects.list access") for p in patterns})

    monkeypatch.setattr(FileSystems, "match", forbidden)
    _fatal(capsys, ["--videos", f"{hmdb_layout}/videos/", "--output", out],
           rf"cannot list {re.escape(hmdb_layout)}/videos/\*/\*: PermissionError: \[Errno 13\] "
           "caller does not have storage.objects.list access$")
    monkeypatch.setattr(FileSystems, "match", lambda patterns: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # a bug, not bad input: its traceback is kept
        convert.main(["--videos", f"{hmdb_layout}/videos", "--output", out])
    assert not os.path.exists(out)


def test_parse_args_builds_one_frozen_config_and_leaves_the_rest_to_beam():
    cfg, options = config.parse_args(["--videos", "in/", "--output", "gs://b/out/", "--fps", "5",
                                      "--runner", "DirectRunner", "--direct_num_workers", "2"])
    decode = video.DecodeOptions(fps=5.0, min_frames=config.MIN_FRAMES_DEFAULT)
    assert cfg == config.ConvertConfig(videos="in/", output="gs://b/out", decode=decode)
    assert options.get_all_options()["direct_num_workers"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="--num-shards must be >= 0, got -2"):
        dataclasses.replace(cfg, num_shards=-2)
    with pytest.raises(ValueError, match="--compression must be one of .*, got 'zstd'"):
        dataclasses.replace(cfg, compression="zstd")


def test_help_is_printed_with_status_0(capsys):
    assert convert.main(["--runner", "DirectRunner", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: vidrec convert [-h] --videos VIDEOS")
    assert pipeline_cli.synth_main(["-h"]) == 0
    assert capsys.readouterr().out.startswith("usage: vidrec synth [-h]")


def test_synth_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = str(tmp_path / "synth")
    cases = [([out, "--frames", "x"], "argument --frames: invalid int value: 'x'"),
             ([out, "--bogus"], "unrecognized arguments: --bogus"),
             ([out, "--size", "1"], "--size must be >= 16, got 1"),
             ([], "the following arguments are required: out")]
    for argv, expect in cases:
        assert pipeline_cli.synth_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"vidrec synth: error: {expect}"]
    assert not os.path.exists(out)
