"""The report's answer in three parts (four with spatial runs): kinds, roles by validation,
--role, Holm, splits."""

import functools
import json

import numpy as np
import pytest
from test_report_compare import PER_CLASS, RESAMPLES, _eval

from report import cli, stats
from report import compare as compare_module
from report.render.formats import fmt_p
from report.runs.load import load_run

# These tests check kinds, roles and the answer's parts: the video pictures, which cost a
# few tenths of a second per run, are checked in test_report_videos.py and
# test_report_compare.py.
compare = functools.partial(compare_module.compare, videos=False)

FRAME = {"takes_chunks": False, "order_aware": False, "recurrent": False}
BLIND = {"takes_chunks": True, "order_aware": False, "recurrent": False}  # pooled, attn no pos
ORDER = {"takes_chunks": True, "order_aware": True, "recurrent": False}  # temporal_conv, attn
RECURRENT = {"takes_chunks": True, "order_aware": True, "recurrent": True}
CONVLSTM = {**RECURRENT, "spatial": True}  # over the encoder's feature maps
CONV2PLUS1D = {**ORDER, "spatial": True}
KINDS = {"frame": FRAME, "pooled": BLIND, "temporal_conv": ORDER, "attention": ORDER,
         "recurrent": RECURRENT, "convlstm": CONVLSTM, "conv2plus1d": CONV2PLUS1D}
LSTM = {"rnn": "lstm", "hidden": 128, "chunk_length": 8, "bidirectional": False}


def _runs(root, spec, **kw):
    """Run dirs from (name, model, right per class, val accuracy[, kind]) rows, with kinds."""
    dirs = []
    for name, model, right, val, *kind in spec:
        d = root / name
        d.mkdir(parents=True)
        _eval(d, name, model, right, val=val, kind=kind[0] if kind else KINDS[model],
              config=LSTM if model == "recurrent" else None, **kw)
        dirs.append(str(d))
    return dirs


def test_every_role_is_chosen_by_validation_even_where_test_would_pick_another(tmp_path):
    dirs = _runs(tmp_path, [
        ("frame_a", "frame", 5, 0.6), ("frame_b", "frame", 7, 0.4),
        ("pooled", "pooled", 6, 0.5), ("attn_nopos", "attention", 4, 0.7, BLIND),
        ("tconv", "temporal_conv", 9, 0.6), ("attn", "attention", 7, 0.8),
        ("lstm_a", "recurrent", 6, 0.85), ("lstm_b", "recurrent", 10, 0.5)])
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    roles = summary["roles"]
    # test accuracy would pick frame_b, pooled, lstm_b, lstm_b and tconv
    assert {k: roles[k] for k in ("frame", "pooled", "order_aware", "recurrent",
                                  "non_recurrent")} == {
        "frame": "frame_a", "pooled": "attn_nopos", "order_aware": "lstm_a",
        "recurrent": "lstm_a", "non_recurrent": "attn"}
    assert (roles["candidate"], roles["baseline"]) == ("lstm_a", "frame_a")
    assert roles["chosen_by"].startswith("validation video accuracy")
    assert set(roles["chosen_by_role"].values()) == {roles["chosen_by"]}
    assert {k: (p["run_a"], p["run_b"]) for k, p in summary["parts"].items()} == {
        "frames": ("attn_nopos", "frame_a"), "order": ("lstm_a", "attn_nopos"),
        "recurrence": ("lstm_a", "attn")}
    assert summary["per_class"]["run"] == "lstm_a" and summary["per_class"]["baseline"] == "frame_a"
    kinds = {r["name"]: r["kind_label"] for r in summary["runs"]}
    assert (kinds["frame_a"], kinds["attn_nopos"], kinds["tconv"], kinds["lstm_a"]) == (
        "order-blind", "order-blind", "order-aware", "recurrent")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| non_recurrent | attn | order-aware | 80.0% | validation video accuracy" in report


