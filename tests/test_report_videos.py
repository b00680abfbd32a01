"""The report's video pictures: which videos, their frames, and labels that fit at 51 classes."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_dataset
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from report.compare import compare
from report.runs.load import Predictions, load_run
from report.stats.paired import find_test
from report.videos import selection
from report.videos.figures import (
    Answer,
    VideoView,
    discordant_figure,
    flips_figure,
    mistakes_figure,
)
from report.videos.frames import read_frames, strip_indices

HMDB51 = ["brush_hair", "cartwheel", "catch", "chew", "clap", "climb", "climb_stairs", "dive",
          "draw_sword", "dribble", "drink", "eat", "fall_floor", "fencing", "flic_flac", "golf",
          "handstand", "hit", "hug", "jump", "kick", "kick_ball", "kiss", "laugh", "pick",
          "pour", "pullup", "punch", "push", "pushup", "ride_bike", "ride_horse", "run",
          "shake_hands", "shoot_ball", "shoot_bow", "shoot_gun", "sit", "situp", "smile",
          "smoke", "somersault", "stand", "swing_baseball", "sword", "sword_exercise", "talk",
          "throw", "turn", "walk", "wave"]
FRAMES, SIZE, CHUNK = 10, 16, 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FRAME = {"takes_chunks": False, "order_aware": False, "recurrent": False}
POOLED = {"takes_chunks": True, "order_aware": False, "recurrent": False}
RECURRENT = {"takes_chunks": True, "order_aware": True, "recurrent": True}


def _video_id(c, k):
    """HMDB51-long ids: "<class>/<film>_<class>_u_nm_np1_fr_med_<k>"."""
    return f"{c}/Aussie_Brunette_Brushing_Hair_II_{c}_u_nm_np1_fr_med_{k}"


def _frames(t_count, video):
    """uint8 [T, S, S, 3]: red = 20 * frame index, green = 4 * video number (JPEG-safe flats)."""
    frames = np.zeros((t_count, SIZE, SIZE, 3), np.uint8)
    frames[..., 0] = (20 * np.arange(t_count))[:, None, None]
    frames[..., 1] = 4 * (video % 60)
    return frames


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """51 classes x 2 test videos of 10 frames, gzip shards written by the schema writer."""
    root = tmp_path_factory.mktemp("videos")
    videos = [(_video_id(c, k), label, _frames(FRAMES, 2 * label + k))
              for label, c in enumerate(HMDB51) for k in range(2)]
    write_dataset(root / "data", {"test": videos}, HMDB51, SIZE, compression="gzip")
    return root / "data", [v[0] for v in videos], np.array([v[1] for v in videos])


def _predictions(labels, right, seed):
    """Per video: the true class where `right`, else a random other one; probabilities with
    that argmax."""
    rng = np.random.default_rng(seed)
    k = len(HMDB51)
    predicted = np.where(right, labels, (labels + rng.integers(1, k, len(labels))) % k)
    probs = rng.dirichlet(np.full(k, 0.3), len(labels))
    probs[np.arange(len(labels)), predicted] += 1.0
    return predicted, probs / probs.sum(axis=1, keepdims=True)


def _write_eval(run_dir, name, model, kind, ids, labels, right, seed, data_dir,
                order="natural", clip=1):
    predicted, probs = _predictions(labels, right, seed)
    rng = np.random.default_rng(seed + 100)
    videos = [{"id": vid, "label": HMDB51[y], "predicted": HMDB51[p], "probabilities": q.tolist(),
               "film": vid.split("/")[1], "frames_fingerprint": f"fp-{vid}",
               "first_clip": (rng.permutation(clip) if order == "shuffled"
                              else np.arange(clip)).tolist()}
              for vid, y, p, q in zip(ids, labels, predicted, probs)]
    ev = {"run_name": name, "model": model, "kind": kind, "classes": HMDB51, "videos": videos,
          "data": {"data_dir": str(data_dir), "manifest_sha256": "sha", "split": "test"},
          "protocol": {"name": "dense", "window": 0, "fingerprint": "agg"},
          "val_video_top1": 0.5 + 0.1 * seed, "config": {"chunk_length": clip}}
    run_dir.mkdir(exist_ok=True)
    suffix = "" if order == "natural" else f"_{order}"
    (run_dir / f"eval_test{suffix}.json").write_text(json.dumps(ev))
    return predicted


def _make_runs(root, dataset):
    """frame (no log dir), pooled and an LSTM with a shuffled evaluation and a log dir."""
    data, ids, labels = dataset
    rng = np.random.default_rng(7)
    dirs = {name: root / name for name in ("frame", "pooled", "lstm")}
    _write_eval(dirs["frame"], "frame", "frame", FRAME, ids, labels, rng.random(102) < 0.5, 1,
                data)
    _write_eval(dirs["pooled"], "pooled", "pooled", POOLED, ids, labels, rng.random(102) < 0.5,
                2, data, clip=CHUNK)
    for order, seed in (("natural", 3), ("shuffled", 4)):
        _write_eval(dirs["lstm"], "lstm", "recurrent", RECURRENT, ids, labels,
                    rng.random(102) < 0.7, seed, data, order=order, clip=CHUNK)
    (dirs["lstm"] / "train_summary.json").write_text(json.dumps(
        {"log_dir": str(root / "tensorboard" / "lstm")}))
    return dirs


@pytest.fixture(scope="module")
def report(dataset, tmp_path_factory):
    """The report of the three runs (seed 5): (run dirs, report dir, summary, predictions)."""
    root = tmp_path_factory.mktemp("runs")
    dirs = _make_runs(root, dataset)
    summary = compare([str(dirs[n]) for n in ("frame", "pooled", "lstm")], str(root / "report"),
                      n_resamples=50, seed=5)
    preds = {n: load_run(str(d)).predictions() for n, d in dirs.items()}
    preds["lstm, shuffled"] = load_run(str(dirs["lstm"])).predictions("shuffled")
    return dirs, root / "report", summary, preds


def _predictions_of(labels, predicted):
    n = len(labels)
    return Predictions(ids=[f"v{i:03d}" for i in range(n)], labels=np.asarray(labels),
                       predicted=np.asarray(predicted), probabilities=np.full((n, 3), 1 / 3),
                       films=[f"f{i}" for i in range(n)])


def test_mistakes_are_a_seeded_choice_spread_over_classes():
    labels = np.repeat(np.arange(20), 5)  # 20 classes x 5 videos
    predicted = labels.copy()
    predicted[labels % 4 != 0] = 0  # wrong in the 15 classes that are not multiples of 4
    predicted[[1, 2]] = 1  # and twice in class 0: 16 classes with mistakes
    p = _predictions_of(labels, predicted)
    wrong = selection.mistakes(p)
    assert set(wrong) == set(np.flatnonzero(labels != predicted))
    chosen = selection.spread(p.labels, wrong, 6, seed=0)
    assert chosen == selection.spread(p.labels, wrong, 6, seed=0)
    assert chosen != selection.spread(p.labels, wrong, 6, seed=1)
    assert len(chosen) == 6 and set(chosen) <= set(wrong)
    assert len({labels[i] for i in chosen}) == 6  # one per class
    classes_with_mistakes = len(set(labels[wrong]))
    every = selection.spread(p.labels, wrong, classes_with_mistakes, seed=3)
    assert sorted(labels[every]) == sorted(set(labels[wrong]))  # each class had its turn
    more = selection.spread(p.labels, wrong, classes_with_mistakes + 2, seed=3)
    assert more[:classes_with_mistakes] == every  # then a second round
    assert max(np.bincount(labels[more])) == 2
    assert sorted(selection.spread(p.labels, wrong, 100, seed=0)) == sorted(wrong)


def test_flips_only_where_natural_and_shuffled_differ_and_discordant_sets():
    labels = np.array([0, 1, 2, 0, 1, 2])
    natural = _predictions_of(labels, [0, 1, 0, 1, 1, 2])
    shuffled = _predictions_of(labels, [0, 2, 0, 0, 1, 1])
    assert list(selection.flips(natural, shuffled)) == [1, 3, 5]
    sets = selection.discordant(natural, shuffled)  # natural as baseline
    assert list(sets["c"]) == [3] and list(sets["b"]) == [1, 5]


def test_top_classes_keep_the_true_class_and_sum_the_rest():
    probs = np.linspace(1, 2, 51)
    probs /= probs.sum()
    rows = selection.top_classes(probs, HMDB51, true=0)
    assert len(rows) == 11 and rows[9][0] == HMDB51[0]  # least likely, kept as the true class
    assert rows[-1][0] == "other (41 classes)"
    assert sum(v for _, v in rows) == pytest.approx(1.0)
    assert [n for n, _ in selection.top_classes(probs[:3] / probs[:3].sum(), HMDB51[:3], 0)] == [
        HMDB51[2], HMDB51[1], HMDB51[0]]


def test_frames_read_through_the_schema_in_order_and_via_a_feature_cache(dataset, tmp_path):
    data, ids, _ = dataset
    cache = tmp_path / "features"
    cache.mkdir()
    (cache / "manifest.json").write_text(json.dumps(
        {"schema_version": 1, "features": {"source_data": str(data)}}))
    frames, problem = read_frames(["", str(cache)], "test", [ids[5], ids[80]])
    assert problem is None and set(frames.videos) == {ids[5], ids[80]}
    indices, strip = frames.strip(ids[5])
    assert indices == strip_indices(FRAMES) == [0, 1, 3, 4, 5, 6, 8, 9]
    assert strip.shape == (8, SIZE, SIZE, 3)
    assert np.abs(strip[..., 0].mean(axis=(1, 2)) - 20 * np.array(indices)).max() < 4
    assert abs(strip[..., 1].mean() - 4 * 5) < 4  # video 5's frames, not another's
    clip = frames.clip(ids[80], [3, 0, 2])
    assert np.abs(clip[..., 0].mean(axis=(1, 2)) - [60, 0, 40]).max() < 4
    assert strip_indices(20, window=8) == list(range(6, 14))
    assert frames.strip(ids[0]) is None  # not asked for
    gone, problem = read_frames([str(tmp_path / "gone")], "test", ids[:1])
    assert gone.videos == {} and "gone" in problem and "manifest.json" in problem


def _cut_off(fig):
    """Visible texts whose drawn extent leaves the figure's pixel box."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    outside = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        e = text.get_window_extent(renderer)
        if e.x0 < box.x0 - 1 or e.y0 < box.y0 - 1 or e.x1 > box.x1 + 1 or e.y1 > box.y1 + 1:
            outside.append(text.get_text())
    return outside


