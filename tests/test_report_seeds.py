"""Training seeds in `vidrec compare`: seed groups, the two-level statistics, their words."""

import functools
import json

import numpy as np
import pytest
from test_report_compare import CLASSES, PER_CLASS, _eval

from report import cli, stats
from report import compare as compare_module

compare = functools.partial(compare_module.compare, videos=False)
RESAMPLES = 400
N = len(CLASSES) * PER_CLASS  # 40 test videos, each its own film
LSTM = {"rnn": "lstm", "hidden": 128, "chunk_length": 8, "bidirectional": False}
ENV = {"tensorflow": "2.19.0", "keras": "3.10.0", "python": "3.11.9", "cpu": "Xeon",
       "onednn": "default", "intra_op_threads": 2, "inter_op_threads": 2}


def _films(n_films, clips):
    return [f"film{f}" for f in range(n_films) for _ in range(clips)]


# --------------------------------------------------------------------------- statistics


def test_zero_seed_variance_gives_the_film_only_interval_and_seed_variance_widens_it():
    rng = np.random.default_rng(0)
    films = _films(40, 5)
    base = np.repeat(rng.permutation(40) < 28, 5)  # 28 of 40 films right: 0.7
    other = np.repeat(rng.permutation(40) < 20, 5)
    same = np.stack([base] * 3)
    for seed in (0, 3):
        assert stats.seed_bootstrap_ci(same, RESAMPLES, seed, clusters=films) == \
            stats.bootstrap_ci(base, RESAMPLES, seed, clusters=films)
        assert stats.seed_paired_diff(same, np.stack([other] * 3), RESAMPLES, seed,
                                          clusters=films) == \
            stats.paired_bootstrap_diff(base, other, RESAMPLES, seed, clusters=films)
    # one seed, 1-D or [1, N]: the film-only numbers too
    assert stats.seed_bootstrap_ci(base[None], RESAMPLES, clusters=films) == \
        stats.bootstrap_ci(base, RESAMPLES, clusters=films)
    labels = np.arange(200) % 7
    predicted = np.where(base, labels, (labels + 1) % 7)
    assert stats.seed_mean_class_accuracy(labels, np.stack([predicted] * 2), 7, RESAMPLES,
                                              clusters=films) == \
        stats.bootstrap_mean_class_accuracy(labels, predicted, 7, RESAMPLES, clusters=films)
    assert stats.seed_accuracy_subset(labels, same, [1, 2], RESAMPLES, clusters=films) == \
        stats.accuracy_subset(labels, predicted, [1, 2], RESAMPLES, clusters=films)
    # the same mean (0.7), but seeds at 0.5, 0.7 and 0.9: a wider interval
    varied = np.stack([np.repeat(np.arange(40) < k, 5) for k in (20, 28, 36)])
    flat = np.stack([np.repeat(np.arange(40) < 28, 5)] * 3)
    v, lo, hi = stats.seed_bootstrap_ci(varied, RESAMPLES, clusters=films)
    v0, lo0, hi0 = stats.seed_bootstrap_ci(flat, RESAMPLES, clusters=films)
    assert v == pytest.approx(v0) == pytest.approx(0.7)
    assert hi - lo > 1.2 * (hi0 - lo0)
    split = stats.variance_split(varied, RESAMPLES, clusters=films)
    assert split["seed_std"] == pytest.approx(0.2)
    assert stats.variance_split(flat, RESAMPLES, clusters=films)["seed_std"] == 0
    with pytest.raises(ValueError, match="draws are for 3 seeds x 200 videos"):
        stats.seed_bootstrap_ci(varied[:2], clusters=films,
                                    draws=stats.draws(films, 3, 10))


