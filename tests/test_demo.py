"""The whole experiment at its smallest settings, end to end, and the report built from it."""

import json
import os

import matplotlib.image
import pytest

from vidrec import demo

pytestmark = pytest.mark.slow


def test_smallest_demo_end_to_end_over_two_official_splits(tmp_path, capsys):
    out = str(tmp_path / "demo")
    assert demo.main(["--smallest", "--out", out, "--split", "1,3"]) == 0
    printed = capsys.readouterr().out
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
    cmds = demo.commands("o", demo.SMALLEST, split=(1, 2))
    assert [c[c.index("--split") + 1] for c in cmds if c[0] == "convert"] == ["1", "2"]
    assert cmds[-1][0] == "compare" and len([w for w in cmds[-1] if "/split" in w]) == 12


def test_a_rerun_refreshes_an_earlier_demo_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "demo"
    for name in ("raw/videos/grow/a.avi", "split1/data/manifest.json", "report/report.md"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("old")
    ran = []

    def first_stage_fails(argv):  # stop after the first stage: enough to see what it met
        ran.append((argv[0], sorted(os.listdir(out))))
        return 1

    monkeypatch.setattr(demo, "_run", first_stage_fails)
    assert demo.main(["--smallest", "--out", str(out)]) == 1
    assert ran == [("synth", [])]  # the earlier output was cleared before anything ran
    assert f"cleared the earlier demo output in {out}" in capsys.readouterr().out
    assert demo.main(["--smallest", "--out", str(tmp_path / "new")]) == 1  # nothing to clear


def test_a_folder_the_demo_did_not_write_is_never_cleared(tmp_path, monkeypatch, capsys):
    out = tmp_path / "mine"
    (out / "split1").mkdir(parents=True)
    (out / "thesis.tex").write_text("keep me")
    monkeypatch.setattr(demo, "_run", lambda argv: pytest.fail("a stage ran"))
    assert demo.main(["--smallest", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds thesis.tex, which the demo does not write" in err
    assert sorted(os.listdir(out)) == ["split1", "thesis.tex"]
