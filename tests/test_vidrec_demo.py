"""The whole experiment at its smallest settings, end to end, and the report built from it."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import matplotlib.image
import pytest

from vidrec import demo

pytestmark = pytest.mark.slow


def _predictions(root):
    """relative eval file path -> its per-video predictions, for every eval file in `root`."""
    files = sorted(glob.glob(f"{root}/**/eval_*.json", recursive=True))
    return {os.path.relpath(f, root): [(v["id"], v["predicted"], v["probabilities"])
                                       for v in json.load(open(f))["videos"]] for f in files}


def _events(out):
    return [json.loads(line) for line in open(f"{out}/study/events.jsonl")]


@pytest.fixture(scope="module")
def smallest(tmp_path_factory):
    """`vidrec demo --smallest` over two official splits, two jobs at once: (out, stdout)."""
    out = str(tmp_path_factory.mktemp("demo") / "demo")
    done = subprocess.run([sys.executable, "-m", "vidrec", "demo", "--smallest", "--out", out,
                           "--split", "1,3", "--parallel", "2"], capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


def test_smallest_demo_end_to_end_over_two_official_splits(smallest):
    out, printed = smallest
    across = json.load(open(f"{out}/report/summary.json"))
    assert across["headline"] in printed and across["official_splits"] == ["1", "3"]
    assert f"tensorboard --logdir {out}" in printed
    means = {r["name"]: r for r in across["across"]["runs"]}
    assert set(means) == {"frame", "pooled", "recurrent", "conv", "attention", "best"}
    for split in ("1", "3"):
        assert os.path.exists(f"{out}/report/split{split}/report.md")
    summary = json.load(open(f"{out}/report/split1/summary.json"))
    assert summary["roles"] == across["roles"]  # chosen once, on validation, for every split
    assert means["best"]["video_top1"]["1"] == pytest.approx(
        next(r for r in summary["runs"] if r["name"] == "best")["video_top1"]["value"])

    # The report's figures are the eval files' figures (recomputed from per-video predictions).
    rows = {row["name"]: row for row in summary["runs"]}
    assert set(rows) == {"frame", "pooled", "recurrent", "conv", "attention", "best"}
    # Every compared run is a seed group (`--seeds`; the smallest demo's has the one seed 0).
    for name, run_dir in [("frame", f"{out}/split1/runs/frame"),
                          ("recurrent", f"{out}/split1/runs/recurrent"),
                          ("best", f"{out}/split1/tune/best")]:
        assert json.load(open(f"{run_dir}/seeds.json"))["seeds"] == [0]
        assert rows[name]["seeds"] == [0]
        ev = json.load(open(f"{run_dir}/seed0/eval_test.json"))
        assert rows[name]["video_top1"]["value"] == pytest.approx(ev["video_top1"], abs=1e-6)
        assert rows[name]["clip_top1"] == pytest.approx(ev["clip_top1"], abs=1e-6)
        assert rows[name]["num_videos"] == ev["num_videos"]
    assert {a["run"] for a in summary["ablation"]} >= {"pooled", "recurrent", "conv",
                                                       "attention"}
    assert {r["run"] for r in summary["order_classes"]["rows"]} == set(rows)

    # Like for like by construction: same frames, roles from validation, only temporal
    # settings differ (the encoder run that made the embeddings is not compared).
    assert len({row["frames_fingerprint"] for row in summary["runs"]}) == 1
    assert {row["protocol"] for row in summary["runs"]} == {"dense"}
    assert summary["roles"]["chosen_by"].startswith("validation video accuracy")
    assert (summary["roles"]["candidate"], summary["roles"]["baseline"]) in {
        ("recurrent", "frame"), ("best", "frame")}
    assert summary["confounds"] == []
    assert {d["part"] for d in summary["differences"]} == {"temporal"}
    report = open(f"{out}/report/split1/report.md").read()
    assert "Only temporal settings differ" in report and "source films" in report
    assert "| best |" in open(f"{out}/report/report.md").read()
    # What `make demo` checks the known answer on: each split's own summary.
    assert [one["official_split"] for one in demo._split_summaries(out, [1, 3])] == [1, 3]
    for figure in summary["figures"].values():
        path = f"{out}/report/split1/{figure}"
        assert figure in report and os.path.getsize(path) > 1000
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(path).ndim == 3


def test_check_answer_flags_a_broken_experiment():
    def summary(rec, frame, pooled):
        return {"order_classes": {"rows": [{"run": "recurrent", "value": rec},
                                           {"run": "frame", "value": frame},
                                           {"run": "pooled", "value": pooled}]}}

    assert demo.check_answer(summary(0.9, 0.5, 0.55)) is None
    assert "does not clearly beat" in demo.check_answer(summary(0.6, 0.5, 0.55))
    assert "no order-only accuracies" in demo.check_answer({"order_classes": None})


def test_split_flag():
    assert demo.parse_splits("1,2,3") == [1, 2, 3] and demo.parse_splits("2") == [2]
    for bad in ("4", "1,1", "", "one"):
        with pytest.raises(ValueError, match="--split must be a comma list of 1, 2, 3"):
            demo.parse_splits(bad)
    cmds = demo.commands("o", smallest=True, split=(1, 2))
    assert [c[c.index("--split") + 1] for c in cmds if c[0] == "convert"] == ["1", "2"]
    assert cmds[-1][0] == "compare" and len([w for w in cmds[-1] if "/split" in w]) == 12


def test_two_jobs_train_at_once_with_parallel_2(smallest):
    out, printed = smallest
    spans = {}
    for e in _events(out):
        if e["step"] == 0 and "/seed" in e["job"]:
            spans.setdefault(e["job"], {})[e["event"]] = e["time"]
    spans = sorted((s["start"], s["done"]) for s in spans.values())
    assert len(spans) == 2 * 5  # 2 splits x 5 compared runs x seed 0
    overlaps = sum(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert overlaps >= 3, spans  # trainings ran side by side
    assert "2 at once on cores " in printed


def _study(out, *extra):
    from vidrec import demo

    sets = [f"--set={k}={json.dumps(v)}" for k, v in demo.overrides(True, split=(1,)).items()]
    return [sys.executable, "-m", "vidrec", "study", "studies/demo.toml", "--out", out,
            *sets, *extra]


def test_a_study_killed_mid_training_resumes_to_the_same_result_running_nothing_twice(
        smallest, tmp_path):
    out = str(tmp_path / "killed")
    proc = subprocess.Popen(_study(out, "--parallel", "2"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    run_dir = f"{out}/split1/runs/recurrent/seed0"
    while time.time() < deadline and not os.path.exists(f"{run_dir}/config.json"):
        time.sleep(0.1)  # until a compared run's training has begun (its config is written)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.time()
    record = json.load(open(f"{out}/study/jobs/split1/recurrent/seed0.json"))
    assert record["state"] == "running" and not record["steps_done"]  # killed mid-training
    time.sleep(1.5)  # the jobs notice their runner has gone and end
    again = subprocess.run(_study(out, "--parallel", "2"), capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "split1/recurrent/seed0 was interrupted: it resumes" in again.stdout
    assert "warning" not in again.stdout

    events = _events(out)
    starts = {}
    for e in events:
        if e["event"] == "start":
            starts[(e["job"], e["step"])] = starts.get((e["job"], e["step"]), 0) + 1
    done_before = {(e["job"], e["step"]) for e in events
                   if e["event"] == "done" and e["time"] < killed_at}
    assert done_before and all(starts[k] == 1 for k in done_before)  # nothing finished ran twice
    assert starts[("split1/recurrent/seed0", 0)] == 2
    assert all(n in (1, 2) for n in starts.values())
    # The same runs as an uninterrupted study: every evaluation's per-video predictions.
    ref = _predictions(f"{smallest[0]}/split1")
    assert ref and _predictions(f"{out}/split1") == ref