def test_permutation_test_with_one_seed_is_the_film_cluster_test():
    rng = np.random.default_rng(1)
    for n_films, clips in ((10, 3), (60, 2)):  # exact, then random flips
        films = _films(n_films, clips)
        a = rng.random(films.__len__()) < 0.7
        b = rng.random(films.__len__()) < 0.5
        today = stats.cluster_permutation_test(a, b, films, n_permutations=2000, seed=4)
        seeds = stats.seed_permutation_test(a[None], b[None], films, 2000, seed=4)
        assert {k: seeds[k] for k in today} == today
        assert (seeds["n_seeds"], seeds["n_films"]) == (1, n_films)
    # two seeds: (seed, film) cells; a film where A wins under both seeds is two cells
    a = np.array([[True, True, False], [True, True, True]])
    b = np.array([[False, True, False], [False, True, False]])
    result = stats.seed_permutation_test(a, b, ["x", "y", "z"])
    # cells (+1, 0, 0, +1, 0, +1): 3 informative, T = 3, |T*| >= 3 in 2 of 8
    assert result == {"n_clusters": 6, "n_films": 3, "n_seeds": 2, "n_informative": 3,
                      "exact": True, "statistic": 3, "p_value": 0.25}


def test_p_a_beats_b_and_rank_first_by_hand():
    # one film (always drawn whole): only the seeds are resampled. A: seed 0 all right,
    # seed 1 all wrong; B: half right under both seeds.
    films = ["f"] * 4
    a = np.array([[1, 1, 1, 1], [0, 0, 0, 0]], bool)
    b = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    draws = stats.draws(films, 2, 4000, seed=2)
    zeros = np.mean(draws.seeds.sum(axis=1) == 0)  # drew seed 0 twice: A 100% > B 50%
    ones = np.mean(draws.seeds.sum(axis=1) == 2)  # seed 1 twice: A 0% < B 50%
    mixed = 1 - zeros - ones  # A 50% = B 50%: a tie, shared
    win = stats.p_a_beats_b(a, b, clusters=films, draws=draws)
    assert win == {"value": 0.5, "lo": 0.0, "hi": 1.0}  # A wins seed 0, loses seed 1
    first = stats.rank_first({"A": a, "B": b}, clusters=films, draws=draws)
    assert first["A"] == pytest.approx(zeros + mixed / 2)
    assert first["A"] + first["B"] == pytest.approx(1.0)
    assert zeros == pytest.approx(0.25, abs=0.03) and mixed == pytest.approx(0.5, abs=0.03)
    # A ahead under every seed: P(A>B) = 1, A always first; three equal models share
    better = np.ones_like(a)
    assert stats.p_a_beats_b(better, b, 200, clusters=films) == \
        {"value": 1.0, "lo": 1.0, "hi": 1.0}
    assert stats.rank_first({"A": better, "B": b}, 200, clusters=films) == \
        {"A": 1.0, "B": 0.0}
    assert stats.rank_first({"x": b, "y": b, "z": b}, 50, clusters=films) == \
        pytest.approx({"x": 1 / 3, "y": 1 / 3, "z": 1 / 3})
    spread = stats.seed_spread(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]]),
                                   [4, 7, 9])
    assert spread["per_seed"] == {"4": 0.5, "7": 0.75, "9": 0.25}
    assert (spread["mean"], spread["min"], spread["max"]) == (0.5, 0.25, 0.75)
    assert spread["std"] == pytest.approx(0.25)
    assert stats.seed_spread(np.ones(3, bool), [0])["std"] is None


def test_seeds_needed_from_seed_and_film_variance():
    z = 1.959964 + 0.841621
    need = stats.seeds_needed(0.05, 0.03, 0.01, 3)
    # 0.03^2 / ((0.05 / z)^2 - 0.01^2) = 4.12 -> 5 seeds
    assert need["reason"] == "seeds" and need["n_seeds"] == 5
    assert need["z"] == pytest.approx(z, abs=1e-5)
    assert stats.seeds_needed(0.05, 0.03, 0.03, 3) == {
        "reason": "films", "n_seeds": None, "z": need["z"]}  # film variance covers it
    assert stats.seeds_needed(0.05, None, 0.01, 1)["reason"] == "unmeasured"
    assert stats.seeds_needed(0.05, 0.001, 0.01, 3)["reason"] == "borderline"