def test_attention_without_positions_is_an_order_blind_control(tmp_path):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5), ("lstm", "recurrent", 9, 0.9)])
    blind = tmp_path / "attn_nopos"
    blind.mkdir()
    for order in ("natural", "shuffled"):
        _eval(blind, "attn_nopos", "attention", 6, order=order, kind=BLIND)
    summary = compare(dirs + [str(blind)], str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["roles"]["pooled"] == "attn_nopos"
    assert summary["roles"]["order_aware"] == "lstm"
    assert summary["parts"]["frames"]["run_a"] == "attn_nopos"
    assert summary["parts"]["order"]["run_b"] == "attn_nopos"
    row = next(r for r in summary["runs"] if r["name"] == "attn_nopos")
    assert row["architecture"] == "attention, order-blind, chunk 8"
    assert row["kind"] == BLIND and row["chunk_length"] == 8 and row["rnn"] is None
    ablation = next(a for a in summary["ablation"] if a["run"] == "attn_nopos")
    assert "an order-blind model ignores order (sanity check passed)" in ablation["sentences"][0]
    assert "1. Do several frames help? attn_nopos (attention, order-blind, chunk 8), the " \
        "pooled control, reaches 60.0%" in summary["headline"]


@pytest.mark.parametrize("model", ["temporal_conv", "attention"])
def test_recurrence_is_told_apart_from_order_only_with_a_non_recurrent_order_aware_run(
        tmp_path, model):
    base = [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
            ("lstm", "recurrent", 9, 0.9)]
    without = compare(_runs(tmp_path / "a", base), str(tmp_path / "o1"), n_resamples=RESAMPLES)
    assert without["parts"]["recurrence"]["test"] is None
    assert "recurrence" not in without["headline_tests"]
    sentence = ("3. Does recurrence help beyond order? Recurrence cannot be told apart from order "
                "with these runs: there is no non-recurrent order-aware run (temporal_conv, or "
                "attention with positions) to compare lstm with.")
    assert sentence in without["headline"]
    assert "1. Do several frames help? pooled" in without["headline"]  # parts 1 and 2 still
    assert "2. Does order help? lstm" in without["headline"]

    dirs = _runs(tmp_path / "b", base + [("other", model, 6, 0.7)])
    summary = compare(dirs, str(tmp_path / "o2"), n_resamples=RESAMPLES)
    part = summary["parts"]["recurrence"]
    assert (part["run_a"], part["run_b"], part["test"]) == ("lstm", "other", "recurrence")
    t = summary["headline_tests"]["recurrence"]
    assert t["diff"] == pytest.approx(0.3) and (t["b"], t["c"]) == (12, 0)
    assert t["p_value"] == pytest.approx(2 * 0.5 ** 12)
    assert ("3. Does recurrence help beyond order? lstm (LSTM, 128, chunk 8), the recurrent "
            "run, reaches 90.0%") in summary["headline"]
    assert (f"for other ({model}, chunk 8), the non-recurrent order-aware run (+30.0 points, "
            f"{fmt_p(t['p_family'])}). Yes: recurrence helps beyond modelling order."
            ) in summary["headline"]
    report = (tmp_path / "o2" / "report.md").read_text()
    section = report.split("### 3. Does recurrence help beyond order?")[1].split("##")[0]
    assert "| other | order-aware | 60.0% [" in section and "| +30.0 [" in section


def test_parts_without_their_runs_are_skipped_with_the_missing_kind(tmp_path):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5), ("tconv", "temporal_conv", 7, 0.7),
                            ("lstm", "recurrent", 9, 0.9)])
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert "1. Do several frames help? Skipped: these runs include no order-blind multi-frame " \
        "run (pooled, or attention without positions)." in summary["headline"]
    # part 2 without a pooled control: lstm against the frame run, said so
    assert summary["parts"]["order"]["test"] == "frames_and_order"
    assert "so this compares lstm with the frame run" in summary["headline"]
    assert set(summary["headline_tests"]) == {"frames_and_order", "recurrence"}
    only_frames = compare(dirs[:1], str(tmp_path / "one"), n_resamples=RESAMPLES)
    assert only_frames["headline"].startswith("Only one run: frame reaches 50.0%")


