"""`vidrec convert` survives kills, says what it did and refuses what it cannot resume.

Resume after kill -9, exit status, unique media ids, conflicting split-file lines,
the closing summary and the progress lines.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pipeline import convert, planning, progress, resume, schema, splits, transforms, video
from vidrec.core import progress as core_progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `vidrec convert` with a pause after each shard: a window to kill it in.
SLOWED = """
import sys, time
from pipeline import transforms
real = transforms.ConvertShardFn.process
def slowed(self, plan):
    yield from real(self, plan)
    time.sleep(0.7)
transforms.ConvertShardFn.process = slowed
from vidrec.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _argv(root, out, *extra):
    return ["--videos", f"{root}/videos", "--splits", f"{root}/splits", "--output", out,
            "--frame-size", "32", "--num-shards", "3", *extra]


def _files(out):
    """{name: bytes} of everything a conversion wrote but the manifest."""
    return {os.path.relpath(p, out): open(p, "rb").read()
            for p in glob.glob(f"{out}/**", recursive=True)
            if os.path.isfile(p) and not p.endswith(schema.MANIFEST_NAME)}


@pytest.mark.slow
def test_killed_conversion_resumes_to_identical_bytes_without_redoing_shards(
        hmdb_layout, tmp_path, monkeypatch, capsys):
    reference, out = str(tmp_path / "reference"), str(tmp_path / "out")
    assert convert.main(_argv(hmdb_layout, reference)) == 0
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOWED, "convert", *_argv(hmdb_layout, out)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    sidecars = f"{out}/{transforms.SIDECAR_DIR}/*.json"
    deadline = time.monotonic() + 120
    while len(glob.glob(sidecars)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(os.path.basename(p)[:-len(".json")] for p in glob.glob(sidecars))
    assert 3 <= len(done) < 9 and not os.path.exists(f"{out}/{schema.MANIFEST_NAME}")
    finished_ids = set()
    for name in done:
        with open(f"{out}/{transforms.SIDECAR_DIR}/{name}.json") as f:
            finished_ids |= set(json.load(f)["planned"])

    decoded = []
    real = transforms.ConvertShardFn._decode

    def counting(self, item):
        decoded.append(item.media_id)
        return real(self, item)

    monkeypatch.setattr(transforms.ConvertShardFn, "_decode", counting)
    capsys.readouterr()
    assert convert.main(_argv(hmdb_layout, out)) == 0
    assert decoded and not set(decoded) & finished_ids  # finished shards were not redone
    assert len(decoded) + len(finished_ids) == 15
    assert _files(out) == _files(reference)  # byte-identical to an uninterrupted run
    assert not os.path.exists(f"{out}/{transforms.SIDECAR_DIR}")
    a, b = schema.read_manifest(reference), schema.read_manifest(out)
    assert a["splits"] == b["splits"] and a["totals"] == b["totals"]

    # finished: a rerun says so and changes nothing; other flags are refused by name
    assert convert.main(_argv(hmdb_layout, out)) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _files(out) == _files(reference)
    assert convert.main(_argv(hmdb_layout, out, "--jpeg-quality", "80", "--fps", "5")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fps 0.0 -> 5.0, --jpeg-quality 90 -> 80" in err[0]
    assert "--overwrite" in err[0]
    assert convert.main(_argv(hmdb_layout, out, "--jpeg-quality", "80", "--overwrite")) == 0
    assert schema.read_manifest(out)["options"]["jpeg_quality"] == 80


def test_a_partial_conversion_of_other_inputs_is_refused(hmdb_layout, tmp_path, capsys):
    root, out = str(tmp_path / "data"), str(tmp_path / "out")
    shutil.copytree(hmdb_layout, root)
    argv = _argv(root, out)
    config, _ = convert.parse_args(argv)
    plan = planning.make_plan(config)
    shards = planning.shard_plans(plan, planning.shard_counts(plan, 3))
    assert resume.prepare_output(config, planning.plan_sha256(shards, plan)) == "fresh"
    os.remove(sorted(glob.glob(f"{root}/videos/grow/*.avi"))[0])  # the inputs change
    assert convert.main(argv) == 2
    assert re.search(r"holds a partial conversion of other inputs .* --overwrite",
                     capsys.readouterr().err)


def _broken_folder(tmp_path, good: int, bad: int) -> str:
    """Folder-per-class data: `good` decodable clips and `bad` empty files per class."""
    root = tmp_path / "videos"
    frames = np.zeros((8, 32, 32, 3), np.uint8)
    for cls in ("left", "right"):
        os.makedirs(root / cls)
        for k in range(good):
            video.write_video(str(root / cls / f"film{k}_{cls}_0.avi"), frames, 10.0)
        for k in range(bad):
            (root / cls / f"broken{k}_{cls}_0.avi").write_bytes(b"")
    return str(root)


def test_exit_status_is_1_when_nothing_or_too_little_was_written(tmp_path, capsys):
    videos = _broken_folder(tmp_path, good=0, bad=3)
    out = str(tmp_path / "none")
    assert convert.main(["--videos", videos, "--output", out]) == 1
    captured = capsys.readouterr()
    assert "vidrec convert: nothing was written" in captured.err
    assert "total       0 written, 6 failed of 6 listed" in captured.out
    assert schema.read_manifest(out)["totals"]["failed"] == 6  # written all the same

    videos = _broken_folder(tmp_path / "some", good=5, bad=1)
    out = str(tmp_path / "some_out")
    assert convert.main(["--videos", videos, "--output", out]) == 1
    assert "16.7% of the listed videos failed, over --max-failed 0.05" in capsys.readouterr().err
    assert convert.main(["--videos", videos, "--output", out, "--max-failed", "0.2"]) == 0
    assert "nothing to do" in capsys.readouterr().out  # --max-failed changes no output

    manifest = schema.read_manifest(out)
    manifest["splits"]["val"].update(videos=0, planned=2)
    lines, problems = convert.summary(manifest, max_failed=1.0)
    assert problems == ["the val split was planned 2 videos and none was written"]
    assert any(line.strip().startswith("val") for line in lines)


def test_same_stem_clips_are_two_videos(tmp_path):
    root = tmp_path / "videos"
    frames = np.zeros((8, 32, 32, 3), np.uint8)
    for cls in ("left", "right"):
        os.makedirs(root / cls)
        for film in ("alpha", "beta", "gamma"):
            video.write_video(str(root / cls / f"{film}_{cls}_0.avi"), frames, 10.0)
    os.rename(root / "left" / "alpha_left_0.avi", root / "left" / "alpha_left_0.mkv")
    shutil.copy(root / "left" / "alpha_left_0.mkv", root / "left" / "alpha_left_0.avi")
    out = str(tmp_path / "out")
    assert convert.main(["--videos", str(root), "--output", out, "--test-fraction", "0",
                         "--val-fraction", "0"]) == 0
    with open(f"{out}/{schema.VIDEOS_NAME}") as f:
        ids = [json.loads(line)["media_id"] for line in f]
    assert len(ids) == len(set(ids)) == 7
    assert {"left/alpha_left_0.avi", "left/alpha_left_0.mkv"} <= set(ids)


def test_conflicting_split_file_lines_are_one_line_naming_both(hmdb_layout, tmp_path, capsys):
    root = str(tmp_path / "data")
    shutil.copytree(hmdb_layout, root)
    path = f"{root}/splits/grow_test_split1.txt"
    lines = open(path).read().splitlines()
    name, split_id = lines[1].rsplit(None, 1)
    other = "2" if split_id == "1" else "1"
    with open(path, "a") as f:
        f.write(f"{lines[1]}\n{name} {other}\n")  # a repeat (fine), then a conflict
    n = len(lines)
    assert convert.main(_argv(root, str(tmp_path / "out"))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"vidrec convert: error: grow_test_split1.txt: lines 2 and {n + 2} give "
                   f"{name} different ids ({split_id} and {other})"]
    with pytest.raises(ValueError, match="lines 1 and 3"):
        splits.parse_split_file("a.avi 1\nb.avi 2\na.avi 0\n", "x.txt")


def test_progress_lines_count_videos_frames_and_eta(tmp_path, capsys, monkeypatch):
    assert core_progress.progress_line("convert", 120, 480, 60000, 20.0, 100) == (
        "convert: 120/480 videos (25%), 3,000 frames/s, ETA 1m 12s")
    assert core_progress.duration(7325) == "2h 02m"
    folder = tmp_path / "progress"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"videos": 3, "frames": 30}))
    (folder / "b.json").write_text(json.dumps({"videos": 2, "frames": 20}))
    (folder / "c.json").write_text("{half")  # being replaced: skipped this time
    assert progress.Reporter("convert", str(folder), total=10, done_before=4).totals() == (5, 50)

    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.01)
    monkeypatch.setattr(transforms, "PROGRESS_WRITE_SECONDS", 0.0)
    real = transforms.ConvertShardFn._decode

    def slow(self, item):
        time.sleep(0.03)
        return real(self, item)

    monkeypatch.setattr(transforms.ConvertShardFn, "_decode", slow)
    videos = _broken_folder(tmp_path, good=4, bad=0)
    assert convert.main(["--videos", videos, "--output", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("convert: ")]
    assert lines and all(re.fullmatch(r"convert: \d/8 videos \(\d+%\), [\d,]+ frames/s"
                                      r"(, ETA \d+s)?", line) for line in lines), lines


def test_a_conversion_imports_no_tensorflow(tmp_path):
    videos = _broken_folder(tmp_path, good=2, bad=0)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vidrec", "convert", "--videos", videos,
         "--output", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"\|\s+apache_beam$", proc.stderr, re.M)  # the check can see imports
    assert not re.search(r"\|\s+(tensorflow|keras)(\.|$)", proc.stderr, re.M)
    assert "cuInit" not in proc.stderr and "oneDNN" not in proc.stderr
    assert schema.read_manifest(str(tmp_path / "out"))["totals"]["written"] == 4