@pytest.mark.slow
def test_pictures_at_51_classes_keep_every_label_inside(dataset):
    data, ids, labels = dataset
    frames, _ = read_frames([str(data)], "test", ids[:8])
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(51, 0.3), 8)

    def answer(i, who="sword_exercise_run_with_a_long_name", clip=()):
        strip = (clip, frames.clip(ids[i], clip)) if len(clip) else None
        return Answer(who, int((labels[i] + 7) % 51), probs[i], strip, clip)

    views = [VideoView(ids[i], int(labels[i]), [answer(i), answer(i, "lstm")],
                       frames.strip(ids[i])) for i in range(6)]
    long_clips = [VideoView(ids[i], int(labels[i]),
                            [answer(i, "natural order", list(range(CHUNK))),
                             answer(i, "shuffled order", [3, 1, 0, 2])]) for i in range(4)]
    title = "sword_exercise_run_with_a_long_name: 40 of 102 test videos misclassified, 6 shown"
    figures = {"mistakes": mistakes_figure(views, HMDB51, title),
               "mistakes, no frames": mistakes_figure(
                   [VideoView(v.video_id, v.true, v.answers) for v in views], HMDB51, title),
               "discordant": discordant_figure([("c panel", views[:4]), ("b panel", [])],
                                               HMDB51, title),
               "flips": flips_figure(long_clips, HMDB51, title)}
    for name, fig in figures.items():
        assert _cut_off(fig) == [], name
    texts = {t.get_text() for t in figures["mistakes"].findobj(Text)}
    assert "other (41 classes)" in texts and any(ids[0][:20] in t for t in texts)