def test_headline_p_values_are_holm_adjusted_over_every_part(tmp_path):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
                            ("tconv", "temporal_conv", 8, 0.7), ("lstm", "recurrent", 9, 0.9)])
    _eval(tmp_path / "lstm", "lstm", "recurrent", 3, order="shuffled", kind=RECURRENT,
          config=LSTM)
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    family = summary["headline_tests"]
    assert list(family) == ["frames", "order", "shuffled", "recurrence"]
    raw = [t["p_cluster"] for t in family.values()]
    assert [t["p_family"] for t in family.values()] == pytest.approx(stats.holm(raw))
    assert [t["p_family"] for t in family.values()] != pytest.approx(raw)
    assert (family["order"]["run_a"], family["order"]["run_b"]) == ("lstm", "pooled")
    assert family["shuffled"]["diff"] == pytest.approx(0.6)
    assert family["recurrence"]["diff"] == pytest.approx(0.1)
    headline = summary["headline"]
    assert "Holm-adjusted over the headline's 4 tests" in headline
    assert f"(+30.0 points, {fmt_p(family['order']['p_family'])})" in headline
    report = (tmp_path / "out" / "report.md").read_text()
    for t in family.values():
        assert f"| {t['p_cluster']:.3g} | {t['p_family']:.3g} |" in report


