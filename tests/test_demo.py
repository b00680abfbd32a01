"""The whole experiment at its smallest settings, end to end, and the report built from it."""

import json
import os

import matplotlib.image
import pytest

from vidrec import demo

pytestmark = pytest.mark.slow


def test_smallest_demo_end_to_end(tmp_path, capsys):
    out = str(tmp_path / "demo")
    assert demo.main(["--smallest", "--out", out]) == 0
    printed = capsys.readouterr().out
    summary = json.load(open(f"{out}/report/summary.json"))
    assert summary["headline"] in printed
    assert f"tensorboard --logdir {out}" in printed

    # The report's figures are the eval files' figures (recomputed from per-video predictions).
    rows = {row["name"]: row for row in summary["runs"]}
    assert set(rows) == {"frame", "pooled", "recurrent", "best"}
    for name, run_dir in [("frame", f"{out}/runs/frame"), ("recurrent", f"{out}/runs/recurrent"),
                          ("best", f"{out}/tune/best")]:
        ev = json.load(open(f"{run_dir}/eval_test.json"))
        assert rows[name]["video_top1"]["value"] == pytest.approx(ev["video_top1"], abs=1e-6)
        assert rows[name]["clip_top1"] == pytest.approx(ev["clip_top1"], abs=1e-6)
        assert rows[name]["num_videos"] == ev["num_videos"]
    assert {a["run"] for a in summary["ablation"]} >= {"pooled", "recurrent"}
    assert {r["run"] for r in summary["order_classes"]["rows"]} == set(rows)

    report = open(f"{out}/report/report.md").read()
    for figure in summary["figures"].values():
        path = f"{out}/report/{figure}"
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