@pytest.mark.slow
def test_each_runs_mistakes_picture_and_json(report):
    _, out, summary, preds = report
    v = summary["videos"]
    assert v["frames"] == {"read": True, "problem": None} and v["seed"] == 5
    assert not any("frames" in w for w in summary["warnings"])
    section = (out / "report.md").read_text().split("## Videos")[1]
    assert [m["run"] for m in v["mistakes"]] == ["frame", "pooled", "lstm"]
    for m in v["mistakes"]:
        assert (out / m["png"]).read_bytes()[:8] == PNG_SIGNATURE and f"]({m['png']})" in section
        listed = json.loads((out / m["json"]).read_text())
        assert listed["seed"] == 5 and len(listed["videos"]) == 6
        assert len({x["true"] for x in listed["videos"]}) == 6  # one per class
        p = preds[m["run"]]
        assert m["misclassified"] == listed["misclassified"] == int((~p.correct).sum())
        for x in listed["videos"]:
            i = p.ids.index(x["id"])
            assert x["true"] == HMDB51[p.labels[i]] != x["predicted"] == HMDB51[p.predicted[i]]
            assert x["top"][0]["class"] == x["predicted"] and x["frames"] == strip_indices(FRAMES)
    assert section.index("videos/discordant.png") < section.index("videos/order_flips.png") \
        < section.index("mistakes/frame.png")