def test_roles_named_with_role_flags(tmp_path, capsys):
    dirs = _runs(tmp_path, [("frame_a", "frame", 5, 0.6), ("frame_b", "frame", 4, 0.4),
                            ("pooled", "pooled", 6, 0.6), ("tconv", "temporal_conv", 8, 0.8),
                            ("tconv_b", "temporal_conv", 7, 0.5),
                            ("lstm", "recurrent", 9, 0.7)])
    out = tmp_path / "out"
    assert cli.main(dirs + ["--out", str(out), "--resamples", "100", "--role",
                            "non_recurrent=tconv_b", "--role", f"frame={dirs[1]}",
                            "--no-videos"]) == 0
    assert "## Videos" not in (out / "report.md").read_text()
    assert not (out / "mistakes").exists() and not (out / "videos").exists()
    roles = json.loads((out / "summary.json").read_text())["roles"]
    assert (roles["frame"], roles["non_recurrent"], roles["recurrent"]) == (
        "frame_b", "tconv_b", "lstm")
    # a role not named stays the best of its kind by validation (tconv 0.8, not tconv_b)
    assert roles["order_aware"] == "tconv"
    assert roles["chosen_by_role"]["order_aware"].startswith("validation video accuracy")
    assert roles["chosen_by_role"]["non_recurrent"] == "named with --role non_recurrent"
    assert roles["chosen_by_role"]["recurrent"].startswith("validation video accuracy")
    assert roles["chosen_by"].startswith("named with --role frame, --role non_recurrent; the "
                                         "other roles by validation video accuracy")
    capsys.readouterr()
    # --candidate names the recurrent role for a recurrent run, order_aware otherwise
    named = compare(dirs, str(tmp_path / "o2"), n_resamples=RESAMPLES, candidate="tconv_b",
                    baseline="frame_b")
    assert (named["roles"]["order_aware"], named["roles"]["non_recurrent"]) == (
        "tconv_b", "tconv_b")
    assert named["roles"]["recurrent"] == "lstm" and named["roles"]["candidate"] == "lstm"
    assert named["parts"]["order"]["run_a"] == "tconv_b"
    assert named["roles"]["chosen_by_role"]["non_recurrent"] == "the run named with --candidate"
    recurrent = compare(dirs, str(tmp_path / "o3"), n_resamples=RESAMPLES, candidate="lstm")
    assert (recurrent["roles"]["recurrent"], recurrent["roles"]["order_aware"]) == (
        "lstm", "lstm")  # parts 2 and 3 both put the candidate forward
    assert recurrent["roles"]["non_recurrent"] == "tconv"
    assert "--baseline, --candidate" in named["roles"]["chosen_by"]
    for bad, message in (
            ("lstm", "--role must be ROLE=RUN, got 'lstm'"),
            ("best=lstm", "--role best=lstm: unknown role 'best'; one of frame, pooled, "
                          "order_aware, recurrent, non_recurrent, spatial, late_fusion")):
        assert cli.main(dirs + ["--out", str(tmp_path / "x"), "--role", bad]) == 2
        assert capsys.readouterr().err == f"vidrec compare: error: {message}\n"
    assert cli.main(dirs + ["--out", str(tmp_path / "x"), "--role", "frame=frame_a",
                            "--role", "frame=frame_b"]) == 2
    assert "--role frame given twice" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flags, message", [
    (["--role", "recurrent=tconv"], "--role recurrent 'tconv': tconv is an order-aware "
                                    "temporal_conv run, not a recurrent run"),
    (["--role", "pooled=attn"], "--role pooled 'attn': attn is an order-aware attention run, "
                                "not an order-blind multi-frame run"),
    (["--baseline", "pooled"], "--baseline 'pooled': pooled is an order-blind pooled run, not "
                               "a frame run"),
    (["--candidate", "pooled"], "--candidate 'pooled': pooled is an order-blind pooled run, "
                                "not an order-aware run"),
    (["--candidate", "lstm", "--role", "recurrent=lstm"], "--role recurrent and --candidate "
                                                          "both name the recurrent run"),
    (["--role", "frame=nope"], "--role frame 'nope' is none of the runs compared"),
])
def test_a_role_named_with_a_run_of_the_wrong_kind_is_refused(tmp_path, capsys, flags,
                                                               message):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
                            ("tconv", "temporal_conv", 8, 0.8), ("attn", "attention", 7, 0.7),
                            ("lstm", "recurrent", 9, 0.9)])
    assert cli.main(dirs + ["--out", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidrec compare: error: ") and message in err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_old_eval_files_without_kind_still_compare(tmp_path):
    for name, model, right in (("frame", "frame", 5), ("pooled", "pooled", 6),
                               ("lstm", "recurrent", 9)):
        (tmp_path / name).mkdir()
        _eval(tmp_path / name, name, model, right, config=LSTM if model == "recurrent" else None)
        assert "kind" not in json.loads((tmp_path / name / "eval_test.json").read_text())
    dirs = [str(tmp_path / n) for n in ("frame", "pooled", "lstm")]
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert {r["name"]: r["kind"] for r in summary["runs"]} == {
        "frame": FRAME, "pooled": BLIND, "lstm": RECURRENT}
    assert summary["parts"]["order"]["run_a"] == "lstm"
    # a kind only train_summary.json's recipe records is read from there
    (tmp_path / "tconv").mkdir()
    _eval(tmp_path / "tconv", "tconv", "temporal_conv", 7)
    (tmp_path / "tconv" / "train_summary.json").write_text(json.dumps(
        {"recipe": {"temporal": {}, "shared": {}, "kind": ORDER}}))
    assert load_run(str(tmp_path / "tconv")).traits.label == "order-aware"
    (tmp_path / "tconv" / "train_summary.json").unlink()
    with pytest.raises(ValueError, match="model 'temporal_conv' records no \"kind\"") as e:
        compare(dirs + [str(tmp_path / "tconv")], str(tmp_path / "o2"))
    assert str(tmp_path / "tconv") in str(e.value) and "\n" not in str(e.value)
    _eval(tmp_path / "tconv", "tconv", "temporal_conv", 7, kind={"order_aware": "yes"})
    with pytest.raises(ValueError, match="\"kind\" must be"):
        load_run(str(tmp_path / "tconv"))


def test_three_official_splits_answer_each_part_and_average_it(tmp_path):
    # right per class; validation = test except lstm_b, best on test but not on validation
    acc = {1: {"frame": 5, "pooled": 6, "tconv": 7, "lstm": 9, "lstm_b": 10},
           2: {"frame": 6, "pooled": 6, "tconv": 8, "lstm": 9, "lstm_b": 10},
           3: {"frame": 4, "pooled": 7, "tconv": 7, "lstm": 10, "lstm_b": 10}}
    model = {"frame": "frame", "pooled": "pooled", "tconv": "temporal_conv", "lstm": "recurrent",
             "lstm_b": "recurrent"}
    dirs = []
    for split, by_name in acc.items():
        dirs += _runs(tmp_path / f"split{split}", [
            (name, model[name], right, 0.1 if name == "lstm_b" else right / PER_CLASS)
            for name, right in by_name.items()], official_split=split, manifest=f"sha-{split}")
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["roles"]["recurrent"] == "lstm"
    assert summary["roles"]["chosen_by"] == \
        "validation video accuracy recorded at training time (mean over the splits)"
    parts = summary["across"]["parts"]
    assert list(parts) == ["frames", "order", "recurrence"]
    assert parts["frames"]["diff"] == pytest.approx({"1": 0.1, "2": 0.0, "3": 0.3})
    assert parts["order"]["diff"] == pytest.approx({"1": 0.3, "2": 0.3, "3": 0.3})
    assert (parts["recurrence"]["run_a"], parts["recurrence"]["run_b"]) == ("lstm", "tconv")
    diffs = [0.2, 0.1, 0.3]
    assert parts["recurrence"]["diff"] == pytest.approx(dict(zip("123", diffs)))
    assert parts["recurrence"]["diff_mean"] == pytest.approx(np.mean(diffs))
    assert parts["recurrence"]["diff_std"] == pytest.approx(np.std(diffs, ddof=1))
    assert parts["recurrence"]["higher"] == 3
    splits = [json.loads((tmp_path / "out" / f"split{k}" / "summary.json").read_text())
              for k in (1, 2, 3)]
    assert parts["order"]["significant"] == sum(
        s["headline_tests"]["order"]["p_family"] < 0.05 for s in splits)
    headline = summary["headline"]
    assert "3. Does recurrence help beyond order? lstm (LSTM, 128, chunk 8), the recurrent run, " \
        "reaches 93.3 ± 5.8% vs 73.3 ± 5.8% for tconv (temporal_conv, chunk 8), the " \
        "non-recurrent order-aware run (+20.0 ± 10.0 points; higher in 3 of 3 splits, " \
        f"significant in {parts['recurrence']['significant']} of 3)" in headline
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## The answer in three parts, per split" in report
    assert "| 3. recurrence beyond order | lstm − tconv | +20.0 (" in report
    assert "| tconv | temporal_conv, chunk 8 | order-aware | 70.0% | 80.0% | 70.0% |" in report
    assert all(s["roles"] == summary["roles"] for s in splits)


LATE = [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
        ("tconv", "temporal_conv", 8, 0.6), ("lstm", "recurrent", 6, 0.85)]
# validation picks convlstm (test would pick c2p1d); c2p1d's validation beats every
# late-fusion run, yet the order-aware roles of parts 1-3 stay late fusion
SPATIAL = [("convlstm", "convlstm", 9, 0.95), ("c2p1d", "conv2plus1d", 10, 0.9)]
LATE_ROLES = ("frame", "pooled", "order_aware", "recurrent", "non_recurrent")


def test_spatial_part_compares_the_best_spatial_run_with_the_best_late_fusion_run(tmp_path):
    late = compare(_runs(tmp_path / "late", LATE), str(tmp_path / "o1"), n_resamples=RESAMPLES)
    dirs = _runs(tmp_path / "all", LATE + SPATIAL)
    summary = compare(dirs, str(tmp_path / "o2"), n_resamples=RESAMPLES)
    roles = summary["roles"]
    assert (roles["spatial"], roles["late_fusion"]) == ("convlstm", "lstm")
    assert roles["chosen_by_role"]["spatial"].startswith("validation video accuracy")
    # parts 1-3 choose, and compare, exactly as without the spatial runs
    assert {k: roles[k] for k in LATE_ROLES} == {k: late["roles"][k] for k in LATE_ROLES}
    assert roles["candidate"] == late["roles"]["candidate"] == "lstm"
    assert list(summary["parts"]) == ["frames", "order", "recurrence", "spatial"]
    for key in ("frames", "order", "recurrence"):
        assert summary["parts"][key] == late["parts"][key]
        assert summary["headline_tests"][key]["diff"] == late["headline_tests"][key]["diff"]
    assert "spatial" not in late["parts"] and "spatial" not in late["roles"]
    part = summary["parts"]["spatial"]
    assert (part["run_a"], part["run_b"], part["test"]) == ("convlstm", "lstm", "spatial")
    family = summary["headline_tests"]
    assert list(family) == ["frames", "order", "recurrence", "spatial"]
    assert [t["p_family"] for t in family.values()] == pytest.approx(
        stats.holm([t["p_cluster"] for t in family.values()]))
    t = family["spatial"]
    assert t["diff"] == pytest.approx(0.3) and 0 < t["diff_lo"] <= t["diff_hi"]
    assert t["p_family"] < 0.05 and t["verdict"] == "yes"
    assert ("4. Does spatial temporal modelling beat late fusion? convlstm (convlstm, chunk 8), "
            "the spatial run, reaches 90.0%") in summary["headline"]
    assert (f"for lstm (LSTM, 128, chunk 8), the late-fusion order-aware run (+30.0 points, "
            f"{fmt_p(t['p_family'])}). Yes: spatial temporal modelling beats late fusion."
            ) in summary["headline"]
    assert "the answer in four parts" in summary["headline"]
    assert "Holm-adjusted over the headline's 4 tests" in summary["headline"]
    kinds = {r["name"]: (r["kind"], r["kind_label"]) for r in summary["runs"]}
    assert kinds["convlstm"] == (CONVLSTM, "spatial recurrent")
    assert kinds["c2p1d"] == (CONV2PLUS1D, "spatial order-aware")
    assert kinds["lstm"] == ({**RECURRENT, "spatial": False}, "recurrent")
    report = (tmp_path / "o2" / "report.md").read_text()
    assert "## The answer in four parts" in report
    section = report.split("### 4. Does spatial temporal modelling beat late fusion?")[1]
    section = section.split("##")[0]
    assert "The spatial run against the late-fusion order-aware run." in section
    assert "| convlstm | spatial recurrent | 90.0% [" in section
    assert "| lstm | recurrent | 60.0% [" in section and "| +30.0 [" in section
    assert f"| {t['p_cluster']:.3g} | {t['p_family']:.3g} |" in section
    assert "| spatial | convlstm | spatial recurrent | 95.0% | validation video" in report
    assert "| late_fusion | lstm | recurrent | 85.0% | validation video" in report
    assert "| convlstm − lstm | difference (4. spatial vs late fusion) |" in report  # seeds
    # --candidate with a spatial run names the spatial role and leaves parts 1-3 alone
    named = compare(dirs, str(tmp_path / "o3"), n_resamples=RESAMPLES, candidate="c2p1d")
    assert (named["roles"]["spatial"], named["roles"]["candidate"]) == ("c2p1d", "c2p1d")
    assert {k: named["roles"][k] for k in LATE_ROLES} == {k: roles[k] for k in LATE_ROLES}
    assert named["parts"]["spatial"]["run_a"] == "c2p1d"


def test_spatial_part_is_skipped_naming_the_missing_role(tmp_path, capsys):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
                            ("convlstm", "convlstm", 9, 0.9), ("tconv", "temporal_conv", 7, 0.7)])
    summary = compare(dirs[:3], str(tmp_path / "o1"), n_resamples=RESAMPLES)
    part = summary["parts"]["spatial"]
    assert (part["run_a"], part["run_b"], part["test"]) == (None, None, None)
    assert "spatial" not in summary["headline_tests"]
    assert ("4. Does spatial temporal modelling beat late fusion? Skipped: these runs include "
            "no late-fusion order-aware run (recurrent, temporal_conv, or attention with "
            "positions, over pooled per-frame vectors).") in summary["headline"]
    report = (tmp_path / "o1" / "report.md").read_text()
    assert "### 4. Does spatial temporal modelling beat late fusion?\n\nSkipped: " in report
    # naming the late-fusion role without a spatial run asks part 4, skipped the other way
    assert cli.main([dirs[0], dirs[1], dirs[3], "--out", str(tmp_path / "o2"), "--resamples",
                     "100", "--no-videos", "--role", "late_fusion=tconv"]) == 0
    capsys.readouterr()
    named = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert named["roles"]["late_fusion"] == "tconv" and named["roles"]["spatial"] is None
    assert named["parts"]["spatial"]["note"] == (
        "Skipped: these runs include no spatial run (convlstm or conv2plus1d: its temporal "
        "part sees the encoder's feature maps).")
    assert cli.main(dirs + ["--out", str(tmp_path / "x"), "--role", "late_fusion=convlstm"]) == 2
    assert "convlstm is a spatial recurrent convlstm run, not a late-fusion order-aware " \
        "run" in capsys.readouterr().err