# --------------------------------------------------------------------------- run folders


def _write(run_dir, name, model, correct, *, seed, order="natural", val=None, env=None,
           **kw):
    """eval_test*.json of one seed's run: video i right where `correct[i]` (sorted ids)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {**(LSTM if model == "recurrent" else {"chunk_length": 8}), "seed": seed}
    _eval(run_dir, name, model, 0, order=order, config=config, val=val, **kw)
    suffix = "" if order == "natural" else f"_{order}"
    path = run_dir / f"eval_test{suffix}.json"
    ev = json.loads(path.read_text())
    for video, right in zip(ev["videos"], correct, strict=True):
        video["predicted"] = video["label"] if right else (video["label"] + 1) % len(CLASSES)
        video["probabilities"] = np.where(np.arange(len(CLASSES)) == video["predicted"], 0.7,
                                          0.1).tolist()
    ev["video_top1"] = float(np.mean(correct))
    ev.pop("mean_class_accuracy")
    if env is not None:
        ev["environment"] = env
    path.write_text(json.dumps(ev))


def _group(root, name, model, masks, seeds=(0, 1, 2), vals=None, shuffled=None, envs=None,
           **kw):
    """A seed group root/name: seeds.json and one run folder per seed."""
    group = root / name
    group.mkdir(parents=True)
    (group / "seeds.json").write_text(json.dumps(
        {"seeds": list(seeds), "runs": [f"seed{s}" for s in seeds]}))
    for i, (s, mask) in enumerate(zip(seeds, masks, strict=True)):
        val = vals[i] if vals else float(np.mean(mask))
        env = envs[i] if envs else ENV
        _write(group / f"seed{s}", f"{name}_seed{s}", model, mask, seed=s, val=val, env=env,
               **kw)
        if shuffled is not None:
            _write(group / f"seed{s}", f"{name}_seed{s}", model, shuffled[i], seed=s,
                   order="shuffled", val=val, env=env, **kw)
    return str(group)


def _masks(rng, p, seeds=3):
    return [rng.random(N) < p for _ in range(seeds)]


@pytest.fixture
def groups(tmp_path):
    """frame (~50%), pooled (~60%) and lstm (~90%, ~40% shuffled) under seeds 0, 1, 2."""
    rng = np.random.default_rng(3)
    return [_group(tmp_path, "frame", "frame", _masks(rng, 0.5)),
            _group(tmp_path, "pooled", "pooled", _masks(rng, 0.6),
                   shuffled=_masks(rng, 0.6)),
            _group(tmp_path, "lstm", "recurrent", _masks(rng, 0.9),
                   shuffled=_masks(rng, 0.4))]


@pytest.mark.slow
def test_compare_seed_groups_reports_spread_and_p_a_beats_b(groups, tmp_path):
    out = tmp_path / "report"
    summary = compare_module.compare(groups, str(out), n_resamples=RESAMPLES)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["headline"] == summary["headline"]
    assert on_disk["seeding"] == {"seeds": [0, 1, 2], "n_seeds": 3, "dropped": {},
                                  "warning": None}
    rows = {r["name"]: r for r in on_disk["runs"]}
    assert set(rows) == {"frame", "pooled", "lstm"}
    lstm = rows["lstm"]
    assert lstm["seeds"] == [0, 1, 2] and len(lstm["seed_runs"]) == 3
    per_seed = [float(np.mean(json.loads((tmp_path / "lstm" / f"seed{s}" / "eval_test.json")
                                         .read_text())["video_top1"])) for s in range(3)]
    assert list(lstm["seed_spread"]["per_seed"].values()) == pytest.approx(per_seed)
    assert lstm["seed_spread"]["std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert lstm["video_top1"]["value"] == pytest.approx(np.mean(per_seed))
    assert lstm["val_video_top1"] == pytest.approx(np.mean(per_seed))  # vals = test here
    assert set(lstm["variance"]) == {"seed_std", "film_std"}
    order = on_disk["headline_tests"]["order"]
    assert (order["run_a"], order["run_b"], order["n_seeds"]) == ("lstm", "pooled", 3)
    assert order["p_a_beats_b"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
    assert order["rank_first"] == {"lstm": 1.0, "pooled": 0.0}
    assert order["verdict"] == "yes" and order["seeds_needed"] is None
    assert sum(on_disk["rank_first"].values()) == pytest.approx(1.0)
    assert on_disk["rank_first"]["lstm"] == 1.0
    shuffled = on_disk["headline_tests"]["shuffled"]  # the ablation uses every seed
    assert shuffled["n_seeds"] == 3 and shuffled["verdict"] == "yes"
    assert next(a for a in on_disk["ablation"] if a["run"] == "lstm")["shuffled_drop"][
        "n_seeds"] == 3
    headline = summary["headline"]
    assert "3 training seeds per model (3 seeds x 40 films)" in headline
    assert f"({100 * np.mean(per_seed):.1f} ± {100 * np.std(per_seed, ddof=1):.1f}% over 3 " \
        "seeds)" in headline
    assert "P(A>B) on a new seed 1.00 [1.00–1.00]). Yes: frame order helps" in headline
    report = (out / "report.md").read_text()
    assert headline in report
    assert "## Training seeds" in report and "### Seed variance against film variance" in report
    assert f"| lstm | 0, 1, 2 | {100 * np.mean(per_seed):.1f} ± " in report
    assert "seed 0: " in report and "seed 2: " in report
    part = report.split("### 2. Does order help?")[1].split("###")[0]
    pooled_row = next(line for line in part.splitlines() if line.startswith("| pooled |"))
    assert pooled_row.endswith("| 1.00 [1.00–1.00] | 100.0% / 0.0% |")  # P(A>B), ranks first
    # same inputs, same bytes
    again = tmp_path / "again"
    compare_module.compare(groups, str(again), n_resamples=RESAMPLES)
    for name in ("summary.json", "report.md"):
        assert (again / name).read_bytes() == (out / name).read_bytes()
    assert "The pictures show each model's first seed only" in report


def test_identical_configurations_are_inconclusive_a_planted_difference_is_found(tmp_path):
    rng = np.random.default_rng(11)
    # A and B: the same recipe, so the same distribution; each seed its own draw
    same = [_group(tmp_path / "same", "frame", "frame", _masks(rng, 0.6, 5), seeds=range(5)),
            _group(tmp_path / "same", "lstm", "recurrent", _masks(rng, 0.6, 5),
                   seeds=range(5))]
    summary = compare(same, str(tmp_path / "o1"), n_resamples=RESAMPLES)
    t = summary["headline_tests"]["frames_and_order"]
    assert t["verdict"] == "inconclusive" and t["n_seeds"] == 5
    assert t["seeds_needed"]["reason"] in ("seeds", "films", "borderline")
    assert "Inconclusive: " in summary["headline"] and "Yes:" not in summary["headline"]
    planted = [_group(tmp_path / "planted", "frame", "frame", _masks(rng, 0.4)),
               _group(tmp_path / "planted", "lstm", "recurrent", _masks(rng, 0.8))]
    found = compare(planted, str(tmp_path / "o2"), n_resamples=RESAMPLES)
    t = found["headline_tests"]["frames_and_order"]
    assert t["verdict"] == "yes" and t["diff_lo"] > 0 and t["p_family"] < 0.05
    assert "Yes: several frames with their order help" in found["headline"]


def test_one_seed_says_seed_variance_is_unmeasured(tmp_path):
    rng = np.random.default_rng(5)
    dirs = []
    for name, model, p in (("frame", "frame", 0.6), ("lstm", "recurrent", 0.65)):
        _write(tmp_path / name, name, model, rng.random(N) < p, seed=0)
        dirs.append(str(tmp_path / name))
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["seeding"]["n_seeds"] == 1
    t = summary["headline_tests"]["frames_and_order"]
    assert t["verdict"] == "inconclusive" and t["seeds_needed"]["reason"] == "unmeasured"
    assert "one training seed per model (seed variance unmeasured: one training seed is one " \
        "draw)" in summary["headline"]
    assert "train each model under at least 3 seeds" in summary["headline"]
    assert "P(A>B)" not in summary["headline"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "seed variance is unmeasured (one training seed is one draw)" in report
    assert "– (one seed)" in report


def test_different_seed_lists_are_refused_in_one_line_or_reported_with_a_warning(
        tmp_path, capsys):
    rng = np.random.default_rng(6)
    dirs = [_group(tmp_path, "frame", "frame", _masks(rng, 0.5)),
            _group(tmp_path, "lstm", "recurrent", _masks(rng, 0.9, 2), seeds=(0, 2))]
    with pytest.raises(ValueError, match=r"different seed lists.*frame \[0, 1, 2\], "
                                         r"lstm \[0, 2\]") as e:
        compare(dirs, str(tmp_path / "out"))
    assert "\n" not in str(e.value) and "--allow-different-seeds" in str(e.value)
    assert cli.main(dirs + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidrec compare: error: the models were trained under different seed")
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()
    out = tmp_path / "anyway"
    assert cli.main(dirs + ["--out", str(out), "--allow-different-seeds", "--resamples", "200",
                            "--no-videos"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeding"]["seeds"] == [0, 2]
    assert summary["seeding"]["dropped"] == {"frame": [1]}
    assert summary["headline"].startswith("WARNING: these models were trained under different "
                                          "seed lists (--allow-different-seeds): paired by the "
                                          "seeds they share, [0, 2]; dropped frame: seed 1.")
    report = (out / "report.md").read_text()
    assert report.splitlines()[2].startswith("**WARNING: these models were trained under")
    assert {r["name"]: r["seeds"] for r in summary["runs"]} == {"frame": [0, 2], "lstm": [0, 2]}
    # a plain run is a one-seed model: its config's seed
    _write(tmp_path / "plain", "plain", "frame", rng.random(N) < 0.5, seed=1)
    with pytest.raises(ValueError, match=r"plain \[1\], lstm \[0, 2\]"):
        compare([str(tmp_path / "plain"), dirs[1]], str(tmp_path / "o3"))


def test_a_seed_group_missing_a_seed_is_a_one_line_error(groups, tmp_path):
    (tmp_path / "lstm" / "seed1" / "eval_test.json").unlink()
    with pytest.raises(ValueError, match=r"seed group .*lstm': seed 1's run .*seed1' has no "
                                         r"eval_test.json") as e:
        compare(groups, str(tmp_path / "out"))
    assert "\n" not in str(e.value)
    for f in (tmp_path / "lstm" / "seed1").iterdir():
        f.unlink()
    (tmp_path / "lstm" / "seed1").rmdir()
    with pytest.raises(ValueError, match=r"seeds.json lists seed 1 but its run folder "
                                         r".*seed1' is missing") as e:
        compare(groups, str(tmp_path / "out"))
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


def test_different_environments_are_compared_with_a_warning(tmp_path):
    rng = np.random.default_rng(8)
    other = {**ENV, "tensorflow": "2.20.0", "intra_op_threads": 8}
    dirs = [_group(tmp_path, "frame", "frame", _masks(rng, 0.5)),
            _group(tmp_path, "lstm", "recurrent", _masks(rng, 0.9), envs=[ENV, ENV, other])]
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["environment"]["differs"] == ["intra_op_threads", "tensorflow"]
    report = (tmp_path / "out" / "report.md").read_text()
    top = "\n".join(report.splitlines()[:4])
    assert "different environments (differing: intra_op_threads, tensorflow): bit-identical " \
        "reruns hold only within one environment" in top
    same = compare(dirs[:1], str(tmp_path / "one"), n_resamples=RESAMPLES)
    assert same["environment"] == {"differs": [], "warning": None}


def test_roles_use_the_mean_validation_accuracy_over_seeds(tmp_path):
    rng = np.random.default_rng(9)
    dirs = [_group(tmp_path, "frame", "frame", _masks(rng, 0.5)),
            # lstm_a has the single best seed on validation, lstm_b the best mean
            _group(tmp_path, "lstm_a", "recurrent", _masks(rng, 0.9), vals=[0.95, 0.5, 0.5]),
            _group(tmp_path, "lstm_b", "recurrent", _masks(rng, 0.6), vals=[0.7, 0.7, 0.7])]
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["roles"]["recurrent"] == "lstm_b"
    assert summary["roles"]["val_video_top1"]["lstm_a"] == pytest.approx(0.65)


def test_official_splits_of_seed_groups_average_the_seed_means(tmp_path):
    rng = np.random.default_rng(10)
    dirs, means = [], {}
    for split in (1, 2):
        for name, model, p in (("frame", "frame", 0.5), ("lstm", "recurrent", 0.9)):
            masks = _masks(rng, p)
            means[split, name] = float(np.mean(masks))
            dirs.append(_group(tmp_path / f"split{split}", name, model, masks,
                               official_split=split, manifest=f"sha-{split}"))
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    row = next(r for r in summary["across"]["runs"] if r["name"] == "lstm")
    assert row["video_top1"] == pytest.approx({"1": means[1, "lstm"], "2": means[2, "lstm"]})
    assert row["std"] == pytest.approx(np.std([means[1, "lstm"], means[2, "lstm"]], ddof=1))
    assert row["seeds"] == {"1": [0, 1, 2], "2": [0, 1, 2]}
    assert "the mean over 3 training seeds per model, mean ± std over splits" in \
        summary["headline"]
    assert summary["across"]["parts"]["frames_and_order"]["verdict"] == {"1": "yes", "2": "yes"}


def test_every_seeds_evaluation_is_checked_for_the_same_videos_and_frames(groups, tmp_path):
    path = tmp_path / "lstm" / "seed2" / "eval_test.json"
    original = path.read_text()
    path.write_text(original.replace('"name": "dense"', '"name": "dense-center-8"'))
    with pytest.raises(ValueError, match=r"different protocols: 'dense' in .*frame but "
                                         r"'dense-center-8' in .*lstm/seed2"):
        compare(groups, str(tmp_path / "out"))
    ev = json.loads(original)
    ev["videos"] = ev["videos"][:-1]
    path.write_text(json.dumps(ev))
    with pytest.raises(ValueError, match=r"different videos: .* has 40 videos, .*lstm/seed2 "
                                         r"has 39"):
        compare(groups, str(tmp_path / "out"))


def test_the_seed_aware_headline_goes_to_tensorboard_beside_the_seed_groups_logs(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(12)
    dirs = [_group(tmp_path, "frame", "frame", _masks(rng, 0.5)),
            _group(tmp_path, "lstm", "recurrent", _masks(rng, 0.9))]
    for name in ("frame", "lstm"):
        for s in range(3):  # the trainer logs a seed to <log root>/<group>/seed<N>
            (tmp_path / name / f"seed{s}" / "train_summary.json").write_text(json.dumps(
                {"log_dir": str(tmp_path / "tensorboard" / name / f"seed{s}")}))
    summary = compare(dirs, str(tmp_path / "out"), n_resamples=RESAMPLES)
    assert summary["tensorboard_text"] == str(tmp_path / "tensorboard" / "compare")
    texts = {}
    for path in tf.io.gfile.glob(f"{summary['tensorboard_text']}/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                texts[value.tag] = tf.make_ndarray(value.tensor).item().decode()
    assert texts["compare/headline"] == summary["headline"]
    assert "3 seeds x 40 films" in texts["compare/headline"] and "P(A>B)" in texts[
        "compare/headline"]
    assert "## Training seeds" in texts["compare/report"]