@pytest.mark.slow
def test_where_the_candidate_changed_the_answer_are_mcnemars_b_and_c(report):
    _, out, summary, preds = report
    d = summary["videos"]["discordant"]
    assert (d["baseline"], d["candidate"]) == (summary["roles"]["baseline"], "lstm") == (
        "frame", "lstm")
    test = find_test(summary["tests"], "frame", "lstm")  # b: frame right, lstm wrong
    assert (len(d["baseline_right_candidate_wrong"]), len(d["baseline_wrong_candidate_right"])) \
        == (d["b"], d["c"]) == (test["b"], test["c"])
    frame, lstm = preds["frame"], preds["lstm"]
    assert set(d["baseline_wrong_candidate_right"]) == {
        vid for vid, a, b in zip(frame.ids, frame.correct, lstm.correct, strict=True)
        if b and not a}
    shown = d["shown"]
    assert len(shown["baseline_wrong_candidate_right"]) == 4
    assert set(shown["baseline_right_candidate_wrong"]) <= set(d["baseline_right_candidate_wrong"])
    assert (out / d["png"]).read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.slow
def test_order_flips_are_the_candidates_changed_predictions(report):
    _, out, summary, preds = report
    f = summary["videos"]["order_flips"]
    natural, shuffled = preds["lstm"], preds["lstm, shuffled"]
    assert f["run"] == "lstm" and f["videos"] == [
        vid for vid, a, b in zip(natural.ids, natural.predicted, shuffled.predicted, strict=True)
        if a != b]
    assert len(f["shown"]) == 4 and set(f["shown"]) <= set(f["videos"])
    assert f["first_clip_recorded"] and (out / f["png"]).stat().st_size > 1000


@pytest.mark.slow
def test_pictures_logged_to_each_runs_tensorboard(report):
    _, _, summary, _ = report
    logged = summary["videos"]["tensorboard"]
    assert set(logged) == {"lstm"}  # frame and pooled record no log dir
    assert any("frame records no TensorBoard log dir" in w for w in summary["warnings"])
    tags = {value.tag for path in tf.io.gfile.glob(f"{logged['lstm']}/events*")
            for event in tf.compat.v1.train.summary_iterator(path) for value in event.summary.value}
    assert tags == {"report/mistakes", "report/discordant", "report/order_flips"}