def test_kinds_without_spatial_are_late_fusion_and_report_as_before(tmp_path):
    """An old kind (no "spatial") loads as not spatial; "spatial": false reports the same bytes."""
    spec = [("frame", "frame", 5, 0.5), ("pooled", "pooled", 6, 0.6),
            ("tconv", "temporal_conv", 7, 0.7), ("lstm", "recurrent", 9, 0.9)]
    dirs = _runs(tmp_path, spec)
    assert "spatial" not in json.loads((tmp_path / "lstm" / "eval_test.json").read_text())["kind"]
    assert load_run(dirs[3]).traits.spatial is False
    out = tmp_path / "out"
    old = compare(dirs, str(out), n_resamples=RESAMPLES)
    before = {f: (out / f).read_text() for f in ("report.md", "summary.json")}
    assert list(old["parts"]) == ["frames", "order", "recurrence"]
    assert "spatial" not in old["roles"] and "spatial" not in old["runs"][3]["kind"]
    assert "## The answer in three parts" in before["report.md"]
    for name, model, right, val in spec:  # as the trainer now writes them
        _eval(tmp_path / name, name, model, right, val=val,
              kind={**KINDS[model], "spatial": False},
              config=LSTM if model == "recurrent" else None)
    assert load_run(dirs[3]).traits.spatial is False
    compare(dirs, str(out), n_resamples=RESAMPLES)
    assert {f: (out / f).read_text() for f in before} == before


def test_a_spatial_trait_that_is_not_a_bool_is_refused_naming_the_run(tmp_path, capsys):
    dirs = _runs(tmp_path, [("frame", "frame", 5, 0.5),
                            ("c2p1d", "conv2plus1d", 8, 0.8, {**ORDER, "spatial": "yes"})])
    with pytest.raises(ValueError, match="\"spatial\" a bool") as e:
        load_run(dirs[1])
    assert dirs[1] in str(e.value) and "'yes'" in str(e.value) and "\n" not in str(e.value)
    assert cli.main(dirs + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidrec compare: error: ") and dirs[1] in err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_two_splits_answer_the_spatial_part_in_each_and_average_it(tmp_path):
    acc = {1: {"frame": 5, "lstm": 6, "convlstm": 9}, 2: {"frame": 6, "lstm": 7, "convlstm": 8}}
    model = {"frame": "frame", "lstm": "recurrent", "convlstm": "convlstm"}
    dirs = []
    for split, by_name in acc.items():
        dirs += _runs(tmp_path / f"split{split}", [
            (name, model[name], right, right / PER_CLASS) for name, right in by_name.items()],
            official_split=split, manifest=f"sha-{split}")
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert (summary["roles"]["spatial"], summary["roles"]["late_fusion"]) == ("convlstm", "lstm")
    pair = summary["across"]["parts"]["spatial"]
    assert (pair["run_a"], pair["run_b"]) == ("convlstm", "lstm")
    assert pair["diff"] == pytest.approx({"1": 0.3, "2": 0.1}) and pair["higher"] == 2
    assert "the answer in four parts" in summary["headline"]
    assert ("4. Does spatial temporal modelling beat late fusion? convlstm (convlstm, chunk 8), "
            "the spatial run, reaches 85.0 ± 7.1% vs 65.0 ± 7.1% for lstm (LSTM, 128, chunk 8), "
            "the late-fusion order-aware run (+20.0 ± 14.1 points; higher in 2 of 2 splits"
            ) in summary["headline"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## The answer in four parts, per split" in report
    assert "| 4. spatial vs late fusion | convlstm − lstm | +30.0 (" in report
    for k in (1, 2):
        split = json.loads((tmp_path / "out" / f"split{k}" / "summary.json").read_text())
        assert split["parts"]["spatial"]["test"] == "spatial"
        assert "spatial" in split["headline_tests"]
